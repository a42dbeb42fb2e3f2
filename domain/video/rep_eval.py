"""Repetition counting measured on real sequences with a known count.

Cases (:func:`build_cases`):

* ``utd_single``: every UTD-MHAD exercise trial (arm curl, squat, lunge, sit-to-stand,
  stand-to-sit; one repetition each, the dataset's protocol) projected from three views
  (front, 45 degrees, profile) with YOLO-like noise at 10 fps, as the pipeline samples video;
* ``utd_concat``: 2-4 trials of the same subject and action (arm curl, squat, lunge) joined
  in 3-D (each trial moved so its mean hip centre matches the first, a short blend between
  trials), then projected: 2-4 real repetitions in a row;
* ``pose_trainer_concat``: 2-5 Pose Trainer single-repetition files of one exercise (good and
  bad), each moved and scaled to the first one's hips and torso, blended, at 30 fps;
* ``pose_trainer_single``: each Pose Trainer file alone (about one repetition, the dataset's
  description).

Counting is run without an exercise hint (``exercise=None``: the dominant periodic joint
motion) and, for comparison, with the true exercise. Figures: mean absolute error and the share
of sequences within one repetition of the truth, per case kind and pooled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .vocabulary import canonical_label

UTD_SINGLE_ACTIONS = ("arm_curl", "squat", "lunge", "sit_to_stand", "stand_to_sit")
UTD_CONCAT_ACTIONS = ("arm_curl", "squat", "lunge")
EVAL_VIEWS = ((0.0, 10.0), (45.0, 15.0), (90.0, 10.0))


@dataclass
class RepCase:
    kind: str
    name: str
    keypoints: np.ndarray  # (T, 17, 3) pixels
    fps: float
    truth: int
    exercise: str
    group: str
    meta: dict = field(default_factory=dict)


def _blend(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """a then b, with ``n`` frames of linear blend from a's last frame to b's first."""
    if n <= 0:
        return np.concatenate([a, b])
    w = np.linspace(0, 1, n + 2)[1:-1].reshape((-1,) + (1,) * (a.ndim - 1))
    mid = a[-1] * (1 - w) + b[0] * w
    return np.concatenate([a, mid.astype(a.dtype), b])


def concat_utd(trials, blend: int = 6) -> np.ndarray:
    """Join UTD trials (T, 20, 3) in 3-D, each moved to the first trial's mean hip centre."""
    base = np.nanmean(trials[0].xyz[:, 3], axis=0)
    out = trials[0].xyz
    for tr in trials[1:]:
        x = tr.xyz - np.nanmean(tr.xyz[:, 3], axis=0) + base
        out = _blend(out, x, blend)
    return out


def _hip_torso(kp: np.ndarray) -> tuple[np.ndarray, float]:
    from . import keypoints as K

    xy = K.masked_xy(K.as_sequence(kp))
    center, scale = K.body_center_scale(xy)
    return center, scale


def _facing(xy: np.ndarray) -> float:
    """Sign of the nose's horizontal offset from the mid-hip (which way a side view faces)."""
    from . import keypoints as K

    d = xy[:, K.NOSE, 0] - K.mid_hip(xy)[:, 0]
    d = d[np.isfinite(d)]
    return float(np.sign(np.median(d))) if d.size else 0.0


def concat_2d(seqs: list[np.ndarray], fade: int = 10) -> np.ndarray:
    """Join 2-D pixel sequences of one exercise (different people): each is moved and scaled
    onto the first one's hips and torso (mirrored when filmed from the other side), and joined
    at matching rest poses (a per-joint offset
    that makes its first frame continue the previous last frame fades out over ``fade``
    frames), as one person's consecutive repetitions would be."""
    from . import keypoints as K

    c0, s0 = _hip_torso(seqs[0])
    out = K.masked_xy(K.as_sequence(seqs[0]))
    conf = K.as_sequence(seqs[0])[..., 2]
    face0 = _facing(out)
    for s in seqs[1:]:
        c, sc = _hip_torso(s)
        s = K.as_sequence(s)
        x = K.masked_xy(s)
        if face0 * _facing(x) < 0:  # filmed from the other side: mirror about the hips
            x[..., 0] = 2 * c[0] - x[..., 0]
        x = (x - c) * (s0 / sc) + c0
        x = K.interpolate_gaps(x, max_gap=10)
        prev = K.interpolate_gaps(out, max_gap=10)[-1]
        off = prev - x[0]
        off = np.where(np.isfinite(off), off, 0.0)
        n = min(fade, x.shape[0])
        w = np.zeros(x.shape[0])
        w[:n] = np.linspace(1, 0, n)
        x = x + w[:, None, None] * off[None]
        out = np.concatenate([out, x])
        conf = np.concatenate([conf, s[..., 2]])
    seen = np.isfinite(out).all(axis=-1)
    res = np.zeros(out.shape[:2] + (3,), np.float32)
    res[..., :2] = np.where(seen[..., None], out, 0.0)
    res[..., 2] = np.where(seen, np.maximum(conf, 0.35), 0.0)
    return res


