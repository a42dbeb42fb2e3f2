"""How well the camera checks measure real and synthetic movement (``flask ml
eval-camera-checks``).

Real people: UTD-MHAD 3-D skeletons (subjects 1-6 of the shared train file) of sit-to-stand,
stand-to-sit, squat, lunge and arm curl, projected from three views (front, 45 degrees, profile)
with YOLO-like detector noise at 10 fps (:func:`domain.video.datasets.utd_mhad.render`); one
repetition per trial, and 2-4 trials of one subject joined in 3-D for multi-repetition
sequences (a stand-to-sit followed by a sit-to-stand is one full sit-to-stand repetition). The
range-of-motion truth is the same joint angle measured on the Kinect's 3-D skeleton.

Synthetic movement (:mod:`.synthetic`): the templates with 3-D truth, 1-5 repetitions or one
hold of known length, from the specification's view and a three-quarter and front view.

Per exercise the result says what was validated on real people and what only on synthetic
movement: repetition count MAE and share within one, range-of-motion error (views where the
specification measures it), hold-time error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .measure import MeasureOptions, measure_movement
from .specs import CameraCheck, load_camera_checks
from .synthetic import generate, true_signal

VIEWS = ((0.0, 10.0, "front"), (45.0, 15.0, "three_quarter"), (90.0, 10.0, "side"))
#: UTD action -> library exercise whose specification measures it
UTD_EXERCISE = {"sit_to_stand": "sit-to-stand", "stand_to_sit": "sit-to-stand",
                "squat": "bodyweight-squat", "lunge": "forward-lunge",
                "arm_curl": "elbow-flexion"}
#: library exercises with the same specification as a UTD movement (same people, same signal)
SAME_SPEC = {"bodyweight-squat": ("banded-squat", "goblet-squat", "barbell-back-squat"),
             "forward-lunge": ("reverse-lunge", "split-squat", "dumbbell-reverse-lunge")}
#: synthetic template -> (exercise, amount, hold seconds or None)
SYNTHETIC = (
    ("knee_bend", "mini-squats", 40.0, None), ("knee_bend", "box-squat", 90.0, None),
    ("heel_raise", "standing-calf-raise", 0.07, None),
    ("heel_raise", "single-leg-calf-raise", 0.06, None),
    ("bridge", "glute-bridge", 1.0, None), ("bridge", "banded-hip-thrust", 1.0, None),
    ("seated_knee_ext", "seated-knee-extension", 80.0, None),
    ("seated_knee_ext", "leg-extension-machine", 75.0, None),
    ("hamstring_curl", "standing-hamstring-curl", 90.0, None),
    ("side_lying_abduction", "side-lying-hip-abduction", 35.0, None),
    ("side_lying_abduction", "hip-abduction-machine", 30.0, None),
    ("wall_sit", "wall-sit", 50.0, 20.0), ("wall_sit", "deep-squat-hold", 115.0, 25.0),
    ("plank", "front-plank", 0.0, 20.0),
    ("single_leg_stance", "single-leg-stance", 80.0, 15.0),
    ("single_leg_stance", "foam-pad-balance", 80.0, 25.0),
    ("knee_bend", "spanish-squat", 70.0, None), ("knee_bend", "bosu-squat", 70.0, None),
    ("knee_bend", "single-leg-mini-squat", 40.0, None),
    ("knee_bend", "pistol-squat", 110.0, None), ("knee_bend", "squat-jumps", 75.0, None),
    ("heel_raise", "eccentric-heel-drop-straight", 0.07, None),
    ("heel_raise", "isometric-calf-hold", 0.05, 30.0),
    ("hamstring_curl_inverted", "terminal-knee-extension", 35.0, None),
    ("straight_leg_raise", "straight-leg-raise", 45.0, None),
    ("heel_slide", "heel-slides", 90.0, None), ("clamshell", "clamshells", 30.0, None),
    ("step_up", "step-ups", 0.2, None), ("bridge", "single-leg-glute-bridge", 1.0, None),
    ("hamstring_curl", "standing-quad-stretch", 130.0, 20.0),
)
#: exercises counted on the synthetic generator of :mod:`domain.video.synthetic` (no 3-D truth
#: there: counts only)
GYM_SYNTHETIC = (("jumping_jacks", "jumping-jacks", "front"),)


@dataclass
class Case:
    exercise: str
    source: str  # "real:utd_mhad" | "synthetic"
    name: str
    view: str
    truth_reps: int | None
    counted: int | None
    rom_true: float | None = None
    rom_measured: float | None = None
    hold_true: float | None = None
    hold_measured: float | None = None
    meta: dict = field(default_factory=dict)


def curl_check(checks: dict[str, CameraCheck]) -> CameraCheck:
    """An elbow-flexion specification (no curl is in the library; pallof-press uses the same
    joint signal toward extension)."""
    base = checks["pallof-press"]
    sig = {"measure": "flexion", "joint": "elbow", "side": "moving", "toward": "max"}
    rom = {**base.rom, "name": "elbow flexion", "signal": sig}
    return CameraCheck(exercise_id="elbow-flexion", supported=True, kind="reps", view="side",
                       views_ok=("side", "three_quarter"), signal=sig, rom=rom,
                       min_amplitude=20.0, measures=("repetitions",), instructions="-")


def _utd_truth_rom(xyz: np.ndarray, signal: dict) -> float | None:
    from ..datasets import utd_mhad

    pts = utd_mhad.coco_3d(utd_mhad.to_world(xyz))
    sig = true_signal(pts, signal)
    if sig is None:
        return None
    sig = gaussian_filter1d(sig, 2.4, mode="nearest")  # the Kinect's own jitter, ~0.08 s
    return float(np.percentile(sig, 98) - np.percentile(sig, 2))


def utd_cases(seed: int = 0, opts: MeasureOptions | None = None) -> list[Case]:
    from ..datasets import utd_mhad
    from ..rep_eval import concat_utd

    checks = load_camera_checks()
    checks["elbow-flexion"] = curl_check(checks)
    opts = opts or MeasureOptions(assess_form=False)
    rng = np.random.default_rng(seed)
    trials = [t for t in utd_mhad.load_trials() if t.action in UTD_EXERCISE]
    out: list[Case] = []
    for tr in trials:
        ex = UTD_EXERCISE[tr.action]
        check = checks[ex]
        true_rom = _utd_truth_rom(tr.xyz, check.rom["signal"])
        for yaw, el, view in VIEWS:
            kp = utd_mhad.render(tr, yaw, el, rng, fps_out=10.0)
            r = measure_movement(kp, 10.0, check, "beginner", opts)
            out.append(Case(ex, "real:utd_mhad", f"s{tr.subject}_{tr.action}_t{tr.trial}", view,
                            1, r.rep_count, true_rom if r.rom is not None else None,
                            r.rom if r.rom is not None else None,
                            meta={"detected_view": r.view_detected, "counted_by": r.counted_by}))
    by: dict[tuple[int, str], list] = {}
    for tr in trials:
        by.setdefault((tr.subject, tr.action), []).append(tr)
    for (subj, action), trs in sorted(by.items()):
        if action in ("sit_to_stand", "stand_to_sit"):
            continue
        for k in (2, 3, 4):
            if len(trs) < k:
                continue
            pick = [trs[i] for i in sorted(rng.permutation(len(trs))[:k])]
            joined = utd_mhad.UtdTrial(action, subj, 0, concat_utd(pick))
            out.extend(_render_joined(joined, k, UTD_EXERCISE[action], checks, rng, opts))
    for subj in sorted({t.subject for t in trials}):
        down = by.get((subj, "stand_to_sit"), [])
        up = by.get((subj, "sit_to_stand"), [])
        for k in (2, 3):
            if len(down) < k or len(up) < k:
                continue
            seq = [x for pair in zip(down[:k], up[:k], strict=True) for x in pair]
            joined = utd_mhad.UtdTrial("sit_to_stand", subj, 0, concat_utd(seq))
            out.extend(_render_joined(joined, k, "sit-to-stand", checks, rng, opts))
    return out


def _render_joined(joined, k, ex, checks, rng, opts) -> list[Case]:
    from ..datasets import utd_mhad

    yaw, el, view = VIEWS[int(rng.integers(len(VIEWS)))]
    kp = utd_mhad.render(joined, yaw, el, rng, fps_out=10.0)
    r = measure_movement(kp, 10.0, checks[ex], "beginner", opts)
    return [Case(ex, "real:utd_mhad", f"s{joined.subject}_{joined.action}_x{k}", view, k,
                 r.rep_count, meta={"detected_view": r.view_detected,
                                    "counted_by": r.counted_by})]


def pose_trainer_curl_cases(seed: int = 0, opts: MeasureOptions | None = None) -> list[Case]:
    """Pose Trainer's real side-view curls (OpenPose, one repetition per file) alone and 2-5
    joined at their rest poses (different people, as :mod:`domain.video.rep_eval` does)."""
    from ..datasets import pose_trainer
    from ..rep_eval import concat_2d

    checks = load_camera_checks()
    check = curl_check(checks)
    opts = opts or MeasureOptions(assess_form=False)
    rng = np.random.default_rng(seed)
    curls = [s for s in pose_trainer.load() if "curl" in s.exercise]
    items = [(s.name, np.nan_to_num(s.keypoints, nan=0.0), s.fps, 1) for s in curls]
    for i in range(12):
        k = int(rng.integers(2, 6))
        pick = [curls[j] for j in rng.permutation(len(curls))[:k]]
        items.append((f"curl_x{k}_{i}", concat_2d([p.keypoints for p in pick]), pick[0].fps, k))
    out = []
    for name, kp, fps, truth in items:
        r = measure_movement(kp, fps, check, "beginner", opts)
        out.append(Case("elbow-flexion", "real:pose_trainer", name, "side", truth, r.rep_count,
                        meta={"detected_view": r.view_detected, "counted_by": r.counted_by}))
    return out


def plank_cases(opts: MeasureOptions | None = None) -> list[Case]:
    """Exercise-Correction's real plank runs (MediaPipe, frame labels correct / hips high /
    hips low): the time in position should be the whole run for correct frames, none for
    faulty ones."""
    from ..datasets import exercise_correction as ec

    check = load_camera_checks()["front-plank"]
    opts = opts or MeasureOptions(assess_form=False)
    out = []
    for s in ec.load(files=("plank__test.csv", "plank__kaggle.csv")):
        r = measure_movement(s.keypoints, s.fps, check, "beginner", opts)
        truth = s.frames / s.fps if s.fault is None else 0.0
        out.append(Case("front-plank", "real:exercise_correction", s.name, "side", None, None,
                        hold_true=round(truth, 2), hold_measured=r.hold_total_s,
                        meta={"label": s.fault or "correct", "detected_view": r.view_detected,
                              "status": r.status}))
    return out


def _true_rise_pct(P3: np.ndarray) -> float:
    y = 0.5 * (P3[:, [11, 12], 1].mean(axis=1) + P3[:, [5, 6], 1].mean(axis=1))
    height = float(np.median(P3[:, 0, 1] - P3[:, [15, 16], 1].mean(axis=1)))
    return 100.0 * float(np.ptp(y)) / height


def synthetic_cases(seeds: int = 4, opts: MeasureOptions | None = None) -> list[Case]:
    checks = load_camera_checks()
    opts = opts or MeasureOptions(assess_form=False)
    out: list[Case] = []
    for template, ex, amount, hold in SYNTHETIC:
        check = checks[ex]
        base_yaw = 0.0 if check.view == "front" else 90.0
        views = ((base_yaw, check.view), (base_yaw - 45.0 if base_yaw else 45.0,
                                          "three_quarter"),
                 (0.0 if base_yaw else 90.0, "side" if base_yaw == 0.0 else "front"))
        for seed in range(seeds):
            for yaw, view in views:
                rng = np.random.default_rng(seed)
                n = int(rng.integers(1, 6))
                s = generate(template.removesuffix("_inverted"), amount, n_reps=n, hold_s=hold,
                             # repetitions with either leg; holds as instructed, the working
                             # leg nearer the camera (the subject's left at yaw 90)
                             yaw=yaw, seed=seed, side=1 if hold or seed % 2 else -1,
                             invert=template.endswith("_inverted"))
                r = measure_movement(s.keypoints, s.fps, check, "intermediate", opts)
                case = Case(ex, "synthetic", f"{template}_s{seed}", view,
                            None if hold else n, r.rep_count,
                            meta={"detected_view": r.view_detected, "counted_by": r.counted_by})
                if hold:
                    case.hold_true = _true_hold(s, check, "intermediate")
                    case.hold_measured = r.hold_s
                elif r.rom is not None:
                    if check.rom["signal"]["measure"] == "rise":
                        case.rom_true = _true_rise_pct(s.points3d)
                        case.rom_measured = _measured_rise_pct(r, opts)
                    else:
                        t = true_signal(s.points3d, check.rom["signal"])
                        if t is not None:
                            case.rom_true = float(np.ptp(t))
                            case.rom_measured = r.rom
                out.append(case)
    from ..synthetic import generate as generate_gym

    for label, ex, view in GYM_SYNTHETIC:
        for seed in range(seeds * 2):
            rng = np.random.default_rng(seed)
            g = generate_gym(label, n_reps=int(rng.integers(1, 8)), fps=10.0, view=view,
                             seed=seed)
            r = measure_movement(g.keypoints, g.fps, checks[ex], "intermediate", opts)
            out.append(Case(ex, "synthetic", f"{label}_s{seed}", view, g.rep_count,
                            r.rep_count, meta={"detected_view": r.view_detected,
                                               "counted_by": r.counted_by}))
    return out


def _measured_rise_pct(r, opts: MeasureOptions) -> float:
    """Back from the estimated plantar-flexion degrees to the rise in % of height."""
    return float(100.0 * opts.heel_lever_fraction * np.sin(np.radians(r.rom)))


def _true_hold(s, check: CameraCheck, level: str) -> float:
    lo, hi = check.hold["target"][level]
    t = true_signal(s.points3d, check.signal)
    if t is not None:
        ok = (t >= lo) & (t <= hi)
        return float(ok.sum() / s.fps)
    return float((s.phases >= 0.999).sum() / s.fps)


def _score(cases: list[Case]) -> dict:
    out: dict = {"n": len(cases)}
    rc = [c for c in cases if c.truth_reps is not None and c.counted is not None]
    if rc:
        err = np.abs(np.array([c.counted - c.truth_reps for c in rc]))
        out.update(rep_n=len(rc), rep_mae=round(float(err.mean()), 3),
                   rep_within_one=round(float((err <= 1).mean()), 3),
                   rep_exact=round(float((err == 0).mean()), 3))
    rom = [c for c in cases if c.rom_true is not None and c.rom_measured is not None]
    if rom:
        d = np.array([c.rom_measured - c.rom_true for c in rom])
        out.update(rom_n=len(rom), rom_mae=round(float(np.abs(d).mean()), 2),
                   rom_bias=round(float(d.mean()), 2))
    hold = [c for c in cases if c.hold_true is not None and c.hold_measured is not None]
    unmeasured = sum(1 for c in cases if c.hold_true is not None and c.hold_measured is None)
    if unmeasured:
        out["hold_not_measured"] = unmeasured
    if hold:
        d = np.array([c.hold_measured - c.hold_true for c in hold])
        out.update(hold_n=len(hold), hold_mae_s=round(float(np.abs(d).mean()), 2),
                   hold_bias_s=round(float(d.mean()), 2))
    return out


def summarize(cases: list[Case]) -> dict:
    """Per exercise and source: scores overall and per view."""
    per: dict = {}
    for ex in sorted({c.exercise for c in cases}):
        entry: dict = {}
        for src in sorted({c.source for c in cases if c.exercise == ex}):
            cs = [c for c in cases if c.exercise == ex and c.source == src]
            entry[src] = {"all": _score(cs),
                          "by_view": {v: _score([c for c in cs if c.view == v])
                                      for v in sorted({c.view for c in cs})}}
        per[ex] = entry
    for ex, same in SAME_SPEC.items():
        for other in same:
            per.setdefault(other, {})["same_specification_as"] = ex
    return per
