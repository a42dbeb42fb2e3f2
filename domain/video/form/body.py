"""Geometry of one keypoint sequence for the form criteria: cleaned joints, torso scale, the
camera view and the direction the person faces."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .. import keypoints as K

VIEWS = ("front", "side", "three_quarter")
#: shoulder (or hip) width / torso length: below SIDE_MAX the camera sees the body from the
#: side, above FRONT_MIN from the front (or back), in between three-quarter
SIDE_MAX = 0.33
FRONT_MIN = 0.62

_PAIRS = {
    "shoulder": (K.L_SHOULDER, K.R_SHOULDER), "elbow": (K.L_ELBOW, K.R_ELBOW),
    "wrist": (K.L_WRIST, K.R_WRIST), "hip": (K.L_HIP, K.R_HIP), "knee": (K.L_KNEE, K.R_KNEE),
    "ankle": (K.L_ANKLE, K.R_ANKLE), "ear": (K.L_EAR, K.R_EAR), "eye": (K.L_EYE, K.R_EYE),
}


def _nanmedian(a, default=np.nan) -> float:
    a = np.asarray(a, float)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else default


def _nanmean_rows(*arrays: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack(arrays), axis=0)


@dataclass
class Body:
    xy: np.ndarray  # (T, 17, 2) pixels, NaN where masked (short gaps filled)
    conf: np.ndarray  # (T, 17)
    fps: float
    torso: float  # median torso length in pixels
    view: str  # front | side | three_quarter
    width_ratio: float
    near: str  # "left" | "right": the side nearer the camera (better seen)
    facing: float  # +1 the person faces image-right, -1 image-left (side views)

    @property
    def T(self) -> int:
        return int(self.xy.shape[0])

    def joint(self, name: str) -> np.ndarray:
        """(T, 2) a COCO joint by name (``left_knee``), NaN where unseen."""
        return self.xy[:, K.JOINT_INDEX[name]]

    def mid(self, part: str) -> np.ndarray:
        a, b = _PAIRS[part]
        return _nanmean_rows(self.xy[:, a], self.xy[:, b])

    def near_side(self, part: str) -> np.ndarray:
        """The near side's joint, the far side's where the near one is unseen."""
        a, b = _PAIRS[part]
        first, second = (a, b) if self.near == "left" else (b, a)
        out = self.xy[:, first].copy()
        miss = ~np.isfinite(out[:, 0])
        out[miss] = self.xy[miss, second]
        return out

    def side(self, part: str, which: str) -> np.ndarray:
        a, b = _PAIRS[part]
        return self.xy[:, a if which == "left" else b]


def _fill(xy: np.ndarray, max_gap: int) -> np.ndarray:
    return K.interpolate_gaps(xy, max_gap=max_gap) if xy.shape[0] > 1 else xy


def measure_body(seq: np.ndarray, fps: float) -> Body:
    seq = K.as_sequence(seq)
    xy = K.masked_xy(seq)
    conf = np.where(np.isfinite(xy[..., 0]), np.nan_to_num(seq[..., 2]), 0.0)
    xy = _fill(xy, max_gap=max(2, int(round(0.3 * (fps or 10)))))
    ms = _nanmean_rows(xy[:, K.L_SHOULDER], xy[:, K.R_SHOULDER])
    mh = _nanmean_rows(xy[:, K.L_HIP], xy[:, K.R_HIP])
    torso_t = np.linalg.norm(ms - mh, axis=-1)
    torso = _nanmedian(torso_t)
    if not np.isfinite(torso) or torso <= 1e-6:
        # no torso: fall back to the body's extent
        ys = xy[..., 1][np.isfinite(xy[..., 1])]
        torso = float(np.ptp(ys) / 3.0) if ys.size else 1.0
        torso = torso if torso > 1e-6 else 1.0
    # the torso is at its longest when least foreshortened: use a high percentile for the ratio
    torso_hi = float(np.nanpercentile(torso_t, 90)) if np.isfinite(torso_t).any() else torso
    sw = np.linalg.norm(xy[:, K.L_SHOULDER] - xy[:, K.R_SHOULDER], axis=-1)
    hw = np.linalg.norm(xy[:, K.L_HIP] - xy[:, K.R_HIP], axis=-1)
    width = _nanmedian(np.fmax(sw, hw * 1.1))
    ratio = width / torso_hi if np.isfinite(width) and torso_hi > 1e-6 else np.nan
    if not np.isfinite(ratio):
        view = "side"  # one shoulder and hip only: the other side is hidden
        ratio = 0.0
    elif ratio < SIDE_MAX:
        view = "side"
    elif ratio > FRONT_MIN:
        view = "front"
    else:
        view = "three_quarter"
    left = [K.L_SHOULDER, K.L_ELBOW, K.L_WRIST, K.L_HIP, K.L_KNEE, K.L_ANKLE]
    right = [K.R_SHOULDER, K.R_ELBOW, K.R_WRIST, K.R_HIP, K.R_KNEE, K.R_ANKLE]
    near = "left" if conf[:, left].mean() >= conf[:, right].mean() else "right"
    # facing: the nose (else the ears' mean) ahead of the shoulders
    head = xy[:, K.NOSE].copy()
    miss = ~np.isfinite(head[:, 0])
    head[miss] = _nanmean_rows(xy[miss, K.L_EAR], xy[miss, K.R_EAR]) if miss.any() else head[miss]
    dx = _nanmedian(head[:, 0] - ms[:, 0])
    if not np.isfinite(dx) or abs(dx) < 1e-6:
        dx = _nanmedian(xy[:, K.L_WRIST, 0] - ms[:, 0])
    facing = 1.0 if not np.isfinite(dx) or dx >= 0 else -1.0
    return Body(xy=xy, conf=conf, fps=float(fps or 30.0), torso=float(torso), view=view,
                width_ratio=round(float(ratio), 3), near=near, facing=facing)


def angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(T,) angle ABC in degrees, NaN where a point is unseen."""
    ba, bc = a - b, c - b
    n1, n2 = np.linalg.norm(ba, axis=-1), np.linalg.norm(bc, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(ba * bc, axis=-1) / (n1 * n2)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def line_offset(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(T,) signed distance of P from the line A-B, as a fraction of |AB|; positive when P lies
    below the line in the image (toward the floor)."""
    d = b - a
    n = np.stack([-d[:, 1], d[:, 0]], axis=-1)
    n = np.where((n[:, 1] < 0)[:, None], -n, n)  # normal pointing down the image
    length = np.linalg.norm(d, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum((p - a) * n, axis=-1) / (length**2)


def inclination(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """(T,) degrees of lower->upper from the image vertical (0 upright, 90 horizontal)."""
    v = upper - lower
    n = np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.degrees(np.arccos(np.clip(-v[:, 1] / n, -1.0, 1.0)))


def lean_back(body: Body) -> np.ndarray:
    """(T,) signed degrees the trunk leans backward (shoulders behind the hips, against the
    facing direction); negative when it leans forward."""
    ms, mh = body.mid("shoulder"), body.mid("hip")
    v = ms - mh
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.degrees(np.arctan2(-body.facing * v[:, 0], -v[:, 1]))
