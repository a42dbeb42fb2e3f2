from pathlib import Path

import numpy as np
import pytest

from config import settings
from domain.video.keypoints import from_pushfit
from domain.video.reps import segment_repetitions
from domain.video.synthetic import EXERCISES, generate

PUSHFIT = Path(settings.shared_data_dir) / "pushfit_sample"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_counts_synthetic_repetitions(exercise):
    errors = []
    for k, (n, view, fps, occ) in enumerate(
        [
            (1, "left", 30, 0.0),
            (3, "front", 25, 0.3),
            (5, "front_right", 15, 0.5),
            (4, "right", 30, 0.2),
        ]
    ):
        s = generate(
            exercise, n_reps=n, view=view, fps=fps, occlusion=occ, noise=0.01, seed=100 + k
        )
        reps = segment_repetitions(s.keypoints, s.fps, exercise)
        errors.append(abs(len(reps) - n))
        for r in reps:
            assert r.start_frame <= r.bottom_frame <= r.end_frame
        if len(reps) == n:  # extremes found where the generator put them
            for r, b in zip(reps, s.bottom_frames, strict=False):
                assert abs(r.bottom_frame - b) <= max(3, int(0.3 * s.fps))
    assert max(errors) <= 1 and sum(e == 0 for e in errors) >= 3, errors


def test_faulty_form_is_still_counted():
    s = generate("pushup", n_reps=4, view="left", seed=5, fault="partial_range")
    assert len(segment_repetitions(s.keypoints, s.fps, "pushup")) == 4


@pytest.mark.skipif(not PUSHFIT.exists(), reason="shared data missing")
def test_real_pushfit_keypoints_give_reps():
    files = sorted(PUSHFIT.glob("*.json"))
    assert len(files) == 12
    for f in files:
        kp = from_pushfit(f)
        assert len(segment_repetitions(kp, 25.0, "pushup")) >= 1, f.name


def test_no_motion_and_still_image_give_no_reps():
    s = generate("squat", n_reps=1, seed=0, noise=0.0)
    still = np.repeat(s.keypoints[:1], 60, axis=0)
    assert segment_repetitions(still, 30, "squat") == []
    assert segment_repetitions(s.keypoints[:1], 30, "squat") == []
    empty = np.zeros((40, 17, 3), np.float32)
    assert segment_repetitions(empty, 30, "squat") == []


# ------------------------------------------------------------------ real sequences, no hint

UTD = Path(settings.shared_data_dir) / "utd_mhad_train.jsonl.gz"
POSE_TRAINER = Path(settings.shared_data_dir) / "pose_trainer"


@pytest.fixture(scope="module")
def utd_trials():
    from domain.video.datasets import utd_mhad

    return utd_mhad.load_trials()


@pytest.mark.skipif(not UTD.exists(), reason="shared data missing")
def test_real_concatenated_repetitions_without_hint(utd_trials):
    """2-4 real UTD-MHAD trials of one subject in a row, projected with YOLO-like noise at
    10 fps: counted from the dominant motion, no exercise given."""
    from domain.video.datasets import utd_mhad
    from domain.video.rep_eval import concat_utd

    rng = np.random.default_rng(7)
    errors = []
    for subject in (5, 6):
        for action in ("arm_curl", "squat", "lunge"):
            trs = [t for t in utd_trials if t.subject == subject and t.action == action]
            for k, yaw in ((2, 0.0), (3, 45.0), (4, 90.0)):
                joined = utd_mhad.UtdTrial(action, subject, 0, concat_utd(trs[:k]))
                kp = utd_mhad.render(joined, yaw, 10.0, rng, fps_out=10.0)
                reps = segment_repetitions(kp, 10.0, None)
                errors.append(len(reps) - k)
                for r in reps:
                    assert r.start_frame <= r.bottom_frame <= r.end_frame
    errors = np.abs(errors)
    assert (errors <= 1).all() and (errors == 0).mean() >= 0.6, errors


