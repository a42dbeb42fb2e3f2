"""Human-readable reasons for plan items.

Model explanation uses *occlusion*: for every profile input group (injury, fitness level, BMI,
age, sex, equipment) the encoded values are replaced by a neutral baseline -- the training-set
mean of that group, i.e. "an average user" -- and the change in the suitability score is
measured.  ``delta = score(actual) - score(baseline)``: positive means the user's actual value
raised the score.  All (1 + groups) x exercises variants go through the model in ONE batch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .features import PROFILE_GROUPS, FeatureSpec
from .library import Exercise
from .profile import LEVEL_DIFFICULTY_CEILING, Profile, effective_equipment

THRESHOLD = 0.5
MIN_EFFECT = 0.04


def occlusion_deltas(
    score_matrix: Callable[[np.ndarray], np.ndarray],
    spec: FeatureSpec,
    profile: Profile,
    exercises: list[Exercise],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Return ``(scores, {group: delta per exercise})`` using one batched model call."""
    x = spec.encode_profile_library(profile, exercises)
    m = x.shape[0]
    baseline = np.asarray(
        spec.profile_baseline if spec.profile_baseline is not None else np.zeros(spec.profile_dim),
        dtype=np.float32,
    )
    slices = spec.profile_slices()
    batch = np.repeat(x[None, :, :], 1 + len(PROFILE_GROUPS), axis=0)
    for g, name in enumerate(PROFILE_GROUPS, start=1):
        a, b = slices[name]
        batch[g, :, a:b] = baseline[a:b]
    out = np.asarray(score_matrix(batch.reshape(-1, x.shape[1]))).reshape(-1, m)
    scores = out[0]
    return scores, {name: scores - out[g] for g, name in enumerate(PROFILE_GROUPS, start=1)}


def _group_label(name: str, profile: Profile) -> str:
    if name == "injury":
        return "no injury" if profile.injury == "none" else f"injury {profile.injury}"
    if name == "fitness_level":
        return f"fitness level {profile.fitness_level}"
    if name == "bmi":
        return f"BMI {profile.bmi:.1f}"
    if name == "age":
        return f"age {int(profile.age)}"
    if name == "sex":
        return f"sex {profile.sex}"
    eq = sorted(profile.equipment)
    return "no equipment" if not eq else "equipment " + ", ".join(eq)


def model_reasons(
    score: float, deltas: dict[str, float], profile: Profile, top_k: int = 3
) -> list[str]:
    """e.g. ["score 0.82 ≥ 0.5", "injury acl raised suitability (+0.21)", ...]."""
    cmp = "≥" if score >= THRESHOLD else "<"
    reasons = [f"score {score:.2f} {cmp} {THRESHOLD}"]
    ranked = sorted(deltas.items(), key=lambda kv: -abs(kv[1]))
    first = True
    for name, d in ranked[:top_k]:
        if abs(d) < MIN_EFFECT:
            continue
        label = _group_label(name, profile)
        if d > 0:
            verb = "raised suitability" if first else "raised it"
        else:
            verb = "lowered suitability" if first else "lowered it"
        reasons.append(f"{label} {verb} ({d:+.2f})")
        first = False
    return reasons


def _guardrail_checks(profile: Profile, ex: Exercise, level: str,
                      max_difficulty: int | None = None) -> tuple[list[str], bool, int]:
    """The three hard guardrails: equipment the user lacks, a contraindication for the injury,
    and the difficulty ceiling of the level (lowered further by `max_difficulty`)."""
    have = effective_equipment(profile.equipment)
    missing = [e for e in ex.equipment if e not in have]
    ceiling = LEVEL_DIFFICULTY_CEILING[level]
    if max_difficulty is not None:
        ceiling = min(ceiling, max_difficulty)
    return missing, profile.injury in ex.contraindicated_for, ceiling


def guardrail_violations(
    profile: Profile, ex: Exercise, level: str | None = None, max_difficulty: int | None = None
) -> list[str]:
    """Why a hard guardrail forbids ``ex`` for ``profile`` (empty list = allowed)."""
    missing, contraindicated, ceiling = _guardrail_checks(
        profile, ex, level or profile.fitness_level, max_difficulty)
    out = []
    if missing:
        out.append(f"needs {', '.join(missing)}")
    if contraindicated:
        out.append(f"contraindicated for {profile.injury}")
    if ex.difficulty > ceiling:
        out.append(f"difficulty {ex.difficulty} > {ceiling}")
    return out


def guardrail_reasons(profile: Profile, ex: Exercise, level: str | None = None) -> list[str]:
    """The hard guardrails, stated for auditing: what an included exercise passed, or which
    guardrail excludes it ("... (excluded)")."""
    level = level or profile.fitness_level
    missing, contraindicated, ceiling = _guardrail_checks(profile, ex, level)
    out = []
    if missing:
        out.append(f"guardrail: needs {', '.join(missing)} (excluded)")
    elif ex.equipment:
        out.append(f"guardrail: equipment available ({', '.join(ex.equipment)})")
    else:
        out.append("guardrail: no equipment needed")
    if contraindicated:
        out.append(f"guardrail: contraindicated for {profile.injury} (excluded)")
    elif profile.injury != "none":
        out.append(f"guardrail: not contraindicated for {profile.injury}")
    if ex.difficulty > ceiling:
        out.append(f"guardrail: difficulty {ex.difficulty} > {level} ceiling {ceiling} (excluded)")
    else:
        out.append(f"guardrail: difficulty {ex.difficulty} ≤ {level} ceiling {ceiling}")
    return out
