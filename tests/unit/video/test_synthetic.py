import numpy as np
import pytest

from domain.video import keypoints as K
from domain.video.synthetic import (
    EXERCISES,
    FAULTS,
    augment,
    generate,
    mirror,
    random_sample,
    time_warp,
)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_class_generates_pixels_label_and_count(exercise):
    s = generate(exercise, n_reps=2, width=640, height=480, view="front_left", seed=3)
    assert s.label == exercise and s.rep_count == 2 and len(s.bottom_frames) == 2
    kp = s.keypoints
    assert kp.dtype == np.float32 and kp.shape[1:] == (17, 3)
    vis = kp[..., 2] >= K.CONF_THRESHOLD
    assert vis.mean() > 0.6
    assert (kp[..., 0][vis] >= 0).all() and (kp[..., 0][vis] < 640).all()
    assert (kp[..., 1][vis] >= 0).all() and (kp[..., 1][vis] < 480).all()


def test_synthetic_only_classes_exist():
    for ex in ("barbell_biceps_curl", "triceps_pushdown", "lat_pulldown", "lunge"):
        assert ex in EXERCISES and FAULTS[ex]


def test_fault_changes_kinematics():
    good = generate("squat", n_reps=1, view="left", seed=1, noise=0.0)
    bad = generate("squat", n_reps=1, view="left", seed=1, noise=0.0, fault="insufficient_depth")
    hip_drop_good = np.ptp(good.keypoints[:, K.L_HIP, 1])
    hip_drop_bad = np.ptp(bad.keypoints[:, K.L_HIP, 1])
    assert hip_drop_bad < 0.7 * hip_drop_good
    with pytest.raises(ValueError):
        generate("squat", fault="sagging_hips")


def test_occlusion_masks_joints():
    s = generate("pushup", n_reps=2, view="left", seed=2, occlusion=1.0)
    assert (s.keypoints[..., 2] < K.CONF_THRESHOLD).any()


def test_mirror_swaps_left_and_right():
    s = generate("lunge", n_reps=1, view="front", seed=4, noise=0.0)
    m = mirror(s.keypoints, s.width)
    assert np.allclose(m[:, K.R_KNEE, 0], s.width - s.keypoints[:, K.L_KNEE, 0])
    assert np.allclose(m[:, K.L_WRIST, 1], s.keypoints[:, K.R_WRIST, 1])
    assert np.allclose(m[:, K.NOSE, 0], s.width - s.keypoints[:, K.NOSE, 0])
    assert np.allclose(mirror(m, s.width), s.keypoints)


def test_augment_and_time_warp_keep_shape():
    rng = np.random.default_rng(0)
    s = random_sample("squat", rng)
    a = augment(s.keypoints, s.width, s.height, rng)
    assert a.shape[1:] == (17, 3) and a.shape[0] >= 2
    w = time_warp(s.keypoints, rng)
    assert w.shape[1:] == (17, 3)
