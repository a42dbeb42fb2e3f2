"""The plan model at run time: `PlanScorer` loads a trained artifact and scores (profile,
exercise) suitability for the whole library in one batch, with explanations.

Training (synthetic data, cross-validation, the artifact) is `training.py`; plots `plots.py`.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np

from .explain import guardrail_reasons, model_reasons, occlusion_deltas
from .features import FeatureSpec
from .profile import Profile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _tf():
    import tensorflow as tf

    return tf


class PlanScorer:
    """Loads an artifact once; scores one profile x the whole library in one batch."""

    def __init__(self, model, spec: FeatureSpec, version: str, metrics: dict | None = None):
        tf = _tf()
        self.model = model
        self.spec = spec
        self.version = version
        self.metrics = metrics or {}

        @tf.function(
            input_signature=[tf.TensorSpec(shape=[None, spec.n_features], dtype=tf.float32)],
            reduce_retracing=True,
        )
        def _predict(x):
            return tf.reshape(model(x, training=False), [-1])

        self._predict = _predict
        self._predict(tf.zeros([2, spec.n_features], tf.float32))  # trace + warm up

    @classmethod
    def load(cls, artifact_dir: str | Path) -> PlanScorer:
        import keras

        artifact_dir = Path(artifact_dir)
        if not (artifact_dir / "model.keras").exists():
            raise FileNotFoundError(f"no plan model at {artifact_dir}")
        spec = FeatureSpec.load(artifact_dir / "feature_spec.json")
        scaler = json.loads((artifact_dir / "scaler.json").read_text(encoding="utf-8"))
        spec.scaler_mean = [float(v) for v in scaler["mean"]]
        spec.scaler_scale = [float(v) for v in scaler["scale"]]
        model = keras.models.load_model(artifact_dir / "model.keras", compile=False)
        metrics_path = artifact_dir / "metrics.json"
        metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
        return cls(model, spec, metrics.get("version", artifact_dir.name), metrics)

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        """Suitability for already-encoded rows (n, n_features) -> (n,) float32."""
        return self._predict(np.asarray(x, dtype=np.float32)).numpy()

    def score(self, profile: Profile, exercises) -> np.ndarray:
        """Suitability of every exercise for ``profile`` (aligned with ``exercises``)."""
        exercises = list(exercises)
        if not exercises:
            return np.zeros(0, dtype=np.float32)
        return self.score_matrix(self.spec.encode_profile_library(profile, exercises))

    def explain(
        self, profile: Profile, exercises, *, top_k: int = 3, level: str | None = None
    ) -> dict[str, list[str]]:
        """Reasons per exercise id: the score, the inputs that raised/lowered it (occlusion,
        one batched call) and the guardrails it passed."""
        exercises = list(exercises)
        if not exercises:
            return {}
        scores, deltas = occlusion_deltas(self.score_matrix, self.spec, profile, exercises)
        out = {}
        for i, ex in enumerate(exercises):
            d = {k: float(v[i]) for k, v in deltas.items()}
            out[ex.id] = model_reasons(float(scores[i]), d, profile, top_k=top_k)
            out[ex.id] += guardrail_reasons(profile, ex, level)
        return out


_SCORERS: dict[str, PlanScorer] = {}
_SCORERS_LOCK = threading.Lock()


def get_scorer(artifact_dir: str | Path) -> PlanScorer:
    """Process-wide cached ``PlanScorer.load`` (one load per artifact dir per process)."""
    key = str(Path(artifact_dir).resolve())
    with _SCORERS_LOCK:
        if key not in _SCORERS:
            _SCORERS[key] = PlanScorer.load(key)
        return _SCORERS[key]
