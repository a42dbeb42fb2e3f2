"""Exercise classifier (seed 003's final design): GRU(256, return_sequences) -> multi-head
self-attention with residual + layer norm -> average+max pooling -> dense softmax, dropout
0.25.

Input features (per frame, ``SEQ_LEN`` = 48 frames after resampling): the 13 body joints
(nose + COCO 5..16; eyes/ears are not used because the real training data has none), normalized
by :func:`keypoints.normalize_sequence` (one mid-hip center and torso scale per window, short
gaps interpolated, missing joints zeroed), a visibility mask channel per joint and the
frame-to-frame velocity of each joint: 13*2 + 13 + 13*2 = 65 features.

Classes: the 10 gym exercises plus ``other`` (Penn Action's non-gym actions: clean_and_jerk,
jump_rope, sports). At inference ``other`` -> ``unknown``; so is any prediction whose top
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
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .keypoints import MODEL_JOINTS, as_sequence, normalize_sequence, resample, resample_mask
from .synthetic import EXERCISES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEQ_LEN = 48
N_FEAT = len(MODEL_JOINTS) * 5
WINDOW_S = 4.0
UNKNOWN = "unknown"
OTHER = "other"
DEFAULT_THRESHOLD = 0.5
CLASSES: tuple[str, ...] = (*EXERCISES, OTHER)
SYNTHETIC_ONLY = ("barbell_biceps_curl", "triceps_pushdown", "lat_pulldown", "lunge")


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


# ------------------------------------------------------------------ training


def _synthetic_set(n_per_class: int, seed: int):
    from .synthetic import EXERCISES, random_sample

    rng = np.random.default_rng(seed)
    out = []
    for ex in EXERCISES:
        for _ in range(n_per_class):
            s = random_sample(ex, rng)
            out.append((s.keypoints, s.fps, ex))
    return out


def _train_window(seq, fps, rng, still_p=0.05):
    """Random training window: 0.6..WINDOW_S seconds (whole clip when shorter)."""
    T = seq.shape[0]
    if T > 1 and rng.random() < still_p:
        t = int(rng.integers(T))
        return seq[t : t + 1]
    dur = rng.uniform(0.6, 1.0) * WINDOW_S
    n = max(int(round(dur * fps)), 8)
    if n >= T:
        return seq
    s = int(rng.integers(0, T - n + 1))
    return seq[s : s + n]


def _epoch_data(penn_train, synth, rng, penn_repeats: dict[str, int]):
    from .synthetic import augment, time_warp

    X, y = [], []
    idx = {c: i for i, c in enumerate(CLASSES)}
    for s in penn_train:
        for _ in range(penn_repeats.get(s.label, 1)):
            w = _train_window(s.keypoints, s.fps, rng)
            w = augment(w, s.width, s.height, rng, warp=w.shape[0] > 4)
            X.append(features(w))
            y.append(idx[s.label])
    for kp, fps, label in synth:
        w = _train_window(kp, fps, rng)
        if w.shape[0] > 4 and rng.random() < 0.5:
            w = time_warp(w, rng)
        X.append(features(w))
        y.append(idx[label])
    X = np.stack(X)
    y = np.asarray(y)
    perm = rng.permutation(len(y))
    return X[perm], y[perm]


def evaluate(clf: ExerciseClassifier, items) -> dict:
    """items: iterable of (keypoints, fps, true_label). Returns predictions and accuracy."""
    feats, owners = [], []
    for k, (kp, fps, _) in enumerate(items):
        for w in windows(kp, fps):
            feats.append(features(w))
            owners.append(k)
    probs = clf.predict_proba_batch(np.stack(feats)) if feats else np.zeros((0, len(clf.labels)))
    owners = np.asarray(owners)
    preds, raw = [], []
    for k, (_, _, _) in enumerate(items):
        p = probs[owners == k].mean(axis=0)
        preds.append(clf.decide(p)["label"])
        raw.append(clf.labels[int(np.argmax(p))])
    truth = [UNKNOWN if t == OTHER else t for _, _, t in items]
    acc = float(np.mean([a == b for a, b in zip(preds, truth, strict=False)])) if truth else 0.0
    return {"pred": preds, "raw": raw, "truth": truth, "accuracy": acc}


def still_frame_accuracy(clf: ExerciseClassifier, items, gym: tuple[str, ...]) -> float:
    """Accuracy when only the middle frame of each real gym sequence is given (T=1)."""
    sel = [(kp, t) for kp, _, t in items if t in gym and kp.shape[0]]
    if not sel:
        return 0.0
    feats = np.stack([features(kp[kp.shape[0] // 2][None]) for kp, _ in sel])
    probs = clf.predict_proba_batch(feats)
    hits = [clf.decide(p)["label"] == t for p, (_, t) in zip(probs, sel, strict=True)]
    return float(np.mean(hits))


def _per_class(truth, pred, classes):
    out = {}
    for c in classes:
        tp = sum(1 for t, p in zip(truth, pred, strict=False) if t == c and p == c)
        fp = sum(1 for t, p in zip(truth, pred, strict=False) if t != c and p == c)
        fn = sum(1 for t, p in zip(truth, pred, strict=False) if t == c and p != c)
        n = tp + fn
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / n if n else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[c] = {
            "precision": round(prec, 4),
            "recall": round(rec, 4),
            "f1": round(f1, 4),
            "accuracy": round(rec, 4),
            "n": n,
        }
    return out


def _plots(out_dir: Path, history: dict, truth, pred, classes):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ep = np.arange(1, len(history["loss"]) + 1)
    ax[0].plot(ep, history["loss"], label="train loss")
    ax[0].set_xlabel("epoch")
    ax[0].set_title("loss")
    ax[0].legend()
    ax[1].plot(ep, history["accuracy"], label="train (augmented)")
    ax[1].plot(ep, history["synthetic_val_accuracy"], label="synthetic val")
    ax[1].plot(ep, history["real_val_accuracy"], label="real val (monitor only)")
    ax[1].set_xlabel("epoch")
    ax[1].set_title("accuracy")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(out_dir / "training_curves.png", dpi=90)
    plt.close(fig)

    seen = set(truth) | set(pred)
    labs = [c for c in classes if c in seen] + sorted(seen - set(classes))
    m = np.zeros((len(labs), len(labs)), int)
    li = {c: i for i, c in enumerate(labs)}
    for t, p in zip(truth, pred, strict=False):
        m[li[t], li[p]] += 1
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labs)), labs, rotation=45, ha="right")
    ax.set_yticks(range(len(labs)), labs)
    for i in range(len(labs)):
        for j in range(len(labs)):
            ax.text(
                j, i, str(m[i, j]), ha="center", va="center", color="red" if m[i, j] else "grey"
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Real Penn Action validation split")
    fig.tight_layout()
    fig.savefig(out_dir / "confusion_matrix.png", dpi=90)
    plt.close(fig)


def train_classifier(
    output_dir: str | Path,
    version: str = "classifier-v1",
    seed: int = 0,
    epochs: int = 30,
    synthetic_per_class: int = 200,
    synthetic_val_per_class: int = 30,
    penn_path: str | Path | None = None,
    max_penn_train: int | None = None,
    max_penn_val: int | None = None,
    batch_size: int = 64,
    threshold: float = DEFAULT_THRESHOLD,
    verbose: int = 1,
) -> dict:
    """Train on the Penn train split (augmented) + synthetic data; evaluate on the held-out
    Penn validation split (real people, never trained on) and a synthetic validation set.

    Writes ``<output_dir>/<version>/`` with model.keras, labels.json, metrics.json,
    confusion_matrix.png, training_curves.png; returns the metrics dict. The final model is
    the one after the last epoch (no model selection on the validation split).
    """
    import keras

    from .penn import PENN_GYM_CLASSES, load_split

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    out_dir = Path(output_dir) / version
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    penn_train, penn_val = load_split(penn_path)
    if max_penn_train:
        penn_train = [penn_train[i] for i in rng.permutation(len(penn_train))[:max_penn_train]]
    if max_penn_val:
        penn_val = [penn_val[i] for i in rng.permutation(len(penn_val))[:max_penn_val]]
    synth = _synthetic_set(synthetic_per_class, seed + 1)
    synth_val = _synthetic_set(synthetic_val_per_class, seed + 10_000)
    # gym sequences are fewer than "other" ones: show them twice per epoch
    repeats = {c: 2 for c in PENN_GYM_CLASSES}

    model = build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    clf = ExerciseClassifier(
        model=model, labels=list(CLASSES), threshold=threshold, version=version
    )
    real_items = [(s.keypoints, s.fps, s.label) for s in penn_val]
    hist = {"loss": [], "accuracy": [], "synthetic_val_accuracy": [], "real_val_accuracy": []}
    for ep in range(epochs):
        lr = 1e-3 * 0.5 * (1 + np.cos(np.pi * ep / max(epochs, 1)))
        model.optimizer.learning_rate.assign(max(lr, 3e-5))
        X, y = _epoch_data(penn_train, synth, rng, repeats)
        h = model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0)
        hist["loss"].append(float(h.history["loss"][0]))
        hist["accuracy"].append(float(h.history["accuracy"][0]))
        sv = evaluate(clf, synth_val)["accuracy"]
        rv = evaluate(clf, real_items)["accuracy"] if real_items else 0.0
        hist["synthetic_val_accuracy"].append(sv)
        hist["real_val_accuracy"].append(rv)
        if verbose:
            print(
                f"epoch {ep + 1}/{epochs} loss {hist['loss'][-1]:.3f} "
                f"acc {hist['accuracy'][-1]:.3f} "
                f"synth-val {sv:.3f} real-val {rv:.3f} ({time.time() - t0:.0f}s)",
                flush=True,
            )

    # save an inference-only copy (no optimizer state) to keep the artifact small
    inf = build_model()
    inf.set_weights(model.get_weights())
    inf.save(out_dir / "model.keras")

    # final evaluation
    real = evaluate(clf, real_items)
    synth_eval = evaluate(clf, synth_val)
    gym = list(PENN_GYM_CLASSES)
    gym_pairs = [(t, p) for t, p in zip(real["truth"], real["pred"], strict=False) if t in gym]
    gym_acc = float(np.mean([t == p for t, p in gym_pairs])) if gym_pairs else 0.0
    raw_gym = [(t, r) for t, r in zip(real["truth"], real["raw"], strict=False) if t in gym]
    gym_raw_acc = float(np.mean([t == r for t, r in raw_gym])) if raw_gym else 0.0
    still_acc = still_frame_accuracy(clf, real_items, tuple(PENN_GYM_CLASSES))
    neg = [(t, p) for t, p in zip(real["truth"], real["pred"], strict=False) if t == UNKNOWN]
    classes_pub = gym + [UNKNOWN]
    metrics = {
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "architecture": (
            "GRU(256, return_sequences) + MultiHeadAttention(4x64) + residual/LayerNorm"
            " + avg/max pool + Dense(128) + softmax, dropout 0.25"
        ),
        "input": {
            "seq_len": SEQ_LEN,
            "n_features": N_FEAT,
            "window_s": WINDOW_S,
            "joints": "nose + COCO 5..16",
        },
        "labels": list(CLASSES),
        "threshold_unknown": threshold,
        "unknown_policy": (
            "explicit 'other' class (Penn non-gym actions) mapped to 'unknown';"
            " also 'unknown' when top probability < threshold"
        ),
        "epochs": epochs,
        "seed": seed,
        "real_validation": {
            "source": (
                "Penn Action train file, 20% held out by sequence id"
                " (stratified per action, seed 20240607); never trained on"
            ),
            "gym_accuracy": round(gym_acc, 4),
            "gym_accuracy_argmax_no_threshold": round(gym_raw_acc, 4),
            "overall_accuracy_incl_unknown": round(real["accuracy"], 4),
            "negatives_rejected_as_unknown": round(
                float(np.mean([p == UNKNOWN for _, p in neg])), 4
            )
            if neg
            else None,
            "still_frame_gym_accuracy": round(still_acc, 4),
            "per_class": _per_class(real["truth"], real["pred"], classes_pub),
            "n_sequences": {c: sum(1 for t in real["truth"] if t == c) for c in classes_pub},
        },
        "synthetic_validation": {
            "accuracy": round(synth_eval["accuracy"], 4),
            "per_class": _per_class(synth_eval["truth"], synth_eval["pred"], list(CLASSES[:-1])),
        },
        "train": {
            "penn_sequences": {
                c: sum(1 for s in penn_train if s.label == c) for c in gym + [OTHER]
            },
            "synthetic_per_class": synthetic_per_class,
            "synthetic_only_classes": list(SYNTHETIC_ONLY),
            "train_seconds": round(time.time() - t0, 1),
        },
        "history": hist,
    }
    (out_dir / "labels.json").write_text(
        json.dumps({"labels": list(CLASSES), "unknown_from": OTHER}, indent=2)
    )
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    _plots(out_dir, hist, real["truth"], real["pred"], classes_pub)
    return metrics


if __name__ == "__main__":  # python -m domain.video.classifier [epochs]
    import sys

    root = Path(__file__).resolve().parents[2]
    ep = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    m = train_classifier(root / "artifacts" / "classifier", "classifier-v1", seed=0, epochs=ep)
    print(json.dumps({k: m[k] for k in ("real_validation", "synthetic_validation")}, indent=2))
