"""YOLO11n-pose on real images/videos, the ONNX backend, and main-person tracking."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from config import settings
from domain.video import media
from domain.video.pose import (
    PersonPose,
    PoseEstimator,
    estimate_sequence,
    mask_low_confidence,
    track_main_person,
)

NOSE, L_SH, R_SH, L_HIP, R_HIP = 0, 5, 6, 11, 12
SAMPLE = Path(settings.shared_data_dir) / "pushfit_sample" / "correct1.mp4"


@pytest.fixture(scope="module")
def estimator() -> PoseEstimator:
    return PoseEstimator(imgsz=320, backend="torch")


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data as skdata

    return cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)


def _check_astronaut(people: list[PersonPose]) -> None:
    assert len(people) == 1
    p = people[0]
    assert p.score > 0.7
    assert p.keypoints.shape == (17, 3) and p.keypoints.dtype == np.float32
    kp = p.keypoints
    assert kp[[NOSE, L_SH, R_SH], 2].min() > 0.8  # face and shoulders clearly visible
    hip_y = kp[[L_HIP, R_HIP], 1].mean()
    assert kp[NOSE, 1] < kp[[L_SH, R_SH], 1].min() < hip_y
    assert kp[L_SH, 0] > kp[R_SH, 0]  # facing the camera: her left is on image right
    assert (kp[:, :2] >= -1).all() and (kp[:, 0] <= 513).all() and (kp[:, 1] <= 513).all()
    x1, y1, x2, y2 = p.box
    assert 0 <= x1 < 100 and 0 <= y1 < 60 and 300 < x2 <= 512 and y2 > 450


def test_astronaut_single_person(estimator, astronaut):
    assert estimator.version == "yolo11n-pose@320/torch"
    _check_astronaut(estimator.predict([astronaut])[0])


def test_batch_equals_single(estimator, astronaut):
    flipped = np.ascontiguousarray(astronaut[:, ::-1])
    batch = estimator.predict([astronaut, flipped, astronaut])
    single = estimator.predict([flipped])
    assert len(batch) == 3
    np.testing.assert_allclose(batch[1][0].keypoints, single[0][0].keypoints, atol=1e-2)
    np.testing.assert_allclose(batch[0][0].keypoints, batch[2][0].keypoints)
    assert estimator.predict([]) == []
    blank = np.full((240, 320, 3), 127, np.uint8)
    assert estimator.predict([blank]) == [[]]


def test_onnx_backend_matches_torch(estimator, astronaut):
    pytest.importorskip("onnx")
    onnx_est = PoseEstimator(imgsz=320, backend="onnx")
    assert onnx_est.version == "yolo11n-pose@320/onnx"
    people = onnx_est.predict([astronaut])[0]
    _check_astronaut(people)
    ref = estimator.predict([astronaut])[0][0]
    np.testing.assert_allclose(people[0].keypoints[:, :2], ref.keypoints[:, :2], atol=1.0)
    np.testing.assert_allclose(people[0].box, ref.box, atol=1.0)


def test_pushfit_video_person_found(estimator):
    info = media.probe(SAMPLE)
    frames = media.iter_frames(SAMPLE, fps=5, info=info)
    kps, found, times = estimate_sequence(frames, estimator, batch_size=4)
    n = len(times)
    assert n == pytest.approx(info.duration_s * 5, abs=1)
    assert kps.shape == (n, 17, 3) and kps.dtype == np.float32
    assert found.mean() >= 0.8
    np.testing.assert_allclose(np.diff(times), 0.2, atol=1e-6)
    masked = kps[..., 2] == 0
    assert np.isnan(kps[masked][:, :2]).all()
    assert (kps[~masked][:, 2] >= 0.3).all()
    assert np.isfinite(kps[~masked][:, :2]).all()
    # decoding at half size and mapping back gives the same keypoints (to a few pixels)
    small = media.iter_frames(SAMPLE, fps=5, max_side=320, duration_s=1.0, info=info)
    kps_small, found_small, _ = estimate_sequence(
        small, estimator, original_size=(info.width, info.height)
    )
    both = found_small & found[: len(found_small)]
    assert both.any()
    diff = np.nanmedian(np.abs(kps_small[both, :, :2] - kps[: len(found_small)][both, :, :2]))
    assert diff < 12


def _person(cx: float, cy: float, w: float, h: float, score: float = 0.9, tag: float = 0.0):
    box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0] = cx + tag  # tag lets the test tell people apart
    kp[:, 1] = np.linspace(cy - h / 2, cy + h / 2, 17)
    kp[:, 2] = 0.9
    kp[16, 2] = 0.1  # one low-confidence joint
    return PersonPose(box, score, kp)


def test_track_main_person_keeps_first_person():
    width, height = 640, 360
    frames: list[list[PersonPose]] = []
    for t in range(30):
        a = _person(300 + 2 * t, 180, 120, 300, tag=0.25)  # central, large, drifts right
        b = _person(560 - t, 200, 100 + 4 * t, 250 + 3 * t, score=0.95, tag=0.75)  # grows
        people = [b, a] if t % 2 else [a, b]
        if t == 10:
            people = []  # nobody detected
        if t == 11:
            people = [b]  # only the other person
        frames.append(people)
    kps, found = track_main_person(frames, width, height, return_mask=True)
    assert kps.shape == (30, 17, 3) and kps.dtype == np.float32
    assert not found[10] and not found[11]
    assert np.isnan(kps[10, :, :2]).all() and (kps[10, :, 2] == 0).all()
    ok = np.flatnonzero(found)
    assert len(ok) == 28
    frac = np.round(kps[ok, 0, 0] % 1, 2)
    assert (frac == 0.25).all()  # always person A
    assert np.isnan(kps[ok, 16, :2]).all() and (kps[ok, 16, 2] == 0).all()
    # the main person is chosen as the larger/central one, whatever the detection order
    first = track_main_person([[frames[0][1], frames[0][0]]], width, height)
    assert round(float(first[0, 0, 0]) % 1, 2) == 0.25


def test_track_handles_empty_and_mask_helper():
    kps = track_main_person([[], []], 100, 100)
    assert kps.shape == (2, 17, 3) and np.isnan(kps[..., :2]).all() and (kps[..., 2] == 0).all()
    raw = np.array([[[1, 2, 0.5], [3, 4, 0.2], [5, 6, np.nan]]], np.float32)
    m = mask_low_confidence(raw, 0.3)
    assert m[0, 0].tolist() == [1, 2, 0.5]
    assert np.isnan(m[0, 1:, :2]).all() and (m[0, 1:, 2] == 0).all()


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_estimate_sequence_on_bare_frames(estimator, astronaut):
    kps, found, times = estimate_sequence([astronaut, astronaut], estimator, enhance=False)
    assert found.all() and times.tolist() == [0.0, 1.0]
    assert kps[0, NOSE, 2] > 0.8
