"""An analysis checked against a prescribed plan exercise (pure; no I/O).

`check_prescribed` measures the keypoints with the exercise's movement specification at the
patient's level (:func:`measure_movement`) and turns the measurement into the result's
``prescribed`` / ``performed`` / ``not_measured`` and feedback sentences. It never says
``completed`` when the count cannot be trusted: nobody seen, too short, another exercise
recognised by the classifier, or a view from which the measure cannot be seen.

The gym classifier knows ten gym exercises and a few real-only ones (sit-to-stand, shoulder
press...), not the rehabilitation library. Its label decides only for prescribed exercises that
resemble what it learned (`CLASSIFIER_LABELS`): a confident label outside their compatible set
is another exercise. For the others its guess is reported as information.
"""

from __future__ import annotations

from dataclasses import dataclass

from .measure import MeasureOptions, MovementResult, measure_movement
from .specs import CameraCheck

#: prescribed movement family (the spec's form family) -> classifier labels it may be read as
FAMILY_LABELS: dict[str, frozenset[str]] = {
    "squat": frozenset({"squat", "sit_to_stand", "lunge"}),
    "lunge": frozenset({"lunge", "squat"}),
    "plank": frozenset({"pushup"}),
}
#: single exercises the classifier learned under its own label
EXERCISE_LABELS: dict[str, frozenset[str]] = {
    "jumping-jacks": frozenset({"jumping_jacks"}),
}


def classifier_labels(check: CameraCheck) -> frozenset[str] | None:
    """Labels compatible with the prescribed exercise, or None when the classifier never learned
    anything like it (its label is then only information)."""
    if check.exercise_id in EXERCISE_LABELS:
        return EXERCISE_LABELS[check.exercise_id]
    family = (check.form or {}).get("family")
    return FAMILY_LABELS.get(family) if family else None


def _label_words(label: str) -> str:
    return label.replace("_", " ")


def form_verdict(form: dict | None) -> str | None:
    """good (criteria judged, none failed) | faulty | uncertain (nothing judged) | None."""
    if not form:
        return None
    if form.get("findings"):
        return "faulty"
    return "good" if form.get("judged") else "uncertain"


@dataclass(frozen=True)
class Prescription:
    exercise_id: str
    name: str
    sets: int
    reps: int | None
    duration_s: int | None

    @classmethod
    def from_item(cls, item: dict) -> Prescription:
        return cls(item["exercise_id"], item.get("name") or item["exercise_id"],
                   int(item.get("sets") or 1), item.get("reps"), item.get("duration_s"))

    def to_dict(self) -> dict:
        return {"exercise_id": self.exercise_id, "name": self.name, "sets": self.sets,
                "reps": self.reps, "duration_s": self.duration_s}


def wrong_exercise(check: CameraCheck, exercise: dict) -> str | None:
    """A sentence when the classifier confidently recognised another known exercise."""
    label = (exercise or {}).get("label") or "unknown"
    allowed = classifier_labels(check)
    if label == "unknown" or allowed is None or label in allowed:
        return None
    return (f"The movement looks like {_label_words(label)} "
            f"({float(exercise.get('confidence') or 0):.0%}), not the prescribed "
            f"{check.exercise_id.replace('-', ' ')}: it was not counted. Film the prescribed "
            f"exercise, or self-report it.")


def _duration(res: MovementResult) -> float:
    """Time spent in the exercise: in position for a hold, first to last repetition else."""
    if res.kind == "hold":
        return float(res.hold_total_s or 0.0)
    if res.reps:
        return float(res.reps[-1].end_s - res.reps[0].start_s)
    return 0.0


