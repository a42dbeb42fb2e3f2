"""Per-execution robust statistics of per-frame form signals, the inputs of the per-exercise
form models next to the per-repetition criteria.

Per frame, with the near side's joints (the far side's where the near one is unseen): the hip
offset from the shoulder-ankle line (the knee where the ankles are unseen), the shoulder-hip-
knee angle, the ear's offset from the hip-shoulder line, the shoulders' height above the wrists
in arm lengths, the elbow and knee angles and the shoulder-ankle line's incline. Per execution:
their 10th / 50th / 90th percentiles (a few frames of detector noise move none of them), chosen
by grouped cross-validation on the PushFit training sources (``flask ml train-form``).

Each feature names the criterion it speaks for (:data:`FEATURE_CRITERION`), so that a model's
"faulty" can be explained by a finding the person understands.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np

from .. import keypoints as K
from .body import Body, angle, line_offset


def _pct(a: np.ndarray, q: float) -> float:
    a = np.asarray(a, float)
    a = a[np.isfinite(a)]
    return float(np.percentile(a, q)) if a.size >= 3 else math.nan


#: an ankle the pose sees with less confidence than this is not trusted as the end of the
#: body line (out of frame, the pose tends to put the ankles on the floor below the knees)
ANKLE_MIN_CONF = 0.5


def _near_or_knee(body: Body) -> tuple[np.ndarray, np.ndarray]:
    knee, ankle = body.near_side("knee"), body.near_side("ankle")
    end = ankle.copy()
    a, b = (K.L_ANKLE, K.R_ANKLE) if body.near == "left" else (K.R_ANKLE, K.L_ANKLE)
    conf = np.where(np.isfinite(body.xy[:, a, 0]), body.conf[:, a], body.conf[:, b])
    miss = ~np.isfinite(end[:, 0]) | (conf < ANKLE_MIN_CONF)
    end[miss] = knee[miss]
    return knee, end


def pushup_signals(body: Body) -> dict[str, np.ndarray]:
    """(T,) per-frame signals of a push-up (or plank), NaN where unseen."""
    s, h, e, w = (body.near_side(p) for p in ("shoulder", "hip", "elbow", "wrist"))
    knee, end = _near_or_knee(body)
    ear = body.near_side("ear")
    nose = body.joint("nose")
    miss = ~np.isfinite(ear[:, 0])
    ear[miss] = nose[miss]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        arm = np.nanmedian(np.linalg.norm(s - e, axis=-1) + np.linalg.norm(e - w, axis=-1))
        arm = float(arm) if np.isfinite(arm) and arm > 1e-6 else body.torso
        with np.errstate(invalid="ignore", divide="ignore"):
            incline = np.degrees(np.arctan2(np.abs(end[:, 1] - s[:, 1]),
                                            np.abs(end[:, 0] - s[:, 0])))
        return {
            # + hips below the shoulder-ankle line (sagging), - above it (piked)
            "body_line": line_offset(s, end, h),
            "hip_angle": angle(s, h, knee),
            "head": line_offset(h, s, ear),
            "shoulder_height": (w[:, 1] - s[:, 1]) / arm,
            "elbow": angle(s, e, w),
            "knee": angle(h, knee, body.near_side("ankle")),
            "incline": incline,
        }


#: the per-execution statistics the push-up model sees (chosen by grouped CV on the training
#: sources among 10th/50th/90th percentiles of every signal)
PUSHUP_FEATURES = ("body_line.p90", "body_line.p10", "hip_angle.p90", "head.p50",
                   "shoulder_height.range", "elbow.p10", "elbow.p90", "knee.p50",
                   "incline.p50")
#: how each feature may move P(correct) in the model (monotone constraints): +1 higher is
#: never worse (straighter hips / knees, fuller range, arms locked out), -1 higher is never
#: better (sagging, head drop, shallow elbows), 0 free (camera geometry). Without them the
#: trees learned quirks of the training videos (a stick figure sagging by 15% came out good).
PUSHUP_DIRECTION = {"body_line.p90": -1, "body_line.p10": 1, "hip_angle.p90": 1,
                    "head.p50": -1, "shoulder_height.range": 1, "elbow.p10": -1,
                    "elbow.p90": 1, "knee.p50": 1, "incline.p50": 0}


def pushup_features(body: Body) -> dict[str, float]:
    sig = pushup_signals(body)
    out: dict[str, float] = {}
    for name in PUSHUP_FEATURES:
        sig_name, stat = name.split(".")
        if stat == "range":
            out[name] = _pct(sig[sig_name], 90) - _pct(sig[sig_name], 10)
        else:
            out[name] = _pct(sig[sig_name], float(stat[1:]))
    return out


#: criteria family -> per-execution feature function of the body
EXECUTION_FEATURES: dict[str, Callable[[Body], dict[str, float]]] = {
    "pushup": pushup_features,
}

#: feature prefix -> the criterion it speaks for ("hips": sag or pike by the body line's sign)
FEATURE_CRITERION = {
    "body_line": "hips", "hip_angle": "hips", "head": "head", "elbow.p10": "depth",
    "elbow.p50": "depth", "elbow.p90": "lockout", "shoulder_height": "range", "knee": "knees",
    "incline": None,
}


def criterion_of(feature: str, feats: dict[str, float]) -> str | None:
    """The criterion key a feature speaks for (``hips_sag`` / ``hips_pike`` by the body line's
    extremes), None for camera geometry (the incline); a criterion's own feature
    (``hips_sag.median``) speaks for that criterion."""
    prefix = feature.split(".", 1)[0]
    if feature in FEATURE_CRITERION:
        key = FEATURE_CRITERION[feature]
    elif prefix in FEATURE_CRITERION:
        key = FEATURE_CRITERION[prefix]
    else:
        return prefix
    if key == "hips":
        low = feats.get("body_line.p10", math.nan)
        high = feats.get("body_line.p90", math.nan)
        piked = math.isfinite(low) and low < -0.2 and not (math.isfinite(high) and high > 0.02)
        return "hips_pike" if piked else "hips_sag"
    return key
