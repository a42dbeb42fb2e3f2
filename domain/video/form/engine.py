"""Form assessment of one keypoint sequence: camera view, per-repetition criteria, a verdict.

:func:`measure` turns a sequence + its repetitions into per-repetition criterion values (NaN
where the view does not allow the criterion) and one feature vector per execution;
:func:`assess` turns those into ``{verdict, score, findings, view, criteria}`` with the
per-exercise model of the form artifact when there is one, else with the criteria thresholds.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from .body import Body, measure_body
from .criteria import CRITERIA, STATIC, Criterion, Window, family
from .signals import EXECUTION_FEATURES, criterion_of

#: windows of a static hold (plank), seconds
HOLD_WINDOW_S = 2.0
#: a criterion value this far over its threshold (in its unit's scale) halves nothing more:
#: rule-based fault probability = sigmoid((value - threshold) / scale)
UNIT_SCALE = {"deg": 6.0, "body fraction": 0.025, "torso": 0.05, "shin": 0.08, "": 0.05}
MIN_FRAMES = 4
GOOD_SENTENCE = {
    "default": "Good form: your {reps} of {name} looked right. Keep it up!",
}


@dataclass
class Measurement:
    family: str | None
    view: str
    width_ratio: float
    near: str = "left"
    windows: list[tuple[int | None, Window]] = field(default_factory=list)
    #: per window: {criterion key: value or NaN (not judged / not measurable)}
    values: list[dict[str, float]] = field(default_factory=list)
    judged: dict[str, bool] = field(default_factory=dict)
    #: per-execution statistics of per-frame signals (``signals.EXECUTION_FEATURES``)
    execution: dict[str, float] = field(default_factory=dict)

    def features(self) -> dict[str, float]:
        """Per execution: the median of each criterion over its windows (the typical
        repetition; adding the worst one did not help in grouped cross-validation), and the
        family's per-execution signal statistics."""
        out: dict[str, float] = dict(self.execution)
        for key in self.judged:
            vals = np.array([v[key] for v in self.values], float)
            vals = vals[np.isfinite(vals)]
            out[f"{key}.median"] = float(np.median(vals)) if vals.size else math.nan
        return out


