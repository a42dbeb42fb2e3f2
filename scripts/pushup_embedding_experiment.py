"""EXPERIMENT (not used in production): do appearance features of the project's own pose network
separate correct from faulty PushFit push-ups across source recordings?

Steps
1. ``extract``: every PushFit clip (``domain.video.datasets.pushfit.video_files``) is read with
   OpenCV at ``--fps`` frames/s, enhanced as the pose task does (``filters.enhance``) and run
   through ``yolo11n-pose.pt`` (Ultralytics, PyTorch on CPU). Forward hooks keep the feature maps
   of layers 10 (C2PSA, stride 32), 16 (neck P3, stride 8), 19 (neck P4, stride 16) and 22 (neck
   P5, stride 32). Inside the main person's box (the largest) each map is ROI-average-pooled
   (bilinear sampling, ``grid_sample``) to 1x1 and to a 2x4 grid (4 columns along the image's
   x axis, mirrored so that the head is always on the left); layer 10 is also pooled over the
   whole frame (a background / context control). The person's keypoints are kept as well.
   Per-frame vectors are cached in ``var/experiments/pushup_emb_<imgsz>_<fps>.npz``.
2. ``evaluate``: per clip the frame vectors are averaged (``mean``), or averaged over the third of
   the frames where the shoulders are lowest (``low``), or both concatenated (``both``).
   Standardize -> (PCA) -> logistic regression, C (and the decision threshold, max balanced
   accuracy) chosen by an inner grouped CV only; outer CV grouped by source recording
   (``pushfit.source_groups``). Reported: out-of-fold ROC AUC (GroupKFold 5, and
   StratifiedGroupKFold 5 over several shuffles), a cluster bootstrap CI (resampling sources),
   the share of correct clips flagged / wrong clips caught at the inner threshold, the AUC on the
   fixed held-out split (``pushfit.held_out_stems``), and the within-source AUC over the sources
   that hold both correct and wrong clips.

Usage::

    .venv/bin/python scripts/pushup_embedding_experiment.py extract --imgsz 320
    .venv/bin/python scripts/pushup_embedding_experiment.py evaluate --imgsz 320
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT_DIR = ROOT / "var" / "experiments"
LAYERS = (10, 16, 19, 22)
GRID = (2, 4)  # rows x columns (columns along x, head on the left)
SAMPLES_PER_CELL = 3  # bilinear samples per grid cell and axis
BATCH = 8
C_GRID = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


# --------------------------------------------------------------------------- extraction


def _label(stem: str) -> int:
    """1 = wrong (faulty), 0 = correct."""
    return 0 if stem.startswith("correct") else 1


def _read_frames(path: Path, fps: float) -> tuple[list[np.ndarray], list[float]]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    src_fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames, times = [], []
    next_t, i = 0.0, 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            t = i / src_fps
            if t + 1e-6 >= next_t:
                frames.append(frame)
                times.append(t)
                next_t += 1.0 / fps
            i += 1
    finally:
        cap.release()
    return frames, times


def _roi_pool(fmap, box_in, in_hw, grid, flip: bool):
    """Bilinear ROI average pooling of one (C, H, W) map inside ``box_in`` (x1, y1, x2, y2 in the
    network input's pixels) -> (C * rows * cols,) ; columns mirrored when ``flip``."""
    import torch
    import torch.nn.functional as F

    rows, cols = grid
    hin, win = in_hw
    x1, y1, x2, y2 = box_in
    nx, ny = cols * SAMPLES_PER_CELL, rows * SAMPLES_PER_CELL
    xs = x1 + (torch.arange(nx, dtype=torch.float32) + 0.5) * (x2 - x1) / nx
    ys = y1 + (torch.arange(ny, dtype=torch.float32) + 0.5) * (y2 - y1) / ny
    gx = 2.0 * xs / win - 1.0  # align_corners=False: -1/+1 are the input's outer edges
    gy = 2.0 * ys / hin - 1.0
    gyy, gxx = torch.meshgrid(gy, gx, indexing="ij")
    g = torch.stack([gxx, gyy], dim=-1)[None]
    s = F.grid_sample(fmap[None].float(), g, mode="bilinear", padding_mode="border",
                      align_corners=False)[0]  # (C, ny, nx)
    pooled = F.adaptive_avg_pool2d(s, (rows, cols))
    if flip:
        pooled = pooled.flip(-1)
    return pooled.reshape(-1).numpy()


def _head_left(kp: np.ndarray) -> bool:
    """Whether the head (nose / shoulders) is left of the hips / ankles in the frame."""
    def mx(idx):
        v = kp[idx]
        v = v[v[:, 2] >= 0.3]
        return float(v[:, 0].mean()) if len(v) else np.nan

    head = mx([0, 5, 6])
    feet = mx([15, 16])
    if not np.isfinite(feet):
        feet = mx([11, 12])
    if not (np.isfinite(head) and np.isfinite(feet)):
        return True
    return head <= feet


def extract(imgsz: int, fps: float, threads: int, limit: int | None = None) -> Path:
    import torch

    torch.set_num_threads(threads)
    from domain.video import filters
    from domain.video.datasets import pushfit
    from domain.video.nms_patch import import_ultralytics
    from domain.video.pose import default_weights

    ultralytics = import_ultralytics()
    model = ultralytics.YOLO(str(default_weights()), task="pose")
    net = model.model.model
    store: dict = {}
    net[0].register_forward_pre_hook(lambda m, inp: store.__setitem__("in", inp[0].shape))
    for li in LAYERS:
        net[li].register_forward_hook(lambda m, i, o, li=li: store.__setitem__(li, o.detach()))

    files = pushfit.video_files()
    files = files[:limit] if limit else files
    keys = [f"L{li}_box" for li in LAYERS] + [f"L{li}_grid" for li in LAYERS] + ["L10_frame"]
    feats: dict[str, list] = {k: [] for k in keys}
    clip_idx, kps, boxes, times_all = [], [], [], []
    t_model = t_pool = 0.0
    n_frames = 0
    for ci, path in enumerate(files):
        frames, times = _read_frames(path, fps)
        for b0 in range(0, len(frames), BATCH):
            batch = [filters.enhance(f) for f in frames[b0:b0 + BATCH]]
            t0 = time.perf_counter()
            res = model.predict(batch, imgsz=imgsz, device="cpu", verbose=False, conf=0.25)
            t1 = time.perf_counter()
            hin, win = int(store["in"][2]), int(store["in"][3])
            assert store[LAYERS[0]].shape[0] == len(res), "hook batch != results"
            for bi, r in enumerate(res):
                h0, w0 = r.orig_shape
                n_frames += 1
                clip_idx.append(ci)
                times_all.append(times[b0 + bi])
                if r.boxes is None or len(r.boxes) == 0:
                    for k in keys:
                        feats[k].append(None)
                    kps.append(np.full((17, 3), np.nan, np.float32))
                    boxes.append(np.full(4, np.nan, np.float32))
                    continue
                xyxy = r.boxes.xyxy.numpy()
                j = int(np.argmax((xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])))
                kp = r.keypoints.data[j].numpy().astype(np.float32)
                kps.append(kp)
                boxes.append(xyxy[j].astype(np.float32))
                tp = time.perf_counter()
                gain = min(hin / h0, win / w0)
                padw = (win - round(w0 * gain)) / 2.0
                padh = (hin - round(h0 * gain)) / 2.0
                bx = xyxy[j]
                box_in = (bx[0] * gain + padw, bx[1] * gain + padh,
                          bx[2] * gain + padw, bx[3] * gain + padh)
                flip = not _head_left(kp)
                for li in LAYERS:
                    fm = store[li][bi]
                    feats[f"L{li}_box"].append(_roi_pool(fm, box_in, (hin, win), (1, 1), False))
                    feats[f"L{li}_grid"].append(_roi_pool(fm, box_in, (hin, win), GRID, flip))
                feats["L10_frame"].append(store[10][bi].float().mean(dim=(1, 2)).numpy())
                t_pool += time.perf_counter() - tp
            t_model += t1 - t0
        print(f"[{ci + 1}/{len(files)}] {path.name}: {len(frames)} frames "
              f"(model {t_model / max(n_frames, 1) * 1000:.0f} ms/frame, "
              f"pooling {t_pool / max(n_frames, 1) * 1000:.1f} ms/frame)", flush=True)

    arrays = {}
    for k, rows in feats.items():
        dim = next(len(v) for v in rows if v is not None)
        arrays[k] = np.stack([v if v is not None else np.full(dim, np.nan, np.float32)
                              for v in rows]).astype(np.float16)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"pushup_emb_{imgsz}_{fps:g}.npz"
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp, stems=np.array([p.stem for p in files]), folders=np.array([p.parent.name
                                                                          for p in files]),
        clip=np.array(clip_idx), kp=np.stack(kps), box=np.stack(boxes),
        times=np.array(times_all, np.float32),
        timing=np.array([t_model / n_frames, t_pool / n_frames]), **arrays)
    os.replace(tmp, out)
    print(f"wrote {out}: {n_frames} frames; model {t_model / n_frames * 1000:.0f} ms/frame, "
          f"extra pooling {t_pool / n_frames * 1000:.2f} ms/frame")
    return out


