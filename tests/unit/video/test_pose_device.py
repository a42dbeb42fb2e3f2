"""The device pose path (tensor letterbox, fp16 on CUDA) and the multi-video batcher, on real
frames.  Runs on CPU; the CUDA checks run only where torch sees a GPU."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from config import settings
from domain.video import filters, media
from domain.video.pose import PoseBatcher, PoseEstimator, detect_sequence

DATA = Path(settings.shared_data_dir) / "pushfit_sample"


def _frames(name: str, seconds: float = 2.0, max_side: int = 640) -> list[np.ndarray]:
    path = DATA / name
    return [filters.enhance(f) for _, _, f in
            media.iter_frames(path, fps=5, duration_s=seconds, max_side=max_side)]


@pytest.fixture(scope="module")
def tensor_est() -> PoseEstimator:
    return PoseEstimator(imgsz=320, backend="torch")


@pytest.fixture(scope="module")
def numpy_est() -> PoseEstimator:
    return PoseEstimator(imgsz=320, backend="torch", preprocess="numpy")


@pytest.fixture(scope="module")
def videos() -> dict[str, list[np.ndarray]]:
    names = sorted(p.name for p in DATA.glob("*.mp4"))[:3]
    assert len(names) == 3, "three PushFit clips expected in the shared data"
    out = {name: _frames(name) for name in names}
    # a fourth 'video' of another size: the first clip decoded at 480 on its long side
    out["small"] = _frames(names[0], max_side=480)
    return out


def _assert_same_people(a, b, atol_px: float) -> None:
    assert len(a) == len(b)
    for pa, pb in zip(a, b, strict=True):
        assert len(pa) == len(pb)
        for x, y in zip(pa, pb, strict=True):
            confident = (x.keypoints[:, 2] > 0.5) & (y.keypoints[:, 2] > 0.5)
            np.testing.assert_allclose(x.keypoints[confident, :2], y.keypoints[confident, :2],
                                       atol=atol_px)
            np.testing.assert_allclose(x.box, y.box, atol=atol_px)
            assert abs(x.score - y.score) < 0.05


def test_tensor_letterbox_matches_opencv_pixels(tensor_est, numpy_est, videos):
    """fp32: the device letterbox gives the OpenCV LetterBox's input to within rounding."""
    for frames in videos.values():
        batch = frames[:4]
        x_t = tensor_est._preprocess_tensor(batch).numpy()
        x_n = numpy_est._preprocess(batch)
        assert x_t.shape == x_n.shape and x_t.dtype == x_n.dtype == np.float32
        diff = np.abs(x_t - x_n) * 255
        assert diff.max() <= 2.0 and (diff > 1.0).mean() < 1e-3


def test_tensor_path_same_keypoints_as_numpy_path(tensor_est, numpy_est, videos):
    """Real frames: same people, keypoints within a pixel of the Ultralytics-preprocessed path."""
    found = 0
    for frames in videos.values():
        a, b = tensor_est.predict(frames), numpy_est.predict(frames)
        _assert_same_people(a, b, atol_px=1.5)
        found += sum(len(p) > 0 for p in a)
    assert found >= 0.8 * sum(len(f) for f in videos.values())


def test_mixed_sizes_in_one_batch(tensor_est, numpy_est, videos):
    names = list(videos)
    mixed = [videos[names[0]][0], videos["small"][0], videos[names[1]][0]]
    _assert_same_people(tensor_est.predict(mixed), numpy_est.predict(mixed), atol_px=1.5)


def test_batcher_returns_each_videos_own_people(tensor_est, videos):
    """Four videos posed at once from four threads through one batcher: each gets exactly what
    the estimator gives that video alone, and requests of several videos shared batches."""
    alone = {name: detect_sequence(iter(frames), tensor_est, batch_size=4, enhance=False)[0]
             for name, frames in videos.items()}
    batcher = PoseBatcher(tensor_est, max_frames=64, max_wait_s=0.05)
    together: dict[str, list] = {}
    barrier = threading.Barrier(len(videos))

    def work(name: str) -> None:
        barrier.wait()
        together[name] = detect_sequence(iter(videos[name]), batcher, batch_size=4,
                                         enhance=False)[0]

    threads = [threading.Thread(target=work, args=(name,)) for name in videos]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    batcher.close()
    assert set(together) == set(videos)
    for name in videos:
        # batch composition changes float rounding only
        _assert_same_people(together[name], alone[name], atol_px=0.05)
    assert max(requests for requests, _ in batcher.batches) > 1
    with pytest.raises(RuntimeError, match="closed"):
        batcher.predict(videos["small"][:1])


def test_batcher_passes_errors_to_the_caller(tensor_est):
    batcher = PoseBatcher(tensor_est, max_wait_s=0.0)
    try:
        with pytest.raises(Exception):  # noqa: B017 - whatever the estimator raises
            batcher.predict([np.zeros((4, 4), np.uint8)])  # not a BGR frame
        assert batcher.predict([]) == []
        assert batcher.predict([np.full((64, 64, 3), 127, np.uint8)]) == [[]]
    finally:
        batcher.close()


def test_bad_device_settings_are_clear():
    with pytest.raises(ValueError, match="CPU only"):
        PoseEstimator(backend="onnx", device="cuda")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            PoseEstimator(backend="torch", device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_fp16_matches_cpu_fp32(tensor_est, videos):
    gpu = PoseEstimator(imgsz=320, backend="torch", device="cuda")
    assert gpu.half
    for frames in videos.values():
        _assert_same_people(gpu.predict(frames), tensor_est.predict(frames), atol_px=3.0)
