"""Calibrate the form criteria and train the per-exercise form models on real labelled data.

Data (``domain.video.datasets``): PushFit push-ups through the project's own pose (cached),
Pose Trainer (curl, shoulder press, front raise, shrug; good/bad), Exercise-Correction runs
(curl lean-back, lunge knee-over-toe, plank hips). Every data set is split once by
``datasets.is_validation(group)`` (a hash of the video / source / run id): nothing is tuned on
the validation part. On the training part, grouped cross-validation (by the same groups)
chooses the regularization and the decision threshold; per-criterion thresholds are the 90th
percentile of the criterion on correct training executions (a correct repetition rarely
passes it), or the textbook default where there are too few.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..datasets import Sample, is_validation
from ..reps import segment_repetitions
from .criteria import CRITERIA, family
from .engine import assess, measure, rule_score
from .model import FamilyModel, FormModel
from .signals import EXECUTION_FEATURES, PUSHUP_DIRECTION, PUSHUP_FEATURES, criterion_of

#: family -> the execution features its boosted trees see, and their monotone directions
GBT_FEATURES = {"pushup": PUSHUP_FEATURES}
GBT_DIRECTION = {"pushup": PUSHUP_DIRECTION}

C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
#: small gradient-boosted trees on the per-execution signal statistics (families with
#: ``signals.EXECUTION_FEATURES``): depth-2 trees, learning rate 0.05
GBT_GRID = ({"max_iter": 50, "min_samples_leaf": 10}, {"max_iter": 100, "min_samples_leaf": 10},
            {"max_iter": 100, "min_samples_leaf": 5})
MIN_CORRECT_FOR_THRESHOLD = 8
THRESHOLD_QUANTILE = 90


def _reps(s: Sample):
    try:
        return segment_repetitions(s.keypoints, s.fps, s.exercise)
    except Exception:  # noqa: BLE001 - a helper's segmentation must not stop training
        return []


def execution_features(s: Sample) -> tuple[dict[str, float], object]:
    reps = _reps(s)
    m = measure(s.keypoints, s.fps, s.exercise, reps)
    return m.features(), m


def load_all(progress: Callable[[str], None] | None = None) -> list[Sample]:
    from ..datasets import exercise_correction, pose_trainer, pushfit

    out: list[Sample] = []
    for name, loader in (("pushfit", pushfit.load), ("pose_trainer", pose_trainer.load),
                         ("exercise_correction", exercise_correction.load)):
        samples = [s for s in loader() if s.correct is not None]
        if progress:
            progress(f"{name}: {len(samples)} labelled sequences")
        out += samples
    return out


def _auc(y_faulty: np.ndarray, risk: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    ok = np.isfinite(risk)
    if ok.sum() < 2 or len(set(y_faulty[ok].tolist())) < 2:
        return None
    return round(float(roc_auc_score(y_faulty[ok], risk[ok])), 3)


#: bootstrap resamples (over groups) for the confidence intervals of the reported figures
BOOTSTRAP = 1000


def bootstrap_ci(y_faulty: np.ndarray, risk: np.ndarray, flagged: np.ndarray,
                 groups: np.ndarray, n: int = BOOTSTRAP, seed: int = 0) -> dict:
    """95% intervals of ROC AUC, correct flagged and faulty caught, resampling whole groups
    (source recordings / files / runs) with replacement: clips of one source are not
    independent, so resampling clips would understate the uncertainty."""
    from sklearn.metrics import roc_auc_score

    ok = np.isfinite(risk)
    y, r, f, g = y_faulty[ok], risk[ok], flagged[ok], groups[ok]
    members = [np.flatnonzero(g == k) for k in np.unique(g)]
    if len(members) < 2:
        return {}
    rng = np.random.default_rng(seed)
    auc, fl, ca = [], [], []
    for _ in range(n):
        idx = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
        yy = y[idx]
        if (yy == 0).any():
            fl.append(float(f[idx][yy == 0].mean()))
        if (yy == 1).any():
            ca.append(float(f[idx][yy == 1].mean()))
        if len(set(yy.tolist())) == 2:
            auc.append(float(roc_auc_score(yy, r[idx])))

    def ci(v: list[float]) -> list[float] | None:
        return [round(float(x), 3) for x in np.percentile(v, [2.5, 97.5])] if v else None

    return {"roc_auc_ci95": ci(auc), "correct_flagged_ci95": ci(fl),
            "faulty_caught_ci95": ci(ca), "bootstrap": f"{n} resamples of {len(members)} groups"}


def _matrix(rows: list[dict], names: list[str]) -> np.ndarray:
    return np.array([[r.get(n, math.nan) for n in names] for r in rows], float)


class _Monotone:
    """Logistic regression in which a larger criterion value (worse form, by the criterion's
    definition) can only lower P(correct): features whose coefficient comes out positive are
    dropped one by one (largest first) and the model refitted. The score then always agrees
    with the criteria's direction, and a coincidence of the training videos cannot make
    "more sagging" look "more correct"."""

    def __init__(self, clf, keep: list[int], n: int):
        self.clf, self.keep, self.n = clf, keep, n

    @property
    def coef(self) -> np.ndarray:
        coef = np.zeros(self.n)
        if self.clf is not None:
            coef[self.keep] = self.clf.coef_[0]
        return coef

    @property
    def intercept(self) -> float:
        return float(self.clf.intercept_[0]) if self.clf is not None else 0.0

    def predict_proba(self, Z: np.ndarray) -> np.ndarray:
        z = Z @ self.coef + self.intercept
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))
        return np.stack([1 - p, p], axis=1)


def _fit(X: np.ndarray, y: np.ndarray, C: float) -> _Monotone:
    from sklearn.linear_model import LogisticRegression

    keep = list(range(X.shape[1]))
    clf = None
    while keep:
        clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
        clf.fit(X[:, keep], y)
        coef = clf.coef_[0]
        if (coef <= 1e-9).all():
            break
        keep.pop(int(np.argmax(coef)))
        clf = None
    if clf is None:  # nothing left: the prior only
        from sklearn.dummy import DummyClassifier

        dummy = DummyClassifier(strategy="prior").fit(X[:, :0] if X.shape[1] else X, y)
        p = float(dummy.class_prior_[1]) if len(dummy.classes_) == 2 else 0.5
        clf = type("Prior", (), {"coef_": np.zeros((1, 0)),
                                 "intercept_": np.array([math.log(max(p, 1e-6)
                                                                  / max(1 - p, 1e-6))])})()
        keep = []
    return _Monotone(clf, keep, X.shape[1])


def _standardize(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(X, axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    Xi = np.where(np.isfinite(X), X, med)
    mean, scale = Xi.mean(axis=0), Xi.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    return (Xi - mean) / scale, med, mean, scale


def _fit_gbt(X: np.ndarray, y: np.ndarray, params: dict, monotone: list[int] | None = None):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_depth=2, learning_rate=0.05, l2_regularization=1.0,
                                          class_weight="balanced", early_stopping=False,
                                          monotonic_cst=monotone, random_state=0,
                                          **params).fit(X, y)


def _oof_gbt(X: np.ndarray, y: np.ndarray, folds: list, params: dict,
             monotone: list[int] | None = None) -> np.ndarray:
    out = np.full(len(y), np.nan)
    for tr, te in folds:
        if len(set(y[tr].tolist())) < 2:
            continue
        out[te] = _fit_gbt(X[tr], y[tr], params, monotone).predict_proba(X[te])[:, 1]
    return out


def _fill_inner(nodes, value: list[float], count: list[float], i: int) -> tuple[float, float]:
    """Count-weighted leaf sum and count under node i; sets inner nodes' mean value."""
    if nodes["is_leaf"][i]:
        return value[i] * count[i], count[i]
    a, ca = _fill_inner(nodes, value, count, int(nodes["left"][i]))
    b, cb = _fill_inner(nodes, value, count, int(nodes["right"][i]))
    value[i] = (a + b) / max(ca + cb, 1e-12)
    return a + b, ca + cb


