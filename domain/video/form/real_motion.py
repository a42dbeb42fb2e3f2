"""Form criteria on real 3-D motion: the squats and lunges of UTD-MHAD's lab subjects.

No real video here carries form labels for squats (and the only lunge labels are MediaPipe
frames), so the squat and lunge criteria are checked on real people's motion in two ways:

* **as done** — UTD-MHAD's squats and lunges (Kinect 3-D skeletons, 30 fps), seen through a
  simulated camera from the front, three-quarter and side with a YOLO-like detector's errors at
  the pipeline's 10 fps. The subjects were not rated for form; lab subjects doing the movement
  as instructed are taken as acceptable executions, so a finding here is a false alarm;
* **with a fault injected into the same 3-D motion** (semi-synthetic, and labelled so): knees
  caving in (dynamic valgus), half depth, the trunk leaning forward, the front knee travelling
  past the toes — each scaled by how far into the repetition the body is, so the fault grows
  toward the bottom as a real one does. A fault is *caught* when its own criterion is among
  the findings; from a view that cannot show it the criterion must be reported as not judged.

:func:`evaluate` returns per exercise, view and fault: counts, the share flagged / caught, the
share uncertain, and the ROC AUC of ``1 - form.score``; :func:`joined_check` glues a subject's
trials and injects the fault into some repetitions only, to check findings land on those.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from domain.video.datasets import utd_mhad as U
from domain.video.reps import segment_repetitions

from . import form_result

ANALYSIS_FPS = 10.0
#: (name, yaw degrees, elevation degrees); yaw jittered +-8 degrees, elevation +-4
VIEWS: tuple[tuple[str, float, float], ...] = (
    ("front", 0.0, 8.0), ("three_quarter", 45.0, 8.0), ("three_quarter", -45.0, 8.0),
    ("side", 90.0, 5.0), ("side", -90.0, 5.0),
)
_J = {n: i for i, n in enumerate(U.UTD_JOINTS)}
_UPPER = tuple(_J[n] for n in ("head", "shoulder_center", "left_shoulder", "left_elbow",
                               "left_wrist", "left_hand", "right_shoulder", "right_elbow",
                               "right_wrist", "right_hand"))
_SPINE = _J["spine"]


def _progress(xyz: np.ndarray) -> np.ndarray:
    """0 standing .. 1 at the repetition's lowest hip position, per frame."""
    hip_y = xyz[:, _J["hip_center"], 1]
    top = float(np.percentile(hip_y, 95))
    low = float(np.min(hip_y))
    if top - low < 1e-3:
        return np.zeros(len(xyz))
    return np.clip((top - hip_y) / (top - low), 0.0, 1.0)


def knees_in(xyz: np.ndarray, strength: float = 0.45) -> np.ndarray:
    """Dynamic knee valgus: toward the bottom each knee moves in until the knees are
    ``1 - strength`` as wide apart as the ankles (0.45: 55%), whatever the stance."""
    out = xyz.copy()
    f = _progress(xyz)
    la, ra = xyz[:, _J["left_ankle"], 0], xyz[:, _J["right_ankle"], 0]
    mid, half = 0.5 * (la + ra), 0.5 * (1.0 - strength) * (la - ra)
    for k, sign in (("left_knee", 1.0), ("right_knee", -1.0)):
        x = xyz[:, _J[k], 0]
        out[:, _J[k], 0] = x + f * (mid + sign * half - x)
    return out


def half_depth(xyz: np.ndarray, share: float = 0.5) -> np.ndarray:
    """A partial repetition: every frame blended toward the standing pose (``share`` of the
    original excursion kept)."""
    f = _progress(xyz)
    stand = xyz[int(np.argmin(f))]
    return stand[None] + share * (xyz - stand[None])


