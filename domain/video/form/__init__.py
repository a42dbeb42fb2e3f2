"""Form assessment that a person can trust: per-exercise criteria of physiotherapists and
coaches, judged only where the camera view shows them, calibrated and combined by per-exercise
models trained on real labelled executions (``flask ml train-form``).

:func:`form_result` is the ``form`` object of an analysis result;
:func:`reliable_joints` the joint angles a view shows well enough to compare with a reference.
"""

from __future__ import annotations

from .criteria import CRITERIA, family
from .engine import assess, measure
from .model import FormModel

__all__ = ["CRITERIA", "FormModel", "assess", "family", "form_result", "measure",
           "reliable_joints"]


def form_result(seq, fps: float, exercise: str | None, reps, model=None) -> dict:
    """``{verdict, score, findings, view, not_judged, method}``; ``uncertain`` with score None
    when the exercise has no criteria or the view allows none of them."""
    form = assess(seq, fps, exercise, reps, model)
    if form is None:
        return {"verdict": "uncertain", "score": None, "findings": [], "view": None,
                "not_judged": [], "method": "none", "static": False}
    criteria = form.pop("criteria")
    form["not_judged"] = sorted(k for k, c in criteria.items() if not c["judged"])
    form["judged"] = sorted(k for k, c in criteria.items() if c["judged"])
    if model is not None:
        form["model"] = model.version
    return form


def reliable_joints(view: str | None, near: str | None) -> frozenset[str]:
    """Joint angles a view shows without strong foreshortening: from the side (and three-quarter)
    the near side's knee, hip, elbow (and from the side the shoulder and trunk); from the
    front only the shoulders' opening. Unknown view: none."""
    side = near or "left"
    if view == "side":
        return frozenset({f"{side}_knee", f"{side}_hip", f"{side}_elbow", f"{side}_shoulder",
                          "trunk"})
    if view == "three_quarter":
        return frozenset({f"{side}_knee", f"{side}_hip", f"{side}_elbow"})
    if view == "front":
        return frozenset({"left_shoulder", "right_shoulder"})
    return frozenset()
