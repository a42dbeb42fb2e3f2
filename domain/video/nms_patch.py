"""Make ``torchvision::nms`` usable on a CPU-only PyTorch, and import Ultralytics safely.

The installed torchvision wheel is a CUDA build whose compiled ``_C`` extension cannot be loaded
by the CPU build of PyTorch.  Without the extension ``import torchvision`` itself fails
(``operator torchvision::nms does not exist``, raised while torchvision registers its fake
kernels), and Ultralytics imports torchvision everywhere.

:func:`ensure_torchvision_nms` checks whether the native operator is there and working; if not it
defines the ``torchvision::nms`` / ``torchvision::qnms`` schemas with a small pure-torch greedy NMS
kernel (same semantics as torchvision: boxes ``(x1, y1, x2, y2)``, suppress when IoU is strictly
greater than the threshold, result sorted by decreasing score) and lets ``torchvision.ops.nms``
call it.  It is idempotent and thread-safe.

:func:`import_ultralytics` must be used instead of a bare ``import ultralytics``: it sets
``YOLO_OFFLINE`` / ``YOLO_CONFIG_DIR`` (so nothing is downloaded and no settings file is written
under the user's home), applies the patch, and returns the ``ultralytics`` module.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

__all__ = ["ensure_torchvision_nms", "import_ultralytics", "nms_reference", "torch_nms"]

_LOCK = threading.Lock()
_STATE: str | None = None  # "native" | "patched" once ensure_torchvision_nms() has run
_LIBS: list[torch.library.Library] = []  # keep Library objects alive (dropping them unregisters)

# Above this many boxes the IoU matrix would be too big; fall back to a row-by-row greedy loop.
_MATRIX_MAX = 2048


def _pairwise_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU between every box of ``a`` (N, 4) and ``b`` (M, 4) -> (N, M)."""
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return inter / union.clamp(min=torch.finfo(inter.dtype).tiny)


def torch_nms(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression in plain torch (the kernel registered for torchvision::nms).

    Returns the int64 indices of the kept boxes, sorted by decreasing score.
    """
    if dets.dim() != 2 or dets.size(1) != 4:
        raise RuntimeError(f"boxes should be a (N, 4) tensor, got {tuple(dets.shape)}")
    if scores.dim() != 1 or scores.size(0) != dets.size(0):
        raise RuntimeError("scores should be a 1-D tensor with one score per box")
    n = dets.size(0)
    if n == 0:
        return torch.empty(0, dtype=torch.long, device=dets.device)
    order = torch.argsort(scores, descending=True, stable=True)
    boxes = dets.index_select(0, order)
    if not boxes.is_floating_point():
        boxes = boxes.float()
    if n <= _MATRIX_MAX:
        over = (_pairwise_iou(boxes, boxes) > iou_threshold).cpu().numpy()
        removed = np.zeros(n, dtype=bool)
        keep: list[int] = []
        for i in range(n):
            if removed[i]:
                continue
            keep.append(i)
            removed |= over[i]
    else:
        removed_t = torch.zeros(n, dtype=torch.bool, device=boxes.device)
        keep = []
        for i in range(n):
            if bool(removed_t[i]):
                continue
            keep.append(i)
            if i + 1 < n:
                iou = _pairwise_iou(boxes[i : i + 1], boxes[i + 1 :])[0]
                removed_t[i + 1 :] |= iou > iou_threshold
    keep_t = torch.as_tensor(keep, dtype=torch.long, device=dets.device)
    return order.index_select(0, keep_t)


def _torch_qnms(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    return torch_nms(dets.dequantize(), scores.dequantize(), iou_threshold)


def nms_reference(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Brute-force, loop-only NMS in numpy (slow; for tests)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    order = sorted(range(len(scores)), key=lambda k: (-scores[k], k))
    keep: list[int] = []
    for i in order:
        ok = True
        for j in keep:
            x1 = max(boxes[i, 0], boxes[j, 0])
            y1 = max(boxes[i, 1], boxes[j, 1])
            x2 = min(boxes[i, 2], boxes[j, 2])
            y2 = min(boxes[i, 3], boxes[j, 3])
            inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
            area_i = max(0.0, boxes[i, 2] - boxes[i, 0]) * max(0.0, boxes[i, 3] - boxes[i, 1])
            area_j = max(0.0, boxes[j, 2] - boxes[j, 0]) * max(0.0, boxes[j, 3] - boxes[j, 1])
            union = area_i + area_j - inter
            if union > 0 and inter / union > iou_threshold:
                ok = False
                break
        if ok:
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


def _op_exists(name: str) -> bool:
    try:
        return hasattr(torch.ops.torchvision, name)
    except Exception:  # noqa: BLE001 - torch raises various errors for unknown namespaces
        return False


def _try_load_native_extension() -> None:
    """Load torchvision's compiled ``_C`` library without importing torchvision (may fail)."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return
    for location in spec.submodule_search_locations:
        for lib in sorted(Path(location).glob("_C*.so")) + sorted(Path(location).glob("_C*.pyd")):
            try:
                torch.ops.load_library(str(lib))
                return
            except Exception:  # noqa: BLE001 - OSError / RuntimeError on an ABI mismatch
                continue


def _native_nms_works() -> bool:
    try:
        boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20, 30, 30]])
        scores = torch.tensor([0.9, 0.8, 0.7])
        out = torch.ops.torchvision.nms(boxes, scores, 0.5)
        return out.tolist() == [0, 2]
    except Exception:  # noqa: BLE001
        return False


