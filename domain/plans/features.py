"""Feature encoding for the plan model (paper section III).

Numerical inputs (age, BMI) are standardised with scikit-learn's ``StandardScaler``; categorical
inputs are one-hot / multi-hot encoded:

- profile: sex (one-hot), fitness level (one-hot), injury (one-hot), available equipment
  (multi-hot, after expanding ``gym`` to every item);
- exercise: category, difficulty (1-5), impact, chain (closed/open/none), phase (1-4/none)
  one-hot; muscle groups, equipment needed, suitable_for, contraindicated_for, tags multi-hot.

The layout is described by a ``FeatureSpec`` that round-trips through JSON (``feature_spec.json``
in the artifact); the scaler's mean/scale are stored separately in ``scaler.json``.  Encoding
"one profile x the whole library" is a broadcast of one profile vector next to a cached
exercise matrix, so it costs microseconds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .library import CATEGORIES, IMPACTS, MUSCLE_GROUPS, TAGS, Exercise
from .profile import EQUIPMENT, FITNESS_LEVELS, INJURIES, SEXES, Profile, effective_equipment

FEATURE_SPEC_VERSION = 1

#: Profile input groups used for occlusion explanations, in layout order.
PROFILE_GROUPS = ("age", "bmi", "sex", "fitness_level", "injury", "equipment")


@dataclass
class FeatureSpec:
    sexes: list[str] = field(default_factory=lambda: list(SEXES))
    fitness_levels: list[str] = field(default_factory=lambda: list(FITNESS_LEVELS))
    injuries: list[str] = field(default_factory=lambda: list(INJURIES))
    equipment: list[str] = field(default_factory=lambda: list(EQUIPMENT))
    categories: list[str] = field(default_factory=lambda: list(CATEGORIES))
    difficulties: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    impacts: list[str] = field(default_factory=lambda: list(IMPACTS))
    chains: list[str] = field(default_factory=lambda: ["closed", "open", "none"])
    phases: list[str] = field(default_factory=lambda: ["1", "2", "3", "4", "none"])
    muscle_groups: list[str] = field(default_factory=lambda: list(MUSCLE_GROUPS))
    tags: list[str] = field(default_factory=lambda: list(TAGS))
    #: StandardScaler parameters for [age, bmi] (also written to scaler.json)
    scaler_mean: list[float] = field(default_factory=lambda: [40.0, 26.0])
    scaler_scale: list[float] = field(default_factory=lambda: [15.0, 4.5])
    #: Neutral profile vector (training-set mean of each profile feature) used by explanations.
    profile_baseline: list[float] | None = None
    version: int = FEATURE_SPEC_VERSION

    # ---- layout ---------------------------------------------------------------------------
    def profile_slices(self) -> dict[str, tuple[int, int]]:
        sizes = [
            ("age", 1), ("bmi", 1), ("sex", len(self.sexes)),
            ("fitness_level", len(self.fitness_levels)), ("injury", len(self.injuries)),
            ("equipment", len(self.equipment)),
        ]
        out, i = {}, 0
        for name, n in sizes:
            out[name] = (i, i + n)
            i += n
        return out

    @property
    def profile_dim(self) -> int:
        return 2 + len(self.sexes) + len(self.fitness_levels) + len(self.injuries) + len(
            self.equipment
        )

    @property
    def exercise_dim(self) -> int:
        return (
            len(self.categories) + len(self.difficulties) + len(self.impacts) + len(self.chains)
            + len(self.phases) + len(self.muscle_groups) + len(self.equipment)
            + 2 * len(self.injuries) + len(self.tags)
        )

    @property
    def n_features(self) -> int:
        return self.profile_dim + self.exercise_dim

    # ---- encoding -------------------------------------------------------------------------
    def scale_numeric(self, age, bmi) -> np.ndarray:
        x = np.stack([np.asarray(age, dtype=np.float64), np.asarray(bmi, dtype=np.float64)], -1)
        return ((x - np.asarray(self.scaler_mean)) / np.asarray(self.scaler_scale)).astype(
            np.float32
        )

    def encode_profile(self, profile: Profile) -> np.ndarray:
        v = np.zeros(self.profile_dim, dtype=np.float32)
        sl = self.profile_slices()
        v[0:2] = self.scale_numeric(profile.age, profile.bmi)
        _one_hot(v, sl["sex"][0], self.sexes, profile.sex)
        _one_hot(v, sl["fitness_level"][0], self.fitness_levels, profile.fitness_level)
        _one_hot(v, sl["injury"][0], self.injuries, profile.injury)
        have = effective_equipment(profile.equipment)
        _multi_hot(v, sl["equipment"][0], self.equipment, have)
        return v

    def encode_exercise(self, ex: Exercise) -> np.ndarray:
        v = np.zeros(self.exercise_dim, dtype=np.float32)
        i = 0
        for vocab, values in (
            (self.categories, [ex.category]),
            (self.difficulties, [ex.difficulty]),
            (self.impacts, [ex.impact]),
            (self.chains, [ex.chain or "none"]),
            (self.phases, [str(ex.phase) if ex.phase is not None else "none"]),
            (self.muscle_groups, ex.muscle_groups),
            (self.equipment, ex.equipment),
            (self.injuries, ex.suitable_for),
            (self.injuries, ex.contraindicated_for),
            (self.tags, ex.tags),
        ):
            _multi_hot(v, i, vocab, values)
            i += len(vocab)
        return v

    def encode_exercises(self, exercises) -> np.ndarray:
        """Exercise block for a list of exercises (cached per id tuple)."""
        key = tuple(e.id for e in exercises)
        cache = self.__dict__.setdefault("_ex_cache", {})
        block = cache.get(key)
        if block is None:
            block = np.stack([self.encode_exercise(e) for e in exercises]).astype(np.float32)
            if len(cache) > 64:
                cache.clear()
            cache[key] = block
        return block

    def encode_profile_library(self, profile: Profile, exercises) -> np.ndarray:
        """One profile x many exercises -> (len(exercises), n_features) float32."""
        block = self.encode_exercises(exercises)
        out = np.empty((block.shape[0], self.n_features), dtype=np.float32)
        out[:, : self.profile_dim] = self.encode_profile(profile)
        out[:, self.profile_dim :] = block
        return out

    def encode(self, profiles_x_exercises) -> np.ndarray:
        """Encode a list of ``(Profile, Exercise)`` pairs -> (n, n_features) float32.

        Unique profiles and exercises are encoded once and gathered, so large training sets
        encode quickly."""
        pairs = list(profiles_x_exercises)
        if not pairs:
            return np.zeros((0, self.n_features), dtype=np.float32)
        p_index: dict[int, int] = {}
        e_index: dict[str, int] = {}
        p_rows, e_rows, pi, ei = [], [], [], []
        for profile, ex in pairs:
            k = id(profile)
            if k not in p_index:
                p_index[k] = len(p_rows)
                p_rows.append(self.encode_profile(profile))
            if ex.id not in e_index:
                e_index[ex.id] = len(e_rows)
                e_rows.append(self.encode_exercise(ex))
            pi.append(p_index[k])
            ei.append(e_index[ex.id])
        return np.concatenate(
            [np.stack(p_rows)[np.asarray(pi)], np.stack(e_rows)[np.asarray(ei)]], axis=1
        ).astype(np.float32)

    # ---- persistence ----------------------------------------------------------------------
    def to_json(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        d["n_features"] = self.n_features
        d["profile_dim"] = self.profile_dim
        d["profile_slices"] = {k: list(v) for k, v in self.profile_slices().items()}
        return d

    @classmethod
    def from_json(cls, d: dict) -> FeatureSpec:
        known = {f for f in cls.__dataclass_fields__}
        spec = cls(**{k: v for k, v in d.items() if k in known})
        if spec.version != FEATURE_SPEC_VERSION:
            raise ValueError(f"unsupported feature spec version {spec.version}")
        if "n_features" in d and d["n_features"] != spec.n_features:
            raise ValueError("feature_spec.json is inconsistent (n_features mismatch)")
        return spec

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> FeatureSpec:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def _one_hot(v: np.ndarray, start: int, vocab, value) -> None:
    try:
        v[start + list(vocab).index(value)] = 1.0
    except ValueError:
        pass  # unknown value -> all zeros


def _multi_hot(v: np.ndarray, start: int, vocab, values) -> None:
    vocab = list(vocab)
    for value in values:
        if value in vocab:
            v[start + vocab.index(value)] = 1.0