def lean_forward(xyz: np.ndarray, degrees: float = 35.0) -> np.ndarray:
    """The trunk (and head and arms with it) tips forward about the hips by up to ``degrees``
    at the bottom. The subject faces the sensor, so forward is -z."""
    out = xyz.copy()
    f = _progress(xyz)
    pivot = xyz[:, _J["hip_center"]]
    for t in range(len(xyz)):
        a = math.radians(degrees * f[t])
        c, s = math.cos(a), math.sin(a)
        for j in (*_UPPER, _SPINE):
            d = xyz[t, j] - pivot[t]
            # rotate about the lateral (x) axis: up (y) tips toward the camera (-z)
            out[t, j, 1] = pivot[t, 1] + c * d[1] + s * d[2]
            out[t, j, 2] = pivot[t, 2] - s * d[1] + c * d[2]
    return out


def knee_past_toes(xyz: np.ndarray, shins: float = 0.5) -> np.ndarray:
    """Lunge: the front knee (the one whose ankle is nearer the camera, i.e. forward) travels
    forward by ``shins`` shin lengths at the bottom."""
    out = xyz.copy()
    f = _progress(xyz)
    la, ra = xyz[:, _J["left_ankle"], 2], xyz[:, _J["right_ankle"], 2]
    bottom = int(np.argmax(f))
    front = "left" if la[bottom] < ra[bottom] else "right"
    knee, ankle = _J[f"{front}_knee"], _J[f"{front}_ankle"]
    shin = float(np.nanmedian(np.linalg.norm(xyz[:, knee] - xyz[:, ankle], axis=1)))
    out[:, knee, 2] = xyz[:, knee, 2] - shins * shin * f
    return out


@dataclass(frozen=True)
class Fault:
    name: str
    criterion: str  # the finding that should name it
    inject: Callable[[np.ndarray], np.ndarray]
    views: frozenset[str]  # views from which the criterion can be judged


FAULTS: dict[str, tuple[Fault, ...]] = {
    "squat": (
        Fault("knees_in", "knee_valgus", knees_in, frozenset({"front"})),
        Fault("half_depth", "depth", half_depth, frozenset({"side", "three_quarter"})),
        Fault("lean_forward", "trunk_lean", lean_forward,
              frozenset({"side", "three_quarter"})),
    ),
    "lunge": (
        Fault("knee_past_toes", "knee_over_toe", knee_past_toes,
              frozenset({"side", "three_quarter"})),
        Fault("lean_forward", "trunk_upright", lambda x: lean_forward(x, 35.0),
              frozenset({"side", "three_quarter"})),
    ),
}
ACTIONS = {"squat": ("squat",), "lunge": ("lunge",)}


def _observe(xyz: np.ndarray, yaw: float, el: float, rng: np.random.Generator) -> np.ndarray:
    trial = U.UtdTrial(action="x", subject=0, trial=0, xyz=xyz)
    return U.render(trial, yaw, el, rng, fps_out=ANALYSIS_FPS)


def judge(xyz: np.ndarray, exercise: str, yaw: float, el: float, rng: np.random.Generator,
          model=None) -> dict:
    """One 3-D execution seen from one camera through the pipeline's counting and form steps."""
    seq = _observe(xyz, yaw, el, rng)
    fps = U.FPS / max(int(round(U.FPS / ANALYSIS_FPS)), 1)
    reps = segment_repetitions(seq, fps, exercise)
    form = form_result(seq, fps, exercise, reps, model)
    return {"reps": len(reps), **form}


def _auc(neg: list[float], pos: list[float]) -> float | None:
    """P(a faulty execution scores more faulty than a correct one); ties count half."""
    if not neg or not pos:
        return None
    n, p = np.asarray(neg), np.asarray(pos)
    wins = (p[:, None] > n[None, :]).sum() + 0.5 * (p[:, None] == n[None, :]).sum()
    return float(wins / (len(n) * len(p)))


