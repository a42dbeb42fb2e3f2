"""Penn Action (train split) loader and the deterministic train/validation split.

The shared file holds only Penn Action's own *train* split; we cut it again, by sequence id,
stratified per action, into 80 % for training and 20 % for validation. The validation part
is never used for training, augmentation, model selection or threshold calibration; it is
only used to report real-person accuracy (``metrics.json``).

Gym classes learned from real people: bench_press, squat, pushup, pullup, situp,
jumping_jacks. All other actions (clean_and_jerk, jump_rope and the sport actions) are
labelled ``other``: the classifier learns an explicit ``other`` class that inference maps to
``unknown``.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .keypoints import from_penn

PENN_GYM_CLASSES: tuple[str, ...] = (
    "bench_press",
    "squat",
    "pushup",
    "pullup",
    "situp",
    "jumping_jacks",
)
OTHER = "other"
SPLIT_SEED = 20240607
VAL_FRACTION = 0.2
PENN_FPS = 30.0


@dataclass
class PennSequence:
    id: int
    action: str
    label: str  # gym class or "other"
    view: str
    width: int
    height: int
    keypoints: np.ndarray  # (T, 17, 3) pixels
    fps: float = PENN_FPS


def default_path() -> Path:
    """The default shared data folder's file (callers pass SHARED_DATA_DIR's)."""
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "penn_action_train.jsonl.gz"


def load_penn(path: str | Path | None = None) -> list[PennSequence]:
    path = Path(path) if path else default_path()
    out: list[PennSequence] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            d = json.loads(line)
            action = d["action"]
            out.append(
                PennSequence(
                    id=int(d["id"]),
                    action=action,
                    label=action if action in PENN_GYM_CLASSES else OTHER,
                    view=str(d.get("view", "")),
                    width=int(d["width"]),
                    height=int(d["height"]),
                    keypoints=from_penn(d["x"], d["y"], d["visibility"]),
                )
            )
    out.sort(key=lambda s: s.id)
    return out


def split_ids(
    sequences: list[PennSequence], seed: int = SPLIT_SEED, val_fraction: float = VAL_FRACTION
):
    """Deterministic stratified split by sequence id -> (train_ids, val_ids) as sets.

    Stratified by *action* (so every sport contributes to both sides of ``other``).
    """
    by_action: dict[str, list[int]] = {}
    for s in sequences:
        by_action.setdefault(s.action, []).append(s.id)
    rng = np.random.RandomState(seed)
    train, val = set(), set()
    for action in sorted(by_action):
        ids = sorted(by_action[action])
        perm = rng.permutation(len(ids))
        n_val = int(round(val_fraction * len(ids)))
        for k, p in enumerate(perm):
            (val if k < n_val else train).add(ids[p])
    return train, val


def load_split(path: str | Path | None = None):
    """-> (train_sequences, val_sequences)."""
    seqs = load_penn(path)
    train_ids, val_ids = split_ids(seqs)
    assert not (train_ids & val_ids)
    return [s for s in seqs if s.id in train_ids], [s for s in seqs if s.id in val_ids]