def export_trees(clf) -> tuple[list, float]:
    """A fitted binary HistGradientBoostingClassifier as plain lists (``FamilyModel.trees``)
    and its baseline log-odds; inner nodes get the count-weighted mean of their leaves."""
    trees = []
    for (pred,) in clf._predictors:  # noqa: SLF001 - the fitted trees have no public accessor
        nodes = pred.nodes
        value = [float(v) for v in nodes["value"]]
        count = [float(c) for c in nodes["count"]]
        _fill_inner(nodes, value, count, 0)
        trees.append([[int(nodes["feature_idx"][i]), float(nodes["num_threshold"][i]),
                       int(nodes["left"][i]), int(nodes["right"][i]), bool(nodes["is_leaf"][i]),
                       value[i], bool(nodes["missing_go_to_left"][i])]
                      for i in range(len(nodes))])
    baseline = float(np.ravel(clf._baseline_prediction)[0])  # noqa: SLF001
    return trees, baseline


def _oof(X: np.ndarray, y: np.ndarray, folds: list, C: float) -> np.ndarray:
    out = np.full(len(y), np.nan)
    for tr, te in folds:
        if len(set(y[tr].tolist())) < 2:
            continue
        Z, med, mean, scale = _standardize(X[tr])
        clf = _fit(Z, y[tr], C)
        Zt = (np.where(np.isfinite(X[te]), X[te], med) - mean) / scale
        out[te] = clf.predict_proba(Zt)[:, 1]
    return out