def evaluate(trials: Iterable[U.UtdTrial] | None = None, seed: int = 0, model=None,
             exercises: Iterable[str] = ("squat", "lunge")) -> dict:
    """Per exercise and view: as-done executions flagged, each injected fault caught."""
    trials = list(trials) if trials is not None else U.load_trials()
    rng = np.random.default_rng(seed)
    out: dict = {"method": __doc__.split("\n\n")[0], "analysis_fps": ANALYSIS_FPS,
                 "exercises": {}}
    for ex in exercises:
        mine = [t for t in trials if t.action in ACTIONS[ex]]
        rows: list[dict] = []
        for tr in mine:
            for view, yaw0, el0 in VIEWS:
                yaw = yaw0 + rng.uniform(-8, 8)
                el = max(el0 + rng.uniform(-4, 4), 0.0)
                variants = [("as_done", None, tr.xyz)] + [
                    (f.name, f, f.inject(tr.xyz)) for f in FAULTS[ex]]
                for name, fault, xyz in variants:
                    r = judge(xyz, ex, yaw, el, rng, model)
                    crits = {f["criterion"] for f in r["findings"]}
                    rows.append({"subject": tr.subject, "trial": tr.trial, "view": view,
                                 "detected_view": r["view"], "variant": name,
                                 "verdict": r["verdict"], "score": r["score"],
                                 "criteria": sorted(crits),
                                 "caught": bool(fault and fault.criterion in crits),
                                 "judged": bool(fault and fault.criterion in r.get("judged", []))})
        out["exercises"][ex] = _summarise(ex, rows)
        out["exercises"][ex]["subjects"] = sorted({t.subject for t in mine})
        out["exercises"][ex]["trials"] = len(mine)
    return out


def _summarise(ex: str, rows: list[dict]) -> dict:
    views = sorted({r["view"] for r in rows})
    res: dict = {"by_view": {}}
    for view in [*views, "all"]:
        vr = [r for r in rows if view == "all" or r["view"] == view]
        done = [r for r in vr if r["variant"] == "as_done"]
        done_scored = [r for r in done if r["score"] is not None]
        entry = {
            "as_done": {
                "n": len(done),
                "flagged": _share([r["verdict"] == "faulty" for r in done]),
                "uncertain": _share([r["verdict"] == "uncertain" for r in done]),
                "view_detected_as": _counts(r["detected_view"] for r in done),
            },
            "faults": {},
        }
        for f in FAULTS[ex]:
            fr = [r for r in vr if r["variant"] == f.name]
            visible = [r for r in fr if r["view"] in f.views]
            scored = [r for r in visible if r["score"] is not None]
            entry["faults"][f.name] = {
                "criterion": f.criterion,
                "n": len(fr),
                "visible_from_this_view": bool(visible),
                "caught": _share([r["caught"] for r in visible]) if visible else None,
                "verdict_faulty": _share([r["verdict"] == "faulty" for r in visible])
                if visible else None,
                "judged_where_visible": _share([r["judged"] for r in visible]) if visible
                else None,
                "named_where_not_visible": _share([r["caught"] for r in fr
                                                   if r["view"] not in f.views]),
                "roc_auc": _auc([1 - r["score"] for r in done_scored
                                 if r["view"] in f.views],
                                [1 - r["score"] for r in scored]),
            }
        res["by_view"][view] = entry
    return res


def _share(flags: list[bool]) -> float | None:
    return round(float(np.mean(flags)), 3) if flags else None


def _counts(values: Iterable[str | None]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out


def joined_check(trials: list[U.UtdTrial], exercise: str, fault: str, yaw: float, el: float,
                 faulty_trials: set[int], seed: int = 0, model=None) -> dict:
    """One subject's trials glued in order, the fault injected only into ``faulty_trials``
    (0-based positions): which repetitions (``rep_index``, 1-based) carry the fault's finding."""
    f = next(x for x in FAULTS[exercise] if x.name == fault)
    parts = [f.inject(t.xyz) if i in faulty_trials else t.xyz for i, t in enumerate(trials)]
    rng = np.random.default_rng(seed)
    r = judge(np.concatenate(parts), exercise, yaw, el, rng, model)
    flagged = sorted({x["rep_index"] for x in r["findings"] if x["criterion"] == f.criterion})
    return {"reps": r["reps"], "verdict": r["verdict"], "flagged_reps": flagged,
            "expected": sorted(i + 1 for i in faulty_trials), "view": r["view"]}
