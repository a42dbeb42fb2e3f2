"""Per-exercise form models on per-execution features: logistic regression (``logreg``), the
calibrated criteria alone (``criteria``), or small gradient-boosted trees (``gbt``).

The artifact (``artifacts/form/<version>/model.json``) holds, per criteria family, the feature
names, the imputation values (training medians; a criterion the view does not allow is
imputed), the standardization, the coefficients, and the calibrated per-criterion thresholds.
The intercept is shifted so that the decision threshold chosen by grouped cross-validation on
the training split maps to a score of 0.5: ``score >= 0.5`` is ``good``.

A ``gbt`` model keeps its trees as plain lists (``trees``: per tree, nodes ``[feature,
threshold, left, right, leaf, value, missing_left]`` where ``value`` of an inner node is the
count-weighted mean of its leaves, for explanations) and the ``baseline`` log-odds; missing
features follow each split's learned missing-value branch, as in scikit-learn's
HistGradientBoosting that trained them.
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
    trees: list = field(default_factory=list)
    baseline: float = 0.0

    def _z(self, feats: dict[str, float]) -> np.ndarray:
        x = np.array([feats.get(f, math.nan) for f in self.features], float)
        x = np.where(np.isfinite(x), x, np.asarray(self.impute))
        return (x - np.asarray(self.mean)) / np.asarray(self.scale)

    def _x(self, feats: dict[str, float]) -> list[float]:
        return [float(feats.get(f, math.nan)) for f in self.features]

    def _tree_paths(self, x: list[float]):
        """Per tree, the (feature index, value change) of each split on the path of x."""
        for tree in self.trees:
            node = 0
            steps = []
            while not tree[node][4]:
                f, thr, left, right, _leaf, value, miss_left = tree[node]
                v = x[int(f)]
                go_left = bool(miss_left) if not math.isfinite(v) else v <= thr
                nxt = int(left if go_left else right)
                steps.append((int(f), tree[nxt][5] - value))
                node = nxt
            yield tree[node][5], steps

    def score(self, feats: dict[str, float], rule_score: float | None = None) -> float:
        """Probability (after the threshold shift) that the execution is correct. A
        ``criteria`` model rescales the thresholds-only ``rule_score`` by the same shift."""
        if self.kind == "criteria":
            p = min(max(rule_score if rule_score is not None else 0.5, 1e-6), 1 - 1e-6)
            z = math.log(p / (1 - p)) + self.intercept
        elif self.kind == "gbt":
            z = self.baseline + self.intercept + sum(v for v, _ in self._tree_paths(
                self._x(feats)))
        else:
            z = float(self._z(feats) @ np.asarray(self.coef) + self.intercept)
        return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))

    def contributions(self, feats: dict[str, float]) -> dict[str, float]:
        """Per feature, its share of the log-odds of "correct" (logreg: coefficient times the
        standardized value; gbt: the value changes along each tree's path, per split feature)."""
        if self.kind == "criteria" or not self.features:
            return {}
        if self.kind == "gbt":
            out = dict.fromkeys(self.features, 0.0)
            for _, steps in self._tree_paths(self._x(feats)):
                for f, delta in steps:
                    out[self.features[f]] += float(delta)
            return out
        contrib = self._z(feats) * np.asarray(self.coef)
        return {n: float(c) for n, c in zip(self.features, contrib, strict=True)}

    def main_reason(self, feats: dict[str, float], criterion=None) -> str | None:
        """The criterion whose features lower the score most. ``criterion`` maps a feature
        name to its criterion key (None: not a criterion); default: the name's prefix."""
        by_key: dict[str, float] = {}
        for name, c in self.contributions(feats).items():
            key = criterion(name) if criterion else name.split(".", 1)[0]
            if key:
                by_key[key] = by_key.get(key, 0.0) + c
        return min(by_key, key=by_key.get) if by_key else None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("family", "features", "impute", "mean", "scale",
                                               "coef", "intercept", "thresholds", "kind", "meta",
                                               "trees", "baseline")}

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