#: the operating point: at most this share of correct training executions (out-of-fold) may
#: be flagged — a correct execution should hear no correction (the target on held-out data is
#: 20%; a margin is kept for the step from cross-validation to new people)
MAX_CORRECT_FLAGGED = 0.15


def _best_threshold(p_correct: np.ndarray, y: np.ndarray) -> float:
    """Decision threshold on P(correct): the one catching the most faulty executions while
    flagging at most ``MAX_CORRECT_FLAGGED`` of the correct ones (out-of-fold); where no
    threshold allows that, the one maximizing balanced accuracy (Youden's J)."""
    ok = np.isfinite(p_correct)
    p, lab = p_correct[ok], y[ok]
    best, best_key = 0.5, None
    for t in np.linspace(0.02, 0.98, 97):
        good = p >= t
        flagged = (~good)[lab == 1].mean() if (lab == 1).any() else 0.0
        caught = (~good)[lab == 0].mean() if (lab == 0).any() else 0.0
        key = (flagged <= MAX_CORRECT_FLAGGED + 1e-9, caught if flagged <= MAX_CORRECT_FLAGGED
               + 1e-9 else caught - flagged, -abs(t - 0.5))
        if best_key is None or key > best_key:
            best, best_key = float(t), key
    return best


def labelled_criteria(fam: str, samples: Iterable[Sample]) -> set[str] | None:
    """The criteria the labels speak about: a fault code that names a criterion (Exercise-
    Correction's lunge "knee over toe") speaks about that one only; any other code ("bad",
    "wrong") about all of them (None). A criterion no label speaks about keeps its textbook
    threshold and stays out of the model: calibrated on such data it learns the data set's
    camera, not the fault (form-v2 set the lunge's trunk threshold to -0.4 degrees)."""
    keys = {c.key for c in CRITERIA[fam]}
    named: set[str] = set()
    for s in samples:
        if s.correct is False:
            if s.fault not in keys:
                return None
            named.add(s.fault)
    return named


def _calibrate(fam: str, samples: list[Sample], feats: dict) -> dict[str, float]:
    thresholds = {}
    labelled = labelled_criteria(fam, samples)
    for c in CRITERIA[fam]:
        if labelled is not None and c.key not in labelled:
            thresholds[c.key] = c.threshold
            continue
        vals = np.array([feats[_key(s)].get(f"{c.key}.median", math.nan) for s in samples
                         if s.correct], float)
        vals = vals[np.isfinite(vals)]
        thresholds[c.key] = (round(float(np.percentile(vals, THRESHOLD_QUANTILE)), 4)
                             if vals.size >= MIN_CORRECT_FOR_THRESHOLD else c.threshold)
    return thresholds