def check_prescribed(keypoints, fps: float, check: CameraCheck, item: dict, level: str,
                     exercise: dict, options: MeasureOptions | None = None) -> dict:
    """``{prescribed, performed, not_measured, movement, feedback}`` for one analysis.

    ``item`` is the plan item (sets, reps or duration_s), ``exercise`` the classifier's answer
    ``{label, confidence, candidates}``."""
    pres = Prescription.from_item(item)
    res = measure_movement(keypoints, fps, check, level, options)
    reasons: list[str] = []
    not_measured = list(res.not_measured)
    wrong = wrong_exercise(check, exercise)
    label = (exercise or {}).get("label") or "unknown"
    info: list[str] = []
    if wrong:
        reasons.append(wrong)
    elif label != "unknown" and classifier_labels(check) is None:
        info.append(f"The exercise classifier, which was not trained on {pres.name}, read the "
                    f"movement as {_label_words(label)}; it was measured as {pres.name}.")
    if res.status == "no_person":
        reasons.append("No person was seen in most of the video: nothing was counted.")
    elif res.status == "too_short":
        reasons.append("The video is too short to measure one repetition or hold.")
    view_ok = res.view_detected in check.views_ok if res.view_detected else False
    if res.status not in ("no_person", "too_short") and not view_ok:
        reasons.append(f"Filmed from the wrong side for this exercise (looks "
                       f"{(res.view_detected or 'unknown').replace('_', '-')}, film it from the "
                       f"{check.view}): it cannot be checked from this view.")
    valid = not reasons
    verdict = form_verdict(res.form)
    reps = res.rep_count if (res.kind == "reps" and valid) else (0 if res.kind == "reps" else None)
    duration = _duration(res) if valid else 0.0
    if pres.reps:
        target = pres.sets * int(pres.reps)
        completed = valid and (reps or 0) >= target
        if valid and not completed:
            reasons.append(f"{reps} of {target} repetitions ({pres.sets} x {pres.reps}) were "
                           f"counted.")
        sets_seen = (reps or 0) // int(pres.reps)
    else:
        target_s = pres.sets * float(pres.duration_s or 0)
        completed = valid and target_s > 0 and duration >= 0.9 * target_s
        if valid and not completed:
            reasons.append(f"{duration:.0f} of {target_s:.0f} s ({pres.sets} x "
                           f"{pres.duration_s} s) were seen.")
        sets_seen = int(duration // float(pres.duration_s)) if pres.duration_s else 0
    performed = {
        "reps": reps, "sets": sets_seen if valid else 0,
        "duration_s": round(duration, 1) if not pres.reps else None,
        "hold_s": res.hold_s if valid else None,
        "rom_deg": res.rom if valid else None,
        "rom_expected": res.rom_expected,
        "rom_ratio": res.rom_ratio if valid else None,
        "form_verdict": verdict if valid else None,
        "counted": valid,
        "completed": bool(completed),
        "reasons": reasons,
    }
    feedback = _feedback(pres, performed, res, valid) + info
    return {"prescribed": pres.to_dict(), "performed": performed, "not_measured": not_measured,
            "movement": _movement_summary(res), "feedback": feedback}


def _feedback(pres: Prescription, performed: dict, res: MovementResult, valid: bool) -> list[str]:
    if not valid:
        return list(performed["reasons"])
    lines = []
    if pres.reps:
        target = pres.sets * int(pres.reps)
        lines.append(f"{performed['reps']} of {target} {pres.name} repetitions counted "
                     f"({pres.sets} x {pres.reps} prescribed).")
    else:
        lines.append(f"{performed['duration_s']:.0f} s of {pres.sets} x {pres.duration_s} s "
                     f"{pres.name} seen.")
    if performed["rom_deg"] is not None and res.rom_expected:
        unit = "°" if res.rom_unit == "deg" else f" {res.rom_unit or ''}"
        lines.append(f"Range of motion ({res.rom_name}): {performed['rom_deg']:.0f}{unit} of "
                     f"{res.rom_expected:.0f}{unit} expected at your level.")
    if performed["completed"]:
        lines.append("Done as prescribed.")
    return lines


def _movement_summary(res: MovementResult) -> dict:
    out = res.to_dict()
    out["reps"] = [{"index": r["index"], "start_s": r["start_s"], "end_s": r["end_s"],
                    "rom": r["rom"]} for r in out["reps"]]
    return out
