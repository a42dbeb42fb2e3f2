"""The exercise vocabulary: every label the classifier may answer and a client may name.

The API validates hints against it and results use it; training data (synthetic.py, the real
datasets) maps its own names onto it with :func:`canonical_label`. It has no dependency, so the
web process can import it without the training code.
"""

from __future__ import annotations

EXERCISES: tuple[str, ...] = (
    "bench_press",
    "barbell_biceps_curl",
    "triceps_pushdown",
    "lat_pulldown",
    "squat",
    "lunge",
    "pushup",
    "pullup",
    "situp",
    "jumping_jacks",
)
#: exercises learned only from real people (no generator here): UTD-MHAD sit_to_stand /
#: stand_to_sit, Pose Trainer shoulder press, front raise and shrug
REAL_ONLY_EXERCISES: tuple[str, ...] = (
    "sit_to_stand",
    "shoulder_press",
    "front_raise",
    "shoulder_shrug",
)
#: every exercise label the classifier may answer and a hint may name
VOCABULARY: tuple[str, ...] = (*EXERCISES, *REAL_ONLY_EXERCISES)
#: other datasets' names for our labels (a curl label contains "curl")
LABEL_ALIASES: dict[str, str] = {
    "biceps_curl": "barbell_biceps_curl",
    "bicep": "barbell_biceps_curl",
    "arm_curl": "barbell_biceps_curl",
    "shoulderpress": "shoulder_press",
    "frontraise": "front_raise",
    "shouldershrug": "shoulder_shrug",
    "stand_to_sit": "sit_to_stand",
}


def canonical_label(label: str | None) -> str | None:
    """A dataset's exercise name -> the vocabulary's (unchanged when already canonical)."""
    if label is None:
        return None
    return LABEL_ALIASES.get(label, label)
