"""UTD-MHAD 3-D skeletons -> 2-D COCO-17 keypoints: geometry, YOLO-like output, labels, split."""

from pathlib import Path

import numpy as np
import pytest

from config import settings
from domain.video import keypoints as K
from domain.video.datasets import utd_mhad as U

DATA = Path(settings.shared_data_dir) / U.FILE
pytestmark = pytest.mark.skipif(not DATA.exists(), reason="shared data missing")


@pytest.fixture(scope="module")
def trials():
    return U.load_trials()


def _first(trials, action, subject=1):
    return next(t for t in trials if t.action == action and t.subject == subject)


def test_loads_six_subjects_with_labels(trials):
    assert len(trials) > 600 and {t.subject for t in trials} == {1, 2, 3, 4, 5, 6}
    labels = {t.action: t.label for t in trials}
    assert labels["arm_curl"] == "barbell_biceps_curl" and "curl" in labels["arm_curl"]
    assert labels["sit_to_stand"] == labels["stand_to_sit"] == "sit_to_stand"
    assert labels["squat"] == "squat" and labels["lunge"] == "lunge"
    assert labels["wave"] == labels["tennis_serve"] == "other"
    train, val = U.split_by_subject(trials)
    assert {t.subject for t in val} == set(U.VAL_SUBJECTS)
    assert not ({t.subject for t in train} & {t.subject for t in val})


def test_front_view_geometry(trials):
    t = _first(trials, "squat")
    kp = U.project(t.xyz, yaw_deg=0, elevation_deg=0, distance=3.0)
    assert kp.shape == (t.xyz.shape[0], 17, 3) and (kp[..., 2] == 1).all()
    f = kp[0]
    # facing the camera: the left shoulder appears on the image's right, head above the hips,
    # the nose between the shoulders, ankles lowest
    assert f[K.L_SHOULDER, 0] > f[K.R_SHOULDER, 0] and f[K.L_HIP, 0] > f[K.R_HIP, 0]
    assert f[K.NOSE, 1] < f[K.L_SHOULDER, 1] < f[K.L_HIP, 1] < f[K.L_KNEE, 1] < f[K.L_ANKLE, 1]
    assert f[K.R_SHOULDER, 0] < f[K.NOSE, 0] < f[K.L_SHOULDER, 0]
    assert f[K.L_EYE, 0] > f[K.R_EYE, 0] and f[K.L_EAR, 0] > f[K.R_EAR, 0]
    # the body stands near the image centre; a 1.7 m person at 3 m is ~300 px tall (f=525)
    height = f[K.L_ANKLE, 1] - f[K.NOSE, 1]
    assert 200 < height < 330 and abs(np.mean(kp[:, [11, 12], 0]) - U.CX) < 40


def test_profile_views_and_distance(trials):
    t = _first(trials, "squat")
    front = U.project(t.xyz, 0, 0, 3.0)[0]
    side = U.project(t.xyz, 90, 0, 3.0)[0]
    far = U.project(t.xyz, 0, 0, 6.0)[0]
    w_front = abs(front[K.L_SHOULDER, 0] - front[K.R_SHOULDER, 0])
    w_side = abs(side[K.L_SHOULDER, 0] - side[K.R_SHOULDER, 0])
    assert w_side < 0.35 * w_front  # shoulders overlap in profile
    # +90: we see the subject's left side, facing the image's left (nose left of the hips)
    assert side[K.NOSE, 0] < np.mean(side[[11, 12], 0])
    mirror = U.project(t.xyz, -90, 0, 3.0)[0]
    assert mirror[K.NOSE, 0] > np.mean(mirror[[11, 12], 0])
    # twice the distance: half the size
    h = lambda f: f[K.L_ANKLE, 1] - f[K.NOSE, 1]  # noqa: E731
    assert h(far) == pytest.approx(h(front) / 2, rel=0.08)
    # a camera above looks down: the feet come up toward the head in the image
    high = U.project(t.xyz, 0, 35, 3.0)[0]
    assert h(high) < h(front)


def test_yolo_like_confidence_follows_visibility(trials):
    t = _first(trials, "arm_curl")
    rng = np.random.default_rng(0)
    side = U.yolo_like(U.camera_points(t.xyz, 90, 10, 3.0), rng)
    front = U.yolo_like(U.camera_points(t.xyz, 0, 10, 3.0), rng)
    seen = lambda kp, j: float((kp[:, j, 2] > 0).mean())  # noqa: E731
    # the far (right) side is often masked in profile; both sides are seen from the front
    assert seen(side, K.R_ELBOW) < 0.9 < seen(side, K.L_ELBOW)
    assert seen(side, K.R_EAR) < 0.2 and seen(front, K.R_EAR) > 0.9
    assert min(seen(front, j) for j in K.MODEL_JOINTS) > 0.9
    # masked joints look as the pipeline delivers them: NaN coordinates, confidence 0
    masked = side[..., 2] == 0
    assert masked.any() and np.isnan(side[..., :2][masked]).all()
    assert (side[..., 2][~masked] >= 0.3).all()
    # jitter is a few percent of the torso, not more
    clean = U.project(t.xyz, 0, 10, 3.0)
    noisy = U.yolo_like(U.camera_points(t.xyz, 0, 10, 3.0), np.random.default_rng(1),
                          outlier_p=0, lost_p=0)
    torso = np.linalg.norm(clean[0, 5, :2] - clean[0, 11, :2])
    err = np.nanmedian(np.linalg.norm(noisy[..., :2] - clean[..., :2], axis=-1))
    assert 0.003 * torso < err < 0.06 * torso


def test_samples_subsample_to_the_analysis_rate(trials):
    t = _first(trials, "lunge")
    out = list(U.samples([t], views=[(0, 0), (45, 15)], seed=3, fps_out=10.0))
    assert len(out) == 2 and all(s.fps == 10.0 and s.exercise == "lunge" for s in out)
    assert out[0].keypoints.shape[0] == len(range(0, t.xyz.shape[0], 3))
    assert out[0].group == "utd:s1" and out[1].meta["view"] == "yaw+45_el15"
