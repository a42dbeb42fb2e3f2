import numpy as np
import pytest

from domain.video import keypoints as K
from domain.video.angles import angle_at, compare, joint_angles, resolve_threshold
from domain.video.reps import segment_repetitions
from domain.video.synthetic import generate


def test_right_angle_is_90_and_straight_is_180():
    assert angle_at(np.array([1.0, 0]), np.array([0.0, 0]), np.array([0.0, 1])) == pytest.approx(
        90.0
    )
    assert angle_at(np.array([-1.0, 0]), np.array([0.0, 0]), np.array([2.0, 0])) == pytest.approx(
        180.0
    )
    assert np.isnan(angle_at(np.array([np.nan, 0]), np.array([0.0, 0]), np.array([0.0, 1])))


def _pose():
    p = np.zeros((17, 3), np.float32)
    p[:, 2] = 0.9
    p[K.L_HIP, :2] = (100, 100)
    p[K.L_KNEE, :2] = (100, 200)
    p[K.L_ANKLE, :2] = (200, 200)  # knee bent at 90 degrees
    p[K.L_SHOULDER, :2] = (100, 0)
    p[K.R_SHOULDER, :2] = (120, 0)
    p[K.R_HIP, :2] = (120, 100)
    return p


def test_joint_angles_from_pose_and_masking():
    p = _pose()
    a = joint_angles(p)
    assert a["left_knee"][0] == pytest.approx(90.0)
    assert a["left_hip"][0] == pytest.approx(180.0)
    assert a["trunk"][0] == pytest.approx(0.0)
    p[K.L_ANKLE, 2] = 0.1  # masked
    assert np.isnan(joint_angles(p)["left_knee"][0])


def test_thresholds_per_exercise_and_joint():
    t = {"default": 20, "squat": {"knee": 30, "default": 22}}
    assert resolve_threshold(t, "squat", "left_knee") == 30
    assert resolve_threshold(t, "squat", "trunk") == 22
    assert resolve_threshold(t, "pushup", "left_elbow") == 20
    assert resolve_threshold(25.0, None, "trunk") == 25.0


def _run(exercise, fault, seed, ref_seed=1000, view="left"):
    ref = generate(
        exercise, n_reps=3, view=view, seed=ref_seed, noise=0.003, fill=0.7, pitch_deg=5.0, style=0
    )
    user = generate(exercise, n_reps=3, view=view, seed=seed, fault=fault, noise=0.008)
    ur = segment_repetitions(user.keypoints, user.fps, exercise)
    rr = segment_repetitions(ref.keypoints, ref.fps, exercise)
    return compare(user.keypoints, ur, ref.keypoints, rr, 25.0, exercise=exercise)


@pytest.mark.parametrize(
    "exercise,fault,joint",
    [
        ("squat", "insufficient_depth", "knee"),
        ("pushup", "sagging_hips", "hip"),
        ("barbell_biceps_curl", "elbow_drift", "shoulder"),
    ],
)
def test_fault_gives_issue_perfect_gives_none(exercise, fault, joint):
    good = _run(exercise, None, seed=7)
    assert len(good) == 3
    assert all(not r["issues"] for r in good), good
    bad = _run(exercise, fault, seed=7)
    issues = [i for r in bad for i in r["issues"]]
    assert issues and any(joint in i["joint"] and abs(i["diff"]) > 25 for i in issues)
    assert all(abs(i["diff"]) > 25 for i in issues)
    assert "than the reference" in issues[0]["message"]
    bottom = bad[0]["angles"]
    assert all(set(v) == {"user", "reference", "diff"} for v in bottom.values())
