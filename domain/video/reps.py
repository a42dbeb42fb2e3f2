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

Without an exercise (``exercise=None``, or one without a signal definition) the count comes from
the dominant joint motion: every visible joint coordinate of the body-normalized sequence is a
candidate signal (oriented so the clip starts at its low end), each is counted the same way, and
the signals with at least half the largest range vote for their count, weighted by their range
squared; the repetitions are then taken from the
largest-range signal that agrees with the winning count. A clip that goes once from one rest
level to another and stays (sit-to-stand, stand-to-sit) counts one repetition.

Each repetition also reports its range of motion: the driving joint angle (the one of elbows,
shoulders, hips and knees with the largest range over the clip) from its minimum to its
maximum between start and end, in degrees.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, median_filter
from scipy.signal import find_peaks

from . import keypoints as K


@dataclass
class Rep:
    index: int  # 1-based
    start_frame: int
    end_frame: int
    bottom_frame: int  # frame of the movement extreme
    rom_deg: float | None = None  # range of motion of the driving joint angle
    joint: str | None = None  # the driving joint angle (e.g. "right_elbow")

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
SIGNALS.update({
    "shoulder_press": [(1.0, _S, _W)],
    "front_raise": [(1.0, _S, _W)],
    "shoulder_shrug": [(-1.0, _S, ())],
})
MIN_REP_S = {"jumping_jacks": 0.35, "situp": 0.6, "pullup": 0.7}
# per-exercise smallest range of the depth signal (torso lengths)
EXERCISE_MIN_AMPLITUDE = {"shoulder_shrug": 0.05}
TRANSITION_FRACTION = 0.6  # a one-way move of this share of the range is one repetition
GENERIC_MIN_AMPLITUDE = 0.15
DOMINANT_SHARE = 0.5
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
        return None
    sigma = max(0.08 * fps, 1.0)
    return gaussian_filter1d(sig, sigma, mode="nearest")


def _normalized_xy(seq: np.ndarray, fps: float) -> np.ndarray:
    xy = K.masked_xy(seq)
    xy = K.interpolate_gaps(xy, max_gap=max(int(0.3 * fps), 2))
    _, scale = K.body_center_scale(xy)
    return xy / scale


