"""Arrange scored exercises into a weekly plan (paper section III, last paragraph).

Selection
---------
1. Hard guardrails, which no model score overrides: the exercise's equipment must be available
   (``gym`` covers all), it must not be contraindicated for the injury, its difficulty must not
   exceed the level's ceiling (``LEVEL_DIFFICULTY_CEILING``; lowered further after discomfort)
   and it must not be excluded by feedback.
2. Candidates need a model score >= 0.5 (the paper's cutoff).  Only when fewer than 4
   candidates pass are the best remaining guardrail-safe exercises added, with a reason saying so.
3. ``workouts_per_week`` training days spread over the week with rest days between where
   possible (``DAY_PATTERNS``).
4. Each day follows a category template (warm-up mobility first, then plyometrics for advanced
   users, strength, balance and a stretching/cardio finisher): 5 exercises for beginners, 6 for
   intermediate, 7 for advanced (always 4-8).  Within a slot the exercise with the best utility
   is taken: score + new-muscle-group bonus + new-movement-pattern bonus (squat, single-leg,
   hinge, lower leg, hip, core) + injury-focus-muscle bonus + a larger key-muscle bonus until
   the day has one strength exercise for the injury's key muscles (``INJURY_KEY_MUSCLES``,
   e.g. the calf for Achilles) + week-coverage bonuses (focus muscles and movement patterns
   not yet trained this week) + substitute bonus +
   a small bonus for using equipment the user has (the paper's plans use the user's bands or gym) -
   weekly repetition penalty + a small seeded jitter.  Exercises used on the previous training
   day are skipped when the slot has alternatives.
5. Volume: the library's default sets/reps/duration scaled by level (beginner -1 set and x0.8
   reps, advanced +1 set and x1.2), then by the feedback adjustment (rep factor, set delta).
6. Readiness < 40 (0-100) makes the first training day lighter: one set fewer, reps x0.8, no
   plyometrics/high impact, one exercise fewer (min 4).

Everything is deterministic for the same inputs (the jitter RNG is seeded from the inputs).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .adaptation import Adjustment
from .explain import THRESHOLD, guardrail_reasons, guardrail_violations
from .library import Exercise
from .profile import Profile, effective_equipment
from .readiness import LOW_THRESHOLD
from .rules import INJURY_FOCUS_MUSCLES

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: weekday indices per workouts_per_week: rest days between sessions where possible
DAY_PATTERNS = {
    1: (0,), 2: (0, 3), 3: (0, 2, 4), 4: (0, 2, 4, 6), 5: (0, 1, 3, 4, 6),
    6: (0, 1, 2, 3, 4, 5), 7: (0, 1, 2, 3, 4, 5, 6),
}
#: slot templates: each slot lists the categories it accepts, in order of preference
TEMPLATES = {
    "beginner": [("mobility",), ("strength",), ("strength",), ("balance",), ("stretching",)],
    "intermediate": [("mobility",), ("strength",), ("strength",), ("strength",), ("balance",),
                     ("stretching", "cardio")],
    "advanced": [("mobility",), ("plyometrics",), ("strength",), ("strength",), ("strength",),
                 ("balance",), ("stretching", "cardio")],
}
SLOT_FALLBACK = {
    "mobility": ("cardio", "stretching"),
    "plyometrics": ("balance", "strength"),
    "strength": ("balance",),
    "balance": ("strength",),
    "stretching": ("mobility", "cardio"),
    "cardio": ("stretching", "mobility"),
}
CATEGORY_ORDER = {"mobility": 0, "plyometrics": 1, "strength": 2, "balance": 3, "cardio": 4,
                  "stretching": 5}
#: (set delta, rep/duration factor) per level
LEVEL_VOLUME = {"beginner": (-1, 0.8), "intermediate": (0, 1.0), "advanced": (1, 1.2)}
#: each training day should contain at least one exercise for the injury's key muscles
#: (paper section II: ACL hamstrings/quadriceps, meniscus quadriceps/glutes, Achilles calf)
INJURY_KEY_MUSCLES = {
    "acl": {"quadriceps", "hamstrings"},
    "meniscus": {"quadriceps", "glutes"},
    "achilles": {"calves"},
    "none": set(),
}
MIN_PER_DAY, MAX_PER_DAY = 4, 8
FALLBACK_MIN_SCORE = 0.2
LOW_READINESS_NOTE = "readiness {r:.0f}/100 < 40: lighter day (-1 set, reps x0.8, no plyometrics)"

ExplainFn = Callable[[list[Exercise]], dict[str, list[str]]]


@dataclass
class PlanItem:
    exercise_id: str
    name: str
    sets: int
    reps: int | None
    duration_s: int | None
    score: float
    reasons: list[str]
    category: str = ""
    difficulty: int = 0

    def to_dict(self) -> dict:
        return {
            "exercise_id": self.exercise_id, "name": self.name, "sets": self.sets,
            "reps": self.reps, "duration_s": self.duration_s, "score": round(self.score, 4),
            "reasons": list(self.reasons), "category": self.category,
            "difficulty": self.difficulty,
        }


@dataclass
class PlanDay:
    day: int
    weekday: str
    exercises: list[PlanItem]
    completed: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "day": self.day, "weekday": self.weekday, "completed": self.completed,
            "exercises": [e.to_dict() for e in self.exercises], "notes": list(self.notes),
        }


@dataclass
class PlanDraft:
    week: int
    fitness_level: str
    rep_factor: float
    set_delta: int
    days: list[PlanDay]
    notes: list[str]
    excluded_ids: list[str] = field(default_factory=list)
    readiness_score: float | None = None

    def to_dict(self) -> dict:
        return {
            "week": self.week, "fitness_level": self.fitness_level,
            "rep_factor": self.rep_factor, "set_delta": self.set_delta,
            "readiness_score": self.readiness_score, "excluded_ids": list(self.excluded_ids),
            "notes": list(self.notes), "days": [d.to_dict() for d in self.days],
        }


def movement_pattern(ex: Exercise) -> str:
    """Coarse movement pattern used to vary a day's strength work."""
    if ex.category != "strength":
        return ex.category
    m = set(ex.muscle_groups)
    if "quadriceps" in m and "unilateral" in ex.tags:
        return "single_leg"
    if "quadriceps" in m and ex.chain == "closed":
        return "squat"
    if "quadriceps" in m:
        return "knee_extension"
    if m & {"calves", "tibialis", "foot_intrinsics", "ankle"}:
        return "lower_leg"
    if "hamstrings" in m and ex.chain == "open":
        return "knee_flexion"
    if "hamstrings" in m:
        return "hinge_bridge"
    if m & {"hip_abductors", "hip_adductors", "glutes"}:
        return "hip"
    return "core"


