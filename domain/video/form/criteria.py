"""Per-exercise form criteria, as physiotherapists and coaches judge them.

Each :class:`Criterion` measures one number per repetition (``measure(body, window)``), larger
meaning worse, and is judged only from the camera views it lists; a measurement over
``threshold`` is a fault on that repetition. Thresholds here are the textbook defaults;
``flask ml train-form`` recalibrates them on real labelled executions (artifact
``thresholds``). Exercise labels map to a *family* of criteria by name (:func:`family`), so new
classifier labels (``biceps_curl``, ``shoulder_press``...) are picked up without a change here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .body import Body, angle, inclination, lean_back, line_offset

ALL_VIEWS = frozenset({"front", "side", "three_quarter"})
SIDEISH = frozenset({"side", "three_quarter"})
FRONT = frozenset({"front"})


@dataclass(frozen=True)
class Window:
    start: int
    end: int  # inclusive
    bottom: int  # the movement extreme


@dataclass(frozen=True)
class Criterion:
    key: str
    views: frozenset
    measure: Callable[[Body, Window], float]
    threshold: float
    message: str  # what to do, in a patient's words
    unit: str = ""


def _seg(a: np.ndarray, w: Window) -> np.ndarray:
    return a[w.start : w.end + 1]


def _pct(a: np.ndarray, q: float) -> float:
    a = np.asarray(a, float)
    a = a[np.isfinite(a)]
    return float(np.percentile(a, q)) if a.size else float("nan")


def _around(a: np.ndarray, frame: int, half: int = 1) -> float:
    lo, hi = max(frame - half, 0), min(frame + half + 1, a.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        v = np.nanmedian(a[lo:hi])
    return float(v)


# ---------------------------------------------------------------- measurements


def _body_line(body: Body) -> np.ndarray:
    """Hip offset from the shoulder-ankle line (knee when the ankles are unseen), fraction of
    that line's length; positive = hips below the line (sagging)."""
    s, h = body.mid("shoulder"), body.mid("hip")
    end = body.mid("ankle")
    knee = body.mid("knee")
    miss = ~np.isfinite(end[:, 0])
    end[miss] = knee[miss]
    return line_offset(s, end, h)


def hips_sag(body: Body, w: Window) -> float:
    return _pct(_seg(_body_line(body), w), 80)


def hips_pike(body: Body, w: Window) -> float:
    return _pct(-_seg(_body_line(body), w), 80)


def _elbow(body: Body) -> np.ndarray:
    return angle(body.near_side("shoulder"), body.near_side("elbow"), body.near_side("wrist"))


def _knee(body: Body, which: str | None = None) -> np.ndarray:
    if which:
        return angle(body.side("hip", which), body.side("knee", which), body.side("ankle", which))
    return angle(body.near_side("hip"), body.near_side("knee"), body.near_side("ankle"))


def shallow_elbows(body: Body, w: Window) -> float:
    """Elbow angle at the bottom (degrees; 90 or less is a full push-up / press)."""
    return _pct(_seg(_elbow(body), w), 10)


def shoulder_travel(body: Body, w: Window) -> float:
    """Minus the shoulders' vertical travel over the repetition, in shoulder-ankle lengths
    (a push-up that goes down fully moves the shoulders about a third of the body length)."""
    s, end = body.mid("shoulder"), body.mid("ankle")
    knee = body.mid("knee")
    miss = ~np.isfinite(end[:, 0])
    end[miss] = knee[miss]
    length = _pct(np.linalg.norm(s - end, axis=-1), 50)
    y = _seg(s[:, 1], w) / (length if np.isfinite(length) and length > 0 else body.torso)
    return -(_pct(y, 95) - _pct(y, 5))


def _padded(body: Body, w: Window, seconds: float = 0.3) -> Window:
    pad = max(1, int(round(seconds * body.fps)))
    return Window(max(0, w.start - pad), min(body.T - 1, w.end + pad), w.bottom)


def no_lockout(body: Body, w: Window) -> float:
    """180 minus the straightest elbow angle around the repetition (0 = arms fully straight);
    the window is widened a little, since a repetition starts and ends near the top."""
    return 180.0 - _pct(_seg(_elbow(body), _padded(body, w)), 95)


