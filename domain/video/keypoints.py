"""COCO-17 keypoint sequences: layout, masking, normalization, resampling, format conversion.

Convention used by every module of ``domain.video``:

* a sequence is a float32 array ``(T, 17, 3)`` in COCO-17 order, columns ``x, y`` in
  **pixels** of a ``width x height`` frame and ``confidence`` in 0..1;
* a joint whose confidence is below ``CONF_THRESHOLD`` (0.3) is *masked*: it is missing and
  never trusted. :func:`masked_xy` turns a sequence into ``(T, 17, 2)`` coordinates with NaN
  at masked joints; every geometric computation (angles, rep signals, retrieval) works on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CONF_THRESHOLD = 0.3

COCO17_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
JOINT_INDEX = {name: i for i, name in enumerate(COCO17_NAMES)}

NOSE, L_EYE, R_EYE, L_EAR, R_EAR = 0, 1, 2, 3, 4
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 5, 6, 7, 8, 9, 10
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 11, 12, 13, 14, 15, 16

SKELETON_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (5, 6),
    (5, 7),
    (7, 9),
    (6, 8),
    (8, 10),
    (5, 11),
    (6, 12),
    (11, 12),
    (11, 13),
    (13, 15),
    (12, 14),
    (14, 16),
)

# index of the mirrored joint (left <-> right)
FLIP_INDEX: tuple[int, ...] = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)

# Joints fed to the classifier: nose + body joints. Eyes/ears are left out because the
# Penn Action annotations (the real training data) do not have them.
MODEL_JOINTS: tuple[int, ...] = (0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)

# Penn Action joint order -> COCO-17 index
PENN_TO_COCO: tuple[int, ...] = (0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)


def as_sequence(seq) -> np.ndarray:
    """Coerce input to a float32 (T, 17, 3) array (a single (17, 3) pose becomes T=1)."""
    arr = np.asarray(seq, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != 17 or arr.shape[2] not in (2, 3):
        raise ValueError(f"expected keypoints shaped (T, 17, 3), got {arr.shape}")
    if arr.shape[2] == 2:
        arr = np.concatenate([arr, np.ones(arr.shape[:2] + (1,), np.float32)], axis=2)
    arr = arr.copy()
    bad = ~np.isfinite(arr).all(axis=2)
    arr[bad] = 0.0
    return arr


def visible_mask(seq: np.ndarray, conf_threshold: float = CONF_THRESHOLD) -> np.ndarray:
    """(T, 17) bool: True where the joint is trusted."""
    seq = np.asarray(seq)
    ok = seq[..., 2] >= conf_threshold
    return ok & np.isfinite(seq[..., 0]) & np.isfinite(seq[..., 1])


def masked_xy(seq: np.ndarray, conf_threshold: float = CONF_THRESHOLD) -> np.ndarray:
    """(T, 17, 2) float64 pixel coordinates with NaN at masked joints."""
    seq = np.asarray(seq)
    xy = seq[..., :2].astype(np.float64).copy()
    xy[~visible_mask(seq, conf_threshold)] = np.nan
    return xy


def _nanmean_pair(xy: np.ndarray, a: int, b: int) -> np.ndarray:
    """Midpoint of joints a and b; one of them alone when the other is missing."""
    pa, pb = xy[..., a, :], xy[..., b, :]
    both = np.stack([pa, pb], axis=0)
    with np.errstate(invalid="ignore"):
        cnt = np.sum(np.isfinite(both[..., 0]), axis=0)
        s = np.nansum(both, axis=0)
    out = s / np.maximum(cnt, 1)[..., None]
    out[cnt == 0] = np.nan
    return out


def mid_hip(xy: np.ndarray) -> np.ndarray:
    return _nanmean_pair(xy, L_HIP, R_HIP)


def mid_shoulder(xy: np.ndarray) -> np.ndarray:
    return _nanmean_pair(xy, L_SHOULDER, R_SHOULDER)


def interpolate_gaps(xy: np.ndarray, max_gap: int = 5) -> np.ndarray:
    """Linearly fill NaN runs of at most ``max_gap`` frames that lie between two valid frames.

    Longer gaps and leading/trailing gaps stay NaN (still masked).
    """
    out = np.array(xy, dtype=np.float64, copy=True)
    T = out.shape[0]
    if T < 3:
        return out
    flat = out.reshape(T, -1)
    idx = np.arange(T)
    for c in range(flat.shape[1]):
        col = flat[:, c]
        valid = np.isfinite(col)
        if valid.all() or valid.sum() < 2:
            continue
        filled = np.interp(idx, idx[valid], col[valid])
        # run-length of NaN segments
        nan_idx = np.flatnonzero(~valid)
        start = nan_idx[0]
        prev = start
        runs = []
        for i in nan_idx[1:]:
            if i != prev + 1:
                runs.append((start, prev))
                start = i
            prev = i
        runs.append((start, prev))
        for a, b in runs:
            if a == 0 or b == T - 1 or (b - a + 1) > max_gap:
                continue
            col[a : b + 1] = filled[a : b + 1]
        flat[:, c] = col
    return flat.reshape(out.shape)


def body_center_scale(xy: np.ndarray) -> tuple[np.ndarray, float]:
    """Robust per-sequence center (mid-hip, fallback mid-shoulder, fallback all joints) and
    scale (median torso length, fallback bounding-box size). ``xy`` is (T, 17, 2) with NaN."""
    hips = mid_hip(xy)
    shoulders = mid_shoulder(xy)
    center = np.full(2, np.nan)
    for cand in (hips, shoulders, xy.reshape(-1, 2)):
        ok = np.isfinite(cand).all(axis=-1)
        if ok.any():
            center = np.median(cand[ok], axis=0)
            break
    if not np.isfinite(center).all():
        center = np.zeros(2)
    torso = np.linalg.norm(shoulders - hips, axis=-1)
    torso = torso[np.isfinite(torso)]
    torso_len = float(np.median(torso)) if torso.size else np.nan
    pts = xy.reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if pts.shape[0] >= 2:
        lo, hi = np.percentile(pts, [2, 98], axis=0)
        bbox = float(max(hi - lo))
    else:
        bbox = np.nan
    cands = []
    if np.isfinite(torso_len) and torso_len > 1e-6:
        cands.append(torso_len)
    if np.isfinite(bbox) and bbox > 1e-6:
        cands.append(bbox / 3.0)  # a body is ~3 torso lengths tall
    if not cands:
        scale = 1.0
    elif len(cands) == 2:
        # torso can be foreshortened (torso pointing at the camera): do not let it collapse
        scale = max(cands[0], 0.5 * cands[1])
    else:
        scale = cands[0]
    return center, float(scale)


def normalize_sequence(
    seq: np.ndarray,
    conf_threshold: float = CONF_THRESHOLD,
    max_gap: int = 5,
    per_frame: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Normalize pixel keypoints to a body frame.

    Returns ``(xy, mask)``: xy (T, 17, 2) centered at the mid-hip (fallback mid-shoulder)
    and divided by the torso length (fallback bbox size / 3), short gaps (<= ``max_gap``
    frames) interpolated, still-missing joints set to 0; mask (T, 17) float32, 1 where the
    coordinate is observed or interpolated. ``per_frame=True`` centers every frame on its own
    mid-hip (used for pose retrieval); the default uses one center per sequence so that the
    body's own motion (hips going down in a squat) is kept.
    """
    seq = as_sequence(seq)
    xy = masked_xy(seq, conf_threshold)
    if max_gap > 0:
        xy = interpolate_gaps(xy, max_gap)
    center, scale = body_center_scale(xy)
    if per_frame:
        c = mid_hip(xy)
        fb = mid_shoulder(xy)
        c = np.where(np.isfinite(c), c, fb)
        c = np.where(np.isfinite(c), c, center[None])
        xy = (xy - c[:, None, :]) / scale
    else:
        xy = (xy - center) / scale
    mask = np.isfinite(xy).all(axis=-1)
    xy = np.where(mask[..., None], xy, 0.0).astype(np.float32)
    return xy, mask.astype(np.float32)


