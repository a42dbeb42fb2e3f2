"""Experiment: does the BODY SILHOUETTE (MediaPipe segmentation mask) separate faulty from
correct PushFit push-ups, where COCO keypoints could not?

Runs with a separate venv (``/work/exp/mpvenv``: mediapipe==0.10.14, opencv, scikit-learn);
imports nothing from the project. Source groups / held-out stems are read from JSON files
exported once with the project venv (see the ``--sources`` / ``--held-out`` options).

Per clip, at ~10 frames/s: legacy ``mp.solutions.pose.Pose(model_complexity=1,
enable_segmentation=True)`` -> 33 landmarks + person mask. Per frame, in the body frame
(axis shoulder -> ankle, or knee when the ankles are unseen; ``u`` along it, ``v`` perpendicular,
positive = away from the floor; all lengths in units of the shoulder-knee distance) the mask is
sampled on perpendicular lines between shoulder and knee, giving the back-side (upper) and
floor-side (lower) outline. Frame features: outline deviation from the axis line and from the
chord of the outline itself (sag < 0, pike > 0), the outline's quadratic curvature, the mask
centre line at the hip, landmark hip deviation, hip / knee / elbow angles. Clip features:
median / p10 / p90 over frames and the mean over the bottom frames (shoulders lowest).

Usage (MediaPipe 0.10.14 needs protobuf<5, TensorFlow 2.21 protobuf>=6.31: never in .venv):
  python3 -m venv /work/exp/mpvenv
  /work/exp/mpvenv/bin/pip install mediapipe==0.10.14 opencv-python-headless scikit-learn
  /work/exp/mpvenv/bin/python scripts/pushup_silhouette_experiment.py extract
  /work/exp/mpvenv/bin/python scripts/pushup_silhouette_experiment.py evaluate
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path("/work/shared/data")
FOLDERS = ("pushfit_sample", "pushfit_more")
EXP = Path("/work/exp")
_NAME = re.compile(r"^(correct|wrong)(\d+)$")
TARGET_FPS = 10.0

# BlazePose indices (left, right)
SHO, ELB, WRI, HIP, KNE, ANK = (11, 12), (13, 14), (15, 16), (23, 24), (25, 26), (27, 28)
N_U = 48  # outline samples along the axis
V_MAX = 0.6  # perpendicular search range (units of shoulder-knee length)
N_V = 241

FRAME_KEYS = [
    "hip_dev", "hip_angle", "knee_angle", "elbow_angle", "tilt",
    "back_line_min", "back_line_max", "back_at_hip",
    "back_chord_min", "back_chord_max", "back_curv",
    "belly_chord_min", "belly_chord_max", "belly_curv",
    "center_at_hip", "center_extreme", "thick_ratio", "back_hull_depth", "lumbar_depth",
]
SIL_KEYS = {"back_line_min", "back_line_max", "back_at_hip", "back_chord_min", "back_chord_max",
            "back_curv", "belly_chord_min", "belly_chord_max", "belly_curv", "center_at_hip",
            "center_extreme", "thick_ratio", "back_hull_depth", "lumbar_depth"}


def video_files() -> list[Path]:
    out = []
    for folder in FOLDERS:
        out += [p for p in sorted((DATA / folder).glob("*.mp4")) if _NAME.match(p.stem)]
    return out


def label(stem: str) -> int:
    return 1 if stem.startswith("wrong") else 0


# ---------------------------------------------------------------- geometry

def _angle(a, b, c) -> float:
    v1, v2 = a - b, c - b
    n = np.linalg.norm(v1) * np.linalg.norm(v2)
    if n < 1e-6:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(np.dot(v1, v2) / n, -1, 1))))


def _run_around(b: np.ndarray, centre: int, max_off: int = 12):
    """Indices (lo, hi) of the True run of ``b`` containing ``centre`` (or the nearest True
    within ``max_off``); None if none."""
    if not b[centre]:
        idx = np.flatnonzero(b[max(0, centre - max_off):centre + max_off + 1])
        if idx.size == 0:
            return None
        centre = max(0, centre - max_off) + int(idx[np.argmin(np.abs(idx + max(
            0, centre - max_off) - centre))])
    lo = centre
    while lo > 0 and b[lo - 1]:
        lo -= 1
    hi = centre
    while hi < len(b) - 1 and b[hi + 1]:
        hi += 1
    return lo, hi


def _upper_hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Upper convex hull of the points (x sorted ascending), evaluated at x."""
    hull: list[int] = []
    for i in range(len(x)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (x[b] - x[a]) * (y[i] - y[a]) - (y[b] - y[a]) * (x[i] - x[a]) >= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    return np.interp(x, x[hull], y[hull])


def frame_geometry(lm: np.ndarray, mask: np.ndarray, w: int, h: int):
    """lm: (33, 4) x, y (pixels), z, visibility. Returns (features dict, drawing dict) or None."""
    import cv2

    xy, vis = lm[:, :2], lm[:, 3]

    def mid(pair):
        return (xy[pair[0]] + xy[pair[1]]) / 2

    side = 0 if vis[[11, 13, 15, 23, 25, 27]].sum() >= vis[[12, 14, 16, 24, 26, 28]].sum() else 1
    S, H, K, A = mid(SHO), mid(HIP), mid(KNE), mid(ANK)
    Ls = np.linalg.norm(K - S)
    if Ls < 10:
        return None
    ank_vis = max(vis[ANK[0]], vis[ANK[1]])
    a_in = (0 <= A[0] < w) and (0 <= A[1] < h)
    use_ankle = bool(ank_vis > 0.5 and a_in)
    E = A if use_ankle else K
    d = E - S
    d = d / np.linalg.norm(d)
    n = np.array([d[1], -d[0]])
    if n[1] > 0:  # make n point up in the image (away from the floor)
        n = -n
    tilt = float(np.degrees(np.arctan2(abs(d[1]), abs(d[0]))))

    def uv(p):
        r = p - S
        return float(r @ d) / Ls, float(r @ n) / Ls

    u_h, hip_dev = uv(H)
    u_k, _ = uv(K)
    feats = {
        "hip_dev": hip_dev,
        "hip_angle": _angle(xy[SHO[side]], xy[HIP[side]], xy[KNE[side]]),
        "knee_angle": _angle(xy[HIP[side]], xy[KNE[side]], xy[ANK[side]]),
        "elbow_angle": _angle(xy[SHO[side]], xy[ELB[side]], xy[WRI[side]]),
        "tilt": tilt,
        "use_ankle": float(use_ankle),
        "ank_vis": float(ank_vis),
        "shoulder_y": float(S[1]) / Ls,
        "shoulder_y_px": float(S[1]),
    }
    for k in FRAME_KEYS:
        feats.setdefault(k, float("nan"))
    draw = {"S": S, "E": E, "H": H, "K": K, "n": n, "d": d, "Ls": Ls}
    if tilt > 45 or u_k < 0.5:
        return feats, draw
    # sample the mask on perpendicular lines between shoulder and knee
    us = np.linspace(0.0, u_k, N_U)
    vs = np.linspace(-V_MAX, V_MAX, N_V)
    U, V = np.meshgrid(us, vs, indexing="ij")
    px = (S[0] + Ls * (U * d[0] + V * n[0])).astype(np.float32)
    py = (S[1] + Ls * (U * d[1] + V * n[1])).astype(np.float32)
    samp = cv2.remap(mask.astype(np.float32), px, py, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    b = samp > 0.5
    c0 = N_V // 2
    up = np.full(N_U, np.nan)
    lo = np.full(N_U, np.nan)
    for i in range(N_U):
        r = _run_around(b[i], c0)
        if r is None or r[1] == N_V - 1 or r[0] == 0:
            continue  # no body on the line, or touching the search border
        lo[i], up[i] = vs[r[0]], vs[r[1]]
    draw.update(us=us, up=up, lo=lo)
    # torso+hip range: skip the shoulder / arm region and the knee end
    sel = (us >= 0.15 * u_k) & (us <= 0.95 * u_k) & np.isfinite(up)
    if sel.sum() < N_U * 0.4:
        return feats, draw
    uu, bu, bl = us[sel], up[sel], lo[sel]
    feats["back_line_min"] = float(bu.min())
    feats["back_line_max"] = float(bu.max())
    j = int(np.argmin(np.abs(uu - u_h)))
    feats["back_at_hip"] = float(bu[j])
    for name, prof in (("back", bu), ("belly", bl)):
        chord = prof[0] + (prof[-1] - prof[0]) * (uu - uu[0]) / max(uu[-1] - uu[0], 1e-6)
        dev = prof - chord
        feats[f"{name}_chord_min"] = float(dev.min())
        feats[f"{name}_chord_max"] = float(dev.max())
        t = (uu - uu[0]) / max(uu[-1] - uu[0], 1e-6)
        feats[f"{name}_curv"] = float(np.polyfit(t, prof, 2)[0])  # <0: convex up (pike hump)
    hull = _upper_hull(uu, bu)
    depth = hull - bu  # >= 0: how far the back dips below the line over shoulder blades / glutes
    feats["back_hull_depth"] = float(depth.max())
    lumbar = (uu >= 0.4 * u_h) & (uu <= 1.05 * u_h)
    feats["lumbar_depth"] = float(depth[lumbar].max()) if lumbar.any() else float("nan")
    centre = (bu + bl) / 2
    feats["center_at_hip"] = float(centre[j])
    feats["center_extreme"] = float(centre[np.argmax(np.abs(centre))])
    thick = bu - bl
    chest = thick[(uu <= uu[0] + 0.3 * (uu[-1] - uu[0]))]
    feats["thick_ratio"] = float(thick[j] / max(np.median(chest), 1e-6))
    return feats, draw


# ---------------------------------------------------------------- extraction

def iter_frames(path: Path, fps: float = TARGET_FPS):
    import cv2

    cap = cv2.VideoCapture(str(path))
    src_fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    i, nxt = 0, 0.0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        t = i / src_fps
        if t + 1e-6 >= nxt:
            yield t, frame
            nxt += 1.0 / fps
        i += 1
    cap.release()


def extract_clip(path: Path, keep_frames: bool = False):
    import cv2
    import mediapipe as mp

    frames, kept = [], []
    t_pose = 0.0
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                                enable_segmentation=True) as pose:
        for t, bgr in iter_frames(path):
            h, w = bgr.shape[:2]
            t0 = time.perf_counter()
            res = pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            t_pose += time.perf_counter() - t0
            rec = {"t": round(t, 3), "found": res.pose_landmarks is not None}
            if rec["found"] and res.segmentation_mask is not None:
                lm = np.array([[p.x * w, p.y * h, p.z, p.visibility]
                               for p in res.pose_landmarks.landmark], np.float64)
                out = frame_geometry(lm, res.segmentation_mask, w, h)
                if out is not None:
                    rec.update({k: (None if not np.isfinite(v) else round(float(v), 5))
                                for k, v in out[0].items()})
                    if keep_frames:
                        kept.append((len(frames), bgr, res.segmentation_mask.copy(), lm, out[1]))
                else:
                    rec["found"] = False
            frames.append(rec)
    return frames, t_pose, kept


def _nan(x):
    return float("nan") if x is None else float(x)


def clip_features(frames: list[dict]) -> dict:
    ok = [f for f in frames if f.get("found")]
    out = {"n_frames": len(frames), "found_frac": len(ok) / max(len(frames), 1)}
    if not ok:
        return out
    sy = np.array([_nan(f.get("shoulder_y_px")) for f in ok])
    thr = np.nanpercentile(sy, 80)
    bottom = sy >= thr
    out["bottom_idx"] = [i for i, f in enumerate(frames) if f.get("found")
                         and _nan(f.get("shoulder_y_px")) >= thr]
    for k in FRAME_KEYS:
        a = np.array([_nan(f.get(k)) for f in ok])
        fin = np.isfinite(a)
        if fin.sum() == 0:
            continue
        out[f"{k}_med"] = float(np.median(a[fin]))
        out[f"{k}_p10"] = float(np.percentile(a[fin], 10))
        out[f"{k}_p90"] = float(np.percentile(a[fin], 90))
        bf = bottom & fin
        if bf.any():
            out[f"{k}_bot"] = float(np.mean(a[bf]))
    e = np.array([_nan(f.get("elbow_angle")) for f in ok])
    if np.isfinite(e).sum() >= 2:
        out["elbow_range"] = float(np.nanpercentile(e, 90) - np.nanpercentile(e, 10))
    out["sil_valid_frac"] = float(np.mean([f.get("back_line_min") is not None for f in ok]))
    out["ankle_frac"] = float(np.mean([_nan(f.get("use_ankle")) == 1 for f in ok]))
    return out


def draw_overlay(path_png: Path, bgr, mask, lm, draw, title: str):
    import cv2

    img = bgr.copy()
    m8 = (mask > 0.5).astype(np.uint8)
    cnts, _ = cv2.findContours(m8, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(img, cnts, -1, (0, 255, 0), 1)
    S, E, d, n, Ls = draw["S"], draw["E"], draw["d"], draw["n"], draw["Ls"]
    cv2.line(img, tuple(int(v) for v in S), tuple(int(v) for v in E), (0, 0, 255), 1)
    if "us" in draw:
        for u, vu, vl in zip(draw["us"], draw["up"], draw["lo"], strict=True):
            if np.isfinite(vu):
                p = S + Ls * (u * d + vu * n)
                q = S + Ls * (u * d + vl * n)
                cv2.circle(img, (int(p[0]), int(p[1])), 2, (0, 255, 255), -1)
                cv2.circle(img, (int(q[0]), int(q[1])), 2, (255, 255, 0), -1)
    for key, col in (("S", (255, 0, 255)), ("H", (255, 0, 255)), ("K", (255, 0, 255))):
        p = draw[key]
        cv2.circle(img, (int(p[0]), int(p[1])), 4, col, -1)
    big = cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    cv2.putText(big, title, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    path_png.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path_png), big)


def cmd_extract(args):
    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    png_stems = set(args.png)
    files = video_files()
    if args.only:
        files = [p for p in files if p.stem in set(args.only)]
    total_t, total_n = 0.0, 0
    for i, p in enumerate(files):
        want_png = p.stem in png_stems
        if p.stem in cache and not want_png and not args.force:
            continue
        t0 = time.perf_counter()
        frames, t_pose, kept = extract_clip(p, keep_frames=want_png)
        total_t += t_pose
        total_n += len(frames)
        feats = clip_features(frames)
        cache[p.stem] = {"label": label(p.stem), "features": feats, "frames": frames,
                         "pose_s_per_frame": t_pose / max(len(frames), 1)}
        ms = t_pose / max(len(frames), 1) * 1e3
        print(f"[{i + 1}/{len(files)}] {p.stem}: {len(frames)} fr, found {feats['found_frac']:.2f}"
              f", sil {feats.get('sil_valid_frac', 0):.2f}, {ms:.0f} ms/fr pose, "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        if want_png and kept:
            bidx = set(feats.get("bottom_idx", []))
            cand = [k for k in kept if k[0] in bidx and "us" in k[4]] or kept
            sy = [k[4]["S"][1] for k in cand]
            fi, bgr, mask, lm, draw = cand[int(np.argmax(sy))]
            fr = frames[fi]
            title = (f"{p.stem} t={fr['t']:.1f}s back_chord_min={fr.get('back_chord_min')} "
                     f"hip_dev={fr.get('hip_dev')}")
            draw_overlay(Path(args.png_dir) / f"{p.stem}_bottom.png", bgr, mask, lm, draw, title)
        if (i + 1) % 10 == 0:
            cache_path.write_text(json.dumps(cache))
    cache_path.write_text(json.dumps(cache))
    if total_n:
        print(f"pose+segmentation: {total_t / total_n * 1e3:.1f} ms/frame over {total_n} frames")


# ---------------------------------------------------------------- evaluation

def _auc(y, s):
    from sklearn.metrics import roc_auc_score

    m = np.isfinite(s)
    if len(set(y[m])) < 2:
        return float("nan")
    return float(roc_auc_score(y[m], s[m]))


C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def _pipe(c):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                         LogisticRegression(C=c, max_iter=5000, class_weight="balanced"))


class _Fitted:
    def __init__(self, model, c):
        self.model, self.c = model, c

    def predict_proba(self, X):
        return self.model.predict_proba(X)


def _auc_w(y, s, g):
    """AUC with each clip weighted 1 / (clips of its source): every recording counts once."""
    from sklearn.metrics import roc_auc_score

    w = np.array([1.0 / np.sum(g == k) for k in g])
    m = np.isfinite(s)
    return float(roc_auc_score(y[m], s[m], sample_weight=w[m]))


def _model(X, y, g):
    """Standardised L2 logistic regression (class-balanced, so a fold's class prior does not
    shift the pooled out-of-fold scores); C picked by the pooled out-of-fold AUC of an inner
    4-fold GroupKFold on the training data only (pooled, so a one-class inner fold is harmless;
    ties -> the smaller C)."""
    from sklearn.model_selection import GroupKFold

    n_inner = min(4, len(set(g)))
    best_c, best = C_GRID[0], -1.0
    for c in C_GRID:
        p = np.full(len(y), np.nan)
        for tr, te in GroupKFold(n_splits=n_inner).split(X, y, g):
            if len(set(y[tr])) < 2:
                continue
            p[te] = _pipe(c).fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
        auc = _auc(y, p)
        if np.isfinite(auc) and auc > best + 1e-9:
            best_c, best = c, auc
    return _Fitted(_pipe(best_c).fit(X, y), best_c)


def _oof(X, y, g):
    from sklearn.model_selection import GroupKFold

    p = np.full(len(y), np.nan)
    cs, fold_aucs = [], []
    for tr, te in GroupKFold(n_splits=5).split(X, y, g):
        m = _model(X[tr], y[tr], g[tr])
        p[te] = m.predict_proba(X[te])[:, 1]
        cs.append(m.c)
        fold_aucs.append(round(_auc(y[te], p[te]), 3))
    return p, cs, fold_aucs


def _boot_ci(y, p, g, n=2000, seed=0):
    rng = np.random.default_rng(seed)
    groups = np.unique(g)
    idx_by = {k: np.flatnonzero(g == k) for k in groups}
    vals = []
    for _ in range(n):
        pick = rng.choice(groups, size=len(groups), replace=True)
        idx = np.concatenate([idx_by[k] for k in pick])
        if len(set(y[idx])) < 2:
            continue
        vals.append(_auc(y[idx], p[idx]))
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def cmd_evaluate(args):
    import warnings

    warnings.filterwarnings("ignore")
    cache = json.loads(Path(args.cache).read_text())
    sources = json.loads(Path(args.sources).read_text())
    held = set(json.loads(Path(args.held_out).read_text()))
    stems = sorted(cache)
    y = np.array([cache[s]["label"] for s in stems])
    g = np.array([sources[s] for s in stems])
    failed = [s for s in stems if cache[s]["features"].get("found_frac", 0) == 0]
    poor = [s for s in stems if cache[s]["features"].get("found_frac", 0) < 0.5]
    nosil = [s for s in stems if cache[s]["features"].get("sil_valid_frac", 0) < 0.3]
    keys = sorted({k for s in stems for k in cache[s]["features"]
                   if k not in ("bottom_idx", "n_frames", "found_frac")})
    X = np.array([[cache[s]["features"].get(k, np.nan) for k in keys] for s in stems], float)
    ms = [cache[s].get("pose_s_per_frame", np.nan) for s in stems]
    res = {"n_clips": len(stems), "n_wrong": int(y.sum()), "n_groups": len(set(g)),
           "failed_clips": failed, "found_lt_50pct": poor, "silhouette_lt_30pct": nosil,
           "pose_ms_per_frame_median": float(np.nanmedian(ms) * 1e3)}
    single = {k: _auc(y, X[:, i]) for i, k in enumerate(keys)}
    res["single_auc"] = dict(sorted(single.items(), key=lambda kv: -abs(kv[1] - 0.5)))
    base = lambda k: re.sub(r"_(med|p10|p90|bot)$", "", k)  # noqa: E731
    sets = {
        "all": list(range(len(keys))),
        "silhouette": [i for i, k in enumerate(keys) if base(k) in SIL_KEYS],
        "landmarks": [i for i, k in enumerate(keys) if base(k) not in SIL_KEYS
                      and k not in ("sil_valid_frac",)],
    }
    test = np.array([s in held for s in stems])
    res["models"] = {}
    for name, cols in sets.items():
        Xs = X[:, cols]
        p, cs, fa = _oof(Xs, y, g)
        auc = _auc(y, p)
        lo, hi = _boot_ci(y, p, g)
        m = _model(Xs[~test], y[~test], g[~test])
        ph = m.predict_proba(Xs[test])[:, 1]
        res["models"][name] = {"n_features": len(cols), "oof_auc": auc, "ci95": [lo, hi],
                               "inner_C": cs, "fold_aucs": fa,
                               "source_balanced_oof_auc": _auc_w(y, p, g),
                               "held_out_auc": _auc(y[test], ph),
                               "held_out_n": int(test.sum()),
                               "held_out_wrong": int(y[test].sum())}
    # grouped-CV AUC of the 10 best single features (a 1-feature model: direction and scale
    # learnt on the training folds only, so the in-sample pick of the feature is the only leak)
    res["single_oof_auc"] = {}
    for k in list(res["single_auc"])[:10]:
        i = keys.index(k)
        p, _, fa = _oof(X[:, [i]], y, g)
        lo, hi = _boot_ci(y, X[:, i], g)
        res["single_oof_auc"][k] = {"in_sample_auc": single[k], "boot_ci95": [lo, hi],
                                    "source_balanced_auc": _auc_w(y, X[:, i], g),
                                    "oof_auc": _auc(y, p), "fold_aucs": fa}
    print(json.dumps(res, indent=1))
    Path(args.out).write_text(json.dumps(res, indent=1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("cmd", choices=["extract", "evaluate"])
    ap.add_argument("--cache", default=str(EXP / "silhouette_features.json"))
    ap.add_argument("--sources", default=str(EXP / "pushfit_sources.json"))
    ap.add_argument("--held-out", default=str(EXP / "pushfit_held_out.json"))
    ap.add_argument("--out", default=str(EXP / "silhouette_results.json"))
    ap.add_argument("--png-dir", default=str(EXP / "silhouette_png"))
    ap.add_argument("--png", nargs="*", default=["correct1", "correct23", "wrong6", "wrong7"])
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    {"extract": cmd_extract, "evaluate": cmd_evaluate}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
