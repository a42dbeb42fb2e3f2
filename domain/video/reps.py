"""Repetition segmentation from the velocity minima of an exercise's key joints.

For each exercise a 1-D *depth* signal is built from its key joints (e.g. the hips' height for
a squat, the shoulders' height for a push-up, the wrists relative to the shoulders for a
curl), in torso-length units, so that it grows toward the movement extreme. The signal is
smoothed (Gaussian, ~0.08 s); its maxima and the minima between them are the frames where the
key joints stop and turn, i.e. their velocity minima. A maximum counts as a repetition's
``bottom_frame`` (the movement extreme) when its prominence exceeds both a fraction of the
signal's range and an absolute minimum, and when it is at least ``min_rep_s`` after the
previous one; the repetition starts / ends where the signal has come back within 10 % of the
neighbouring minima. Masked joints are ignored (NaN), short gaps interpolated.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from . import keypoints as K


@dataclass
class Rep:
    index: int  # 1-based
    start_frame: int
    end_frame: int
    bottom_frame: int  # frame of the movement extreme

    def to_dict(self) -> dict:
        return asdict(self)


# depth signal definitions: list of (weight, joints_a, joints_b): term = w * (mean_y(a) - mean_y(b))
# (image y grows downward; joints_b may be empty = absolute height)
_S, _W, _H, _N = (K.L_SHOULDER, K.R_SHOULDER), (K.L_WRIST, K.R_WRIST), (K.L_HIP, K.R_HIP), (K.NOSE,)
SIGNALS: dict[str, list[tuple[float, tuple, tuple]]] = {
    "squat": [(1.0, _H, ())],
    "lunge": [(1.0, _H, ())],
    "pushup": [(1.0, _S, ())],
    "bench_press": [(1.0, _W, _S)],
    "barbell_biceps_curl": [(1.0, _S, _W)],
    "triceps_pushdown": [(1.0, _W, _S)],
    "lat_pulldown": [(1.0, _W, _S)],
    "pullup": [(-1.0, _S, ())],
    "situp": [(1.0, _H, _S)],
    "jumping_jacks": [(1.0, _S, _W)],
}
MIN_REP_S = {"jumping_jacks": 0.35, "situp": 0.6, "pullup": 0.7}
DEFAULT_MIN_REP_S = 0.6
MIN_AMPLITUDE = 0.12  # torso lengths
REL_PROMINENCE = 0.35


def _mean_y(xy: np.ndarray, joints: tuple) -> np.ndarray:
    ys = xy[:, list(joints), 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(ys, axis=1)


def _fill_nan(sig: np.ndarray) -> np.ndarray | None:
    ok = np.isfinite(sig)
    if ok.sum() < 2:
        return None
    idx = np.arange(sig.size)
    return np.interp(idx, idx[ok], sig[ok])


def depth_signal(seq: np.ndarray, fps: float, exercise: str | None) -> np.ndarray | None:
    """Smoothed depth signal (T,) in torso lengths (grows toward the movement extreme), or
    None when the key joints are never visible."""
    seq = K.as_sequence(seq)
    xy = K.masked_xy(seq)
    xy = K.interpolate_gaps(xy, max_gap=max(int(0.3 * fps), 2))
    _, scale = K.body_center_scale(xy)
    xy = xy / scale
    sig = None
    spec = SIGNALS.get(exercise or "")
    if spec:
        total = np.zeros(xy.shape[0])
        for w, a, b in spec:
            term = _mean_y(xy, a)
            if b:
                term = term - _mean_y(xy, b)
            total = total + w * term
        sig = _fill_nan(total)
    if sig is None:
        sig = _generic_signal(xy)
    if sig is None:
        return None
    sigma = max(0.08 * fps, 1.0)
    return gaussian_filter1d(sig, sigma, mode="nearest")


def _generic_signal(xy: np.ndarray) -> np.ndarray | None:
    """First principal component of all visible joints' motion, oriented so that the first
    frame is at the low (rest) end."""
    T = xy.shape[0]
    flat = xy[:, list(K.MODEL_JOINTS)].reshape(T, -1)
    good = np.isfinite(flat).mean(axis=0) > 0.6
    if good.sum() < 2 or T < 3:
        return None
    flat = flat[:, good]
    cols = [_fill_nan(flat[:, c]) for c in range(flat.shape[1])]
    flat = np.stack([c for c in cols if c is not None], axis=1)
    flat = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    sig = flat @ vt[0]
    if sig[: max(T // 10, 1)].mean() > np.median(sig):
        sig = -sig
    return sig


def segment_repetitions(
    seq: np.ndarray,
    fps: float,
    exercise: str | None,
    min_rep_s: float | None = None,
    min_amplitude: float = MIN_AMPLITUDE,
    rel_prominence: float = REL_PROMINENCE,
) -> list[Rep]:
    """Repetitions of ``exercise`` in a (T, 17, 3) pixel sequence sampled at ``fps``.

    ``exercise`` None / unknown uses the first principal component of the joints' motion.
    Returns ``[]`` for a still image, no visible person or no movement.
    """
    seq = K.as_sequence(seq)
    T = seq.shape[0]
    fps = float(fps) if fps and fps > 0 else 30.0
    if T < 5:
        return []
    sig = depth_signal(seq, fps, exercise)
    if sig is None:
        return []
    lo, hi = np.percentile(sig, [5, 95])
    rng = hi - lo
    if rng < min_amplitude:
        return []
    min_rep = MIN_REP_S.get(exercise or "", DEFAULT_MIN_REP_S) if min_rep_s is None else min_rep_s
    prom = max(rel_prominence * rng, min_amplitude)
    peaks, _ = find_peaks(sig, prominence=prom, distance=max(int(min_rep * fps), 1))
    reps: list[Rep] = []
    prev_end = 0
    for k, b in enumerate(peaks):
        left_lim = peaks[k - 1] if k > 0 else 0
        right_lim = peaks[k + 1] if k + 1 < len(peaks) else T - 1
        seg = sig[left_lim : b + 1]
        base = seg.min()
        thr = base + 0.1 * (sig[b] - base)
        below = np.flatnonzero(seg <= thr)
        start = left_lim + int(below[-1]) if below.size else left_lim
        seg = sig[b : right_lim + 1]
        base = seg.min()
        thr = base + 0.1 * (sig[b] - base)
        below = np.flatnonzero(seg <= thr)
        end = b + int(below[0]) if below.size else right_lim
        start = max(start, prev_end)
        if start >= b:
            start = max(left_lim, b - 1)
        reps.append(
            Rep(
                index=len(reps) + 1, start_frame=int(start), end_frame=int(end), bottom_frame=int(b)
            )
        )
        prev_end = end
    return reps
