import json

import numpy as np
import pytest

from domain.plans.network import PlanScorer
from domain.plans.training import feedback_to_rows, train_plan_model


def test_tiny_training_run_writes_a_loadable_artifact(tmp_path, library):
    fb = [
        {"sex": "male", "age": 70, "height_cm": 182, "weight_kg": 86,
         "fitness_level": "beginner", "injury": "achilles", "equipment": [],
         "exercise_id": "toe-curls", "rating": "discomfort"},
        {"sex": "male", "age": 70, "height_cm": 182, "weight_kg": 86,
         "fitness_level": "beginner", "injury": "achilles", "equipment": [],
         "exercise_id": "no-such-exercise", "rating": "easy"},
    ]
    m = train_plan_model(tmp_path, "plans-tiny", n_samples=1500, seed=1,
                         feedback_examples=fb, epochs=2, cv_folds=2, cv_epochs=1)
    out = tmp_path / "plans-tiny"
    for name in ("model.keras", "scaler.json", "feature_spec.json", "metrics.json",
                 "learning_curve.png"):
        assert (out / name).exists(), name
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["version"] == "plans-tiny" and saved["epochs"] == 2
    assert saved["n_feedback_examples"] == 1 and saved["n_feedback_skipped"] == 1
    assert set(saved["test"]) >= {"accuracy", "roc_auc", "f1", "precision", "recall"}
    assert set(saved["cv"]["roc_auc"]) == {"mean", "std"} and saved["cv"]["epochs_per_fold"] == 1
    assert len(saved["history"]["loss"]) == 2 and m["artifact_dir"] == str(out)
    scorer = PlanScorer.load(out)
    assert scorer.version == "plans-tiny"
    s = scorer.score(scorer_profile(), library)
    assert s.shape == (len(library),) and np.all((s >= 0) & (s <= 1))
    with pytest.raises(FileExistsError):
        train_plan_model(tmp_path, "plans-tiny", n_samples=500, epochs=1, cv_folds=0)


def scorer_profile():
    from domain.plans.profile import Profile

    return Profile("female", 40, 165, 60, "intermediate", "none", [], 3)


def test_feedback_labels(library):
    base = {"sex": "female", "age": 51, "height_cm": 168, "weight_kg": 63,
            "fitness_level": "intermediate", "injury": "meniscus",
            "equipment": ["resistance_band"]}
    rows, labels, skipped = feedback_to_rows(
        [{**base, "exercise_id": "banded-squat", "rating": r}
         for r in ("easy", "doable", "too_difficult", "discomfort", "bogus")], library)
    assert list(labels) == [1, 1, 0, 0] and skipped == 1
    assert rows[0][1].id == "banded-squat" and rows[0][0].injury == "meniscus"
