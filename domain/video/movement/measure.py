"""Measure one prescribed exercise on COCO-17 keypoints against its movement specification.

:func:`measure_movement` (keypoints ``(T, 17, 3)`` pixels + confidence, ``fps``, a
:class:`~.specs.CameraCheck`, the patient's fitness level) returns a :class:`MovementResult`:

* repetitions (``kind == "reps"``): the specification's signal is cleaned (running median
  ~0.2 s against detector outliers, Gaussian ~0.08 s) and segmented by the same peak logic as
  :mod:`domain.video.reps` (a turn counts when its prominence exceeds 35 % of the signal's range
  and the specification's ``min_amplitude``; a single one-way move between two rest levels, as a
  sit-to-stand, counts one). Each repetition has start, peak (the movement extreme) and end
  frames, its range of motion (max - min of the ``rom`` signal inside it) and peak value;
* holds (``kind == "hold"``): the longest stretch in which the signal stays inside the
  level's target interval (and steady tolerances hold), gaps under ``hold_gap_s`` bridged;
* the camera view is detected (:func:`domain.video.form.body.measure_body`); when it is not one
  of the specification's ``views_ok`` the range or hold is *not measured* (said in
  ``not_measured``), and repetitions are counted from the dominant joint motion instead
  (:func:`domain.video.reps.segment_repetitions` without an exercise);
* the form engine's criteria named by the specification, when it names a family.

No Flask, Celery or settings import: options are passed in.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .. import keypoints as K
from ..form.body import measure_body
from ..reps import REL_PROMINENCE, _count, _despike, _fill_nan, _orient, segment_repetitions
from . import signals
from .specs import LEVELS, CameraCheck

VIEW_WORDS = {"side": "from the side", "front": "from the front",
              "three_quarter": "at an angle (three-quarter view)"}


@dataclass(frozen=True)
class MeasureOptions:
    conf_threshold: float = K.CONF_THRESHOLD
    #: gaps in a hold shorter than this (a wobble, a lost frame) do not end it, seconds
    hold_gap_s: float = 0.5
    rel_prominence: float = REL_PROMINENCE
    default_min_rep_s: float = 0.6
    #: forefoot lever (ankle to the ball of the foot) as a share of the nose-to-ankle height,
    #: to turn a heel raise's body rise into a plantar-flexion angle
    heel_lever_fraction: float = 0.12
    #: a person must be seen in this share of frames
    min_person_share: float = 0.5
    assess_form: bool = True
    #: in a view the specification cannot use, the trunk's rise (% of body height) that
    #: counts as a movement when the dominant-motion counter finds none
    fallback_rise_pct: float = 1.0


@dataclass
class RepMeasure:
    index: int  # 1-based
    start_frame: int
    peak_frame: int  # the movement extreme
    end_frame: int
    start_s: float
    end_s: float
    rom: float | None  # in the specification's rom unit
    peak: float | None  # the rom signal at the extreme
    to_peak_s: float = 0.0  # start -> extreme (the lifting / lowering phase)
    from_peak_s: float = 0.0  # extreme -> end (an eccentric heel drop's slow lowering)


@dataclass
class MovementResult:
    exercise_id: str
    kind: str
    #: measured | partial (a quantity not measurable from this view) | no_person | too_short
    status: str
    level: str
    duration_s: float
    view_expected: str | None
    view_detected: str | None
    counted_by: str | None = None  # "specification" | "dominant_motion" | "trunk_height"
    rep_count: int | None = None
    reps: list[RepMeasure] = field(default_factory=list)
    rom_name: str | None = None
    rom_unit: str | None = None
    rom: float | None = None  # median over repetitions
    rom_expected: float | None = None  # for the level
    rom_ratio: float | None = None  # rom / rom_expected
    hold_name: str | None = None
    hold_unit: str | None = None
    hold_s: float | None = None  # longest stretch in position
    hold_total_s: float | None = None
    hold_target: list[float] | None = None
    position_value: float | None = None  # median signal while held
    not_measured: list[str] = field(default_factory=list)
    form: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _smooth(sig: np.ndarray, fps: float) -> np.ndarray | None:
    f = _fill_nan(np.asarray(sig, float))
    if f is None:
        return None
    return gaussian_filter1d(_despike(f, fps), max(0.08 * fps, 1.0), mode="nearest")


def _rise_to_degrees(rise_pct: float, lever: float) -> float:
    return float(np.degrees(np.arcsin(min(max(rise_pct / 100.0 / lever, 0.0), 1.0))))




def _runs(mask: np.ndarray, bridge: int) -> list[tuple[int, int]]:
    """[start, end) runs of True, gaps of at most ``bridge`` frames filled."""
    m = mask.copy()
    idx = np.flatnonzero(m)
    if idx.size and bridge > 0:
        gaps = np.flatnonzero(np.diff(idx) > 1)
        for g in gaps:
            a, b = idx[g], idx[g + 1]
            if b - a - 1 <= bridge:
                m[a:b] = True
    out, start = [], None
    for i, v in enumerate(m):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, m.size))
    return out


def _form(seq, fps, check: CameraCheck, reps: list[RepMeasure]) -> dict | None:
    if not check.form or not check.form.get("criteria"):
        return None
    from ..form import assess
    from ..reps import Rep

    wanted = set(check.form["criteria"])
    rep_objs = [Rep(index=r.index, start_frame=r.start_frame, end_frame=r.end_frame,
                    bottom_frame=r.peak_frame) for r in reps]
    res = assess(seq, fps, check.form["family"], rep_objs or None, None)
    if res is None:
        return None
    crit = {k: v for k, v in res.get("criteria", {}).items() if k in wanted}
    return {
        "family": check.form["family"],
        "judged": sorted(k for k, v in crit.items() if v["judged"]),
        "not_judged": sorted(k for k, v in crit.items() if not v["judged"]),
        "findings": [f for f in res.get("findings", []) if f.get("criterion") in wanted],
    }


def measure_exercise(keypoints, fps: float, exercise_id: str, level: str = "beginner",
                     options: MeasureOptions | None = None, specs_path=None) -> MovementResult:
    """:func:`measure_movement` for a library exercise id (``KeyError`` when the library has no
    such exercise, ``ValueError`` when it has no camera check)."""
    from .specs import load_camera_checks

    checks = load_camera_checks(specs_path)
    if exercise_id not in checks:
        raise KeyError(exercise_id)
    return measure_movement(keypoints, fps, checks[exercise_id], level, options)


def measure_movement(keypoints, fps: float, check: CameraCheck, level: str = "beginner",
                     options: MeasureOptions | None = None) -> MovementResult:
    """Measure ``keypoints`` ((T, 17, 3) pixels + confidence at ``fps``) against ``check``.

    Raises ``ValueError`` for an unsupported check, an unknown level or malformed keypoints."""
    opts = options or MeasureOptions()
    if not check.supported:
        raise ValueError(f"{check.exercise_id}: no camera check ({check.reason})")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {list(LEVELS)}")
    seq = K.as_sequence(np.asarray(keypoints, dtype=np.float32))
    fps = float(fps) if fps and fps > 0 else 30.0
    n_frames = seq.shape[0]
    res = MovementResult(exercise_id=check.exercise_id, kind=check.kind or "reps",
                         status="measured", level=level, duration_s=round(n_frames / fps, 2),
                         view_expected=check.view, view_detected=None)
    if check.kind == "reps":
        res.rom_name, res.rom_unit = check.rom["name"], check.rom["unit"]
        res.rom_expected = float(check.rom["expected"][level])
    else:
        res.hold_name, res.hold_unit = check.hold["name"], check.hold["unit"]
        res.hold_target = [float(v) for v in check.hold["target"][level]]
    seen = K.visible_mask(seq, opts.conf_threshold).sum(axis=1) >= 5
    if n_frames == 0 or seen.mean() < opts.min_person_share:
        res.status = "no_person"
        res.not_measured.append("no person was seen in most of the video")
        res.rep_count = 0 if check.kind == "reps" else None
        return res
    min_frames = max(5, int(0.5 * fps))
    if n_frames < min_frames:
        res.status = "too_short"
        res.not_measured.append("the video is too short to measure")
        res.rep_count = 0 if check.kind == "reps" else None
        return res
    body = measure_body(seq, fps)
    res.view_detected = body.view
    view_ok = body.view in check.views_ok
    if check.kind == "reps":
        _measure_reps(seq, fps, body, check, res, opts, view_ok)
    else:
        _measure_hold(fps, body, check, res, opts, view_ok)
    if res.not_measured and res.status == "measured":
        res.status = "partial"
    if not view_ok:
        res.status = "partial"
        what = res.rom_name if check.kind == "reps" else f"the hold ({res.hold_name})"
        res.not_measured.append(
            f"{what}: film {VIEW_WORDS[check.view or 'side']}; this video looks filmed "
            f"{VIEW_WORDS.get(body.view, body.view)}")
    if opts.assess_form and check.form:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res.form = _form(seq, fps, check, res.reps)
    return res


def _measure_reps(seq, fps, body, check: CameraCheck, res: MovementResult,
                  opts: MeasureOptions, view_ok: bool) -> None:
    rom_spec = check.rom["signal"]
    rom_sig = _smooth(signals.compute(body, rom_spec), fps)
    extents: list[tuple[int, int, int]] = []
    sig = None
    if view_ok:
        count_spec = check.signal
        raw = signals.compute(body, count_spec)
        # a signal seen in under half the frames (a segment pointing at the camera) is unusable
        if np.isfinite(raw).mean() >= 0.5:
            sig = rom_sig if count_spec == rom_spec else _smooth(raw, fps)
        if sig is None:
            res.not_measured.append(f"{res.rom_name}: not visible in this video")
    if sig is not None:
        oriented = -sig if count_spec.get("toward") == "min" else sig
        min_rep = check.min_rep_s or opts.default_min_rep_s
        extents, _ = _count(oriented, fps, min_rep, float(check.min_amplitude),
                            opts.rel_prominence)
        res.counted_by = "specification"
    else:
        reps = segment_repetitions(seq, fps, None)
        extents = [(r.start_frame, r.bottom_frame, r.end_frame) for r in reps]
        res.counted_by = "dominant_motion"
        if not extents:
            # small movements (mini-squats, heel raises) under the generic counter's minimum
            # still move the trunk up and down, which every view shows
            trunk = _smooth(signals.compute(body, {"measure": "rise", "point": "trunk"}), fps)
            if trunk is not None:
                extents, _ = _count(_orient(trunk), fps, check.min_rep_s
                                    or opts.default_min_rep_s, opts.fallback_rise_pct,
                                    opts.rel_prominence)
                res.counted_by = "trunk_height" if extents else res.counted_by
    rise_deg = rom_spec["measure"] == "rise" and check.rom["unit"] == "deg"
    # the range is reported only from the filming view: at three-quarter the angle is
    # foreshortened (about 15 degrees too small on real squats) though the count holds
    rom_ok = view_ok and body.view == check.view and sig is not None
    if view_ok and sig is not None and not rom_ok:
        res.not_measured.append(
            f"{res.rom_name}: film {VIEW_WORDS[check.view or 'side']} to measure the range; "
            f"this video looks filmed {VIEW_WORDS.get(body.view, body.view)}")
    out = []
    for k, (s, p, e) in enumerate(extents):
        rom = peak = None
        if rom_ok and rom_sig is not None:
            # start / end lie where the signal is back within 10 % of rest: widen by up to
            # 0.5 s (never past a neighbour's extreme) so the range reaches the rest angle
            pad = int(round(0.5 * fps))
            lo = max(s - pad, extents[k - 1][1] if k else 0)
            hi = min(e + pad, extents[k + 1][1] if k + 1 < len(extents) else rom_sig.size - 1)
            part = rom_sig[lo: hi + 1]
            if part.size:
                rom = float(part.max() - part.min())
                peak = float(part.max() if rom_spec.get("toward", "max") == "max" else part.min())
                if rise_deg:
                    rom = _rise_to_degrees(rom, opts.heel_lever_fraction)
                    peak = rom
        out.append(RepMeasure(index=k + 1, start_frame=int(s), peak_frame=int(p),
                              end_frame=int(e), start_s=round(s / fps, 2), end_s=round(e / fps, 2),
                              rom=None if rom is None else round(rom, 1),
                              peak=None if peak is None else round(peak, 1),
                              to_peak_s=round((p - s) / fps, 2),
                              from_peak_s=round((e - p) / fps, 2)))
    res.reps = out
    res.rep_count = len(out)
    roms = [r.rom for r in out if r.rom is not None]
    res.rom = round(float(np.median(roms)), 1) if roms else None
    if res.rom is not None and res.rom_expected:
        res.rom_ratio = round(res.rom / res.rom_expected, 2)


def _measure_hold(fps, body, check: CameraCheck, res: MovementResult, opts: MeasureOptions,
                  view_ok: bool) -> None:
    if not view_ok:
        return
    sig = signals.compute(body, check.signal)
    sig = _smooth(sig, fps) if np.isfinite(sig).sum() >= 2 else None
    if sig is None:
        res.hold_s, res.hold_total_s = 0.0, 0.0
        return
    if check.signal["measure"] == "rise":
        # a height is only meaningful above the standing level: the clip's lowest stretch
        sig = sig - float(np.percentile(sig, 5))
    lo, hi = res.hold_target
    ok = (sig >= lo) & (sig <= hi)
    if check.signal["measure"] == "body_line":
        # a straight line also fits someone standing: a plank's body is well off vertical
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ok &= signals.body_incline(body) >= 45.0
    for st in check.hold.get("steady", []):
        s2 = _smooth(signals.compute(body, {"measure": st["measure"]}), fps)
        if s2 is not None:
            ok &= np.abs(s2) <= st["max_abs"]
    runs = _runs(ok, int(round(opts.hold_gap_s * fps)))
    if not runs:
        res.hold_s, res.hold_total_s = 0.0, 0.0
        return
    a, b = max(runs, key=lambda r: r[1] - r[0])
    res.hold_s = round((b - a) / fps, 2)
    res.hold_total_s = round(sum(e - s for s, e in runs) / fps, 2)
    val = float(np.median(sig[a:b]))
    res.position_value = round(val, 1) if math.isfinite(val) else None