def _seed(profile: Profile, week: int, level: str, adjustment: Adjustment | None) -> int:
    key = "|".join(map(str, (
        profile.sex, profile.age, profile.height_cm, profile.weight_kg, level, profile.injury,
        sorted(profile.equipment), profile.workouts_per_week, week,
        sorted(adjustment.excluded_ids) if adjustment else "",
    )))
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")


def _volume(ex: Exercise, level: str, adj: Adjustment | None, light: bool):
    sd, rf = LEVEL_VOLUME[level]
    rf *= adj.rep_factor if adj else 1.0
    rf *= adj.exercise_factors.get(ex.id, 1.0) if adj else 1.0  # measured last week
    if ex.default_sets > 1:
        sd += adj.set_delta if adj else 0
        if light:
            sd -= 1
        sets = int(min(6, max(1, ex.default_sets + sd)))
    else:
        sets = 1
    if light:
        rf *= 0.8
    reps = int(min(40, max(3, round(ex.default_reps * rf)))) if ex.default_reps else None
    dur = None
    if ex.default_duration_s:
        dur = int(min(1800, max(10, round(ex.default_duration_s * rf / 5.0) * 5)))
    return sets, reps, dur


@dataclass
class _Week:
    """What every day of one week's selection reads and updates."""

    profile: Profile
    level: str
    adjustment: Adjustment | None
    score_of: dict[str, float]
    candidates: list[Exercise]
    rng: np.random.Generator
    low_ready: bool
    focus: set[str] = field(default_factory=set)
    key: set[str] = field(default_factory=set)
    have: set[str] = field(default_factory=set)
    preferred: frozenset = frozenset()
    usage: Counter = field(default_factory=Counter)
    week_patterns: set[str] = field(default_factory=set)
    week_focus: set[str] = field(default_factory=set)
    prev_day: set[str] = field(default_factory=set)