def head_drop(body: Body, w: Window) -> float:
    """Ear (or nose) below the hip->shoulder line extended, in torso lengths."""
    head = body.mid("ear")
    nose = body.joint("nose")
    miss = ~np.isfinite(head[:, 0])
    head[miss] = nose[miss]
    off = line_offset(body.mid("hip"), body.mid("shoulder"), head)
    return _pct(_seg(off, w), 80)


def bent_knees(body: Body, w: Window) -> float:
    return 180.0 - _pct(_seg(_knee(body), w), 50)


def squat_depth(body: Body, w: Window) -> float:
    """Knee angle at the bottom (degrees; 180 = straight legs). A rehabilitation squat is
    often a mini squat on purpose, so only a squat that barely bends the knees is short."""
    return _pct(_seg(_knee(body), w), 10)


def knee_valgus(body: Body, w: Window) -> float:
    """How much the knees come inside the ankles at the bottom: 1 - knee width / ankle width."""
    kw = np.abs(body.side("knee", "left")[:, 0] - body.side("knee", "right")[:, 0])
    aw = np.abs(body.side("ankle", "left")[:, 0] - body.side("ankle", "right")[:, 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(aw > 0.05 * body.torso, kw / aw, np.nan)
    b = _around(r, w.bottom, 2)
    return 1.0 - (b if np.isfinite(b) else _pct(_seg(r, w), 20))


def trunk_lean(body: Body, w: Window) -> float:
    """Trunk inclination beyond the shins' at the bottom (degrees): coaches keep the trunk
    about parallel to the shins, so a deep squat may lean as far as its shins do but a trunk
    that tips further forward than the shins is the fault."""
    trunk = inclination(body.mid("hip"), body.mid("shoulder"))
    shin = inclination(body.mid("ankle"), body.mid("knee"))
    b = _around(trunk - shin, w.bottom, 1)
    return b if np.isfinite(b) else _pct(_seg(trunk - shin, w), 80)


def heels_rise(body: Body, w: Window) -> float:
    """Ankles rising during the repetition, in torso lengths."""
    y = body.mid("ankle")[:, 1]
    start = _around(y, w.start, 1)
    return (start - _pct(_seg(y, w), 5)) / body.torso


def _front_leg(body: Body, w: Window) -> str:
    la, ra = body.side("ankle", "left")[:, 0], body.side("ankle", "right")[:, 0]
    d = _around((la - ra) * body.facing, w.bottom, 2)
    return "left" if not np.isfinite(d) or d >= 0 else "right"


def knee_over_toe(body: Body, w: Window) -> float:
    """Front knee ahead of its ankle at the bottom, in shin lengths."""
    leg = _front_leg(body, w)
    k, a = body.side("knee", leg), body.side("ankle", leg)
    shin = np.linalg.norm(k - a, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ahead = (k[:, 0] - a[:, 0]) * body.facing / shin
    return _pct(_seg(ahead, w), 80)


def lunge_depth(body: Body, w: Window) -> float:
    """Front knee angle at the bottom (degrees; about 90 is a full lunge)."""
    return _pct(_seg(_knee(body, _front_leg(body, w)), w), 10)


def trunk_forward(body: Body, w: Window) -> float:
    return _pct(-_seg(lean_back(body), w), 80)


def trunk_back(body: Body, w: Window) -> float:
    return _pct(_seg(lean_back(body), w), 80)


def trunk_swing(body: Body, w: Window) -> float:
    lb = _seg(lean_back(body), w)
    return _pct(lb, 95) - _pct(lb, 5)


def _upper_arm(body: Body) -> np.ndarray:
    """Angle between the upper arm and the trunk (hip-shoulder-elbow), degrees."""
    return angle(body.near_side("hip"), body.near_side("shoulder"), body.near_side("elbow"))


def elbow_drift(body: Body, w: Window) -> float:
    return _pct(_seg(_upper_arm(body), w), 90)


def curl_top(body: Body, w: Window) -> float:
    """Smallest elbow angle of the repetition (degrees; a full curl goes under about 60)."""
    return _pct(_seg(_elbow(body), w), 5)


def curl_bottom(body: Body, w: Window) -> float:
    return 180.0 - _pct(_seg(_elbow(body), w), 95)


def arm_height(body: Body, w: Window) -> float:
    """90 minus the highest upper-arm angle (front raise to shoulder height)."""
    return 90.0 - _pct(_seg(_upper_arm(body), w), 95)


def arm_bent(body: Body, w: Window) -> float:
    return 180.0 - _pct(_seg(_elbow(body), w), 20)


def shrug_range(body: Body, w: Window) -> float:
    """Shoulder lift toward the ears, in torso lengths; negative so that larger is worse."""
    ear = body.mid("ear")
    nose = body.joint("nose")
    miss = ~np.isfinite(ear[:, 0])
    ear[miss] = nose[miss]
    d = (body.mid("shoulder")[:, 1] - ear[:, 1]) / body.torso
    seg = _seg(d, w)
    return -(_pct(seg, 95) - _pct(seg, 5))


def chin_over_bar(body: Body, w: Window) -> float:
    """Nose height relative to the wrists at the top, in torso lengths (positive = below)."""
    d = (body.joint("nose")[:, 1] - body.mid("wrist")[:, 1]) / body.torso
    return _pct(_seg(d, w), 5)


def kipping(body: Body, w: Window) -> float:
    """Horizontal swing of the feet relative to the shoulders, in torso lengths."""
    dx = (body.mid("ankle")[:, 0] - body.mid("shoulder")[:, 0]) / body.torso
    seg = _seg(dx, w)
    return _pct(seg, 95) - _pct(seg, 5)


def _c(key, views, fn, thr, msg, unit=""):
    return Criterion(key, frozenset(views), fn, float(thr), msg, unit)


HIPS_SAG = "keep your hips in line with your shoulders and ankles, don't let them sag"
HIPS_PIKE = "lower your hips into one straight line with your shoulders and ankles"

CRITERIA: dict[str, tuple[Criterion, ...]] = {
    "pushup": (
        _c("hips_sag", SIDEISH, hips_sag, 0.08,
           "Keep your hips in line with your shoulders: don't let them sag.", "body fraction"),
        _c("hips_pike", SIDEISH, hips_pike, 0.10,
           "Lower your hips: keep one straight line from shoulders to ankles.", "body fraction"),
        _c("depth", SIDEISH, shallow_elbows, 110.0,
           "Go lower: bend your elbows to about 90° at the bottom.", "deg"),
        _c("range", SIDEISH, shoulder_travel, -0.2,
           "Lower your chest all the way toward the floor on every repetition.",
           "body fraction"),
        _c("lockout", SIDEISH, no_lockout, 30.0,
           "Straighten your arms fully at the top.", "deg"),
        _c("head", SIDEISH, head_drop, 0.25,
           "Keep your head in line with your body; don't let it drop.", "torso"),
        _c("knees", SIDEISH, bent_knees, 35.0,
           "Keep your legs straight; don't let your knees bend.", "deg"),
    ),
    "plank": (
        _c("hips_low", SIDEISH, hips_sag, 0.06,
           "Keep your hips in line with your shoulders: don't let them sag.", "body fraction"),
        _c("hips_high", SIDEISH, hips_pike, 0.08,
           "Lower your hips into one straight line with your shoulders and ankles.",
           "body fraction"),
    ),
    "squat": (
        _c("depth", SIDEISH, squat_depth, 140.0,
           "Bend your knees further as you squat, as far as your plan allows.", "deg"),
        _c("knee_valgus", FRONT, knee_valgus, 0.2,
           "Push your knees outward so they stay over your toes.", ""),
        _c("trunk_lean", SIDEISH, trunk_lean, 10.0,
           "Keep your chest up: lean your upper body forward less.", "deg"),
        _c("heels", frozenset({"side"}), heels_rise, 0.12,
           "Keep your heels on the floor.", "torso"),
    ),
    "lunge": (
        _c("knee_over_toe", SIDEISH, knee_over_toe, 0.35,
           "Keep your front knee above your ankle, not past your toes.", "shin"),
        _c("trunk_upright", SIDEISH, trunk_forward, 25.0,
           "Keep your upper body upright.", "deg"),
        _c("depth", SIDEISH, lunge_depth, 115.0,
           "Lower further: bend your front knee to about 90°.", "deg"),
    ),
    "curl": (
        _c("elbow_drift", SIDEISH, elbow_drift, 35.0,
           "Keep your elbows at your sides; don't let them drift forward.", "deg"),
        _c("lean_back", SIDEISH, trunk_back, 12.0,
           "Keep your body still: don't lean back or swing to lift the weight.", "deg"),
        _c("swing", SIDEISH, trunk_swing, 15.0,
           "Keep your body still: don't rock your trunk to lift the weight.", "deg"),
        _c("range_top", SIDEISH, curl_top, 75.0,
           "Curl the weight all the way up.", "deg"),
        _c("range_bottom", SIDEISH, curl_bottom, 40.0,
           "Lower the weight until your arms are straight.", "deg"),
    ),
    "shoulder_press": (
        _c("lockout", ALL_VIEWS, no_lockout, 30.0,
           "Press all the way up until your arms are straight.", "deg"),
        _c("lean_back", SIDEISH, trunk_back, 12.0,
           "Keep your back straight: don't lean back as you press.", "deg"),
        _c("depth", ALL_VIEWS, shallow_elbows, 100.0,
           "Lower the weight to shoulder height between presses.", "deg"),
    ),
    "front_raise": (
        _c("arm_height", SIDEISH, arm_height, 20.0,
           "Raise your arms to shoulder height.", "deg"),
        _c("lean_back", SIDEISH, trunk_back, 12.0,
           "Keep your body still: don't lean back to lift the weight.", "deg"),
        _c("swing", SIDEISH, trunk_swing, 15.0,
           "Keep your body still: don't swing to lift the weight.", "deg"),
        _c("arm_bent", SIDEISH, arm_bent, 40.0,
           "Keep your arms nearly straight as you raise them.", "deg"),
    ),
    "shoulder_shrug": (
        _c("arm_bent", ALL_VIEWS, arm_bent, 35.0,
           "Keep your arms straight: lift with your shoulders only.", "deg"),
        _c("range", ALL_VIEWS, shrug_range, -0.05,
           "Lift your shoulders higher toward your ears.", "torso"),
    ),
    "bench_press": (
        _c("depth", SIDEISH, shallow_elbows, 110.0,
           "Lower the bar to your chest: bend your elbows to about 90°.", "deg"),
        _c("lockout", SIDEISH, no_lockout, 30.0,
           "Press until your arms are straight.", "deg"),
    ),
    "pullup": (
        _c("top", ALL_VIEWS, chin_over_bar, 0.0,
           "Pull higher: bring your chin over the bar.", "torso"),
        _c("bottom", ALL_VIEWS, no_lockout, 35.0,
           "Lower yourself until your arms are straight.", "deg"),
        _c("kipping", SIDEISH, kipping, 0.6,
           "Keep your legs still: don't swing to pull yourself up.", "torso"),
    ),
}

#: exercises judged over time windows rather than repetitions
STATIC = frozenset({"plank"})


def family(label: str | None) -> str | None:
    """The criteria family of an exercise label (tolerant of new label names)."""
    if not label:
        return None
    name = label.lower()
    if name in CRITERIA:
        return name
    for key, fam in (("curl", "curl"), ("pushup", "pushup"), ("push_up", "pushup"),
                     ("plank", "plank"), ("squat", "squat"), ("lunge", "lunge"),
                     ("shoulder_press", "shoulder_press"),
                     ("overhead_press", "shoulder_press"), ("front_raise", "front_raise"),
                     ("shrug", "shoulder_shrug"), ("bench", "bench_press"),
                     ("pullup", "pullup"), ("pull_up", "pullup"), ("chin", "pullup")):
        if key in name:
            return fam
    return None
