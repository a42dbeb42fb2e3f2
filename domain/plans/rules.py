"""Labelling rules that generate the plan model's training data.

The paper trains its ANN on "numerous examples of users" paired with exercises and labelled
suitable / not suitable.  No such public data set exists, so this module writes the clinical
knowledge down as explicit, reviewable rules and samples labelled (profile, exercise) pairs from
them.  The network then learns a smooth suitability score from those labels, and real user
feedback is later folded in on top (see ``network.train_plan_model(feedback_examples=...)``).

How a label is produced
-----------------------
1. Every rule below adds a contribution (in *logit* units) to a suitability score ``z``.
   Positive = more suitable.  ``BASE_LOGIT`` starts every pair slightly positive.
2. ``p = sigmoid(SHARPNESS * z)`` is the underlying, smooth probability that a physiotherapist
   would call the exercise suitable for this person.
3. The label is drawn ``y ~ Bernoulli(p)`` (disagreement near the boundary), then flipped with
   probability ``LABEL_NOISE`` (5 %) to mimic annotation errors.

Hard guardrails (equipment, contraindication, difficulty ceiling) are also enforced again at plan
building time (``builder.py``), so the network's score can never override them.

Rules and why (``RULES_SUMMARY`` is written into ``metrics.json``):
"""

from __future__ import annotations

import math

import numpy as np

from .library import Exercise
from .profile import FITNESS_LEVELS, LEVEL_DIFFICULTY_CEILING, Profile, effective_equipment

BASE_LOGIT = 0.8
SHARPNESS = 1.6
LABEL_NOISE = 0.05

#: Typical (target) difficulty per level, used by the difficulty-match rule.
LEVEL_TARGET_DIFFICULTY = {"beginner": 1.5, "intermediate": 2.7, "advanced": 4.0}
#: Rehab phases a level corresponds to (level doubles as "recovery progress" in the paper).
LEVEL_PHASES = {"beginner": (1, 2), "intermediate": (2, 3), "advanced": (3, 4)}
_LEVEL_IDX = {lvl: i for i, lvl in enumerate(FITNESS_LEVELS)}

#: Muscle groups each injury's programme emphasises (paper section II).
INJURY_FOCUS_MUSCLES = {
    "acl": {"quadriceps", "hamstrings"},
    "meniscus": {"quadriceps", "glutes", "hamstrings"},
    "achilles": {"calves", "ankle", "foot_intrinsics", "tibialis"},
    "none": set(),
}

RULES_SUMMARY: list[str] = [
    "R1 equipment: needs equipment the user lacks -> -8 (hard guardrail; gym implies all items)",
    "R2 contraindication: exercise contraindicated for the user's injury -> -8 (hard guardrail)",
    "R3 injury relevance: part of this injury's programme +1.2, otherwise -1.8",
    "R4 difficulty: above the level ceiling -3.5 per point (hard guardrail); "
    "closeness to the level's target difficulty up to +0.8; far too easy -0.5 per point",
    "R5 rehab phase vs level (injured users): beginner phases 1-2, intermediate 2-3, "
    "advanced 3-4; each phase too early -2.0, each phase too basic -0.6; "
    "uninjured intermediate/advanced users: phase-1 rehab drills -0.8",
    "R6 achilles: plyometrics/high impact -5 beginner, -3 intermediate (no early tendon "
    "plyometrics); eccentric calf loading +0.8 for intermediate/advanced",
    "R7 acl: open-chain quadriceps work -3 beginner, -1 intermediate (closed chain first); "
    "pivoting/jumping -4 beginner, -2 intermediate",
    "R8 meniscus: deep loaded flexion and pivoting -3/-2/-0.5 by level; high impact "
    "-3/-1.5/-0.3; no/low impact +0.3",
    "R9 BMI: high-impact exercise penalised smoothly above BMI 27 (x1.5 for beginners)",
    "R10 age: high impact penalised smoothly above 45, difficulty >= 4 above 55; balance and "
    "mobility/stretching favoured above 55 (fall prevention); young advanced users favour "
    "plyometrics",
    "R11 focus: injury focus muscles +0.5/+0.8 (achilles calves); balance work +0.6 acl, "
    "+0.4 meniscus",
    "R12 sex: female + acl -> balance/neuromuscular work +0.3 (higher ACL re-injury risk)",
    "R13 equipment use: exercise uses equipment the user owns +0.3",
    f"labels: y ~ Bernoulli(sigmoid({SHARPNESS} * z)), z = {BASE_LOGIT} + sum(rules), "
    f"then {int(LABEL_NOISE * 100)}% label flips",
]


