"""Training of the plan model (paper section III); the runtime scorer is `network.PlanScorer`.

Architecture (exactly as the paper): Dense 128 ReLU -> Dropout 0.3 -> Dense 64 ReLU -> Dropout
0.3 -> Dense 32 ReLU -> Dropout 0.3 -> Dense 1 sigmoid; binary cross-entropy, Adam, 50 epochs;
a held-out test set (20 %) plus stratified k-fold cross-validation on the training split.

The one entry point is ``flask ml train-plans`` (web/cli_plans.py).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .features import FeatureSpec
from .library import Exercise, by_id, load_library
from .plots import plot_learning_curve
from .profile import Profile
from .rules import RULES_SUMMARY, generate_training_set, suitability_probability

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_EPOCHS = 50
DEFAULT_CV_EPOCHS = 15
DEFAULT_N_SAMPLES = 60_000
FEEDBACK_WEIGHT = 5.0
#: rating -> label for per-exercise user feedback folded into training.
FEEDBACK_LABELS = {"easy": 1, "doable": 1, "too_difficult": 0, "discomfort": 0}
METRIC_NAMES = ("accuracy", "roc_auc", "f1", "precision", "recall")


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


@dataclass
class _Split:
    """The synthetic set split 80/20 (stratified), feedback rows added to training only."""

    rows: list
    labels: np.ndarray
    train_rows: list
    test_rows: list
    y_train: np.ndarray
    y_test: np.ndarray
    w_train: np.ndarray
    n_train: int
    n_feedback: int
    n_feedback_skipped: int


def _split(n_samples: int, seed: int, library: list[Exercise], feedback_examples: list | None,
           feedback_weight: float) -> _Split:
    from sklearn.model_selection import train_test_split

    rows, labels = generate_training_set(n_samples, seed, library)
    idx = np.arange(len(rows))
    tr_idx, te_idx = train_test_split(idx, test_size=0.2, random_state=seed, stratify=labels)
    train_rows = [rows[i] for i in tr_idx]
    y_train = labels[tr_idx].astype(np.float32)
    w_train = np.ones(len(train_rows), dtype=np.float32)
    fb_rows, fb_labels, fb_skipped = feedback_to_rows(feedback_examples, library)
    if fb_rows:  # real feedback only ever goes into training, weighted
        train_rows += fb_rows
        y_train = np.concatenate([y_train, fb_labels.astype(np.float32)])
        w_train = np.concatenate([w_train, np.full(len(fb_rows), feedback_weight, np.float32)])
    return _Split(rows, labels, train_rows, [rows[i] for i in te_idx], y_train,
                  labels[te_idx].astype(np.float32), w_train, len(tr_idx), len(fb_rows),
                  fb_skipped)


def _cross_validate(data: _Split, folds: int, epochs: int, batch_size: int,
                    seed: int) -> list[dict]:
    """Stratified k-fold CV on the training split (scaler refit per fold)."""
    import keras
    from sklearn.model_selection import StratifiedKFold

    if not folds or folds < 2:
        return []
    scores = []
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (a, b) in enumerate(skf.split(np.zeros(len(data.y_train)), data.y_train)):
        keras.utils.set_random_seed(seed + 1 + fold)
        fold_spec = _fit_spec([data.train_rows[i] for i in a])
        xa = fold_spec.encode([data.train_rows[i] for i in a])
        xb = fold_spec.encode([data.train_rows[i] for i in b])
        m = build_model(fold_spec.n_features)
        m.fit(xa, data.y_train[a], sample_weight=data.w_train[a], epochs=epochs,
              batch_size=batch_size, verbose=0)
        pb = np.asarray(m(xb, training=False)).ravel()
        scores.append(_metrics(data.y_train[b], pb))
        keras.backend.clear_session()
    return scores


def _fit_final(data: _Split, epochs: int, batch_size: int, seed: int, verbose: int):
    """The final model on the whole training split; the test set is only monitored."""
    import keras

    keras.utils.set_random_seed(seed)
    spec = _fit_spec(data.train_rows)
    x_train, x_test = spec.encode(data.train_rows), spec.encode(data.test_rows)
    spec.profile_baseline = [float(v) for v in x_train[:, : spec.profile_dim].mean(axis=0)]
    model = build_model(spec.n_features)
    hist = model.fit(
        x_train, data.y_train, sample_weight=data.w_train, epochs=epochs,
        batch_size=batch_size, validation_data=(x_test, data.y_test), verbose=verbose,
    )
    p_test = np.asarray(model(x_test, training=False)).ravel()
    return model, spec, hist.history, _metrics(data.y_test, p_test)


def _cv_report(scores: list[dict], folds: int, cv_epochs: int, epochs: int) -> dict:
    summary = {}
    for key in METRIC_NAMES:
        vals = np.array([s[key] for s in scores]) if scores else np.array([np.nan])
        summary[key] = {"mean": float(vals.mean()), "std": float(vals.std())}
    note = (f"stratified {folds}-fold CV on the training split; each fold trained for "
            f"{cv_epochs} epochs (fewer than the final {epochs}) to save CPU"
            if cv_epochs != epochs else f"stratified {folds}-fold CV on the training split")
    return {"folds": int(folds), "epochs_per_fold": int(cv_epochs), "note": note, **summary,
            "per_fold": scores}


def _write_artifact(artifact_dir: Path, version: str, model, spec: FeatureSpec, history: dict,
                    metrics: dict) -> None:
    """Written to a temporary sibling directory and renamed into place, so readers never see
    a half-written version."""
    artifact_dir.parent.mkdir(parents=True, exist_ok=True)
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
        plot_learning_curve(history, tmp / "learning_curve.png",
                            f"{version}: test AUC {metrics['test']['roc_auc']:.3f}")
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
        os.chmod(tmp, 0o755)
        if artifact_dir.exists():
            shutil.rmtree(artifact_dir)
        os.replace(tmp, artifact_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


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
    already equals ``version``).  Existing versions are immutable unless ``overwrite=True``.
    """
    import keras

    output_dir = Path(output_dir)
    artifact_dir = output_dir if output_dir.name == version else output_dir / version
    if artifact_dir.exists() and not overwrite:
        raise FileExistsError(f"artifact {artifact_dir} already exists")
    t0 = time.time()
    library = library if library is not None else load_library()
    keras.utils.set_random_seed(seed)
    data = _split(n_samples, seed, library, feedback_examples, feedback_weight)
    cv_scores = _cross_validate(data, cv_folds, cv_epochs, batch_size, seed)
    model, spec, history, test = _fit_final(data, epochs, batch_size, seed, verbose)
    oracle = np.array([suitability_probability(p, e) for p, e in data.test_rows])
    metrics = {
        "version": version,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": "MLP 128-64-32 ReLU, dropout 0.3, sigmoid output; Adam; binary cross-entropy",
        "task": "suitability of an exercise for a profile (1 = suitable), cutoff 0.5",
        "n_samples": int(len(data.rows)), "n_train": int(data.n_train),
        "n_test": int(len(data.test_rows)), "n_feedback_examples": int(data.n_feedback),
        "n_feedback_skipped": int(data.n_feedback_skipped), "feedback_weight": feedback_weight,
        "positive_rate": float(data.labels.mean()), "n_features": spec.n_features,
        "n_exercises": len(library), "epochs": epochs, "batch_size": batch_size, "seed": seed,
        "test": test,
        "cv": _cv_report(cv_scores, cv_folds, cv_epochs, epochs),
        "reference_rule_probability_on_test": _metrics(data.y_test, oracle),
        "validation_note": "the held-out test set is only monitored per epoch (learning curve); "
        "no early stopping or model selection uses it",
        "training_data": "synthetic (profile, exercise) pairs labelled by domain/plans/rules.py",
        "training_rules": RULES_SUMMARY,
        "history": {k: [round(float(v), 5) for v in vals] for k, vals in history.items()},
        "train_seconds": round(time.time() - t0, 1),
    }
    _write_artifact(artifact_dir, version, model, spec, history, metrics)
    metrics["artifact_dir"] = str(artifact_dir)
    return metrics
