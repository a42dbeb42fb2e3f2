"""Daily readiness score (0-100) from sleep, resting heart rate and HRV.

Formula
-------
Baseline: the user's own previous readings when there are at least 3 (mean and standard
deviation of each signal, SD floored at 3 bpm for resting HR and max(5 ms, 10 % of the mean)
for HRV); otherwise population defaults (resting HR 62 +/- 8 bpm, HRV (RMSSD) 45 +/- 15 ms).

    z_hrv   = clip((hrv_ms - mean_hrv) / sd_hrv, -3, 3)          higher HRV is better
    z_hr    = clip((mean_hr - resting_hr) / sd_hr, -3, 3)         lower resting HR is better
    z_sleep = clip((sleep_hours - 8) / 1, -3, 0.5)                8 h target, oversleep no bonus
    composite = 0.4 * z_hrv + 0.3 * z_hr + 0.3 * z_sleep
    score = round(100 / (1 + exp(-(1.2 * composite + 1.0))))

A day exactly at baseline with 8 h of sleep scores 73.  Bands: ``low`` < 40 (the plan builder
makes that day lighter), ``moderate`` 40-69, ``high`` >= 70.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

POPULATION = {"resting_hr": (62.0, 8.0), "hrv_ms": (45.0, 15.0)}
SLEEP_TARGET_H = 8.0
WEIGHTS = {"hrv": 0.4, "resting_hr": 0.3, "sleep": 0.3}
LOW_THRESHOLD = 40
HIGH_THRESHOLD = 70
MIN_BASELINE_READINGS = 3

RECOMMENDATIONS = {
    "low": "Low readiness: take it easy today - fewer sets, lower reps and no jumping; "
    "rest if you feel unwell or pain increases.",
    "moderate": "Moderate readiness: train as planned but stop if pain exceeds 3/10.",
    "high": "High readiness: you are well recovered - train as planned.",
}


@dataclass(frozen=True)
class Readiness:
    score: int
    band: str
    recommendation: str
    components: dict
    baseline_source: str  # "personal" | "population"

    def to_dict(self) -> dict:
        return asdict(self)


def _check(name: str, value, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}")
    return float(value)


def _mean_sd(values: list[float]) -> tuple[float, float]:
    m = sum(values) / len(values)
    var = sum((v - m) ** 2 for v in values) / max(1, len(values) - 1)
    return m, math.sqrt(var)


def band_for(score: float) -> str:
    if score < LOW_THRESHOLD:
        return "low"
    return "high" if score >= HIGH_THRESHOLD else "moderate"


def compute_readiness(
    sleep_hours: float, resting_hr: float, hrv_ms: float, baseline: list[dict] | None = None
) -> Readiness:
    """Score today's reading against ``baseline`` (previous readings: dicts with
    ``resting_hr`` and ``hrv_ms``; others ignored).  Raises ``ValueError`` on bad input."""
    sleep = _check("sleep_hours", sleep_hours, 0, 24)
    hr = _check("resting_hr", resting_hr, 25, 220)
    hrv = _check("hrv_ms", hrv_ms, 1, 400)
    usable = [
        r for r in (baseline or [])
        if isinstance(r.get("resting_hr"), (int, float))
        and isinstance(r.get("hrv_ms"), (int, float))
    ]
    if len(usable) >= MIN_BASELINE_READINGS:
        hr_m, hr_sd = _mean_sd([float(r["resting_hr"]) for r in usable])
        hrv_m, hrv_sd = _mean_sd([float(r["hrv_ms"]) for r in usable])
        hr_sd = max(hr_sd, 3.0)
        hrv_sd = max(hrv_sd, 5.0, 0.1 * hrv_m)
        source = "personal"
    else:
        (hr_m, hr_sd), (hrv_m, hrv_sd) = POPULATION["resting_hr"], POPULATION["hrv_ms"]
        source = "population"
    z_hrv = max(-3.0, min(3.0, (hrv - hrv_m) / hrv_sd))
    z_hr = max(-3.0, min(3.0, (hr_m - hr) / hr_sd))
    z_sleep = max(-3.0, min(0.5, (sleep - SLEEP_TARGET_H) / 1.0))
    composite = WEIGHTS["hrv"] * z_hrv + WEIGHTS["resting_hr"] * z_hr + WEIGHTS["sleep"] * z_sleep
    score = int(round(100.0 / (1.0 + math.exp(-(1.2 * composite + 1.0)))))
    band = band_for(score)
    components = {
        "z_hrv": round(z_hrv, 3), "z_resting_hr": round(z_hr, 3), "z_sleep": round(z_sleep, 3),
        "composite": round(composite, 3),
        "baseline": {"resting_hr_mean": round(hr_m, 1), "resting_hr_sd": round(hr_sd, 1),
                     "hrv_mean": round(hrv_m, 1), "hrv_sd": round(hrv_sd, 1),
                     "n_readings": len(usable)},
    }
    return Readiness(score, band, RECOMMENDATIONS[band], components, source)


def lighten_day(day: dict, score: float) -> dict | None:
    """Today's session made lighter after a low readiness score (seed 004: readiness steers
    intensity): one set fewer on multi-set exercises, repetitions and holds x0.8, plyometrics
    left out while at least four exercises remain. Returns the new day, or None when the score
    is not low or the day was already lightened (it is lightened once)."""
    if score >= LOW_THRESHOLD or day.get("lighter"):
        return None
    note = f"readiness {score:.0f}/100 < {LOW_THRESHOLD}: lighter session today"
    exercises = [dict(item) for item in day["exercises"]]
    keep = [e for e in exercises if e.get("category") != "plyometrics"]
    if len(keep) >= 4:
        exercises = keep
    for item in exercises:
        if item["sets"] > 1:
            item["sets"] -= 1
        if item.get("reps"):
            item["reps"] = max(3, round(item["reps"] * 0.8))
        if item.get("duration_s"):
            item["duration_s"] = max(10, int(round(item["duration_s"] * 0.8 / 5.0) * 5))
        item["reasons"] = [*item.get("reasons", []), note]
    return {**day, "exercises": exercises, "lighter": True, "readiness_score": round(score, 1),
            "notes": [*day.get("notes", []), note]}
