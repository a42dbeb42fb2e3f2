"""Training and real-data validation of the exercise classifier (architecture: classifier.py).

Training data (every source split by subject / video / sequence, never by window):

* Penn Action train file (annotated 2-D keypoints): 80 % of the sequences (``penn.load_split``);
  its non-gym actions train ``other``;
* UTD-MHAD 3-D skeletons of subjects 1-4 (``datasets.utd_mhad``), re-projected every epoch from a
  random view (yaw -100..100 degrees, camera 0-35 degrees above) with YOLO-like confidence and
  jitter, at 30, 15 or 10 fps: ``arm_curl`` -> ``barbell_biceps_curl``, ``squat``, ``lunge``,
  ``sit_to_stand`` + ``stand_to_sit`` -> ``sit_to_stand``; the 22 other actions -> ``other``;
* Pose Trainer (OpenPose, real, side view): curl, shoulder press, front raise, shrug, the
  training side of ``datasets.split`` (by file);
* PushFit push-up videos through the project's own YOLO pose (``datasets.pushfit`` cache), the
  training side of ``datasets.split`` (by video);
* the synthetic generator (``synthetic.py``) for the gym classes, fewer per class than v1.

Validation, on real data only, each source reported on its own with sequence counts: Penn's 20 %
(by sequence), UTD-MHAD subjects 5-6 (five fixed views each, YOLO-like noise; real 3-D motion,
simulated camera), Pose Trainer and PushFit held-out files/videos (30 %, ``datasets.split``), and
Exercise-Correction runs (MediaPipe; never trained on) for squat, lunge and curl. Nothing is
tuned on them: fixed epochs with a cosine learning-rate schedule, the last epoch is kept.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .classifier import (
    CLASSES,
    DEFAULT_THRESHOLD,
    OTHER,
    SEQ_LEN,
    UNKNOWN,
    WINDOW_S,
    ExerciseClassifier,
    build_model,
    features,
    windows,
)
from .vocabulary import EXERCISES, canonical_label

#: classes with real training data in v2 (the rest come from the generator only)
SYNTHETIC_ONLY_V2 = ("triceps_pushdown", "lat_pulldown")
#: sources of whole recordings pooled into the headline figures; Exercise-Correction's runs are
#: pieces of recordings cut where a frame label changes (often half a squat), reported apart
POOLED_SOURCES = ("penn", "utd_mhad", "pose_trainer", "pushfit")
EC_MIN_FRAMES = 60  # Exercise-Correction clips shorter than 2 s (fragments between cuts) left out
VAL_VIEWS: tuple[tuple[float, float], ...] = (
    (0.0, 10.0),
    (45.0, 10.0),
    (-45.0, 20.0),
    (90.0, 10.0),
    (-90.0, 25.0),
)


@dataclass
class Item:
    keypoints: np.ndarray
    fps: float
    label: str
    source: str
    group: str
    width: float = 640.0
    height: float = 480.0
    meta: dict = field(default_factory=dict)


@dataclass
class RealData:
    penn_train: list
    penn_val: list[Item]
    utd_train: list  # UtdTrial, rendered every epoch
    utd_val: list[Item]
    pt_train: list[Item]
    pt_val: list[Item]
    pf_train: list[Item]
    pf_val: list[Item]
    ec_test: list[Item]
    notes: list[str] = field(default_factory=list)

    def validation(self) -> dict[str, list[Item]]:
        return {
            "penn": self.penn_val,
            "utd_mhad": self.utd_val,
            "pose_trainer": self.pt_val,
            "pushfit": self.pf_val,
            "exercise_correction": self.ec_test,
        }


def evaluate(clf: ExerciseClassifier, items) -> dict:
    """items: iterable of (keypoints, fps, true_label) or objects with ``keypoints``, ``fps``
    and ``label``. Window-averaged decision per sequence; ``other`` is counted as ``unknown``.
    Returns predictions and accuracy."""
    items = [(it.keypoints, it.fps, it.label) if hasattr(it, "keypoints") else it
             for it in items]
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



def _from_samples(samples, source: str) -> list[Item]:
    out = []
    for s in samples:
        label = canonical_label(s.exercise)
        out.append(Item(np.nan_to_num(s.keypoints, nan=0.0), float(s.fps), label, source,
                        s.group, float(s.width), float(s.height), dict(s.meta or {}, name=s.name)))
    return out


def _join_runs(samples: list) -> list:
    """Exercise-Correction runs are cut where the frame label changes (a squat's up / down
    stage): contiguous runs of one file (no cut between them) are joined back into clips."""
    from .datasets import Sample

    out: list = []
    for s in samples:
        prev = out[-1] if out else None
        if (prev is not None and prev.meta.get("file") == s.meta.get("file")
                and prev.meta["frames"][1] == s.meta["frames"][0]):
            out[-1] = Sample(prev.dataset, prev.exercise, prev.name, prev.group,
                             np.concatenate([prev.keypoints, s.keypoints]), prev.fps,
                             prev.width, prev.height,
                             meta=dict(prev.meta, frames=[prev.meta["frames"][0],
                                                          s.meta["frames"][1]]))
        else:
            out.append(Sample(s.dataset, s.exercise, s.name, s.group, s.keypoints, s.fps,
                              s.width, s.height, meta=dict(s.meta)))
    return out


def load_real(seed: int = 0, max_per_source: int | None = None, utd_fps: float = 10.0
              ) -> RealData:
    """Every real source, split. ``max_per_source`` keeps a random subset (quick trials)."""
    from .datasets import exercise_correction, pose_trainer, pushfit, split, utd_mhad
    from .penn import load_split

    rng = np.random.default_rng(seed)
    notes: list[str] = []

    def cap(xs):
        if max_per_source and len(xs) > max_per_source:
            return [xs[i] for i in sorted(rng.permutation(len(xs))[:max_per_source])]
        return xs

    penn_train, penn_val_seqs = load_split()
    penn_val = [Item(s.keypoints, s.fps, s.label, "penn", f"penn:{s.id}", s.width, s.height,
                     {"action": s.action}) for s in penn_val_seqs]
    trials = utd_mhad.load_trials()
    utd_train, utd_val_trials = utd_mhad.split_by_subject(trials)
    utd_val = _from_samples(
        utd_mhad.samples(utd_val_trials, VAL_VIEWS, seed=20261130, fps_out=utd_fps,
                         jitter_views=False), "utd_mhad")
    pt_train, pt_val = split(pose_trainer.load())
    try:
        pf_train, pf_val = split(pushfit.load())
    except Exception as exc:  # noqa: BLE001 - no cache yet
        pf_train, pf_val = [], []
        notes.append(f"pushfit keypoints unavailable: {exc}")
    if not pf_train and not pf_val:
        notes.append("pushfit keypoint cache empty: run `flask ml extract-keypoints` first")
    ec = [s for s in _join_runs([s for s in exercise_correction.load() if canonical_label(
        s.exercise) in ("barbell_biceps_curl", "lunge", "squat")]) if s.frames >= EC_MIN_FRAMES]
    return RealData(
        penn_train=cap(penn_train), penn_val=cap(penn_val), utd_train=cap(utd_train),
        utd_val=cap(utd_val), pt_train=cap(_from_samples(pt_train, "pose_trainer")),
        pt_val=cap(_from_samples(pt_val, "pose_trainer")),
        pf_train=cap(_from_samples(pf_train, "pushfit")),
        pf_val=cap(_from_samples(pf_val, "pushfit")),
        ec_test=cap(_from_samples(ec, "exercise_correction")), notes=notes)


# ------------------------------------------------------------------ epoch data


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


def _synthetic_set(n_per_class: int, seed: int):
    from .synthetic import random_sample

    rng = np.random.default_rng(seed)
    out = []
    for ex in EXERCISES:
        for _ in range(n_per_class):
            s = random_sample(ex, rng)
            out.append((s.keypoints, s.fps, ex))
    return out


def _render_utd(trial, rng):
    from .datasets import utd_mhad

    yaw = float(rng.uniform(-100, 100))
    el = float(rng.uniform(0, 35))
    fps_out = [None, 15.0, 10.0][int(rng.integers(3))]
    kp = utd_mhad.render(trial, yaw, el, rng, fps_out=fps_out)
    fps = trial.fps if fps_out is None else trial.fps / max(int(round(trial.fps / fps_out)), 1)
    return np.nan_to_num(kp, nan=0.0), fps


def epoch_data(data: RealData, synth, rng, repeats: dict[str, int], other_p: float = 0.5,
               utd_other_p: float = 1.0):
    """One epoch of (features, class index) drawn from every training source; each Penn
    ``other`` sequence is drawn with probability ``other_p`` (they outnumber the exercises), each
    UTD-MHAD one with ``utd_other_p`` (its arm movements are the hard negatives for curls)."""
    from .synthetic import augment, time_warp

    idx = {c: i for i, c in enumerate(CLASSES)}
    X, y = [], []

    def add(kp, fps, label, width, height, real=True):
        w = _train_window(kp, fps, rng)
        if real:
            w = augment(w, width, height, rng, warp=w.shape[0] > 4)
        elif w.shape[0] > 4 and rng.random() < 0.5:
            w = time_warp(w, rng)
        X.append(features(w))
        y.append(idx[label])

    for s in data.penn_train:
        if s.label == OTHER and rng.random() > other_p:
            continue
        for _ in range(repeats.get(f"penn:{s.label}", 1)):
            add(s.keypoints, s.fps, s.label, s.width, s.height)
    for tr in data.utd_train:
        if tr.label == OTHER and rng.random() > utd_other_p:
            continue
        for _ in range(repeats.get(f"utd:{tr.label}", 1)):
            kp, fps = _render_utd(tr, rng)
            add(kp, fps, tr.label, 640.0, 480.0)
    for it in data.pt_train:
        for _ in range(repeats.get("pose_trainer", 1)):
            add(it.keypoints, it.fps, it.label, it.width, it.height)
    for it in data.pf_train:
        for _ in range(repeats.get("pushfit", 1)):
            add(it.keypoints, it.fps, it.label, it.width, it.height)
    for kp, fps, label in synth:
        add(kp, fps, label, 640.0, 480.0, real=False)
    X = np.stack(X)
    y = np.asarray(y)
    perm = rng.permutation(len(y))
    return X[perm], y[perm]


# ------------------------------------------------------------------ evaluation


def per_class(truth, pred, classes=None) -> dict:
    classes = classes or sorted(set(truth))
    out = {}
    for c in classes:
        tp = sum(1 for t, p in zip(truth, pred, strict=True) if t == c and p == c)
        fp = sum(1 for t, p in zip(truth, pred, strict=True) if t != c and p == c)
        n = sum(1 for t in truth if t == c)
        if n == 0 and fp == 0:
            continue
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / n if n else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[c] = {"recall": round(rec, 4), "precision": round(prec, 4), "f1": round(f1, 4),
                  "n": n}
    return out


def summarize(truth, pred) -> dict:
    """Known-class accuracy, unknown rejection, per class (recall and sequence count)."""
    known = [(t, p) for t, p in zip(truth, pred, strict=True) if t != UNKNOWN]
    neg = [p for t, p in zip(truth, pred, strict=True) if t == UNKNOWN]
    confusions: dict[str, dict[str, int]] = {}
    for t, p in zip(truth, pred, strict=True):
        if t != p:
            confusions.setdefault(t, {}).setdefault(p, 0)
            confusions[t][p] += 1
    return {
        "n_sequences": len(truth),
        "known_accuracy": round(float(np.mean([t == p for t, p in known])), 4) if known else None,
        "n_known": len(known),
        "other_as_unknown": round(float(np.mean([p == UNKNOWN for p in neg])), 4) if neg else None,
        "n_other": len(neg),
        "per_class": per_class(truth, pred),
        "confusions": confusions,
    }


def evaluate_real(clf: ExerciseClassifier, data: RealData) -> tuple[dict, list, list]:
    """Per real source and pooled (whole recordings only, :data:`POOLED_SOURCES`): known-class
    accuracy, unknown rate, per-class recall. -> (report, pooled truth, pooled predictions)."""
    out: dict = {}
    all_t, all_p = [], []
    for name, items in data.validation().items():
        if not items:
            out[name] = {"n_sequences": 0}
            continue
        r = evaluate(clf, items)
        out[name] = summarize(r["truth"], r["pred"])
        if name not in POOLED_SOURCES:
            out[name]["pooled"] = False
            continue
        all_t += r["truth"]
        all_p += r["pred"]
        if name == "utd_mhad":  # per view as well
            views = sorted({it.meta.get("view", "") for it in items})
            out[name]["known_accuracy_by_view"] = {}
            for v in views:
                sel = [k for k, it in enumerate(items) if it.meta.get("view") == v
                       and r["truth"][k] != UNKNOWN]
                if sel:
                    out[name]["known_accuracy_by_view"][v] = round(
                        float(np.mean([r["truth"][k] == r["pred"][k] for k in sel])), 4)
    out["pooled"] = summarize(all_t, all_p) if all_t else {"n_sequences": 0}
    return out, all_t, all_p


# ------------------------------------------------------------------ plots


def _plots(out_dir: Path, history: dict, truth, pred):
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
    for key, lab in (("real_val_accuracy", "real val, pooled (monitor only)"),
                     ("synthetic_val_accuracy", "synthetic val")):
        vals = np.array([np.nan if v is None else v for v in history.get(key, [])], float)
        if np.isfinite(vals).any():
            ok = np.isfinite(vals)
            ax[1].plot(ep[: len(vals)][ok], vals[ok], marker=".", label=lab)
    ax[1].set_xlabel("epoch")
    ax[1].set_title("accuracy")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(out_dir / "training_curves.png", dpi=90)
    plt.close(fig)

    labs = [c for c in (*CLASSES[:-1], UNKNOWN) if c in set(truth) | set(pred)]
    labs += sorted((set(truth) | set(pred)) - set(labs))
    li = {c: i for i, c in enumerate(labs)}
    m = np.zeros((len(labs), len(labs)), int)
    for t, p in zip(truth, pred, strict=True):
        m[li[t], li[p]] += 1
    fig, ax = plt.subplots(figsize=(9, 8))
    ax.imshow(np.log1p(m), cmap="Blues")
    ax.set_xticks(range(len(labs)), labs, rotation=45, ha="right")
    ax.set_yticks(range(len(labs)), labs)
    for i in range(len(labs)):
        for j in range(len(labs)):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7,
                        color="red" if i != j else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Real validation (all sources pooled, sequences)")
    fig.tight_layout()
    fig.savefig(out_dir / "confusion_matrix.png", dpi=90)
    plt.close(fig)


# ------------------------------------------------------------------ training


def _fit(clf: ExerciseClassifier, data: RealData, synth, synth_val, rng, epochs: int,
         batch_size: int, verbose: int, t0: float) -> tuple[dict[str, list], int]:
    """The epochs: fresh windows every epoch (real sources repeated by weight), cosine learning
    rate; validation accuracies every third epoch (monitoring only)."""
    from .penn import PENN_GYM_CLASSES

    model = clf.model
    repeats = {f"penn:{c}": 2 for c in PENN_GYM_CLASSES}
    repeats.update({f"utd:{c}": 4 for c in ("barbell_biceps_curl", "squat", "lunge")})
    repeats["utd:sit_to_stand"] = 3
    repeats["pose_trainer"] = 4
    repeats["pushfit"] = 2
    monitor = [it for items in data.validation().values() for it in items]
    hist: dict[str, list] = {"loss": [], "accuracy": [], "synthetic_val_accuracy": [],
                             "real_val_accuracy": [], "epoch_seconds": []}
    n_train = 0
    for ep in range(epochs):
        te = time.time()
        lr = 1e-3 * 0.5 * (1 + np.cos(np.pi * ep / max(epochs, 1)))
        model.optimizer.learning_rate.assign(max(lr, 3e-5))
        X, y = epoch_data(data, synth, rng, repeats)
        n_train = len(y)
        h = model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0)
        hist["loss"].append(float(h.history["loss"][0]))
        hist["accuracy"].append(float(h.history["accuracy"][0]))
        check = ep % 3 == 2 or ep == epochs - 1  # monitoring only, every third epoch
        hist["synthetic_val_accuracy"].append(
            evaluate(clf, synth_val)["accuracy"] if check else None)
        hist["real_val_accuracy"].append(
            evaluate(clf, monitor)["accuracy"] if (monitor and check) else None)
        hist["epoch_seconds"].append(round(time.time() - te, 1))
        if verbose:
            print(f"epoch {ep + 1}/{epochs} n {n_train} loss {hist['loss'][-1]:.3f} "
                  f"acc {hist['accuracy'][-1]:.3f} synth {hist['synthetic_val_accuracy'][-1]}"
                  f" real {hist['real_val_accuracy'][-1]} ({time.time() - t0:.0f}s)",
                  flush=True)
    return hist, n_train


def _metrics(clf: ExerciseClassifier, data: RealData, synth_val, hist: dict, *, epochs: int,
             seed: int, synthetic_per_class: int, n_train: int, t_data: float,
             t_train: float) -> tuple[dict, list, list]:
    """metrics.json of a trained version (and the pooled real truth/predictions for the plots).
    Over 60 lines: most of it is the metrics document itself, one literal."""
    from .penn import PENN_GYM_CLASSES

    version, threshold, model = clf.version, clf.threshold, clf.model
    real, pooled_t, pooled_p = evaluate_real(clf, data)
    penn = evaluate(clf, data.penn_val)
    gym = list(PENN_GYM_CLASSES)
    gym_pairs = [(t, p) for t, p in zip(penn["truth"], penn["pred"], strict=True) if t in gym]
    still = _still_accuracy(clf, data.penn_val, gym)
    synth_eval = evaluate(clf, synth_val)
    metrics = {
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "architecture": (
            "GRU(256, return_sequences) + MultiHeadAttention(4x64) + residual/LayerNorm"
            " + avg/max pool + Dense(128) + softmax, dropout 0.25 (seed 003's design)"
        ),
        "input": {"seq_len": SEQ_LEN, "n_features": int(model.input_shape[-1]),
                  "window_s": WINDOW_S, "joints": "nose + COCO 5..16"},
        "labels": list(CLASSES),
        "threshold_unknown": threshold,
        "unknown_policy": ("explicit 'other' class (Penn's and UTD-MHAD's non-exercise actions)"
                           " mapped to 'unknown'; also 'unknown' when top probability <"
                           " threshold"),
        "epochs": epochs,
        "seed": seed,
        "model_selection": "none: fixed epochs, cosine learning rate, last epoch kept",
        "real_validation": {
            "sources": {
                "penn": "Penn Action train file, 20% held out by sequence id (annotated 2-D)",
                "utd_mhad": ("UTD-MHAD subjects 5-6 (whole subjects held out), 5 fixed views,"
                             " YOLO-like noise, 10 fps: real 3-D motion, simulated camera"),
                "pose_trainer": "Pose Trainer files held out by datasets.split (OpenPose)",
                "pushfit": ("PushFit videos held out by datasets.split, through the project's"
                            " own YOLO pose at 10 fps"),
                "exercise_correction": ("Exercise-Correction clips of at least 2 s (MediaPipe;"
                                        " contiguous labelled runs joined; frame rate and size"
                                        " assumed), curl, lunge, squat; never trained on, not"
                                        " pooled"),
            },
            # v1-compatible keys (Penn)
            "gym_accuracy": round(float(np.mean([t == p for t, p in gym_pairs])), 4)
            if gym_pairs else 0.0,
            "still_frame_gym_accuracy": round(still, 4),
            "per_class": per_class(pooled_t, pooled_p),
            "pooled_sources": list(POOLED_SOURCES),
            "by_source": real,
            "notes": data.notes,
        },
        "synthetic_validation": {
            "accuracy": round(synth_eval["accuracy"], 4),
            "per_class": per_class(synth_eval["truth"], synth_eval["pred"]),
        },
        "train": {
            "penn_sequences": len(data.penn_train),
            "utd_trials": {c: sum(1 for t in data.utd_train if t.label == c)
                           for c in sorted({t.label for t in data.utd_train})},
            "utd_subjects": sorted({t.subject for t in data.utd_train}),
            "pose_trainer_files": {c: sum(1 for t in data.pt_train if t.label == c)
                                   for c in sorted({t.label for t in data.pt_train})},
            "pushfit_videos": len(data.pf_train),
            "synthetic_per_class": synthetic_per_class,
            "synthetic_only_classes": list(SYNTHETIC_ONLY_V2),
            "windows_per_epoch": n_train,
            "data_seconds": round(t_data, 1),
            "train_seconds": round(t_train, 1),
        },
        "history": hist,
    }
    return metrics, pooled_t, pooled_p


def train_classifier(
    output_dir: str | Path,
    version: str = "classifier-v2",
    seed: int = 0,
    epochs: int = 14,
    synthetic_per_class: int = 60,
    synthetic_val_per_class: int = 20,
    max_penn_train: int | None = None,
    max_penn_val: int | None = None,
    max_real: int | None = None,
    batch_size: int = 64,
    threshold: float = DEFAULT_THRESHOLD,
    verbose: int = 1,
    penn_path: str | Path | None = None,  # kept for the v1 signature; the default file is used
) -> dict:
    """Train on every real source + synthetic data and write ``<output_dir>/<version>/``
    (model.keras, labels.json, metrics.json, confusion_matrix.png, training_curves.png).

    ``max_penn_train`` / ``max_penn_val`` / ``max_real`` cap the sources for quick trial runs.
    Returns the metrics dict."""
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    out_dir = Path(output_dir) / version
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    data = load_real(seed, max_per_source=max_real)
    if max_penn_train:
        data.penn_train = [data.penn_train[i]
                           for i in rng.permutation(len(data.penn_train))[:max_penn_train]]
    if max_penn_val:
        data.penn_val = [data.penn_val[i]
                         for i in rng.permutation(len(data.penn_val))[:max_penn_val]]
    synth = _synthetic_set(synthetic_per_class, seed + 1)
    synth_val = _synthetic_set(synthetic_val_per_class, seed + 10_000)
    t_data = time.time() - t0

    model = build_model(n_classes=len(CLASSES))
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    clf = ExerciseClassifier(model=model, labels=list(CLASSES), threshold=threshold,
                             version=version)
    hist, n_train = _fit(clf, data, synth, synth_val, rng, epochs, batch_size, verbose, t0)
    t_train = time.time() - t0 - t_data

    inf = build_model(n_classes=len(CLASSES))
    inf.set_weights(model.get_weights())
    inf.save(out_dir / "model.keras")

    metrics, pooled_t, pooled_p = _metrics(
        clf, data, synth_val, hist, epochs=epochs, seed=seed,
        synthetic_per_class=synthetic_per_class, n_train=n_train, t_data=t_data,
        t_train=t_train)
    (out_dir / "labels.json").write_text(
        json.dumps({"labels": list(CLASSES), "unknown_from": OTHER}, indent=2))
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    _plots(out_dir, hist, pooled_t, pooled_p)
    return metrics


def _still_accuracy(clf: ExerciseClassifier, items: list[Item], gym: list[str]) -> float:
    sel = [it for it in items if it.label in gym and it.keypoints.shape[0]]
    if not sel:
        return 0.0
    feats = np.stack([features(it.keypoints[it.keypoints.shape[0] // 2][None]) for it in sel])
    probs = clf.predict_proba_batch(feats)
    return float(np.mean([clf.decide(p)["label"] == it.label
                          for p, it in zip(probs, sel, strict=True)]))


def reevaluate(artifact_dir: str | Path, seed: int = 0) -> dict:
    """Recompute an artifact's ``real_validation`` (same splits) and rewrite its metrics.json
    and confusion matrix; training history and settings are kept."""
    artifact_dir = Path(artifact_dir)
    clf = ExerciseClassifier.load(artifact_dir)
    metrics = json.loads((artifact_dir / "metrics.json").read_text())
    data = load_real(seed)
    real, pooled_t, pooled_p = evaluate_real(clf, data)
    rv = metrics.setdefault("real_validation", {})
    rv["by_source"] = real
    rv["per_class"] = per_class(pooled_t, pooled_p)
    rv["pooled_sources"] = list(POOLED_SOURCES)
    rv["reevaluated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    (artifact_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    _plots(artifact_dir, metrics.get("history", {"loss": [], "accuracy": []}), pooled_t, pooled_p)
    return metrics