def _key(s: Sample) -> str:
    return f"{s.dataset}/{s.name}"


def _folds(groups: np.ndarray, n: int = 5):
    from sklearn.model_selection import GroupKFold

    k = max(2, min(n, len(set(groups.tolist()))))
    return list(GroupKFold(n_splits=k).split(np.zeros(len(groups)), groups=groups))


def _rule_scores(samples: list[Sample], meas: dict, thresholds: dict) -> np.ndarray:
    return np.array([rule_score(meas[_key(s)], thresholds) for s in samples])


def fit_family(fam: str, train: list[Sample], feats: dict, meas: dict
               ) -> tuple[FamilyModel, dict]:
    """Calibrate thresholds, choose logistic regression (and its C) or the calibrated
    criteria alone by grouped CV on ``train``, pick the decision threshold, fit."""
    rows = [feats[_key(s)] for s in train]
    y = np.array([int(bool(s.correct)) for s in train])
    groups = np.array([s.group for s in train])
    names = sorted({k for r in rows for k in r})
    labelled = labelled_criteria(fam, train)
    if labelled is not None:
        names = [n for n in names if criterion_of(n, {}) in labelled]
    X = _matrix(rows, names)
    keep = [i for i in range(len(names)) if np.isfinite(X[:, i]).sum() >= max(3, len(y) // 5)]
    names = [names[i] for i in keep]
    X = X[:, keep]
    folds = _folds(groups)
    cv: dict[str, float | None] = {}
    best_c, best_auc, best_oof = 1.0, -1.0, None
    for C in C_GRID:
        oof = _oof(X, y, folds, C)
        auc = _auc(1 - y, 1 - oof)
        cv[str(C)] = auc
        if auc is not None and auc > best_auc + 1e-9:
            best_c, best_auc, best_oof = C, auc, oof
    rule_oof = np.full(len(y), np.nan)
    for tr, te in folds:
        thr = _calibrate(fam, [train[i] for i in tr], feats)
        rule_oof[te] = _rule_scores([train[i] for i in te], meas, thr)
    rule_auc = _auc(1 - y, 1 - rule_oof)
    cv["criteria"] = rule_auc
    gbt_names = [n for n in GBT_FEATURES.get(fam, ()) if n in names] if fam in \
        EXECUTION_FEATURES else []
    best_gbt, gbt_auc, gbt_oof = None, -1.0, None
    direction = GBT_DIRECTION.get(fam, {})
    monotone = [int(direction.get(n, 0)) for n in gbt_names]
    if gbt_names:
        Xg = X[:, [names.index(n) for n in gbt_names]]
        for i, params in enumerate(GBT_GRID):
            oof = _oof_gbt(Xg, y, folds, params, monotone)
            auc = _auc(1 - y, 1 - oof)
            cv[f"gbt{i}"] = auc
            if auc is not None and auc > gbt_auc + 1e-9:
                best_gbt, gbt_auc, gbt_oof = params, auc, oof
    thresholds = _calibrate(fam, train, feats)
    use_rules = best_oof is None or (rule_auc is not None and rule_auc > best_auc)
    use_gbt = best_gbt is not None and gbt_auc > max(best_auc, rule_auc or -1.0) + 1e-9
    use_rules = use_rules and not use_gbt
    chosen = gbt_oof if use_gbt else rule_oof if use_rules else best_oof
    t = _best_threshold(chosen, y)
    shift = -math.log(t / (1.0 - t))
    if use_gbt:
        clf = _fit_gbt(Xg, y, best_gbt, monotone)
        trees, baseline = export_trees(clf)
        model = FamilyModel(family=fam, features=gbt_names, impute=[], mean=[], scale=[],
                            coef=[], intercept=shift, thresholds=thresholds, kind="gbt",
                            trees=trees, baseline=baseline)
        check = np.array([model.score(dict(zip(gbt_names, row, strict=True))) for row in Xg])
        expect = 1.0 / (1.0 + np.exp(-(clf.decision_function(Xg) + shift)))
        if not np.allclose(check, expect, atol=1e-6):
            raise RuntimeError("exported trees disagree with the fitted model")
    elif use_rules:
        model = FamilyModel(family=fam, features=[], impute=[], mean=[], scale=[], coef=[],
                            intercept=shift, thresholds=thresholds, kind="criteria")
    else:
        Z, med, mean, scale = _standardize(X)
        clf = _fit(Z, y, best_c)
        model = FamilyModel(family=fam, features=names, impute=med.tolist(),
                            mean=mean.tolist(), scale=scale.tolist(),
                            coef=clf.coef.tolist(),
                            intercept=clf.intercept + shift, thresholds=thresholds)
    model.meta = {"C": None if use_rules or use_gbt else best_c,
                  "gbt": best_gbt if use_gbt else None, "decision_threshold": round(t, 3),
                  "train_sequences": len(y), "train_groups": len(set(groups.tolist())),
                  "train_correct": int(y.sum()), "cv_folds": len(folds)}
    ok = np.isfinite(chosen)
    info = {"chosen": model.kind, "C": model.meta["C"], "gbt": model.meta["gbt"], "cv_auc": cv,
            "decision_threshold": round(t, 3),
            "cv_correct_flagged": round(float((chosen[ok & (y == 1)] < t).mean()), 3)
            if (ok & (y == 1)).any() else None,
            "cv_faulty_caught": round(float((chosen[ok & (y == 0)] < t).mean()), 3)
            if (ok & (y == 0)).any() else None}
    return model, info


def _score(model: FamilyModel, s: Sample, feats: dict, meas: dict) -> float:
    return model.score(feats[_key(s)], rule_score(meas[_key(s)], model.thresholds))


def grouped_cv_all(fam: str, samples: list[Sample], feats: dict, meas: dict) -> dict:
    """Secondary, larger-sample estimate: the whole procedure (calibration, model choice,
    threshold) re-run in each fold of a 5-fold CV grouped by source over ALL labelled data."""
    y = np.array([int(bool(s.correct)) for s in samples])
    groups = np.array([s.group for s in samples])
    scores = np.full(len(y), np.nan)
    for tr, te in _folds(groups):
        part = [samples[i] for i in tr]
        if len({bool(s.correct) for s in part}) < 2:
            continue
        model, _ = fit_family(fam, part, feats, meas)
        scores[te] = [_score(model, samples[i], feats, meas) for i in te]
    ok = np.isfinite(scores)
    return {"sequences": int(ok.sum()), "groups": len(set(groups.tolist())),
            "correct": int(y[ok].sum()), "faulty": int((1 - y[ok]).sum()),
            "roc_auc": _auc(1 - y[ok], 1 - scores[ok]),
            "correct_flagged": round(float((scores[ok & (y == 1)] < 0.5).mean()), 3)
            if (ok & (y == 1)).any() else None,
            "faulty_caught": round(float((scores[ok & (y == 0)] < 0.5).mean()), 3)
            if (ok & (y == 0)).any() else None,
            **bootstrap_ci(1 - y, 1 - scores, scores < 0.5, groups)}


def _rates(samples: list[Sample], forms: list[dict | None]) -> dict:
    y = np.array([int(bool(s.correct)) for s in samples])
    score = np.array([f["score"] if f and f.get("score") is not None else math.nan
                      for f in forms], float)
    verdict = [f["verdict"] if f else "none" for f in forms]
    correct = [v for v, lab in zip(verdict, y, strict=True) if lab]
    faulty = [v for v, lab in zip(verdict, y, strict=True) if not lab]
    flagged = np.array([v != "good" for v in verdict])
    risk = np.where(np.isfinite(score), 1 - score, 0.5)
    return {
        "sequences": len(y), "correct": int(y.sum()), "faulty": int(len(y) - y.sum()),
        "groups": len({s.group for s in samples}),
        "roc_auc": _auc(1 - y, 1 - score),
        "correct_flagged": round(sum(v != "good" for v in correct) / len(correct), 3)
        if correct else None,
        "faulty_caught": round(sum(v != "good" for v in faulty) / len(faulty), 3)
        if faulty else None,
        "uncertain": sum(v == "uncertain" for v in verdict),
        **bootstrap_ci(1 - y, risk, flagged, np.array([s.group for s in samples])),
    }


def _criterion_metrics(fam: str, samples: list[Sample], feats: dict, forms: list) -> dict:
    y = np.array([int(bool(s.correct)) for s in samples])
    out = {}
    for c in CRITERIA[fam]:
        risk = np.array([feats[_key(s)].get(f"{c.key}.median", math.nan)
                         for s in samples], float)
        judged = np.isfinite(risk)
        found = np.array([any(fd["criterion"] == c.key for fd in (f or {}).get("findings", []))
                          for f in forms])
        entry = {"judged": int(judged.sum()), "roc_auc_vs_faulty": _auc(1 - y, risk),
                 "finding_on_correct": round(float(found[y == 1].mean()), 3)
                 if (y == 1).any() else None,
                 "finding_on_faulty": round(float(found[y == 0].mean()), 3)
                 if (y == 0).any() else None}
        # data sets that name the fault: how often the matching criterion is reported
        by_fault: dict[str, list[bool]] = {}
        for s, f in zip(samples, found, strict=True):
            if s.fault and s.fault not in ("wrong", "bad"):
                by_fault.setdefault(s.fault, []).append(bool(f))
        if by_fault:
            entry["reported_by_labelled_fault"] = {k: f"{sum(v)}/{len(v)}"
                                                   for k, v in by_fault.items()}
        out[c.key] = entry
    return out


def train_form(root: str | Path, version: str, samples: Iterable[Sample] | None = None,
               progress: Callable[[str], None] | None = None, graphs: bool = True) -> dict:
    """Train every family with labelled data; write ``<root>/<version>/`` (model.json,
    metrics.json, roc.png); return the metrics."""
    say = progress or (lambda _m: None)
    samples = list(samples) if samples is not None else load_all(say)
    by_fam: dict[str, list[Sample]] = {}
    for s in samples:
        fam = family(s.exercise)
        if fam and s.correct is not None:
            by_fam.setdefault(fam, []).append(s)
    feats, meas = {}, {}
    for s in samples:
        if family(s.exercise):
            feats[_key(s)], meas[_key(s)] = execution_features(s)
    families: dict[str, FamilyModel] = {}
    metrics: dict = {"version": version, "created_at": datetime.now(UTC).isoformat(),
                     "validation": "held-out groups: sha256(group id) below 30%; groups are "
                     "source recordings (PushFit), files (Pose Trainer), label runs "
                     "(Exercise-Correction)", "families": {}}
    curves = {}
    for fam, fam_samples in sorted(by_fam.items()):
        train = [s for s in fam_samples if not is_validation(s.group)]
        val = [s for s in fam_samples if is_validation(s.group)]
        ytr = {bool(s.correct) for s in train}
        entry: dict = {"datasets": sorted({s.dataset for s in fam_samples}),
                       "train_sequences": len(train), "validation_sequences": len(val)}
        if len(ytr) < 2 or len(train) < 8:
            entry["model"] = None
            entry["note"] = "too few labelled training sequences for a model"
            metrics["families"][fam] = entry
            continue
        model, info = fit_family(fam, train, feats, meas)
        families[fam] = model
        entry["cv"] = info
        entry["thresholds"] = model.thresholds
        fm = FormModel(version=version, families={fam: model})
        forms = [_assess_sample(s, fm) for s in val]
        rule_forms = [_assess_sample(s, None) for s in val]
        entry["validation"] = _rates(val, forms)
        entry["validation_criteria_only"] = _rates(val, rule_forms)
        entry["criteria"] = _criterion_metrics(fam, val, feats, forms)
        entry["grouped_cv_all"] = grouped_cv_all(fam, fam_samples, feats, meas)
        metrics["families"][fam] = entry
        y = np.array([int(bool(s.correct)) for s in val])
        sc = np.array([f["score"] if f and f.get("score") is not None else 0.5 for f in forms])
        curves[fam] = (1 - y, 1 - sc)
        say(f"{fam}: validation {entry['validation']}")
    out = Path(root) / version
    FormModel(version=version, families=families).save(out)
    metrics["synthetic_sanity"] = synthetic_sanity(FormModel(version=version,
                                                             families=families))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, default=str),
                                      encoding="utf-8")
    if graphs and curves:
        _roc_graph(curves, out / "roc.png")
    return metrics