# --------------------------------------------------------------------------- clip features


def clip_features(data, key: str, agg: str) -> np.ndarray:
    clip = data["clip"]
    n = len(data["stems"])
    f = data[key].astype(np.float32)
    kp = data["kp"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # frames without a confident shoulder -> NaN
        sh_y = np.nanmean(np.where(kp[:, [5, 6], 2] >= 0.3, kp[:, [5, 6], 1], np.nan), axis=1)
    out = []
    for c in range(n):
        rows = np.where((clip == c) & np.isfinite(f).all(axis=1))[0]
        if len(rows) == 0:
            out.append(np.zeros(f.shape[1] * (2 if agg == "both" else 1), np.float32))  # noqa
            continue
        mean = f[rows].mean(axis=0)
        y = sh_y[rows]
        if np.isfinite(y).any():
            y = np.where(np.isfinite(y), y, np.nanmin(y))
            k = max(1, int(np.ceil(len(rows) / 3)))
            order = np.argsort(-y)  # image y points down: largest y = shoulders lowest
            low = f[rows[order[:k]]].mean(axis=0)
            high = f[rows[order[-k:]]].mean(axis=0)
        else:
            low = high = mean
        # diff: bottom-of-the-push-up frames minus top frames of the same clip - the clip's
        # static appearance (person, clothes, room) cancels, the posture change stays
        out.append({"mean": mean, "low": low, "both": np.concatenate([mean, low]),
                    "diff": low - high}[agg])
    return np.stack(out)


def keypoint_features(data) -> tuple[np.ndarray, list[str]]:
    """``form.training.execution_features`` on this run's own keypoints (imgsz / fps of the
    extraction, not the pipeline's cached 320 px / 10 fps keypoints) - an approximation."""
    from domain.video.datasets.common import Sample, mask
    from domain.video.form.training import execution_features

    clip = data["clip"]
    rows, names = [], set()
    for c, stem in enumerate(data["stems"]):
        kp = mask(data["kp"][clip == c])
        times = data["times"][clip == c]
        fps = 1.0 / float(np.median(np.diff(times))) if len(times) > 1 else 5.0
        s = Sample(dataset="pushfit", exercise="pushup", name=str(stem), group=str(stem),
                   keypoints=kp, fps=fps, width=640.0, height=360.0)
        try:
            feats, _ = execution_features(s)
        except Exception:  # noqa: BLE001 - a clip whose measure fails gets NaNs
            feats = {}
        feats = {k: float(v) for k, v in feats.items()
                 if isinstance(v, (int, float, np.floating)) and v is not None}
        rows.append(feats)
        names |= set(feats)
    names_l = sorted(names)
    X = np.array([[r.get(k, np.nan) for k in names_l] for r in rows], np.float64)
    X[~np.isfinite(X)] = np.nan
    return X, names_l


# --------------------------------------------------------------------------- evaluation


def _auc(y, s) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if len(set(y)) == 2 else float("nan")


def _pipe(C: float, pca: int | None):
    from sklearn.decomposition import PCA
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [SimpleImputer(strategy="median"), StandardScaler()]
    if pca:
        steps.append(PCA(n_components=pca, random_state=0))
    steps.append(LogisticRegression(C=C, max_iter=5000, class_weight="balanced"))
    return make_pipeline(*steps)


def _best_threshold(y, s) -> float:
    best, thr = -1.0, 0.5
    for t in np.unique(s):
        flag = s >= t
        tpr = flag[y == 1].mean()
        tnr = (~flag[y == 0]).mean()
        if (tpr + tnr) / 2 > best:
            best, thr = (tpr + tnr) / 2, float(t)
    return thr


def _inner_fit(X, y, g, pca, n_inner=4):
    """C by inner GroupKFold (AUC of the pooled inner out-of-fold scores), threshold from
    the inner out-of-fold scores at that C; returns (fitted model, C, threshold, inner AUC)."""
    from sklearn.model_selection import GroupKFold

    k = min(n_inner, len(set(g)))
    folds = list(GroupKFold(n_splits=k).split(X, y, g))
    best = (-1.0, None, None)
    for C in C_GRID:
        oof = np.full(len(y), np.nan)
        for tr, te in folds:
            if len(set(y[tr])) < 2:
                continue
            p = _pipe(C, _pca_n(pca, len(tr)))
            oof[te] = p.fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
        ok = np.isfinite(oof)
        a = _auc(y[ok], oof[ok])
        if a > best[0]:
            best = (a, C, oof)
    inner_auc, C, oof = best
    ok = np.isfinite(oof)
    thr = _best_threshold(y[ok], oof[ok])
    model = _pipe(C, _pca_n(pca, len(y))).fit(X, y)
    return model, C, thr, inner_auc


def _pca_n(pca, n_train):
    return None if not pca else int(min(pca, n_train - 2))


def _outer(X, y, g, splitter, pca):
    oof = np.full(len(y), np.nan)
    flag = np.zeros(len(y), bool)
    Cs = []
    for tr, te in splitter.split(X, y, g):
        model, C, thr, _ = _inner_fit(X[tr], y[tr], g[tr], pca)
        oof[te] = model.predict_proba(X[te])[:, 1]
        flag[te] = oof[te] >= thr
        Cs.append(C)
    return oof, flag, Cs


def _outer_select(sets, y, g, splitter, train_mask=None, test_mask=None):
    """Nested selection: in every outer fold each feature set gets its inner CV (C, threshold,
    inner AUC); the set with the best inner AUC scores the outer test clips. With masks instead
    of a splitter: one split (train_mask -> test_mask)."""
    oof = np.full(len(y), np.nan)
    flag = np.zeros(len(y), bool)
    chosen = []
    splits = ([(np.where(train_mask)[0], np.where(test_mask)[0])] if splitter is None
              else splitter.split(np.zeros(len(y)), y, g))
    for tr, te in splits:
        best = None
        for name, (X, pca) in sets.items():
            fit = _inner_fit(X[tr], y[tr], g[tr], pca)
            if best is None or fit[3] > best[1][3]:
                best = (name, fit)
        name, (model, C, thr, inner) = best
        X = sets[name][0]
        oof[te] = model.predict_proba(X[te])[:, 1]
        flag[te] = oof[te] >= thr
        chosen.append(f"{name}@C={C} inner {inner:.2f}")
    return oof, flag, chosen


def _cluster_bootstrap(y, s, g, n=1000, seed=0):
    rng = np.random.default_rng(seed)
    groups = np.unique(g)
    idx = {k: np.where(g == k)[0] for k in groups}
    vals = []
    for _ in range(n):
        pick = rng.choice(groups, len(groups), replace=True)
        rows = np.concatenate([idx[k] for k in pick])
        if len(set(y[rows])) == 2:
            vals.append(_auc(y[rows], s[rows]))
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def _within_source_auc(y, s, g):
    """Over sources holding both classes: share of (wrong, correct) pairs of the same source
    ranked right (ties 1/2); also the number of such sources and pairs."""
    good = pairs = 0.0
    mixed = 0
    for k in np.unique(g):
        m = g == k
        pos, neg = s[m & (y == 1)], s[m & (y == 0)]
        if len(pos) and len(neg):
            mixed += 1
            d = pos[:, None] - neg[None, :]
            good += (d > 0).sum() + 0.5 * (d == 0).sum()
            pairs += d.size
    return (good / pairs if pairs else float("nan")), mixed, int(pairs)


def neighbour_check(X, y, g) -> tuple[float, float, float]:
    """Leave-one-clip-out nearest neighbour (cosine, standardized features): share whose
    nearest clip is from the same source; share whose nearest clip of ANOTHER source has the
    same label; and the AUC of the score (distance to nearest correct - to nearest wrong clip of
    other sources)."""
    Z = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-6)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True) + 1e-9
    D = 1.0 - Z @ Z.T
    np.fill_diagonal(D, np.inf)
    same_src = float(np.mean(g[np.argmin(D, axis=1)] == g))
    Dx = np.where(g[:, None] == g[None, :], np.inf, D)
    same_lab = float(np.mean(y[np.argmin(Dx, axis=1)] == y))
    d_corr = np.where(y[None, :] == 0, Dx, np.inf).min(axis=1)
    d_wrong = np.where(y[None, :] == 1, Dx, np.inf).min(axis=1)
    return same_src, same_lab, _auc(y, d_corr - d_wrong)


