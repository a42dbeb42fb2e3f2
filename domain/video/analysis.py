"""Keypoints -> analysis result (the ``result`` object of the video-analysis API).

Steps (seed 003): classification -> repetitions (velocity minima) -> nearest expert reference
(L2 at the velocity-minimum poses) -> joint-angle comparison at aligned phases -> feedback.
"""

from __future__ import annotations

import numpy as np

from . import feedback as F
from . import keypoints as K
from .angles import compare
from .form import form_result, reliable_joints
from .references import nearest_reference
from .reps import segment_repetitions
from .vocabulary import VOCABULARY

MIN_PERSON_FRACTION = 0.1  # below this fraction of frames with a person: person_detected False


def _rep_timing(r, offset: int, fps: float) -> dict:
    """A repetition's index, start / bottom / end in seconds and range of motion (degrees of
    its driving joint angle, ``rom_joint``)."""
    return {
        "index": r.index,
        "start_s": round((r.start_frame + offset) / fps, 3),
        "end_s": round((r.end_frame + offset) / fps, 3),
        "bottom_s": round((r.bottom_frame + offset) / fps, 3),
        "rom_deg": r.rom_deg,
        "rom_joint": r.joint,
    }


def _empty(label: str = "unknown") -> dict:
    return {"label": label, "confidence": 0.0, "candidates": []}


def analyze_keypoints(
    seq,
    fps: float,
    width: float,
    height: float,
    classifier,
    references,
    exercise_hint: str | None = None,
    threshold: float | dict = 25.0,
    form_model=None,
) -> dict:
    """Analyze a (T, 17, 3) COCO-17 pixel sequence (T=1: a still image).

    ``classifier``: an ``ExerciseClassifier`` (or None: only the hint is used);
    ``references``: iterable of ``Reference`` (e.g. ``references.default_library()``);
    ``form_model``: a ``form.FormModel`` (None: the form criteria's default thresholds).
    ``form`` = ``{verdict, score, findings: [{rep_index, criterion, message}], view, ...}``: the
    judge of form; angle differences against the reference are information in
    ``reps[].angles`` and become issues only for joints the view shows reliably, and never
    when the form is judged good.
    Returns ``{"exercise": {label, confidence, candidates}, "rep_count", "reps": [{index,
    start_s, end_s, bottom_s, rom_deg, rom_joint, angles, issues}], "feedback": [...],
    "reference_id", "person_detected", "analyzed_as", "exercise_hint", "reference_distance",
    "models"}``.
    """
    seq = K.as_sequence(seq) if len(seq) else np.zeros((0, 17, 3), np.float32)
    fps = float(fps) if fps and fps > 0 else 30.0
    hint = exercise_hint if exercise_hint in VOCABULARY else None
    result = _empty_result(exercise_hint, getattr(classifier, "version", None))
    T = seq.shape[0]
    present = K.person_present(seq) if T else np.zeros(0, bool)
    if T == 0 or present.mean() < MIN_PERSON_FRACTION or present.sum() == 0:
        result["feedback"] = [F.NO_PERSON]
        return result
    result["person_detected"] = True
    idx = np.flatnonzero(present)
    offset, last = int(idx[0]), int(idx[-1])
    core = seq[offset : last + 1]

    exercise = classifier.predict(core, width, height, fps=fps) if classifier else _empty()
    result["exercise"] = exercise
    used, notes = _exercise_used(exercise, hint)
    result["analyzed_as"] = used
    if used is None:
        # repetitions still count, from the dominant joint motion (no form judgement)
        reps = segment_repetitions(core, fps, None) if T > 1 else []
        result["rep_count"] = len(reps)
        result["reps"] = [dict(_rep_timing(r, offset, fps), angles={}, issues=[]) for r in reps]
        result["feedback"] = [F.UNKNOWN_EXERCISE]
        return result

    candidates = [r for r in references if r.exercise == used]
    reps = segment_repetitions(core, fps, used) if T > 1 else []
    ref, dist = nearest_reference(core, reps, candidates) if candidates else (None, float("inf"))
    if ref is not None:
        result["reference_id"] = ref.name
        result["reference_distance"] = round(float(dist), 4) if np.isfinite(dist) else None
    if T == 1:
        result["feedback"] = notes + [F.STILL_IMAGE]
        return result
    result["rep_count"] = len(reps)
    _judge(result, core, fps, used, reps, ref, offset, notes, threshold, form_model)
    return result


def _empty_result(exercise_hint: str | None, classifier_version: str | None) -> dict:
    return {
        "exercise": _empty(),
        "rep_count": 0,
        "reps": [],
        "feedback": [],
        "reference_id": None,
        "reference_distance": None,
        "form": {"verdict": "uncertain", "score": None, "findings": []},
        "person_detected": False,
        "analyzed_as": None,
        "exercise_hint": exercise_hint,
        "models": {"classifier": classifier_version},
    }


def _exercise_used(exercise: dict, hint: str | None) -> tuple[str | None, list[str]]:
    """The exercise the movement is analysed as (the classifier's label, else the client's
    hint), and a note when the two disagree or the classifier was not confident."""
    label = exercise["label"]
    used = label if label in VOCABULARY else hint
    notes: list[str] = []
    cands = exercise["candidates"]
    top_guess = cands[0]["label"] if cands else "none"
    if label == "unknown" and used:
        notes.append(
            f"The classifier was not confident (top guess: {top_guess}); "
            f"analyzed as {F.exercise_name(used)} as you indicated."
        )
    elif hint and label in VOCABULARY and hint != label:
        notes.append(
            f"You indicated {F.exercise_name(hint)}, but the movement looks like "
            f"{F.exercise_name(label)} "
            f"({exercise['confidence']:.0%}); analyzed as {F.exercise_name(label)}."
        )
    return used, notes


def _judge(result: dict, core, fps: float, used: str, reps, ref, offset: int,
           notes: list[str], threshold, form_model) -> None:
    """Form per repetition (the judge), angle differences against the reference (information;
    issues only for joints the view shows reliably and never when the form is good), and the
    feedback sentences."""
    comparisons = (
        compare(core, reps, ref.keypoints, ref.reps, threshold, exercise=used)
        if (ref and reps)
        else []
    )
    form = form_result(core, fps, used, reps, form_model)
    result["form"] = form
    reliable = reliable_joints(form.get("view"), form.get("near"))
    by_index = {c["index"]: c for c in comparisons}
    findings_by_rep: dict = {}
    for f in form["findings"]:
        findings_by_rep.setdefault(f["rep_index"], []).append(f)
    angle_issues: list[dict] = []
    for r in reps:
        c = by_index.get(r.index, {})
        issues: list[dict] = []
        if form["verdict"] != "good":
            issues = [{"source": "form", "criterion": f["criterion"], "message": f["message"]}
                      for f in findings_by_rep.get(r.index, []) + findings_by_rep.get(None, [])]
            extra = [dict(i, source="angles") for i in c.get("issues", [])
                     if i["joint"] in reliable]
            issues += extra
            angle_issues += extra
        result["reps"].append(
            {
                **_rep_timing(r, offset, fps),
                "angles": c.get("angles", {}),
                "issues": issues,
            }
        )
    if not reps:
        # a hold (plank) is judged over time windows; a clip without a repetition is judged
        # whole when its criteria could be measured
        sentences = F.form_sentences(form, used, 0) if form["verdict"] != "uncertain" else []
        result["feedback"] = notes + sentences + ([] if form.get("static") else [F.NO_REPS])
    else:
        result["feedback"] = notes + F.form_sentences(form, used, len(reps), angle_issues,
                                                      has_reference=ref is not None)
