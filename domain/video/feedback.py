"""Human-readable feedback sentences from angle issues."""

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


def summarize(
    rep_results: list[dict], exercise: str | None, threshold: float | dict = 25.0
) -> list[str]:
    """Sentences for the analysis result: the largest issues first per repetition (at most
    ``MAX_SENTENCES``), or a positive sentence when no joint left the threshold."""
    name = exercise_name(exercise)
    issues = [i for r in rep_results for i in r.get("issues", [])]
    if not rep_results:
        return []
    if not issues:
        thr = f"{threshold:.0f}°" if isinstance(threshold, (int, float)) else "the thresholds"
        n = len(rep_results)
        reps = "repetition" if n == 1 else f"{n} repetitions"
        return [
            f"Good form: your {reps} of {name} stayed within {thr} of the reference "
            "at every phase checked."
        ]
    out = []
    for r in rep_results:
        for i in r.get("issues", []):
            out.append(i["message"])
    if len(out) > MAX_SENTENCES:
        rest = len(out) - MAX_SENTENCES
        out = out[:MAX_SENTENCES] + [
            f"... and {rest} more deviation{'s' if rest > 1 else ''} over the threshold."
        ]
    # recurring problem summary
    counts: dict[str, set] = {}
    for r in rep_results:
        for i in r.get("issues", []):
            counts.setdefault(i["joint"], set()).add(r["index"])
    worst = max(counts.items(), key=lambda kv: len(kv[1]))
    if len(rep_results) > 1 and len(worst[1]) > len(rep_results) / 2:
        out.append(
            f"Recurring: the {joint_text(worst[0]).lower()} deviated from the reference in "
            f"{len(worst[1])} of {len(rep_results)} repetitions."
        )
    return out


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