def _candidates(profile: Profile, library: list[Exercise], score_of: dict[str, float],
                level: str, adjustment: Adjustment | None,
                notes: list[str]) -> tuple[list[Exercise], set[str]]:
    """Safe exercises scored >= 0.5, topped up with the best remaining safe ones when fewer
    than a session's minimum; returns them and the ids of the top-ups."""
    excluded = set(adjustment.excluded_ids) if adjustment else set()
    max_diff = adjustment.max_difficulty if adjustment else None
    safe = [
        ex for ex in library
        if ex.id not in excluded and not guardrail_violations(profile, ex, level, max_diff)
    ]
    cands = [ex for ex in safe if score_of[ex.id] >= THRESHOLD]
    fallback_ids: set[str] = set()
    if len(cands) < MIN_PER_DAY:
        extra = sorted(
            (ex for ex in safe if ex not in cands and score_of[ex.id] >= FALLBACK_MIN_SCORE),
            key=lambda e: -score_of[e.id],
        )[: MIN_PER_DAY - len(cands)]
        fallback_ids = {e.id for e in extra}
        cands += extra
        if extra:
            notes.append("few exercises scored >= 0.5 for this profile; the best remaining "
                         "safe exercises were added")
    if len(cands) < MIN_PER_DAY:
        notes.append("not enough safe exercises for a full session; please review the profile")
    return cands, fallback_ids


def _day_template(level: str, per_day: int, light: bool) -> list[tuple]:
    template = list(TEMPLATES[level])
    if light:
        template = [s for s in template if s != ("plyometrics",)]
        if len(template) > MIN_PER_DAY and ("strength",) in template:
            drop = len(template) - 1 - template[::-1].index(("strength",))
            template.pop(drop)  # one strength exercise fewer
    return template[:per_day]


def _utility(w: _Week, e: Exercise, covered: set[str], patterns: set[str],
             has_key: bool) -> float:
    """How much the day gains from ``e``: its score plus variety, injury focus and
    preference bonuses, minus repetition within the week, plus a little noise."""
    muscles = set(e.muscle_groups)
    return (w.score_of[e.id]
            + 0.1 * min(2, len(muscles - covered))
            + (0.15 if movement_pattern(e) not in patterns else 0.0)
            + (0.1 if w.focus & muscles else 0.0)
            + (0.2 if (w.focus & muscles) - w.week_focus else 0.0)
            + (0.1 if movement_pattern(e) not in w.week_patterns else 0.0)
            + (0.3 if not has_key and w.key & muscles and e.category == "strength" else 0.0)
            + (0.6 if e.id in w.preferred else 0.0)
            + (0.1 if e.equipment and not (set(e.equipment) - w.have) else 0.0)
            - 0.2 * w.usage[e.id]
            + 0.1 * w.rng.random())


def _select_day(w: _Week, template: list[tuple], light: bool) -> list[Exercise]:
    """Fill the day's slots in order, each from its categories or their fallbacks."""
    pool = [e for e in w.candidates if not (light and (e.category == "plyometrics"
                                                       or e.impact == "high"))]
    chosen: list[Exercise] = []
    covered: set[str] = set()
    patterns: set[str] = set()
    has_key = False
    for slot in template:
        pick = None
        for cats in (slot, *[(c,) for c in SLOT_FALLBACK[slot[0]]], None):
            options = [e for e in pool if e not in chosen
                       and (cats is None or e.category in cats)]
            options = [e for e in options if e.id not in w.prev_day] or options
            if options:
                util = [_utility(w, e, covered, patterns, has_key) for e in options]
                pick = options[int(np.argmax(util))]
                break
        if pick is None:
            break
        chosen.append(pick)
        covered |= set(pick.muscle_groups)
        patterns.add(movement_pattern(pick))
        has_key = has_key or (pick.category == "strength"
                              and bool(w.key & set(pick.muscle_groups)))
    chosen.sort(key=lambda e: CATEGORY_ORDER[e.category])
    for e in chosen:
        w.usage[e.id] += 1
        w.week_patterns.add(movement_pattern(e))
        w.week_focus.update(w.focus & set(e.muscle_groups))
    w.prev_day = {e.id for e in chosen}
    return chosen


