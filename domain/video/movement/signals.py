"""Per-frame quantities a movement specification names (``signal``), from 2-D COCO-17 keypoints.

All work on the cleaned joints of :func:`domain.video.form.body.measure_body` (masked below the
confidence threshold, short gaps filled). NaN where a joint is unseen.

* ``flexion`` (knee: hip-knee-ankle, hip: shoulder-hip-knee, elbow: shoulder-elbow-wrist):
  180 minus the 2-D angle, degrees (0 = straight);
* ``elevation`` (shoulder): the hip-shoulder-elbow angle (0 = arm along the trunk);
* ``inclination`` of a segment from the vertical (thigh hip->knee, shin knee->ankle, upper arm
  shoulder->elbow from straight down; trunk hip->shoulder from straight up), degrees;
* ``rise`` of a point (mid-hip, mid-shoulder, mid-knee, nose, or ``trunk`` = mean of mid-hip and
  mid-shoulder) upward, in % of the nose-to-ankle height (there is no foot point in COCO-17: a
  heel raise is seen as the body rising);
* ``separation``: ``thighs`` the angle between the two thighs (hip abduction, clamshell);
  ``ankles_x`` the ankles' horizontal gap in % of shoulder width; ``ankles_y`` their vertical
  gap and ``ankles_xy`` their distance in % of body height;
* ``lateral_shift``: the mid-hip's sideways distance from its median position, % of shoulder
  width;
* ``knee_lift``: the knee's height relative to the hip, % of thigh length (0 = knee level with
  the hip, -100 = straight below);
* ``body_line``: the hip's offset from the shoulder-ankle line, % of its length (positive =
  sagging toward the floor).

Sides: ``left`` / ``right``, ``mean`` (of the seen sides), ``max`` / ``min`` per frame (the
bending or alternating leg), ``moving`` (the side with the larger range over the clip).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import keypoints as K
from ..form.body import Body, angle, line_offset

_IDX = {
    "shoulder": (K.L_SHOULDER, K.R_SHOULDER), "elbow": (K.L_ELBOW, K.R_ELBOW),
    "wrist": (K.L_WRIST, K.R_WRIST), "hip": (K.L_HIP, K.R_HIP), "knee": (K.L_KNEE, K.R_KNEE),
    "ankle": (K.L_ANKLE, K.R_ANKLE),
}
_FLEXION = {"knee": ("hip", "knee", "ankle"), "hip": ("shoulder", "hip", "knee"),
            "elbow": ("shoulder", "elbow", "wrist")}
_SEGMENTS = {"thigh": ("hip", "knee", 1.0), "shin": ("knee", "ankle", 1.0),
             "upper_arm": ("shoulder", "elbow", 1.0), "trunk": ("hip", "shoulder", -1.0)}


def _pt(body: Body, part: str, side: int) -> np.ndarray:
    return body.xy[:, _IDX[part][side]]


def _nan_reduce(fn, arrays: list[np.ndarray]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(np.stack(arrays), axis=0)


def _robust_range(a: np.ndarray) -> float:
    a = a[np.isfinite(a)]
    if a.size < 3:
        return -1.0
    lo, hi = np.percentile(a, [5, 95])
    return float(hi - lo)


def combine(left: np.ndarray, right: np.ndarray, side: str | None) -> np.ndarray:
    if side == "left":
        return left
    if side == "right":
        return right
    if side == "max":
        return _nan_reduce(np.nanmax, [left, right])
    if side == "min":
        return _nan_reduce(np.nanmin, [left, right])
    if side == "moving":
        T = left.size
        ok_l, ok_r = np.isfinite(left).sum() >= 0.5 * T, np.isfinite(right).sum() >= 0.5 * T
        if ok_l and ok_r:
            return left if _robust_range(left) >= _robust_range(right) else right
        if ok_l or ok_r:
            return left if ok_l else right
    return _nan_reduce(np.nanmean, [left, right])


def _height(body: Body) -> float:
    """Nose-to-ankle height in pixels (a high percentile: the person standing); 3 torso
    lengths when the face or ankles are unseen."""
    ank = _nan_reduce(np.nanmean, [_pt(body, "ankle", 0)[:, 1], _pt(body, "ankle", 1)[:, 1]])
    h = ank - body.xy[:, K.NOSE, 1]
    h = h[np.isfinite(h)]
    if h.size >= max(3, 0.3 * body.T):
        v = float(np.percentile(h, 90))
        if v > body.torso:
            return v
    return 3.0 * body.torso


def _shoulder_width(body: Body) -> float:
    w = np.abs(_pt(body, "shoulder", 0)[:, 0] - _pt(body, "shoulder", 1)[:, 0])
    w = w[np.isfinite(w)]
    v = float(np.median(w)) if w.size else float("nan")
    return v if np.isfinite(v) and v > 0.2 * body.torso else 0.7 * body.torso


def _mid(body: Body, part: str) -> np.ndarray:
    return body.mid(part)


def body_incline(body: Body) -> np.ndarray:
    """Degrees of the shoulder->ankle line (knee where the ankles are unseen) from vertical:
    0 standing, 90 lying."""
    s, end = _mid(body, "shoulder"), _mid(body, "ankle")
    miss = ~np.isfinite(end[:, 0])
    end[miss] = _mid(body, "knee")[miss]
    v = s - end
    n = np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.degrees(np.arccos(np.clip(np.abs(v[:, 1]) / n, 0.0, 1.0)))


def compute(body: Body, signal: dict) -> np.ndarray:
    """(T,) the signal a specification names (see the module doc)."""
    m = signal["measure"]
    side = signal.get("side")
    if m == "flexion":
        a, b, c = _FLEXION[signal["joint"]]
        per = [180.0 - angle(_pt(body, a, s), _pt(body, b, s), _pt(body, c, s)) for s in (0, 1)]
        return combine(*per, side)
    if m == "elevation":
        per = [angle(_pt(body, "hip", s), _pt(body, "shoulder", s), _pt(body, "elbow", s))
               for s in (0, 1)]
        return combine(*per, side or "mean")
    if m == "inclination":
        a, b, sign = _SEGMENTS[signal["segment"]]
        per = []
        for s in (0, 1):
            v = (_pt(body, b, s) - _pt(body, a, s)) * sign
            n = np.linalg.norm(v, axis=-1)
            with np.errstate(invalid="ignore", divide="ignore"):
                per.append(np.degrees(np.arccos(np.clip(v[:, 1] / n, -1.0, 1.0))))
        return combine(*per, side or "mean")
    if m == "rise":
        point = signal["point"]
        if point == "trunk":
            y = _nan_reduce(np.nanmean, [_mid(body, "hip")[:, 1], _mid(body, "shoulder")[:, 1]])
        elif point == "nose":
            y = body.xy[:, K.NOSE, 1]
        else:
            y = _mid(body, point)[:, 1]
        return -100.0 * y / _height(body)
    if m == "separation":
        parts = signal["parts"]
        if parts == "thighs":
            vl = _pt(body, "knee", 0) - _pt(body, "hip", 0)
            vr = _pt(body, "knee", 1) - _pt(body, "hip", 1)
            out = angle(vl, np.zeros_like(vl), vr)
            # a thigh pointing at the camera has no meaningful 2-D direction: drop frames where
            # either thigh is shorter than half the torso in the picture
            short = ((np.linalg.norm(vl, axis=-1) < 0.5 * body.torso)
                     | (np.linalg.norm(vr, axis=-1) < 0.5 * body.torso))
            return np.where(short, np.nan, out)
        d = _pt(body, "ankle", 0) - _pt(body, "ankle", 1)
        if parts == "ankles_x":
            return 100.0 * np.abs(d[:, 0]) / _shoulder_width(body)
        if parts == "ankles_y":
            return 100.0 * np.abs(d[:, 1]) / _height(body)
        return 100.0 * np.linalg.norm(d, axis=-1) / _height(body)
    if m == "lateral_shift":
        x = _mid(body, "hip")[:, 0]
        ok = np.isfinite(x)
        center = float(np.median(x[ok])) if ok.any() else 0.0
        return 100.0 * np.abs(x - center) / _shoulder_width(body)
    if m == "knee_lift":
        per = []
        for s in (0, 1):
            hip, knee = _pt(body, "hip", s), _pt(body, "knee", s)
            length = np.linalg.norm(knee - hip, axis=-1)
            ok = np.isfinite(length)
            ref = float(np.percentile(length[ok], 90)) if ok.any() else body.torso
            per.append(100.0 * (hip[:, 1] - knee[:, 1]) / max(ref, 1e-6))
        return combine(*per, side or "max")
    if m == "body_line":
        s, h, end = _mid(body, "shoulder"), _mid(body, "hip"), _mid(body, "ankle")
        miss = ~np.isfinite(end[:, 0])
        end[miss] = _mid(body, "knee")[miss]
        return 100.0 * line_offset(s, end, h)
    raise ValueError(f"unknown signal measure {m!r}")
