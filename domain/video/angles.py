"""Joint angles (2-D, image plane) and user-vs-reference comparison at aligned rep phases.

Angles in degrees, NaN whenever a joint involved is masked:

* ``left_knee`` / ``right_knee``: hip-knee-ankle (180 = straight leg)
* ``left_hip`` / ``right_hip``: shoulder-hip-knee (180 = straight body line)
* ``left_elbow`` / ``right_elbow``: shoulder-elbow-wrist (180 = straight arm)
* ``left_shoulder`` / ``right_shoulder``: hip-shoulder-elbow (0 = arm along the torso)
* ``trunk``: inclination of mid-hip -> mid-shoulder from the image vertical
  (0 = upright, 90 = horizontal)

:func:`compare` time-normalizes each repetition (start=0, bottom=0.5, end=1, piecewise
linear) and compares user and reference at the phases ``descent`` (0.25), ``bottom`` (0.5) and
``ascent`` (0.75); a joint whose |user - reference| exceeds its threshold (25 deg by default,
configurable per exercise and joint) becomes an issue.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import keypoints as K

ANGLE_JOINTS: dict[str, tuple[int, int, int]] = {
    "left_knee": (K.L_HIP, K.L_KNEE, K.L_ANKLE),
    "right_knee": (K.R_HIP, K.R_KNEE, K.R_ANKLE),
    "left_hip": (K.L_SHOULDER, K.L_HIP, K.L_KNEE),
    "right_hip": (K.R_SHOULDER, K.R_HIP, K.R_KNEE),
    "left_elbow": (K.L_SHOULDER, K.L_ELBOW, K.L_WRIST),
    "right_elbow": (K.R_SHOULDER, K.R_ELBOW, K.R_WRIST),
    "left_shoulder": (K.L_HIP, K.L_SHOULDER, K.L_ELBOW),
    "right_shoulder": (K.R_HIP, K.R_SHOULDER, K.R_ELBOW),
}
ALL_ANGLES: tuple[str, ...] = (*ANGLE_JOINTS, "trunk")

_KNEES = ("left_knee", "right_knee")
_HIPS = ("left_hip", "right_hip")
_ELBOWS = ("left_elbow", "right_elbow")
_SHOULDERS = ("left_shoulder", "right_shoulder")

# joints compared for each exercise
EXERCISE_ANGLES: dict[str, tuple[str, ...]] = {
    "squat": (*_KNEES, *_HIPS, "trunk"),
    "lunge": (*_KNEES, *_HIPS, "trunk"),
    "pushup": (*_ELBOWS, *_HIPS),
    "bench_press": (*_ELBOWS, *_SHOULDERS),
    "barbell_biceps_curl": (*_ELBOWS, *_SHOULDERS, "trunk"),
    "triceps_pushdown": (*_ELBOWS, *_SHOULDERS),
    "lat_pulldown": (*_ELBOWS, *_SHOULDERS, "trunk"),
    "pullup": (*_ELBOWS, *_SHOULDERS),
    "situp": (*_HIPS, "trunk"),
    "jumping_jacks": (*_SHOULDERS, *_ELBOWS),
}

PHASES: dict[str, float] = {"descent": 0.25, "bottom": 0.5, "ascent": 0.75}
DEFAULT_THRESHOLD = 25.0


def angle_at(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle ABC in degrees (vectorized over leading axes); NaN if any point is NaN."""
    ba = np.asarray(a, float) - np.asarray(b, float)
    bc = np.asarray(c, float) - np.asarray(b, float)
    nba = np.linalg.norm(ba, axis=-1)
    nbc = np.linalg.norm(bc, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(ba * bc, axis=-1) / (nba * nbc)
    cos = np.clip(cos, -1.0, 1.0)
    out = np.degrees(np.arccos(cos))
    return np.where((nba > 1e-9) & (nbc > 1e-9), out, np.nan)


def trunk_inclination(xy: np.ndarray) -> np.ndarray:
    """Degrees between mid-hip->mid-shoulder and the image's up direction."""
    v = K.mid_shoulder(xy) - K.mid_hip(xy)
    n = np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = -v[..., 1] / n
    out = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    return np.where(n > 1e-9, out, np.nan)


def joint_angles(
    seq: np.ndarray, conf_threshold: float = K.CONF_THRESHOLD, foreshortening_check: bool = True
) -> dict[str, np.ndarray]:
    """(T, 17, 3) pixel sequence (or one (17, 3) pose) -> {angle name: (T,) degrees}; NaN where a
    joint is masked or (``foreshortening_check``) a segment is strongly foreshortened."""
    xy = K.masked_xy(K.as_sequence(seq), conf_threshold)
    out = {}
    for name, (a, b, c) in ANGLE_JOINTS.items():
        ang = angle_at(xy[:, a], xy[:, b], xy[:, c])
        if foreshortening_check and xy.shape[0] > 1:
            ang = np.where(_well_seen(xy, b, a) & _well_seen(xy, b, c), ang, np.nan)
        out[name] = ang
    trunk = trunk_inclination(xy)
    if foreshortening_check and xy.shape[0] > 1:
        torso = np.linalg.norm(K.mid_shoulder(xy) - K.mid_hip(xy), axis=-1)
        ok = np.isfinite(torso)
        if ok.any():
            with np.errstate(invalid="ignore"):
                trunk = np.where(ok & (torso >= 0.6 * np.percentile(torso[ok], 95)), trunk, np.nan)
    out["trunk"] = trunk
    return out


def _well_seen(xy: np.ndarray, i: int, j: int, frac: float = 0.45) -> np.ndarray:
    """(T,) bool: segment i-j is not strongly foreshortened, i.e. its projected length is at
    least ``frac`` of its 95th-percentile length in the sequence (a 2-D angle between
    segments that point at the camera is meaningless)."""
    seg = np.linalg.norm(xy[:, i] - xy[:, j], axis=-1)
    ok = np.isfinite(seg)
    if not ok.any():
        return ok
    ref = np.percentile(seg[ok], 95)
    with np.errstate(invalid="ignore"):
        return ok & (seg >= frac * ref)


def resolve_threshold(thresholds, exercise: str | None, joint: str) -> float:
    """``thresholds``: a number, ``{joint: deg}``, ``{"default": deg, ...}`` or
    ``{exercise: {joint: deg, "default": deg}}``; side-less keys (``knee``) apply to both sides."""
    if thresholds is None:
        return DEFAULT_THRESHOLD
    if isinstance(thresholds, (int, float)):
        return float(thresholds)
    t = thresholds
    if exercise and isinstance(t.get(exercise), dict):
        inner = t[exercise]
        for key in (joint, joint.split("_", 1)[-1]):
            if key in inner:
                return float(inner[key])
        if "default" in inner:
            return float(inner["default"])
    for key in (joint, joint.split("_", 1)[-1]):
        if key in t and not isinstance(t[key], dict):
            return float(t[key])
    return (
        float(t.get("default", DEFAULT_THRESHOLD))
        if not isinstance(t.get("default"), dict)
        else DEFAULT_THRESHOLD
    )


def _phase_frame(rep, phase: float) -> float:
    s, b, e = rep.start_frame, rep.bottom_frame, rep.end_frame
    if phase <= 0.5:
        return s + (phase / 0.5) * (b - s)
    return b + ((phase - 0.5) / 0.5) * (e - b)


def _value_at(series: np.ndarray, frame: float, half_window: int) -> float:
    f = int(round(frame))
    lo, hi = max(f - half_window, 0), min(f + half_window + 1, series.size)
    vals = series[lo:hi]
    vals = vals[np.isfinite(vals)]
    return float(np.median(vals)) if vals.size else float("nan")


def angles_at_phase(angles: dict[str, np.ndarray], rep, phase: float, names) -> dict[str, float]:
    half = max(1, int(round(0.03 * (rep.end_frame - rep.start_frame))))
    f = _phase_frame(rep, phase)
    return {n: _value_at(angles[n], f, half) for n in names}


def _whole_rep(T: int):
    from .reps import Rep

    return Rep(index=1, start_frame=0, end_frame=max(T - 1, 0), bottom_frame=max(T - 1, 0) // 2)


# Over 60 lines: per repetition, time-aligned angles against the reference and the issues they
# raise; the steps share the alignment and read best in sequence.
def compare(
    user_seq: np.ndarray,
    user_reps,
    ref_seq: np.ndarray,
    ref_reps,
    thresholds: dict | float = DEFAULT_THRESHOLD,
    exercise: str | None = None,
    joints=None,
) -> list[dict]:
    """Compare every user repetition with the reference at aligned phases.

    The reference value at a phase is the median over the reference's repetitions (the whole
    reference sequence counts as one repetition when it has none). Returns one dict per user
    rep: ``{"index", "angles": {joint: {"user", "reference", "diff"}}`` (at the bottom phase,
    ``diff`` = user - reference, signed degrees) ``, "phases": {phase: {joint: {...}}},
    "issues": [{"joint", "diff", "phase", "user", "reference", "threshold", "message"}]}``.
    """
    from .feedback import issue_sentence

    names = tuple(joints) if joints else EXERCISE_ANGLES.get(exercise or "", ALL_ANGLES)
    ua = joint_angles(user_seq)
    ra = joint_angles(ref_seq)
    ref_reps = list(ref_reps) or [_whole_rep(K.as_sequence(ref_seq).shape[0])]
    ref_vals: dict[str, dict[str, float]] = {}
    for ph, pv in PHASES.items():
        per = [angles_at_phase(ra, r, pv, names) for r in ref_reps]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref_vals[ph] = {n: float(np.nanmedian([p[n] for p in per])) for n in names}
    results = []
    for rep in user_reps:
        phases_out: dict[str, dict] = {}
        issues = []
        for ph, pv in PHASES.items():
            uv = angles_at_phase(ua, rep, pv, names)
            row = {}
            for n in names:
                u, r = uv[n], ref_vals[ph][n]
                if not (np.isfinite(u) and np.isfinite(r)):
                    continue
                d = u - r
                row[n] = {"user": round(u, 1), "reference": round(r, 1), "diff": round(d, 1)}
                thr = resolve_threshold(thresholds, exercise, n)
                if abs(d) > thr:
                    issues.append(
                        {
                            "joint": n,
                            "diff": round(d, 1),
                            "phase": ph,
                            "user": round(u, 1),
                            "reference": round(r, 1),
                            "threshold": thr,
                            "message": issue_sentence(n, d, ph, rep.index, exercise),
                        }
                    )
            phases_out[ph] = row
        issues.sort(key=lambda i: -abs(i["diff"]))
        results.append(
            {
                "index": rep.index,
                "angles": phases_out["bottom"],
                "phases": phases_out,
                "issues": issues,
            }
        )
    return results
