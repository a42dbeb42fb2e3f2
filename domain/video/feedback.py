"""Human-readable feedback sentences: form verdicts and findings, angle differences."""

from __future__ import annotations

EXERCISE_NAMES = {
    "bench_press": "bench press",
    "barbell_biceps_curl": "barbell biceps curl",
    "triceps_pushdown": "triceps pushdown",
    "lat_pulldown": "lat pulldown",
    "squat": "squat",
    "lunge": "lunge",
    "pushup": "push-up",
    "pullup": "pull-up",
    "situp": "sit-up",
    "jumping_jacks": "jumping jack",
    "biceps_curl": "biceps curl",
    "shoulder_press": "shoulder press",
    "front_raise": "front raise",
    "shoulder_shrug": "shoulder shrug",
    "sit_to_stand": "sit-to-stand",
    "plank": "plank",
}

# exercises whose movement extreme is the "top" (curl up, chin over bar, sitting up, arms up)
_TOP_EXTREME = {"barbell_biceps_curl", "pullup", "situp", "jumping_jacks"}
_FLEXION = ("knee", "hip", "elbow")
MAX_SENTENCES = 12


def exercise_name(exercise: str | None) -> str:
    return EXERCISE_NAMES.get(exercise or "", (exercise or "exercise").replace("_", " "))


def phase_text(phase: str, exercise: str | None) -> str:
    top = exercise in _TOP_EXTREME
    if exercise == "triceps_pushdown":
        return {
            "bottom": "at full extension",
            "descent": "on the way down",
            "ascent": "on the way up",
        }[phase]
    if phase == "bottom":
        return "at the top" if top else "at the bottom"
    if phase == "descent":
        return "on the way up" if top else "on the way down"
    return "on the way down" if top else "on the way up"


def joint_text(joint: str) -> str:
    return joint.replace("_", " ").capitalize()


def issue_sentence(
    joint: str, diff: float, phase: str, rep_index: int, exercise: str | None = None
) -> str:
    """E.g. "Left knee 27° less flexed than the reference at the bottom of repetition 2."."""
    d = int(round(abs(diff)))
    sep = "of" if phase == "bottom" else "in"
    where = f"{phase_text(phase, exercise)} {sep} repetition {rep_index}"
    kind = joint.split("_", 1)[-1]
    if joint == "trunk":
        what = (
            f"Trunk leaning {d}° more than the reference"
            if diff > 0
            else f"Trunk {d}° more upright than the reference"
        )
    elif kind in _FLEXION:
        what = (
            f"{joint_text(joint)} {d}° {'less' if diff > 0 else 'more'} flexed than the reference"
        )
    elif kind == "shoulder":
        side = joint.split("_", 1)[0].capitalize()
        what = (
            f"{side} upper arm {d}° further from the torso than the reference"
            if diff > 0
            else f"{side} upper arm {d}° closer to the torso than the reference"
        )
    else:
        what = f"{joint_text(joint)} {d}° off the reference"
    return f"{what} {where}."


VIEW_NAMES = {"front": "the front", "side": "the side", "three_quarter": "a three-quarter angle"}


def _rep_list(indices: list[int]) -> str:
    if len(indices) == 1:
        return f"repetition {indices[0]}"
    return "repetitions " + ", ".join(str(i) for i in indices[:-1]) + f" and {indices[-1]}"


def form_sentences(form: dict, exercise: str | None, rep_count: int,
                   angle_issues: list[dict] | None = None, has_reference: bool = True
                   ) -> list[str]:
    """Feedback sentences from the form verdict: encouragement and no correction for a good
    execution; for a faulty one each finding once, in a patient's words, with the repetitions
    where it happened (then, as information, angle differences the view shows reliably)."""
    name = exercise_name(exercise)
    verdict = form.get("verdict")
    if verdict == "good":
        if rep_count:
            reps = "repetition" if rep_count == 1 else f"{rep_count} repetitions"
            return [f"Good form: your {reps} of {name} looked right. Keep it up!"]
        return [f"Good form: your {name} looked right. Keep it up!"]
    if verdict == "faulty":
        by_criterion: dict[str, tuple[str, list]] = {}
        for f in form.get("findings", []):
            msg, reps = by_criterion.setdefault(f["criterion"], (f["message"], []))
            if f.get("rep_index") is not None:
                reps.append(f["rep_index"])
        out = []
        for msg, reps in by_criterion.values():
            where = f" ({_rep_list(sorted(set(reps)))})" if reps and rep_count > 1 else ""
            out.append(f"{msg.rstrip('.')}{where}.")
        if not out:
            out.append(f"Your {name} form needs attention: move slowly and with control.")
        for issue in (angle_issues or [])[:3]:
            out.append(issue["message"])
        return out[:MAX_SENTENCES]
    # uncertain
    view = form.get("view")
    reps = ""
    if rep_count:
        reps = f"Counted {rep_count} repetition{'s' if rep_count != 1 else ''}. "
    if view and form.get("not_judged") and not form.get("judged"):
        return [f"{reps}Your form could not be judged from {VIEW_NAMES.get(view, view)}: "
                f"film your {name} from the side to get form feedback."]
    info = [issue["message"] for issue in (angle_issues or [])[:3]]
    if not has_reference and rep_count:
        return [f"{reps}No form criteria or expert reference are available for this "
                "exercise yet."]
    if info:
        return [f"{reps}Compared with the expert reference:", *info]
    return [f"{reps}Your form could not be judged reliably from this video."]


NO_PERSON = (
    "No person was detected in the video; make sure your whole body is visible in the frame."
)
UNKNOWN_EXERCISE = (
    "The exercise could not be recognized with enough confidence; "
    "send the exercise name as a hint to get form feedback."
)
STILL_IMAGE = (
    "This is a single still image: the exercise is recognized from posture only (less reliable "
    "than a video) and repetitions cannot be counted."
)
NO_REPS = (
    "No complete repetition was found; film at least one full repetition from start to finish."
)