def _register_pure_torch_ops() -> None:
    keys = ["CPU"]
    if torch.cuda.is_available():
        keys.append("CUDA")
    if not _op_exists("nms"):
        lib = torch.library.Library("torchvision", "FRAGMENT")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        if not _op_exists("qnms"):
            lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            lib.impl("qnms", _torch_qnms, "QuantizedCPU")
        _LIBS.append(lib)
    impl_lib = torch.library.Library("torchvision", "IMPL")
    for key in keys:
        impl_lib.impl("nms", torch_nms, key)
    _LIBS.append(impl_lib)


def _bypass_torchvision_ops_check() -> None:
    """torchvision.ops.nms asserts that the compiled extension loaded; call the op directly."""
    import torchvision.ops
    import torchvision.ops.boxes as tv_boxes

    def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
        return torch.ops.torchvision.nms(boxes, scores, iou_threshold)

    nms.__doc__ = tv_boxes.nms.__doc__
    tv_boxes.nms = nms  # used by batched_nms
    torchvision.ops.nms = nms


def ensure_torchvision_nms() -> str:
    """Make ``torchvision.ops.nms`` work; idempotent.

    Returns ``"native"`` when torchvision's compiled operator works, ``"patched"`` when the
    pure-torch kernel was registered.  Must run before torchvision (hence Ultralytics) is imported
    when the compiled extension is broken; afterwards ``import torchvision`` succeeds.
    """
    global _STATE
    with _LOCK:
        if _STATE is not None:
            return _STATE
        if not _op_exists("nms"):
            _try_load_native_extension()
        if _op_exists("nms") and _native_nms_works():
            _STATE = "native"
            return _STATE
        # A previous failed ``import torchvision`` leaves half-imported submodules behind.
        if "torchvision" not in sys.modules:
            for name in [m for m in sys.modules if m.startswith("torchvision.")]:
                del sys.modules[name]
        _register_pure_torch_ops()
        _bypass_torchvision_ops_check()
        _STATE = "patched"
        return _STATE


def _default_config_dir() -> Path:
    """The project's var/ultralytics (workers call ``import_ultralytics`` with their VAR_DIR's)."""
    return Path(__file__).resolve().parents[2] / "var" / "ultralytics"


def import_ultralytics(config_dir: str | os.PathLike | None = None) -> ModuleType:
    """Set offline mode and a project-local config dir, patch NMS, then import ``ultralytics``.

    An explicit ``YOLO_CONFIG_DIR`` already in the environment wins over ``config_dir``.
    """
    if "ultralytics" not in sys.modules:
        os.environ["YOLO_OFFLINE"] = "1"
        os.environ.setdefault("YOLO_AUTOINSTALL", "false")
        cfg = Path(os.environ.get("YOLO_CONFIG_DIR") or config_dir or _default_config_dir())
        cfg.mkdir(parents=True, exist_ok=True)
        os.environ["YOLO_CONFIG_DIR"] = str(cfg)
    ensure_torchvision_nms()
    import ultralytics

    return ultralytics
