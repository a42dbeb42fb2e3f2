"""Per-exercise form models: logistic regression on per-execution criterion features.

The artifact (``artifacts/form/<version>/model.json``) holds, per criteria family, the feature
names, the imputation values (training medians; a criterion the view does not allow is
imputed), the standardization, the coefficients, and the calibrated per-criterion thresholds.
The intercept is shifted so that the decision threshold chosen by grouped cross-validation on
the training split maps to a score of 0.5: ``score >= 0.5`` is ``good``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class FamilyModel:
    family: str
    features: list[str]
    impute: list[float]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    thresholds: dict[str, float] = field(default_factory=dict)
    kind: str = "logreg"
    meta: dict = field(default_factory=dict)

    def _z(self, feats: dict[str, float]) -> np.ndarray:
        x = np.array([feats.get(f, math.nan) for f in self.features], float)
        x = np.where(np.isfinite(x), x, np.asarray(self.impute))
        return (x - np.asarray(self.mean)) / np.asarray(self.scale)

    def score(self, feats: dict[str, float], rule_score: float | None = None) -> float:
        """Probability (after the threshold shift) that the execution is correct. A
        ``criteria`` model rescales the thresholds-only ``rule_score`` by the same shift."""
        if self.kind == "criteria":
            p = min(max(rule_score if rule_score is not None else 0.5, 1e-6), 1 - 1e-6)
            z = math.log(p / (1 - p)) + self.intercept
        else:
            z = float(self._z(feats) @ np.asarray(self.coef) + self.intercept)
        return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))

    def main_reason(self, feats: dict[str, float]) -> str | None:
        """The criterion whose features lower the score most."""
        if self.kind == "criteria" or not self.features:
            return None
        contrib = self._z(feats) * np.asarray(self.coef)
        by_key: dict[str, float] = {}
        for name, c in zip(self.features, contrib, strict=True):
            key = name.split(".", 1)[0]
            by_key[key] = by_key.get(key, 0.0) + float(c)
        return min(by_key, key=by_key.get) if by_key else None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("family", "features", "impute", "mean", "scale",
                                               "coef", "intercept", "thresholds", "kind", "meta")}

    @classmethod
    def from_dict(cls, d: dict) -> FamilyModel:
        return cls(**d)


@dataclass
class FormModel:
    version: str
    families: dict[str, FamilyModel]

    def for_family(self, fam: str | None) -> FamilyModel | None:
        return self.families.get(fam or "")

    @classmethod
    def load(cls, path: str | Path) -> FormModel:
        path = Path(path)
        data = json.loads((path / "model.json").read_text(encoding="utf-8"))
        return cls(version=data.get("version", path.name),
                   families={k: FamilyModel.from_dict(v) for k, v in data["families"].items()})

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        data = {"version": self.version,
                "families": {k: v.to_dict() for k, v in self.families.items()}}
        (path / "model.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
