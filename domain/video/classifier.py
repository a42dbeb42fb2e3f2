"""Exercise classifier (seed 003's final design): GRU(256, return_sequences) -> multi-head
self-attention with residual + layer norm -> average+max pooling -> dense softmax, dropout
0.25.

Input features (per frame, ``SEQ_LEN`` = 48 frames after resampling): the 13 body joints
(nose + COCO 5..16; eyes/ears are not used because the real training data has none), normalized
by :func:`keypoints.normalize_sequence` (one mid-hip center and torso scale per window, short
gaps interpolated, missing joints zeroed), a visibility mask channel per joint and the
frame-to-frame velocity of each joint: 13*2 + 13 + 13*2 = 65 features.

Classes (v2): the 10 gym exercises of the generator, the exercises learned from real people
only (sit_to_stand, shoulder_press, front_raise, shoulder_shrug) and ``other`` (Penn Action's
and UTD-MHAD's non-exercise actions); a loaded artifact brings its own ``labels.json`` (v1 has
the 10 gym exercises + ``other``). Training: :mod:`domain.video.training`.
At inference ``other`` -> ``unknown``; so is any prediction whose top
probability is below ``threshold`` (0.5 by default, stored in ``metrics.json``).

Long inputs are cut into windows of ``WINDOW_S`` seconds (hop ``WINDOW_S/2``), each window is
classified and the probabilities are averaged. A still image (T=1) is repeated to a window
(no velocity information): still-photo recognition is posture-only and less accurate than
video (it is trained on 5 % single-frame samples, but its accuracy is not separately validated
on real photos).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .keypoints import MODEL_JOINTS, as_sequence, normalize_sequence, resample, resample_mask
from .vocabulary import EXERCISES, REAL_ONLY_EXERCISES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEQ_LEN = 48
N_FEAT = len(MODEL_JOINTS) * 5
WINDOW_S = 4.0
UNKNOWN = "unknown"
OTHER = "other"
DEFAULT_THRESHOLD = 0.5
#: the classes of a new model: the generator's gym exercises, those learned from real people
#: only, and ``other`` (a loaded artifact brings its own labels.json)
CLASSES: tuple[str, ...] = (*EXERCISES, *REAL_ONLY_EXERCISES, OTHER)
SYNTHETIC_ONLY = ("triceps_pushdown", "lat_pulldown")


# ------------------------------------------------------------------ features


def features(seq: np.ndarray) -> np.ndarray:
    """(T, 17, 3) pixel keypoints of one window -> (SEQ_LEN, N_FEAT) float32."""
    xy, mask = normalize_sequence(seq)
    xy = xy[:, MODEL_JOINTS]
    mask = mask[:, MODEL_JOINTS]
    xy = resample(xy, SEQ_LEN)
    mask = resample_mask(mask, SEQ_LEN)
    xy = xy * mask[..., None]
    vel = np.zeros_like(xy)
    vel[1:] = (xy[1:] - xy[:-1]) * 8.0
    both = np.zeros_like(mask)
    both[1:] = mask[1:] * mask[:-1]
    vel *= both[..., None]
    vel = np.clip(vel, -5, 5)
    feat = np.concatenate([xy.reshape(SEQ_LEN, -1), mask, vel.reshape(SEQ_LEN, -1)], axis=1)
    return np.clip(feat, -10, 10).astype(np.float32)


def windows(seq: np.ndarray, fps: float, window_s: float = WINDOW_S) -> list[np.ndarray]:
    """Split a sequence into windows of ``window_s`` seconds (hop half a window)."""
    seq = as_sequence(seq)
    T = seq.shape[0]
    n = max(int(round(window_s * max(fps, 1e-3))), 2)
    if int(n * 1.25) >= T:
        return [seq]
    hop = max(n // 2, 1)
    starts = list(range(0, T - n + 1, hop))
    if starts[-1] + n < T:
        starts.append(T - n)
    return [seq[s : s + n] for s in starts]


# ------------------------------------------------------------------ model


def build_model(
    n_classes: int = len(CLASSES), units: int = 256, heads: int = 4, dropout: float = 0.25
):
    import keras
    from keras import layers

    inp = keras.Input((SEQ_LEN, N_FEAT), name="keypoints")
    x = layers.GRU(units, return_sequences=True, name="gru")(inp)
    att = layers.MultiHeadAttention(
        num_heads=heads, key_dim=units // heads, dropout=0.1, name="self_attention"
    )(x, x)
    x = layers.LayerNormalization(name="attn_norm")(layers.Add()([x, layers.Dropout(dropout)(att)]))
    x = layers.Concatenate()([layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)])
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    out = layers.Dense(n_classes, activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="gru_attention_classifier")


# ------------------------------------------------------------------ inference


@dataclass
class ExerciseClassifier:
    model: object
    labels: list[str]
    threshold: float = DEFAULT_THRESHOLD
    version: str = ""
    metrics: dict | None = None

    def __post_init__(self):
        import tensorflow as tf

        model = self.model
        self._fn = tf.function(
            lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec([None, SEQ_LEN, N_FEAT], tf.float32)],
            reduce_retracing=True,
        )

    @classmethod
    def load(cls, artifact_dir: str | Path) -> ExerciseClassifier:
        import keras

        artifact_dir = Path(artifact_dir)
        model = keras.models.load_model(artifact_dir / "model.keras", compile=False)
        labels = json.loads((artifact_dir / "labels.json").read_text())["labels"]
        metrics = {}
        mp = artifact_dir / "metrics.json"
        if mp.exists():
            metrics = json.loads(mp.read_text())
        return cls(
            model=model,
            labels=list(labels),
            threshold=float(metrics.get("threshold_unknown", DEFAULT_THRESHOLD)),
            version=str(metrics.get("version", artifact_dir.name)),
            metrics=metrics,
        )

    def predict_proba_batch(self, feats: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        if len(feats) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        return self._fn(tf.constant(np.asarray(feats, np.float32))).numpy()

    def predict_proba(self, seq: np.ndarray, fps: float = 30.0) -> np.ndarray:
        """Window-averaged class probabilities (len(labels),)."""
        seq = as_sequence(seq)
        if seq.shape[0] == 0:
            return np.full(len(self.labels), 1.0 / len(self.labels), np.float32)
        feats = np.stack([features(w) for w in windows(seq, fps)])
        return self.predict_proba_batch(feats).mean(axis=0)

    def decide(self, probs: np.ndarray) -> dict:
        order = np.argsort(probs)[::-1]
        cands = [
            {"label": self._public(self.labels[i]), "confidence": round(float(probs[i]), 4)}
            for i in order[:3]
        ]
        top = self.labels[order[0]]
        conf = float(probs[order[0]])
        label = top if (top != OTHER and conf >= self.threshold) else UNKNOWN
        return {"label": label, "confidence": round(conf, 4), "candidates": cands}

    @staticmethod
    def _public(label: str) -> str:
        return UNKNOWN if label == OTHER else label

    def predict(
        self,
        seq: np.ndarray,
        width: float | None = None,
        height: float | None = None,
        fps: float = 30.0,
    ) -> dict:
        """Classify a (T, 17, 3) pixel sequence (T=1: a still image).

        -> ``{"label", "confidence", "candidates": [{"label", "confidence"}] * 3}``; ``label``
        is ``unknown`` when the top class is ``other`` or its probability < ``threshold``.
        ``width``/``height`` are accepted for the API's sake: features are normalized by the
        body's own size, so they are not needed.
        """
        return self.decide(self.predict_proba(seq, fps))