def build_cases(seed: int = 0, subjects: tuple[int, ...] | None = None,
                max_concat: int = 60) -> list[RepCase]:
    from .datasets import pose_trainer, utd_mhad

    rng = np.random.default_rng(seed)
    cases: list[RepCase] = []
    trials = utd_mhad.load_trials()
    if subjects:
        trials = [t for t in trials if t.subject in subjects]
    for tr in trials:
        if tr.action not in UTD_SINGLE_ACTIONS:
            continue
        for yaw, el in EVAL_VIEWS:
            kp = utd_mhad.render(tr, yaw, el, rng, fps_out=10.0)
            cases.append(RepCase("utd_single", f"s{tr.subject}_{tr.action}_t{tr.trial}_y{int(yaw)}",
                                 kp, 10.0, 1, canonical_label(tr.action), tr.group,
                                 {"view": utd_mhad.view_name(yaw, el)}))
    by_sa: dict[tuple[int, str], list] = {}
    for tr in trials:
        if tr.action in UTD_CONCAT_ACTIONS:
            by_sa.setdefault((tr.subject, tr.action), []).append(tr)
    for (subj, action), trs in sorted(by_sa.items()):
        for k in (2, 3, 4):
            if len(trs) < k:
                continue
            pick = [trs[i] for i in sorted(rng.permutation(len(trs))[:k])]
            joined = utd_mhad.UtdTrial(action, subj, 0, concat_utd(pick))
            yaw, el = EVAL_VIEWS[int(rng.integers(len(EVAL_VIEWS)))]
            kp = utd_mhad.render(joined, yaw, el, rng, fps_out=10.0)
            cases.append(RepCase("utd_concat", f"s{subj}_{action}_x{k}_y{int(yaw)}", kp, 10.0, k,
                                 canonical_label(action), f"utd:s{subj}",
                                 {"view": utd_mhad.view_name(yaw, el)}))
    pt = list(pose_trainer.load())
    for s in pt:
        cases.append(RepCase("pose_trainer_single", s.name, np.nan_to_num(s.keypoints, nan=0.0),
                             s.fps, 1, canonical_label(s.exercise), s.group))
    by_ex: dict[str, list] = {}
    for s in pt:
        by_ex.setdefault(s.exercise, []).append(s)
    per_ex = max(max_concat // max(len(by_ex), 1), 1)
    for ex, items in sorted(by_ex.items()):
        for _ in range(per_ex):
            k = int(rng.integers(2, 6))
            pick = [items[i] for i in rng.permutation(len(items))[:k]]
            kp = concat_2d([p.keypoints for p in pick])
            cases.append(RepCase("pose_trainer_concat", f"{ex}_x{k}", kp, pick[0].fps, k,
                                 canonical_label(ex), "+".join(p.group for p in pick)))
    return cases


def score(truth: list[int], counted: list[int]) -> dict:
    t = np.asarray(truth)
    c = np.asarray(counted)
    if t.size == 0:
        return {"n": 0}
    err = np.abs(c - t)
    return {"n": int(t.size), "mae": round(float(err.mean()), 4),
            "within_one": round(float((err <= 1).mean()), 4),
            "exact": round(float((err == 0).mean()), 4)}


def evaluate(cases: list[RepCase], modes=("no_hint", "true_exercise"), classifier=None) -> dict:
    """Count every case in each mode -> {mode: {kind: score, "pooled": score}, "cases": [...]}.

    Modes: ``no_hint`` (``exercise=None``), ``true_exercise``, ``classifier`` (the label the
    given classifier answers, the dominant motion when it answers ``unknown``)."""
    from .reps import segment_repetitions

    out: dict = {}
    rows = []
    counts: dict[str, list[int]] = {m: [] for m in modes}
    for c in cases:
        row = {"kind": c.kind, "name": c.name, "truth": c.truth, "exercise": c.exercise}
        for m in modes:
            ex = None
            if m == "true_exercise":
                ex = c.exercise
            elif m == "classifier" and classifier is not None:
                lab = classifier.predict(c.keypoints, fps=c.fps)["label"]
                ex = None if lab == "unknown" else lab
                row["classifier_label"] = lab
            n = len(segment_repetitions(c.keypoints, c.fps, ex))
            counts[m].append(n)
            row[m] = n
        rows.append(row)
    kinds = sorted({c.kind for c in cases})
    for m in modes:
        res = {}
        for k in kinds:
            idx = [i for i, c in enumerate(cases) if c.kind == k]
            res[k] = score([cases[i].truth for i in idx], [counts[m][i] for i in idx])
        res["pooled"] = score([c.truth for c in cases], counts[m])
        out[m] = res
    out["cases"] = rows
    return out