def _windows(body: Body, reps, fam: str | None) -> list[tuple[int | None, Window]]:
    T = body.T
    if fam in STATIC or not reps:
        if fam in STATIC:
            step = max(int(round(HOLD_WINDOW_S * body.fps)), MIN_FRAMES)
            if 2 * step <= T:
                return [(None, Window(s, min(s + step, T) - 1, (s + min(s + step, T) - 1) // 2))
                        for s in range(0, T - step // 2, step)]
        return [(None, Window(0, T - 1, (T - 1) // 2))] if T >= MIN_FRAMES else []
    out = []
    for r in reps:
        s, e = int(r.start_frame), int(r.end_frame)
        if e - s + 1 < 3:
            s, e = max(0, s - 1), min(T - 1, e + 1)
        out.append((int(r.index), Window(s, e, int(r.bottom_frame))))
    return out


def measure(seq, fps: float, exercise: str | None, reps=None) -> Measurement:
    fam = family(exercise)
    body = measure_body(seq, fps)
    m = Measurement(family=fam, view=body.view, width_ratio=body.width_ratio, near=body.near)
    if fam is None:
        return m
    crits: tuple[Criterion, ...] = CRITERIA[fam]
    m.judged = {c.key: body.view in c.views for c in crits}
    m.windows = _windows(body, reps or [], fam)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _, w in m.windows:
            row = {}
            for c in crits:
                v = float(c.measure(body, w)) if m.judged[c.key] else math.nan
                row[c.key] = v if math.isfinite(v) else math.nan
            m.values.append(row)
        if fam in EXECUTION_FEATURES and m.windows:
            m.execution = {k: (float(v) if math.isfinite(v) else math.nan)
                           for k, v in EXECUTION_FEATURES[fam](body).items()}
    return m


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))


def fault_probability(c: Criterion, value: float, threshold: float | None = None) -> float:
    thr = c.threshold if threshold is None else threshold
    return _sigmoid((value - thr) / UNIT_SCALE.get(c.unit, 0.05))


def rule_score(m: Measurement, thresholds: dict[str, float]) -> float:
    """Thresholds only: 1 - the worst criterion fault probability of the repetition at the
    75th percentile: a fault on half of the repetitions (say 2 of 4) makes the set faulty, one
    noisy repetition in four does not."""
    crits = {c.key: c for c in CRITERIA[m.family]} if m.family else {}
    worst = [max([fault_probability(c, row[k], thresholds[k]) for k, c in crits.items()
                  if math.isfinite(row[k])] or [math.nan]) for row in m.values]
    worst = [w for w in worst if math.isfinite(w)]
    return 1.0 - float(np.percentile(worst, 75)) if worst else 0.5


def assess(seq, fps: float, exercise: str | None, reps=None, model=None) -> dict | None:
    """The ``form`` object of the result, or None when the exercise has no criteria.

    ``model``: a :class:`~domain.video.form.model.FormModel` (or None: thresholds only).
    Returns ``{verdict, score, findings: [{rep_index, criterion, message}], view,
    criteria: {key: {judged, threshold, values: [per window]}}, method}``.
    """
    m = measure(seq, fps, exercise, reps)
    if m.family is None:
        return None
    crits = {c.key: c for c in CRITERIA[m.family]}
    fam_model = model.for_family(m.family) if model is not None else None
    thresholds = {k: (fam_model.thresholds.get(k, c.threshold) if fam_model else c.threshold)
                  for k, c in crits.items()}
    criteria_out = {
        k: {"judged": m.judged[k], "threshold": round(thresholds[k], 3),
            "values": [None if not math.isfinite(v[k]) else round(v[k], 3) for v in m.values]}
        for k in crits
    }
    base = {"view": m.view, "near": m.near, "family": m.family,
            "static": m.family in STATIC, "criteria": criteria_out}
    measured = any(math.isfinite(v[k]) for v in m.values for k in crits)
    if not m.windows or not measured:
        return {"verdict": "uncertain", "score": None, "findings": [], "method": "none", **base}

    # per-window faults by threshold
    faults: list[tuple[int | None, str, float]] = []  # (rep_index, key, excess probability)
    for (rep_index, _), row in zip(m.windows, m.values, strict=True):
        for k, c in crits.items():
            v = row[k]
            if math.isfinite(v) and v > thresholds[k]:
                faults.append((rep_index, k, fault_probability(c, v, thresholds[k])))

    rule = rule_score(m, thresholds)
    if fam_model is not None:
        score = fam_model.score(m.features(), rule)
        method = f"model:{fam_model.kind}"
    else:
        score, method = rule, "criteria"
    verdict = "good" if score >= 0.5 else "faulty"
    findings: list[dict] = []
    if verdict == "faulty":
        if not faults and fam_model is not None:
            # the model says faulty but no single criterion passed its threshold: name the
            # criterion that pushed the score down most, on the windows where it was worst
            feats = m.features()
            k = fam_model.main_reason(feats, lambda f: criterion_of(f, feats))
            if k in crits and not m.judged.get(k, False):
                k = None
            if k in crits:
                vals = [row[k] for row in m.values]
                finite = [v for v in vals if math.isfinite(v)]
                if finite:
                    worst = max(finite)
                    faults = [(rep_index, k, 0.5) for (rep_index, _), v in
                              zip(m.windows, vals, strict=True) if math.isfinite(v)
                              and v >= worst - 0.25 * abs(worst - thresholds[k])]
        seen = set()
        for rep_index, k, _p in sorted(faults, key=lambda f: (f[0] or 0, -f[2])):
            if (rep_index, k) in seen:
                continue
            seen.add((rep_index, k))
            findings.append({"rep_index": rep_index, "criterion": k,
                             "message": crits[k].message})
    return {"verdict": verdict, "score": round(float(score), 3), "findings": findings,
            "method": method, **base}
