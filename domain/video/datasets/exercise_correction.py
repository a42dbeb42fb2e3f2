"""Exercise-Correction frame labels (MediaPipe-33 CSV) -> labelled COCO-17 runs.

Each CSV row is one frame: a label, then ``<joint>_x, _y, _z, _v`` for the landmarks the
project kept (x, y normalized to the frame). Frames are in time order but carry no subject or
video id, so a file is cut into *runs*: a new run starts where the label changes or where the
body jumps (mean nose/shoulder/hip displacement over ``CUT_JUMP`` of the frame between two
frames, i.e. a cut to another clip). A run is one group for splitting; runs shorter than
``MIN_RUN`` frames are dropped. Neighbouring runs may show the same person (the data set does
not say), which is the limit of this split.

The frame size and rate are not published: 640x480 and 30 fps are assumed (x, y are scaled to
that size so that angles keep a 4:3 aspect).

Labelled files used: ``bicep__test.csv`` (C correct / L leaning back), ``lunge__err.test.csv``
(C / L knee over toe), ``plank__test.csv`` + ``plank__kaggle.csv`` (C / H high hips / L low
hips), and ``squat__train.csv`` + ``squat__test.csv`` (stage up/down only, ``correct`` None).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..keypoints import JOINT_INDEX
from .common import Sample, mask, shared_data_dir

WIDTH, HEIGHT, ASSUMED_FPS = 640.0, 480.0, 30.0
CUT_JUMP = 0.05
MIN_RUN = 8
#: file -> (exercise, {label: (correct, fault)})
FILES: dict[str, tuple[str, dict[str, tuple[bool | None, str | None]]]] = {
    "bicep__test.csv": ("biceps_curl", {"C": (True, None), "L": (False, "lean_back")}),
    "lunge__err.test.csv": ("lunge", {"C": (True, None), "L": (False, "knee_over_toe")}),
    "plank__test.csv": ("plank", {"C": (True, None), "H": (False, "hips_high"),
                                  "L": (False, "hips_low")}),
    "plank__kaggle.csv": ("plank", {"C": (True, None), "H": (False, "hips_high"),
                                    "L": (False, "hips_low")}),
    "squat__train.csv": ("squat", {"up": (None, None), "down": (None, None)}),
    "squat__test.csv": ("squat", {"up": (None, None), "down": (None, None)}),
}


def read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """(labels per frame, (T, 17, 3) COCO-17 pixels with visibility as confidence)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    labels = [r[0] for r in body]
    values = np.array([[float(x) if x else np.nan for x in r[1:]] for r in body], np.float32)
    col = {name: i for i, name in enumerate(header[1:])}
    kp = np.zeros((len(body), 17, 3), np.float32)
    for name, j in JOINT_INDEX.items():
        if f"{name}_x" in col:
            kp[:, j, 0] = values[:, col[f"{name}_x"]] * WIDTH
            kp[:, j, 1] = values[:, col[f"{name}_y"]] * HEIGHT
            kp[:, j, 2] = values[:, col[f"{name}_v"]] if f"{name}_v" in col else 1.0
    return labels, mask(kp, 0.3)


def runs(labels: list[str], kp: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) frame ranges of constant label without a cut."""
    anchor = [JOINT_INDEX[n] for n in ("nose", "left_shoulder", "right_shoulder", "left_hip",
                                       "right_hip")]
    xy = kp[:, anchor, :2] / np.array([WIDTH, HEIGHT], np.float32)
    jump = np.nanmean(np.linalg.norm(np.diff(xy, axis=0), axis=-1), axis=1) if len(kp) > 1 \
        else np.zeros(0)
    out, start = [], 0
    for t in range(1, len(labels) + 1):
        if t == len(labels) or labels[t] != labels[start] or (
                np.isfinite(jump[t - 1]) and jump[t - 1] > CUT_JUMP):
            out.append((start, t))
            start = t
    return out


def load(data_dir: str | Path | None = None, files: tuple[str, ...] | None = None
         ) -> Iterator[Sample]:
    root = (Path(data_dir) if data_dir else shared_data_dir()) / "exercise_correction"
    for fname in files or tuple(FILES):
        exercise, meaning = FILES[fname]
        path = root / fname
        if not path.exists():
            continue
        labels, kp = read_csv(path)
        for k, (a, b) in enumerate(runs(labels, kp)):
            if b - a < MIN_RUN or labels[a] not in meaning:
                continue
            correct, fault = meaning[labels[a]]
            name = f"{path.stem}#{k:03d}"
            yield Sample(dataset="exercise_correction", exercise=exercise, name=name,
                         group=f"exercise_correction:{name}", keypoints=kp[a:b],
                         fps=ASSUMED_FPS, width=WIDTH, height=HEIGHT, correct=correct,
                         fault=fault, meta={"file": fname, "label": labels[a],
                                            "frames": [a, b]})
