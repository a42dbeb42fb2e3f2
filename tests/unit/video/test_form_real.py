"""The form artifact on real executions that training never saw (the held-out split by
video / source / run of domain.video.datasets). Fast: keypoints come from the shared files
(Pose Trainer .npy, Exercise-Correction CSV) and the cached PushFit extraction when present."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from config import settings
from domain.video.datasets import exercise_correction, is_validation, pose_trainer, pushfit
from domain.video.form import FormModel, form_result
from domain.video.reps import segment_repetitions

ARTIFACT = settings.artifacts_dir / "form" / settings.form_model_version
DATA = settings.shared_data_dir

pytestmark = pytest.mark.skipif(not (ARTIFACT / "model.json").exists() or not DATA.exists(),
                                reason="form artifact or shared data missing")


@pytest.fixture(scope="module")
def model():
    return FormModel.load(ARTIFACT)


def _scores(samples, model):
    y, risk, verdicts = [], [], []
    for s in samples:
        reps = segment_repetitions(s.keypoints, s.fps, s.exercise)
        form = form_result(s.keypoints, s.fps, s.exercise, reps, model)
        y.append(0 if s.correct else 1)
        risk.append(1.0 - (form["score"] if form["score"] is not None else 0.5))
        verdicts.append(form["verdict"])
    return np.array(y), np.array(risk), verdicts


#: floors a little under the held-out figures in artifacts/form/<version>/metrics.json
FLOORS = {"lunge": 0.9, "plank": 0.9, "curl": 0.7, "shoulder_shrug": 0.9, "front_raise": 0.9,
          "shoulder_press": 0.9}


def test_held_out_executions_discriminate(model):
    from domain.video.form import family

    held = [s for s in [*exercise_correction.load(), *pose_trainer.load()]
            if s.correct is not None and is_validation(s.group)]
    for fam, floor in FLOORS.items():
        part = [s for s in held if family(s.exercise) == fam]
        y, risk, verdicts = _scores(part, model)
        assert len(set(y)) == 2, fam
        assert roc_auc_score(y, risk) >= floor, fam
    plank = [s for s in held if s.exercise == "plank"]
    y, _, verdicts = _scores(plank, model)
    assert sum(v == "good" for v, lab in zip(verdicts, y, strict=True) if lab == 0) >= 0.8 * (
        y == 0).sum()


def test_held_out_pushups_rarely_flag_correct_ones_and_good_means_no_findings(model):
    held = pushfit.held_out_stems()
    samples = [s for s in pushfit.load() if is_validation(s.group)]
    if len(samples) < len(held):
        # a fresh checkout: pose only the held-out videos (about 25 short clips), once
        pushfit.extract(only=held.__contains__)
        samples = [s for s in pushfit.load() if is_validation(s.group)]
    if len(samples) < 10:
        pytest.skip("PushFit videos missing")
    y, risk, verdicts = _scores(samples, model)
    # measured on this split (19 clips, 7 source recordings since clips seen to be one
    # recording share a source) with form-v2: ROC AUC 0.57, correct flagged 2/7, faulty caught
    # 9/12 (form-v3 0.58, 2/7, 9/12) — short of the targets 0.85 / 20% / 80% (README); these
    # floors catch a regression
    assert roc_auc_score(y, risk) >= 0.5
    correct = [v for v, lab in zip(verdicts, y, strict=True) if lab == 0]
    faulty = [v for v, lab in zip(verdicts, y, strict=True) if lab == 1]
    assert sum(v != "good" for v in correct) <= 0.45 * len(correct)
    assert sum(v != "good" for v in faulty) >= 0.65 * len(faulty)
    for s in samples:
        reps = segment_repetitions(s.keypoints, s.fps, "pushup")
        form = form_result(s.keypoints, s.fps, "pushup", reps, model)
        if form["verdict"] == "good":
            assert form["findings"] == []
        if form["verdict"] == "faulty":
            assert form["findings"], s.name