def _clip(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


# Over 60 lines on purpose: the numbered rule table R1-R13 (documented in RULES_SUMMARY) reads
# best as one list, each rule a few lines; split up it would hide which rules exist.
def rule_contributions(profile: Profile, ex: Exercise) -> dict[str, float]:
    """Each rule's contribution to the suitability logit for one (profile, exercise) pair."""
    c: dict[str, float] = {}
    level, injury = profile.fitness_level, profile.injury
    li = _LEVEL_IDX[level]
    muscles = set(ex.muscle_groups)
    tags = set(ex.tags)
    high_impact = ex.impact == "high"
    jumping = ex.category == "plyometrics" or "jumping" in tags

    # R1 — the user cannot do an exercise without its equipment.
    have = effective_equipment(profile.equipment)
    if any(e not in have for e in ex.equipment):
        c["R1_equipment_missing"] = -8.0

    # R2 — contraindicated exercises are unsafe for this injury at any stage in a self-guided app.
    if injury in ex.contraindicated_for:
        c["R2_contraindicated"] = -8.0

    # R3 — exercises belong to the programmes of the injuries they were chosen for; for
    # uninjured users "none" marks general exercises.
    c["R3_injury_relevance"] = 1.2 if injury in ex.suitable_for else -1.8

    # R4 — difficulty must match ability: never above the ceiling, ideally near the target;
    # advanced users get little from very easy drills.
    ceiling = LEVEL_DIFFICULTY_CEILING[level]
    target = LEVEL_TARGET_DIFFICULTY[level]
    if ex.difficulty > ceiling:
        c["R4_above_ceiling"] = -3.5 * (ex.difficulty - ceiling)
    c["R4_difficulty_match"] = 0.8 * max(0.0, 1.0 - abs(ex.difficulty - target) / 1.5)
    if ex.difficulty < target - 1.5:
        c["R4_too_easy"] = -0.5 * (target - 1.5 - ex.difficulty)

    # R5 — rehab follows phases; the fitness level stands for recovery progress.  Skipping
    # ahead is risky, staying in early phases is merely unproductive.
    if ex.phase is not None:
        if injury != "none":
            lo, hi = LEVEL_PHASES[level]
            if ex.phase > hi:
                c["R5_phase_too_early"] = -2.0 * (ex.phase - hi)
            elif ex.phase < lo:
                c["R5_phase_too_basic"] = -0.6 * (lo - ex.phase)
        elif ex.phase == 1 and li >= 1:
            c["R5_rehab_drill_uninjured"] = -0.8

    # R6 — Achilles: the tendon tolerates plyometric (stretch-shortening) load last; eccentric
    # calf loading (Alfredson) is the core of mid/late rehab.
    if injury == "achilles":
        if jumping or high_impact:
            c["R6_achilles_plyo"] = (-5.0, -3.0, 0.0)[li]
        if "eccentric" in tags and "calves" in muscles and li >= 1:
            c["R6_achilles_eccentric"] = 0.8

    # R7 — ACL: closed-chain quadriceps work before open-chain extension (graft strain);
    # no pivoting or jumping until late.
    if injury == "acl":
        if ex.chain == "open" and "quadriceps" in muscles:
            c["R7_acl_open_chain"] = (-3.0, -1.0, 0.0)[li]
        if jumping or "pivoting" in tags:
            c["R7_acl_pivot_jump"] = (-4.0, -2.0, 0.0)[li]

    # R8 — meniscus: compressive shear in deep flexion and rotation threatens the repair;
    # knee-friendly low-impact work is preferred.
    if injury == "meniscus":
        if "deep_flexion" in tags or "pivoting" in tags:
            c["R8_meniscus_flexion_pivot"] = (-3.0, -2.0, -0.5)[li]
        if high_impact:
            c["R8_meniscus_impact"] = (-3.0, -1.5, -0.3)[li]
        else:
            c["R8_meniscus_low_impact"] = 0.3

    # R9 — landing forces scale with body mass: high impact gets less suitable as BMI rises.
    if high_impact:
        excess = _clip((profile.bmi - 27.0) / 3.0, 0.0, 2.5)
        if excess > 0:
            c["R9_bmi_impact"] = -excess * (1.5 if level == "beginner" else 0.7)

    # R10 — age: tendon/cartilage tolerance to impact and maximal loads falls with age,
    # while balance and mobility work become more valuable (falls).
    age = float(profile.age)
    if high_impact:
        a = _clip((age - 45.0) / 10.0, 0.0, 3.0)
        if a > 0:
            c["R10_age_impact"] = -0.9 * a
    if ex.difficulty >= 4:
        a = _clip((age - 55.0) / 10.0, 0.0, 2.0)
        if a > 0:
            c["R10_age_hard"] = -0.8 * a
    if ex.category == "balance":
        a = _clip((age - 55.0) / 15.0, 0.0, 1.0)
        if a > 0:
            c["R10_age_balance"] = 0.8 * a
    if ex.category in ("mobility", "stretching"):
        a = _clip((age - 55.0) / 15.0, 0.0, 1.0)
        if a > 0:
            c["R10_age_mobility"] = 0.4 * a
    if jumping and level == "advanced" and age < 35:
        c["R10_young_athlete_plyo"] = 0.5

    # R11 — each injury's programme emphasises particular muscles and balance work (paper II).
    focus = INJURY_FOCUS_MUSCLES[injury]
    if focus & muscles:
        c["R11_focus_muscles"] = 0.8 if injury == "achilles" else 0.5
    if ex.category == "balance" and injury in ("acl", "meniscus"):
        c["R11_focus_balance"] = 0.6 if injury == "acl" else 0.4

    # R12 — female athletes have a higher ACL (re-)injury rate; neuromuscular programmes help.
    if profile.sex == "female" and injury == "acl" and ex.category in ("balance", "plyometrics"):
        c["R12_female_acl_neuromuscular"] = 0.3

    # R13 — users who own equipment want it used (the paper adds bands "for extra intensity").
    if ex.equipment and "R1_equipment_missing" not in c and set(ex.equipment) & set(
        profile.equipment
    ):
        c["R13_uses_owned_equipment"] = 0.3
    return c


def suitability_logit(profile: Profile, ex: Exercise) -> float:
    return BASE_LOGIT + sum(rule_contributions(profile, ex).values())


def suitability_probability(profile: Profile, ex: Exercise) -> float:
    """The smooth, noise-free probability the labels are drawn from."""
    return 1.0 / (1.0 + math.exp(-SHARPNESS * suitability_logit(profile, ex)))


# --------------------------------------------------------------------------------------------
# Sampling realistic profiles
# --------------------------------------------------------------------------------------------
_EQUIP_PROB = {  # probability of owning each item when the user has no gym subscription
    "resistance_band": 0.45, "dumbbells": 0.3, "step": 0.35, "foam_roller": 0.25,
    "mat": 0.45, "chair": 0.7,
}


def sample_profile(rng: np.random.Generator) -> Profile:
    """One plausible app user: rehab users skew older than gym users, BMI ~ log-normal."""
    injury = str(rng.choice(["acl", "meniscus", "achilles", "none"], p=[0.3, 0.25, 0.25, 0.2]))
    sex = str(rng.choice(["male", "female", "other"], p=[0.49, 0.48, 0.03]))
    if injury == "acl":  # ACL ruptures are mostly young athletes
        age = rng.normal(30, 11)
    elif injury == "meniscus":  # degenerative tears in older adults
        age = rng.normal(45, 15)
    elif injury == "achilles":  # weekend warriors 30-50, tendinopathy older
        age = rng.normal(46, 14)
    else:
        age = rng.normal(40, 16)
    age = int(_clip(round(age), 16, 88))
    level = str(rng.choice(FITNESS_LEVELS, p=[0.4, 0.4, 0.2]))
    if age > 65 and level == "advanced" and rng.random() < 0.6:
        level = "intermediate"
    if sex == "male":
        height = rng.normal(178, 7)
    elif sex == "female":
        height = rng.normal(165, 7)
    else:
        height = rng.normal(171, 9)
    height = _clip(height, 145, 205)
    bmi = float(np.exp(rng.normal(math.log(26.0), 0.17)))
    if level == "advanced":
        bmi = min(bmi, float(rng.normal(24, 2.5)) + 3)
    bmi = _clip(bmi, 16.5, 45.0)
    weight = _clip(bmi * (height / 100) ** 2, 40, 200)
    if rng.random() < 0.22:
        equipment = ["gym"]
    elif rng.random() < 0.2:
        equipment = []
    else:
        equipment = [e for e, pr in _EQUIP_PROB.items() if rng.random() < pr]
    return Profile(
        sex=sex, age=age, height_cm=round(height, 1), weight_kg=round(weight, 1),
        fitness_level=level, injury=injury, equipment=equipment,
        workouts_per_week=int(rng.integers(2, 7)),
    )


def generate_training_set(
    n: int, seed: int, library: list[Exercise] | None = None, exercises_per_profile: int = 24
) -> tuple[list[tuple[Profile, Exercise]], np.ndarray]:
    """Sample ``n`` labelled (profile, exercise) pairs.  Returns ``(rows, labels)`` where
    ``rows[i] = (Profile, Exercise)`` and ``labels`` is an int8 array of 0/1."""
    if library is None:
        from .library import load_library

        library = load_library()
    rng = np.random.default_rng(seed)
    rows: list[tuple[Profile, Exercise]] = []
    labels = np.empty(n, dtype=np.int8)
    k = min(exercises_per_profile, len(library))
    while len(rows) < n:
        profile = sample_profile(rng)
        for j in rng.choice(len(library), size=k, replace=False):
            if len(rows) >= n:
                break
            ex = library[int(j)]
            p = suitability_probability(profile, ex)
            y = int(rng.random() < p)
            if rng.random() < LABEL_NOISE:
                y = 1 - y
            labels[len(rows)] = y
            rows.append((profile, ex))
    return rows, labels
