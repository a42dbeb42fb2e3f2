"""The plan model: a Keras MLP scoring (profile, exercise) suitability (paper section III).

Architecture (exactly as the paper): Dense 128 ReLU -> Dropout 0.3 -> Dense 64 ReLU -> Dropout
0.3 -> Dense 32 ReLU -> Dropout 0.3 -> Dense 1 sigmoid; binary cross-entropy, Adam, 50 epochs;
a held-out test set (20 %) plus stratified k-fold cross-validation on the training split.

Train from the command line::

    TF_CPP_MIN_LOG_LEVEL=2 python -m domain.plans.network --out artifacts/plans --version plans-v1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .explain import guardrail_reasons, model_reasons, occlusion_deltas
from .features import FeatureSpec
from .library import Exercise, by_id, load_library
from .profile import Profile
from .rules import RULES_SUMMARY, generate_training_set, suitability_probability

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_EPOCHS = 50
DEFAULT_CV_EPOCHS = 15
DEFAULT_N_SAMPLES = 60_000
FEEDBACK_WEIGHT = 5.0
#: rating -> label for per-exercise user feedback folded into training.
FEEDBACK_LABELS = {"easy": 1, "doable": 1, "too_difficult": 0, "discomfort": 0}


def _tf():
    import tensorflow as tf

    return tf


def build_model(n_features: int):
    import keras

    model = keras.Sequential(
        [
            keras.Input(shape=(n_features,), name="features"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(1, activation="sigmoid"),
        ],
        name="plan_suitability",
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _metrics(y_true: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    pred = (p >= 0.5).astype(int)
    return {
        "accuracy": float(accuracy_score(y_true, pred)),
        "roc_auc": float(roc_auc_score(y_true, p)),
        "f1": float(f1_score(y_true, pred)),
        "precision": float(precision_score(y_true, pred, zero_division=0)),
        "recall": float(recall_score(y_true, pred)),
    }


def _fit_spec(rows) -> FeatureSpec:
    from sklearn.preprocessing import StandardScaler

    num = np.array([[p.age, p.bmi] for p, _ in rows], dtype=np.float64)
    scaler = StandardScaler().fit(num)
    return FeatureSpec(
        scaler_mean=[float(v) for v in scaler.mean_],
        scaler_scale=[float(v) for v in scaler.scale_],
    )


def feedback_to_rows(
    feedback_examples: list[dict] | None, library: list[Exercise]
) -> tuple[list[tuple[Profile, Exercise]], np.ndarray, int]:
    """Convert feedback dicts ``{<profile fields>, exercise_id, rating}`` to labelled rows.

    ``discomfort`` / ``too_difficult`` -> 0 (not suitable for that profile), ``easy`` /
    ``doable`` -> 1.  Entries with an unknown exercise, rating or invalid profile are skipped
    (the count is returned)."""
    lib = by_id(library)
    rows, labels, skipped = [], [], 0
    for fb in feedback_examples or []:
        ex = lib.get(fb.get("exercise_id"))
        label = FEEDBACK_LABELS.get(fb.get("rating"))
        if ex is None or label is None:
            skipped += 1
            continue
        try:
            profile = Profile.from_dict(fb)
        except (TypeError, ValueError):
            skipped += 1
            continue
        rows.append((profile, ex))
        labels.append(label)
    return rows, np.asarray(labels, dtype=np.int8), skipped


def _plot_learning_curve(history: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), dpi=90)
    for ax, key, label in ((axes[0], "loss", "loss (BCE)"), (axes[1], "accuracy", "accuracy")):
        ax.plot(epochs, history[key], label="train")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], label="held-out test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def train_plan_model(
    output_dir: Path,
    version: str,
    n_samples: int = DEFAULT_N_SAMPLES,
    seed: int = 0,
    feedback_examples: list | None = None,
    *,
    epochs: int = DEFAULT_EPOCHS,
    cv_folds: int = 5,
    cv_epochs: int = DEFAULT_CV_EPOCHS,
    batch_size: int = 128,
    feedback_weight: float = FEEDBACK_WEIGHT,
    library: list[Exercise] | None = None,
    overwrite: bool = False,
    verbose: int = 0,
) -> dict:
    """Train and write a versioned artifact; returns the metrics dict.

    The artifact directory is ``output_dir / version`` (or ``output_dir`` itself when its name
    already equals ``version``).  It is written to a temporary sibling directory and renamed
    into place, so readers never see a half-written version.  Existing versions are immutable
    unless ``overwrite=True``.
    """
    import keras
    from sklearn.model_selection import StratifiedKFold, train_test_split

    output_dir = Path(output_dir)
    artifact_dir = output_dir if output_dir.name == version else output_dir / version
    if artifact_dir.exists() and not overwrite:
        raise FileExistsError(f"artifact {artifact_dir} already exists")
    t0 = time.time()
    library = library if library is not None else load_library()
    keras.utils.set_random_seed(seed)

    rows, labels = generate_training_set(n_samples, seed, library)
    idx = np.arange(len(rows))
    tr_idx, te_idx = train_test_split(idx, test_size=0.2, random_state=seed, stratify=labels)
    train_rows = [rows[i] for i in tr_idx]
    test_rows = [rows[i] for i in te_idx]
    y_train, y_test = labels[tr_idx].astype(np.float32), labels[te_idx].astype(np.float32)
    w_train = np.ones(len(train_rows), dtype=np.float32)

    fb_rows, fb_labels, fb_skipped = feedback_to_rows(feedback_examples, library)
    if fb_rows:  # real feedback only ever goes into training, weighted
        train_rows += fb_rows
        y_train = np.concatenate([y_train, fb_labels.astype(np.float32)])
        w_train = np.concatenate([w_train, np.full(len(fb_rows), feedback_weight, np.float32)])

    # ---- k-fold cross-validation on the training split (scaler refit per fold) -------------
    cv_scores: list[dict] = []
    if cv_folds and cv_folds > 1:
        skf = StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed)
        for fold, (a, b) in enumerate(skf.split(np.zeros(len(y_train)), y_train)):
            keras.utils.set_random_seed(seed + 1 + fold)
            fold_spec = _fit_spec([train_rows[i] for i in a])
            xa = fold_spec.encode([train_rows[i] for i in a])
            xb = fold_spec.encode([train_rows[i] for i in b])
            m = build_model(fold_spec.n_features)
            m.fit(xa, y_train[a], sample_weight=w_train[a], epochs=cv_epochs,
                  batch_size=batch_size, verbose=0)
            pb = np.asarray(m(xb, training=False)).ravel()
            cv_scores.append(_metrics(y_train[b], pb))
            keras.backend.clear_session()

    # ---- final model --------------------------------------------------------------------
    keras.utils.set_random_seed(seed)
    spec = _fit_spec(train_rows)
    x_train, x_test = spec.encode(train_rows), spec.encode(test_rows)
    spec.profile_baseline = [float(v) for v in x_train[:, : spec.profile_dim].mean(axis=0)]
    model = build_model(spec.n_features)
    hist = model.fit(
        x_train, y_train, sample_weight=w_train, epochs=epochs, batch_size=batch_size,
        validation_data=(x_test, y_test), verbose=verbose,
    )
    p_test = np.asarray(model(x_test, training=False)).ravel()
    test = _metrics(y_test, p_test)
    oracle = np.array([suitability_probability(p, e) for p, e in test_rows])
    test_oracle = _metrics(y_test, oracle)

    cv_summary = {}
    for key in ("accuracy", "roc_auc", "f1", "precision", "recall"):
        vals = np.array([s[key] for s in cv_scores]) if cv_scores else np.array([np.nan])
        cv_summary[key] = {"mean": float(vals.mean()), "std": float(vals.std())}

    metrics = {
        "version": version,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": "MLP 128-64-32 ReLU, dropout 0.3, sigmoid output; Adam; binary cross-entropy",
        "task": "suitability of an exercise for a profile (1 = suitable), cutoff 0.5",
        "n_samples": int(len(rows)),
        "n_train": int(len(tr_idx)),
        "n_test": int(len(te_idx)),
        "n_feedback_examples": int(len(fb_rows)),
        "n_feedback_skipped": int(fb_skipped),
        "feedback_weight": feedback_weight,
        "positive_rate": float(labels.mean()),
        "n_features": spec.n_features,
        "n_exercises": len(library),
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "test": test,
        "cv": {
            "folds": int(cv_folds),
            "epochs_per_fold": int(cv_epochs),
            "note": (
                f"stratified {cv_folds}-fold CV on the training split; each fold trained for "
                f"{cv_epochs} epochs (fewer than the final {epochs}) to save CPU"
                if cv_epochs != epochs else f"stratified {cv_folds}-fold CV on the training split"
            ),
            **cv_summary,
            "per_fold": cv_scores,
        },
        "reference_rule_probability_on_test": test_oracle,
        "validation_note": "the held-out test set is only monitored per epoch (learning curve); "
        "no early stopping or model selection uses it",
        "training_data": "synthetic (profile, exercise) pairs labelled by domain/plans/rules.py",
        "training_rules": RULES_SUMMARY,
        "history": {k: [round(float(v), 5) for v in vals] for k, vals in hist.history.items()},
        "train_seconds": round(time.time() - t0, 1),
    }

    output_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=artifact_dir.parent))
    try:
        model.save(tmp / "model.keras")
        (tmp / "scaler.json").write_text(json.dumps({
            "type": "sklearn.preprocessing.StandardScaler",
            "features": ["age", "bmi"],
            "mean": spec.scaler_mean,
            "scale": spec.scaler_scale,
        }, indent=1), encoding="utf-8")
        spec.save(tmp / "feature_spec.json")
        _plot_learning_curve(hist.history, tmp / "learning_curve.png",
                             f"{version}: test AUC {test['roc_auc']:.3f}")
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
        os.chmod(tmp, 0o755)
        if artifact_dir.exists():
            shutil.rmtree(artifact_dir)
        os.replace(tmp, artifact_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    metrics["artifact_dir"] = str(artifact_dir)
    return metrics


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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Train the plan suitability model")
    ap.add_argument("--out", default="artifacts/plans")
    ap.add_argument("--version", default="plans-v1")
    ap.add_argument("--n-samples", type=int, default=DEFAULT_N_SAMPLES)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    ap.add_argument("--cv-epochs", type=int, default=DEFAULT_CV_EPOCHS)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--feedback", help="JSON file with a list of feedback examples")
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    fb = json.loads(Path(args.feedback).read_text()) if args.feedback else None
    m = train_plan_model(
        Path(args.out), args.version, n_samples=args.n_samples, seed=args.seed,
        feedback_examples=fb, epochs=args.epochs, cv_epochs=args.cv_epochs,
        cv_folds=args.folds, overwrite=args.overwrite, verbose=2,
    )
    print(json.dumps({k: m[k] for k in ("version", "test", "train_seconds", "artifact_dir")},
                     indent=1))
    print(json.dumps({k: v for k, v in m["cv"].items() if k != "per_fold"}, indent=1))


if __name__ == "__main__":
    main()
