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