@pytest.mark.skipif(not UTD.exists(), reason="shared data missing")
def test_one_way_transition_is_one_repetition_with_range_of_motion(utd_trials):
    from domain.video.datasets import utd_mhad

    rng = np.random.default_rng(3)
    for action in ("sit_to_stand", "stand_to_sit"):
        tr = next(t for t in utd_trials if t.subject == 6 and t.action == action)
        kp = utd_mhad.render(tr, -90.0, 10.0, rng, fps_out=10.0)
        reps = segment_repetitions(kp, 10.0, None)
        assert len(reps) == 1, action
        # the knees or hips drive it, through a large angle
        assert reps[0].joint.endswith(("knee", "hip")) and reps[0].rom_deg > 45
    curl = next(t for t in utd_trials if t.subject == 5 and t.action == "arm_curl")
    reps = segment_repetitions(utd_mhad.render(curl, 90.0, 10.0, rng, fps_out=10.0), 10.0, None)
    assert len(reps) == 1 and reps[0].joint.endswith("elbow") and reps[0].rom_deg > 60
    assert set(reps[0].to_dict()) >= {"start_frame", "bottom_frame", "end_frame", "rom_deg"}


@pytest.mark.skipif(not POSE_TRAINER.exists(), reason="shared data missing")
def test_real_pose_trainer_repetitions_joined():
    """Pose Trainer single repetitions (OpenPose, real people), 2-4 joined at their rest poses:
    within one of the truth (each file is "about one repetition", the dataset says)."""
    from domain.video.datasets import pose_trainer
    from domain.video.rep_eval import concat_2d
    from domain.video.synthetic import canonical_label

    samples = [s for s in pose_trainer.load() if s.exercise in ("biceps_curl", "shoulder_press")]
    rng = np.random.default_rng(11)
    no_hint, hinted = [], []
    for ex in ("biceps_curl", "shoulder_press"):
        items = [s for s in samples if s.exercise == ex]
        for k in (2, 3, 4):
            pick = [items[i] for i in rng.permutation(len(items))[:k]]
            kp = concat_2d([p.keypoints for p in pick])
            no_hint.append(len(segment_repetitions(kp, 30.0, None)) - k)
            hinted.append(len(segment_repetitions(kp, 30.0, canonical_label(ex))) - k)
    assert max(abs(e) for e in hinted) <= 1, hinted
    assert sum(abs(e) <= 1 for e in no_hint) >= 5, no_hint


@pytest.mark.skipif(not UTD.exists(), reason="shared data missing")
def test_analysis_counts_without_a_label(utd_trials):
    """No classifier and no hint: the result still has the repetitions, with times and range
    of motion, and says the exercise was not recognized."""
    from domain.video.analysis import analyze_keypoints
    from domain.video.datasets import utd_mhad
    from domain.video.rep_eval import concat_utd

    trs = [t for t in utd_trials if t.subject == 6 and t.action == "squat"][:3]
    joined = utd_mhad.UtdTrial("squat", 6, 0, concat_utd(trs))
    kp = np.nan_to_num(utd_mhad.render(joined, 45.0, 10.0, np.random.default_rng(2), 10.0))
    res = analyze_keypoints(kp, 10.0, 640, 480, None, [])
    assert res["exercise"]["label"] == "unknown" and res["analyzed_as"] is None
    assert abs(res["rep_count"] - 3) <= 1 and res["rep_count"] == len(res["reps"])
    for r in res["reps"]:
        assert r["start_s"] <= r["bottom_s"] <= r["end_s"]
        assert r["rom_deg"] > 30 and r["rom_joint"]
    assert "could not be recognized" in res["feedback"][0]


@pytest.mark.skipif(not UTD.exists(), reason="shared data missing")
def test_a_still_person_with_detector_noise_makes_no_repetitions(utd_trials):
    """A real standing pose held for 9 s, with YOLO-like jitter, outliers and swaps."""
    from domain.video.datasets import utd_mhad

    counts = []
    for k, tr in enumerate([t for t in utd_trials if t.action == "squat"][:10]):
        still = utd_mhad.UtdTrial("still", tr.subject, 0, np.repeat(tr.xyz[:1], 270, axis=0))
        for yaw in (0.0, 90.0):
            kp = utd_mhad.render(still, yaw, 10.0, np.random.default_rng(k), fps_out=10.0)
            counts.append(len(segment_repetitions(kp, 10.0, None)))
    assert sum(c > 0 for c in counts) <= 3 and max(counts) <= 1, counts