def _assess_sample(s: Sample, model: FormModel | None) -> dict | None:
    return assess(s.keypoints, s.fps, s.exercise, _reps(s), model)


def _roc_graph(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(5, 5), dpi=80)
    for fam, (y, risk) in curves.items():
        if len(set(y.tolist())) < 2:
            continue
        fpr, tpr, _ = roc_curve(y, risk)
        auc = _auc(y, risk)
        ax.plot(fpr, tpr, label=f"{fam} (AUC {auc}, n={len(y)})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlabel("correct executions flagged")
    ax.set_ylabel("faulty executions caught")
    ax.set_title("Form models on held-out real executions")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


#: synthetic fault -> the criterion expected to report it
SYNTHETIC_FAULTS = {
    ("squat", "insufficient_depth"): "depth", ("squat", "knees_caving"): "knee_valgus",
    ("squat", "forward_lean"): "trunk_lean", ("lunge", "knee_past_toes"): "knee_over_toe",
    ("lunge", "insufficient_depth"): "depth", ("lunge", "forward_lean"): "trunk_upright",
    ("pushup", "sagging_hips"): "hips_sag", ("pushup", "piking_hips"): "hips_pike",
    ("pushup", "partial_range"): "range", ("barbell_biceps_curl", "elbow_drift"): "elbow_drift",
    ("barbell_biceps_curl", "body_swing"): "lean_back",
    ("barbell_biceps_curl", "partial_range"): "range_top",
}


def synthetic_sanity(model: FormModel | None, per_case: int = 6, fps: float = 10.0) -> dict:
    """Synthetic stick figures (``domain.video.synthetic``) through the same engine: per
    exercise and view, correct executions flagged, and each deliberate fault reported by its
    criterion — a check of the geometry, not evidence about real people (squats have no real
    form labels here)."""
    from ..synthetic import generate

    out: dict = {}
    for exercise in ("squat", "lunge", "pushup", "barbell_biceps_curl"):
        faults = [f for (ex, f) in SYNTHETIC_FAULTS if ex == exercise]
        for view in ("left", "front", "front_left"):
            row: dict = {}
            flagged = []
            for k in range(per_case):
                s = generate(exercise, n_reps=3, fps=fps, view=view, seed=500 + k)
                form = assess(s.keypoints, fps, exercise,
                              segment_repetitions(s.keypoints, fps, exercise), model)
                flagged.append("none" if form is None else form["verdict"])
            row["correct_flagged"] = f"{flagged.count('faulty')}/{len(flagged)}"
            if flagged.count("uncertain"):
                row["correct_uncertain"] = f"{flagged.count('uncertain')}/{len(flagged)}"
            for fault in faults:
                key = SYNTHETIC_FAULTS[(exercise, fault)]
                hits, judged = 0, 0
                for k in range(per_case):
                    s = generate(exercise, n_reps=3, fps=fps, view=view, seed=700 + k,
                                 fault=fault)
                    form = assess(s.keypoints, fps, exercise,
                                  segment_repetitions(s.keypoints, fps, exercise), model)
                    if form is None or not form["criteria"][key]["judged"]:
                        continue
                    judged += 1
                    hits += any(f["criterion"] == key for f in form["findings"])
                row[fault] = f"{hits}/{judged}" if judged else "not judged"
            out[f"{exercise}/{view}"] = row
    return out