def evaluate(imgsz: int, fps: float, repeats: int, configs: list[str] | None,
             with_keypoints: bool, nested: bool = False, tag: str = "all",
             neighbours: bool = True) -> dict:
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    from domain.video.datasets import pushfit

    path = OUT_DIR / f"pushup_emb_{imgsz}_{fps:g}.npz"
    data = dict(np.load(path))
    stems = [str(s) for s in data["stems"]]
    files = [p for p in pushfit.video_files() if p.stem in set(stems)]
    by_stem = {p.stem: p for p in files}
    files = [by_stem[s] for s in stems]
    src = pushfit.source_groups(files)
    g = np.array([src[s] for s in stems])
    y = np.array([_label(s) for s in stems])
    # held_out_stems caches the source table next to the given cache path: keep it in our folder
    held = pushfit.held_out_stems(cache_path=OUT_DIR / "pushfit_keypoints.jsonl.gz")
    is_held = np.array([s in held for s in stems])
    n_mixed = sum(1 for k in np.unique(g) if len(set(y[g == k])) == 2)
    summary = {"clips": len(y), "wrong": int(y.sum()), "correct": int((y == 0).sum()),
               "sources": int(len(np.unique(g))), "mixed_sources": n_mixed,
               "held_out": int(is_held.sum()), "held_out_wrong": int(y[is_held].sum()),
               "timing_ms": (data["timing"] * 1000).round(2).tolist(), "results": {}}
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}))

    sets: dict[str, tuple[np.ndarray, int | None]] = {}
    feat_keys = [k for k in data if k.startswith("L")]
    kp_X = None
    if with_keypoints:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kp_X, kp_names = keypoint_features(data)
        keep = np.isfinite(kp_X).mean(axis=0) > 0.5
        kp_X = kp_X[:, keep]
        sets["kp_only"] = (kp_X, None)
        print(f"keypoint features: {kp_X.shape[1]} of {len(kp_names)}")
    for key in feat_keys:
        for agg in ("mean", "low", "both", "diff"):
            X = clip_features(data, key, agg)
            sets[f"{key}_{agg}"] = (X, None)
            if X.shape[1] > 64:
                sets[f"{key}_{agg}_pca16"] = (X, 16)
    if kp_X is not None:
        for name in ("L22_grid_mean", "L19_grid_mean", "L10_box_mean", "L16_grid_low"):
            if name in sets:
                sets[f"{name}+kp"] = (np.hstack([sets[name][0], kp_X]), None)
    if configs:
        sets = {k: v for k, v in sets.items() if any(c in k for c in configs)}
    summary["neighbours"] = {}
    for name, (X, _) in (sets.items() if neighbours else ()):
        if name.endswith("_pca16"):
            continue
        Xn = np.where(np.isfinite(X), X, np.nanmedian(X, axis=0))
        ss, sl, na = neighbour_check(Xn, y, g)
        summary["neighbours"][name] = [round(ss, 3), round(sl, 3), round(na, 3)]
        print(f"1-NN {name:24s} same source {ss:.2f}  label of nearest other-source clip "
              f"agrees {sl:.2f}  1-NN AUC {na:.3f}")

    if nested:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            oof, flag, chosen = _outer_select(sets, y, g, GroupKFold(n_splits=5))
            aucs = [_auc(y, _outer_select(sets, y, g, StratifiedGroupKFold(
                5, shuffle=True, random_state=seed))[0]) for seed in range(repeats)]
            s_h, f_h, ch_h = _outer_select(sets, y, g, None, ~is_held, is_held)
        lo, hi = _cluster_bootstrap(y, oof, g)
        w_auc, mixed, pairs = _within_source_auc(y, oof, g)
        r = {"candidates": sorted(sets), "auc_gkf5": round(_auc(y, oof), 3),
             "ci95_sources": [round(lo, 3), round(hi, 3)], "chosen": chosen,
             "auc_sgkf5": [round(a, 3) for a in aucs],
             "correct_flagged": round(float(flag[y == 0].mean()), 3),
             "wrong_caught": round(float(flag[y == 1].mean()), 3),
             "within_source_auc": round(w_auc, 3), "within_pairs": pairs,
             "held_out_auc": round(_auc(y[is_held], s_h[is_held]), 3),
             "held_out_chosen": ch_h,
             "held_out_correct_flagged": round(float(f_h[is_held & (y == 0)].mean()), 3),
             "held_out_wrong_caught": round(float(f_h[is_held & (y == 1)].mean()), 3)}
        print(json.dumps(r, indent=1))
        out = OUT_DIR / f"pushup_emb_{imgsz}_{fps:g}_nested_{tag}.json"
        out.write_text(json.dumps(r, indent=1), encoding="utf-8")
        return r

    for name, (X, pca) in sets.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            oof, flag, Cs = _outer(X, y, g, GroupKFold(n_splits=5), pca)
            aucs = []
            for seed in range(repeats):
                o, _, _ = _outer(X, y, g, StratifiedGroupKFold(5, shuffle=True,
                                                               random_state=seed), pca)
                aucs.append(_auc(y, o))
            tr = ~is_held
            model, C_h, thr_h, _ = _inner_fit(X[tr], y[tr], g[tr], pca)
            s_h = model.predict_proba(X[is_held])[:, 1]
        auc = _auc(y, oof)
        lo, hi = _cluster_bootstrap(y, oof, g)
        w_auc, mixed, pairs = _within_source_auc(y, oof, g)
        r = {"dim": int(X.shape[1]), "pca": pca, "auc_gkf5": round(auc, 3),
             "ci95_sources": [round(lo, 3), round(hi, 3)],
             "auc_sgkf5_mean": round(float(np.mean(aucs)), 3) if aucs else None,
             "auc_sgkf5_sd": round(float(np.std(aucs)), 3) if aucs else None,
             "correct_flagged": round(float(flag[y == 0].mean()), 3),
             "wrong_caught": round(float(flag[y == 1].mean()), 3),
             "C_outer": Cs, "within_source_auc": round(w_auc, 3), "mixed_sources": mixed,
             "within_pairs": pairs, "held_out_auc": round(_auc(y[is_held], s_h), 3),
             "held_out_correct_flagged": round(float((s_h[y[is_held] == 0] >= thr_h).mean()), 3),
             "held_out_wrong_caught": round(float((s_h[y[is_held] == 1] >= thr_h).mean()), 3),
             "seconds": round(time.perf_counter() - t0, 1)}
        summary["results"][name] = r
        print(f"{name:28s} dim {r['dim']:5d} AUC {r['auc_gkf5']:.3f} "
              f"[{lo:.2f},{hi:.2f}] rep {r['auc_sgkf5_mean']}±{r['auc_sgkf5_sd']} "
              f"flag {r['correct_flagged']:.2f}/caught {r['wrong_caught']:.2f} "
              f"within {w_auc:.2f} held {r['held_out_auc']:.3f} C {Cs}", flush=True)
    out = OUT_DIR / f"pushup_emb_{imgsz}_{fps:g}_results.json"
    out.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(f"wrote {out}")
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=("extract", "evaluate"))
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--fps", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--configs", nargs="*", default=None,
                    help="only feature sets whose name contains one of these")
    ap.add_argument("--no-keypoints", action="store_true")
    ap.add_argument("--nested", action="store_true",
                    help="choose the feature set (among --configs) inside each outer fold")
    ap.add_argument("--tag", default="all", help="name of the --nested result file")
    a = ap.parse_args(argv)
    if a.command == "extract":
        extract(a.imgsz, a.fps, a.threads, a.limit)
    else:
        evaluate(a.imgsz, a.fps, a.repeats, a.configs, not a.no_keypoints, a.nested, a.tag,
                 neighbours=not a.nested)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