def _item_reasons(ex: Exercise, score: float, explained: dict, w: _Week, *,
                  fallback: bool, substitute_for: str | None, light: bool,
                  readiness_score: float | None) -> list[str]:
    adj = w.adjustment
    reasons = list(explained.get(ex.id) or [f"score {score:.2f} "
                                            f"{'≥' if score >= THRESHOLD else '<'} 0.5"])
    if not any(r.startswith("guardrail:") for r in reasons):
        reasons += guardrail_reasons(w.profile, ex, w.level)
    if adj and adj.max_difficulty is not None:
        reasons.append(f"guardrail: difficulty ≤ {adj.max_difficulty} after "
                       f"{adj.discomfort_cause}")
    if fallback:
        reasons.append("below the 0.5 cutoff: added to complete a minimal session")
    if substitute_for:
        cause = adj.discomfort_cause if adj else "reported discomfort"
        reasons.append(f"easier substitute for {substitute_for} after {cause}")
    if adj and adj.rep_factor != 1.0:
        reasons.append(f"volume x{adj.rep_factor:.2f} from your feedback")
    if adj:
        reasons.extend(adj.exercise_reasons.get(ex.id, ()))
    if light:
        reasons.append(LOW_READINESS_NOTE.format(r=readiness_score))
    return reasons


def _plan_day(w: _Week, d: int, weekday: str, chosen: list[Exercise], explained: dict,
              fallback_ids: set[str], subs_for: dict[str, str],
              readiness_score: float | None) -> PlanDay:
    """Day ``d`` (0-based) with each exercise's volume and the reasons it was chosen."""
    light = w.low_ready and d == 0
    items = []
    for ex in chosen:
        sets, reps, dur = _volume(ex, w.level, w.adjustment, light)
        reasons = _item_reasons(ex, w.score_of[ex.id], explained, w,
                                fallback=ex.id in fallback_ids,
                                substitute_for=subs_for.get(ex.id), light=light,
                                readiness_score=readiness_score)
        items.append(PlanItem(ex.id, ex.name, sets, reps, dur, w.score_of[ex.id], reasons,
                              ex.category, ex.difficulty))
    day_notes = [LOW_READINESS_NOTE.format(r=readiness_score)] if light else []
    return PlanDay(d + 1, weekday, items, notes=day_notes)


def build_week(
    profile: Profile,
    library: list[Exercise],
    scores,
    *,
    week: int,
    adjustment: Adjustment | None = None,
    readiness_score: float | None = None,
    explain_fn: ExplainFn | None = None,
    seed: int | None = None,
) -> PlanDraft:
    """Build the week's plan.  ``scores`` are the model's suitability scores aligned with
    ``library`` (computed for the profile at ``adjustment.fitness_level`` when given)."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if scores.shape[0] != len(library):
        raise ValueError("scores must align with library")
    level = adjustment.fitness_level if adjustment else profile.fitness_level
    notes: list[str] = list(adjustment.notes) if adjustment else []
    score_of = {ex.id: float(s) for ex, s in zip(library, scores, strict=True)}
    cands, fallback_ids = _candidates(profile, library, score_of, level, adjustment, notes)
    low_ready = readiness_score is not None and readiness_score < LOW_THRESHOLD
    if low_ready:
        notes.append(LOW_READINESS_NOTE.format(r=readiness_score) + " on day 1")
    w = _Week(profile, level, adjustment, score_of, cands,
              np.random.default_rng(_seed(profile, week, level, adjustment)
                                    if seed is None else seed),
              low_ready, focus=INJURY_FOCUS_MUSCLES.get(profile.injury, set()),
              key=INJURY_KEY_MUSCLES.get(profile.injury, set()),
              have=effective_equipment(profile.equipment),
              preferred=adjustment.preferred_ids if adjustment else frozenset())
    per_day = min(MAX_PER_DAY, max(MIN_PER_DAY, len(TEMPLATES[level])))
    days_sel = [_select_day(w, _day_template(level, per_day, low_ready and d == 0),
                            low_ready and d == 0)
                for d in range(int(profile.workouts_per_week))]

    unique = list({e.id: e for day in days_sel for e in day}.values())
    explained = explain_fn(unique) if explain_fn and unique else {}
    subs_for: dict[str, str] = {}
    for old, subs in (adjustment.substitutes.items() if adjustment else ()):
        for s in subs:
            subs_for.setdefault(s, old)

    pattern = DAY_PATTERNS[int(profile.workouts_per_week)]
    days = [_plan_day(w, d, WEEKDAYS[pattern[d]], chosen, explained, fallback_ids, subs_for,
                      readiness_score) for d, chosen in enumerate(days_sel)]

    excluded = set(adjustment.excluded_ids) if adjustment else set()
    return PlanDraft(
        week=week, fitness_level=level,
        rep_factor=adjustment.rep_factor if adjustment else 1.0,
        set_delta=adjustment.set_delta if adjustment else 0,
        days=days, notes=notes, excluded_ids=sorted(excluded),
        readiness_score=readiness_score,
    )