def _orient(sig: np.ndarray) -> np.ndarray:
    """Sign so that the clip's first frames (the rest pose) are at the signal's low end:
    flipped when they lie above the middle of the signal's range."""
    n = max(sig.size // 10, 1)
    lo, hi = np.percentile(sig, [5, 95])
    return -sig if sig[:n].mean() > 0.5 * (lo + hi) else sig


def _extents(sig: np.ndarray, peaks: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, bottom, end) per peak: where the signal comes back within 10 % of the
    neighbouring minima."""
    T = sig.size
    out: list[tuple[int, int, int]] = []
    prev_end = 0
    for k, b in enumerate(peaks):
        left_lim = peaks[k - 1] if k > 0 else 0
        right_lim = peaks[k + 1] if k + 1 < len(peaks) else T - 1
        seg = sig[left_lim : b + 1]
        base = seg.min()
        below = np.flatnonzero(seg <= base + 0.1 * (sig[b] - base))
        start = left_lim + int(below[-1]) if below.size else left_lim
        seg = sig[b : right_lim + 1]
        base = seg.min()
        below = np.flatnonzero(seg <= base + 0.1 * (sig[b] - base))
        end = b + int(below[0]) if below.size else right_lim
        start = max(start, prev_end)
        if start >= b:
            start = max(left_lim, b - 1)
        out.append((int(start), int(b), int(end)))
        prev_end = end
    return out


def _transition(sig: np.ndarray, rng: float) -> tuple[int, int, int] | None:
    """One move from a rest level to another that stays (sit-to-stand): (start, bottom, end)
    with the bottom where the new level is reached, or None."""
    T = sig.size
    n = max(int(0.15 * T), 1)
    a, b = float(np.median(sig[:n])), float(np.median(sig[-n:]))
    if abs(b - a) < TRANSITION_FRACTION * rng:
        return None
    x = (sig - a) / (b - a)  # 0 at the first level, 1 at the second
    reached = np.flatnonzero(x >= 0.9)
    if not reached.size:
        return None
    end = int(reached[0])
    left = np.flatnonzero(x[: end + 1] <= 0.1)
    start = int(left[-1]) if left.size else 0
    return (start, end, end)


def _count(
    sig: np.ndarray, fps: float, min_rep: float, min_amplitude: float, rel_prominence: float
) -> tuple[list[tuple[int, int, int]], float]:
    """Repetition extents on one smoothed signal (growing toward the movement extreme) and the
    signal's robust range."""
    lo, hi = np.percentile(sig, [5, 95])
    rng = float(hi - lo)
    if rng < min_amplitude:
        return [], rng
    prom = max(rel_prominence * rng, min_amplitude)
    peaks, _ = find_peaks(sig, prominence=prom, distance=max(int(min_rep * fps), 1))
    if len(peaks):
        return _extents(sig, peaks), rng
    tr = _transition(sig, rng)
    return ([tr] if tr else []), rng


def _despike(sig: np.ndarray, fps: float) -> np.ndarray:
    """Running median over ~0.2 s (at least 3 frames): a joint that jumps for a frame or two
    (a detector's outlier or left/right swap) does not make a repetition."""
    size = max(3, int(round(0.2 * fps)) | 1)
    return median_filter(sig, size=size, mode="nearest") if sig.size >= size else sig


def _candidate_signals(xy: np.ndarray, fps: float) -> list[np.ndarray]:
    """Smoothed, oriented candidate signals: every well-seen joint's x and y relative to the
    frame's mid-hip (the body's own motion, not walking across the image) and the mid-hip's
    height (squats, sit-to-stand), in torso lengths."""
    T = xy.shape[0]
    sigma = max(0.08 * fps, 1.0)
    hip = K.mid_hip(xy)
    hip = np.where(np.isfinite(hip), hip, K.mid_shoulder(xy))
    cols = [hip[:, 1]]
    rel = xy[:, list(K.MODEL_JOINTS)] - hip[:, None, :]
    for j in range(rel.shape[1]):
        if K.MODEL_JOINTS[j] in (K.L_HIP, K.R_HIP):
            continue
        cols += [rel[:, j, 0], rel[:, j, 1]]
    out = []
    for c in cols:
        if np.isfinite(c).mean() < 0.6 or T < 3:
            continue
        f = _fill_nan(c)
        if f is None:
            continue
        out.append(_orient(gaussian_filter1d(_despike(f, fps), sigma, mode="nearest")))
    return out


def _dominant_motion(
    xy: np.ndarray, fps: float, min_rep: float, rel_prominence: float
) -> list[tuple[int, int, int]]:
    """Count on every candidate signal; the signals with at least ``DOMINANT_SHARE`` of the
    largest range vote for their count, weighted by their range squared."""
    results = []
    for sig in _candidate_signals(xy, fps):
        ext, rng = _count(sig, fps, min_rep, GENERIC_MIN_AMPLITUDE, rel_prominence)
        if rng >= GENERIC_MIN_AMPLITUDE:
            results.append((rng, ext))
    if not results:
        return []
    # the dominant motion: signals with at least half the largest range, weighted by range^2
    top = max(r[0] for r in results)
    results = [r for r in results if r[0] >= DOMINANT_SHARE * top]
    votes: dict[int, float] = {}
    for rng, ext in results:
        votes[len(ext)] = votes.get(len(ext), 0.0) + rng**2
    n = max(votes, key=lambda k: (votes[k], -k))
    return max((r for r in results if len(r[1]) == n), key=lambda r: r[0])[1]


def driving_angle(seq: np.ndarray, fps: float) -> tuple[str | None, np.ndarray | None]:
    """The joint angle (elbows, shoulders, hips, knees) with the largest range over the clip,
    smoothed, in degrees; (None, None) when none is seen in most frames."""
    from .angles import ANGLE_JOINTS, joint_angles

    angles = joint_angles(seq)
    best, best_rng, best_sig = None, 0.0, None
    sigma = max(0.08 * fps, 1.0)
    for name in ANGLE_JOINTS:
        a = angles[name]
        if a.size < 3 or np.isfinite(a).mean() < 0.6:
            continue
        f = _fill_nan(a)
        if f is None:
            continue
        f = gaussian_filter1d(f, sigma, mode="nearest")
        lo, hi = np.percentile(f, [5, 95])
        if hi - lo > best_rng:
            best, best_rng, best_sig = name, float(hi - lo), f
    return best, best_sig


def segment_repetitions(
    seq: np.ndarray,
    fps: float,
    exercise: str | None,
    min_rep_s: float | None = None,
    min_amplitude: float | None = None,
    rel_prominence: float = REL_PROMINENCE,
) -> list[Rep]:
    """Repetitions in a (T, 17, 3) pixel sequence sampled at ``fps``.

    With an ``exercise`` that has a signal definition its depth signal is used; with None (or
    ``unknown``, or an exercise without one) the dominant joint motion (see the module doc).
    Every repetition carries its driving joint angle's range of motion. Returns ``[]`` for a
    still image, no visible person or no movement.
    """
    seq = K.as_sequence(seq)
    T = seq.shape[0]
    fps = float(fps) if fps and fps > 0 else 30.0
    if T < 5:
        return []
    min_rep = MIN_REP_S.get(exercise or "", DEFAULT_MIN_REP_S) if min_rep_s is None else min_rep_s
    if exercise in SIGNALS:
        sig = depth_signal(seq, fps, exercise)
        if sig is None:
            return []
        amp = EXERCISE_MIN_AMPLITUDE.get(exercise, MIN_AMPLITUDE)
        extents, _ = _count(sig, fps, min_rep, amp if min_amplitude is None else min_amplitude,
                            rel_prominence)
    else:
        xy = _normalized_xy(seq, fps)
        extents = _dominant_motion(xy, fps, min_rep, rel_prominence)
    if not extents:
        return []
    joint, angle = driving_angle(seq, fps)
    reps = []
    for k, (start, bottom, end) in enumerate(extents):
        rom = None
        if angle is not None:
            part = angle[start : end + 1]
            rom = round(float(part.max() - part.min()), 1) if part.size else None
        reps.append(Rep(index=k + 1, start_frame=start, end_frame=end, bottom_frame=bottom,
                        rom_deg=rom, joint=joint))
    return reps