def resample(arr: np.ndarray, length: int) -> np.ndarray:
    """Linearly resample the first axis of ``arr`` to ``length`` samples (T=1 is repeated)."""
    arr = np.asarray(arr)
    T = arr.shape[0]
    if length == T:
        return arr.copy()
    if T == 1:
        return np.repeat(arr, length, axis=0)
    pos = np.linspace(0, T - 1, length)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, T - 1)
    w = (pos - lo).reshape((-1,) + (1,) * (arr.ndim - 1))
    return (arr[lo] * (1 - w) + arr[hi] * w).astype(arr.dtype)


def resample_mask(mask: np.ndarray, length: int) -> np.ndarray:
    """Nearest-neighbour resampling of a mask (masks are never blended)."""
    mask = np.asarray(mask)
    T = mask.shape[0]
    if length == T:
        return mask.copy()
    idx = np.round(np.linspace(0, T - 1, length)).astype(int)
    return mask[idx]


def mirror_sequence(seq: np.ndarray, width: float) -> np.ndarray:
    """Horizontal mirror of a pixel sequence: x -> width - x and left/right joints swapped."""
    seq = as_sequence(seq)
    out = seq[:, list(FLIP_INDEX), :].copy()
    out[..., 0] = width - out[..., 0]
    return out


def person_present(seq: np.ndarray, min_joints: int = 5, conf_threshold: float = CONF_THRESHOLD):
    """(T,) bool: frames where at least ``min_joints`` joints are trusted."""
    return visible_mask(seq, conf_threshold).sum(axis=1) >= min_joints


# ---------------------------------------------------------------- format conversion


def from_penn(x, y, visibility) -> np.ndarray:
    """Penn Action 13-joint annotation (nframes x 13 lists) -> (T, 17, 3) COCO-17.

    head -> nose (approximately); eyes and ears are missing (confidence 0); invisible joints
    get confidence 0 (their placeholder coordinates are kept but never trusted).
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    v = np.asarray(visibility, dtype=np.float32)
    T = x.shape[0]
    out = np.zeros((T, 17, 3), np.float32)
    idx = list(PENN_TO_COCO)
    out[:, idx, 0] = x
    out[:, idx, 1] = y
    out[:, idx, 2] = (v > 0).astype(np.float32)
    return out


def from_pushfit(data) -> np.ndarray:
    """PushFit/MoveNet JSON (list of ``{"keypoints": [{"x","y","score"} x 17]}``, or a path to
    such a file) -> (T, 17, 3). Frames without keypoints become fully masked frames."""
    if isinstance(data, (str, Path)):
        with open(data, encoding="utf-8") as fh:
            data = json.load(fh)
    if isinstance(data, dict):
        data = data.get("frames", data.get("keypoints", []))
    out = np.zeros((len(data), 17, 3), np.float32)
    for t, frame in enumerate(data):
        kps = frame.get("keypoints", []) if isinstance(frame, dict) else frame
        for j, kp in enumerate(kps[:17]):
            if isinstance(kp, dict):
                out[t, j] = (kp.get("x", 0.0), kp.get("y", 0.0), kp.get("score", 0.0))
            else:
                out[t, j, : len(kp)] = kp[:3]
    return out
