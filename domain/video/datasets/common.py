"""Shared pieces of the dataset loaders: the sample type and the validation split."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: share of groups (videos / files / runs) held out for validation
VALIDATION_FRACTION = 0.3


@dataclass
class Sample:
    """One labelled sequence.

    ``correct``: True for a correct execution, False for a faulty one, None when the form is not
    labelled. ``fault``: the dataset's own fault code (e.g. ``"L"`` lean back), or None.
    """

    dataset: str
    exercise: str
    name: str
    group: str
    keypoints: np.ndarray  # (T, 17, 3) pixels, NaN + conf 0 where masked
    fps: float
    width: float
    height: float
    correct: bool | None = None
    fault: str | None = None
    meta: dict = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return int(self.keypoints.shape[0])


def is_validation(group: str, fraction: float = VALIDATION_FRACTION) -> bool:
    """Deterministic held-out split by group id (sha256 of the id; no randomness, no tuning)."""
    h = int(hashlib.sha256(group.encode("utf-8")).hexdigest()[:8], 16)
    return (h % 10_000) < fraction * 10_000


def split(samples: Iterable[Sample], fraction: float = VALIDATION_FRACTION
          ) -> tuple[list[Sample], list[Sample]]:
    """(train, validation) by :func:`is_validation` of each sample's group."""
    train, val = [], []
    for s in samples:
        (val if is_validation(s.group, fraction) else train).append(s)
    return train, val


def shared_data_dir() -> Path:
    """``../shared/data`` (the settings' value when config is importable)."""
    try:
        from config import settings

        return Path(settings.shared_data_dir)
    except Exception:  # noqa: BLE001 - outside the project root
        return Path(__file__).resolve().parents[4] / "shared" / "data"


def project_var_dir() -> Path:
    try:
        from config import settings

        return Path(settings.var_dir)
    except Exception:  # noqa: BLE001
        return Path(__file__).resolve().parents[3] / "var"


def mask(kp: np.ndarray, min_conf: float = 0.3) -> np.ndarray:
    """Joints below ``min_conf`` (or non-finite) get x, y NaN and confidence 0."""
    kp = np.array(kp, dtype=np.float32, copy=True)
    low = ~(kp[..., 2] >= min_conf) | ~np.isfinite(kp[..., 0]) | ~np.isfinite(kp[..., 1])
    kp[low, 0:2] = np.nan
    kp[low, 2] = 0.0
    return kp
