"""Feedback loop (paper section II): turn a week's feedback into an ``Adjustment`` for next week.

Rules (pure functions, no I/O):

- ``easy``          -> repetitions/durations x1.15 and +1 set (cumulative set bonus capped at +2)
- ``doable``        -> keep the current volume
- ``too_difficult`` -> repetitions/durations x0.85 and -1 set (cumulative cap -2, never < 1 set)
- ``discomfort``    -> repetitions x0.9; the named ``exercise_ids`` (or, if none are named, the
  hardest exercises of the previous plan, plus a difficulty cap one below them) are excluded next
  week and replaced by easier substitutes suitable for the user's injury.
- Direction: easy = up, too_difficult / discomfort = down, doable = neutral.  Every second
  consecutive rating in the same direction (2, 4, ... weeks running) moves the fitness level one
  step (beginner <-> intermediate <-> advanced); the cumulative rep factor and set bonus then
  reset, because the new level's own volume scaling replaces them.

``rating_history`` holds the ratings of *earlier* weeks, oldest first, NOT including the
feedback being processed.  The returned ``fitness_level`` is the level the next plan uses; the
caller should persist it into the stored profile (the paper updates the user profile).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .library import Exercise, by_id
from .profile import FEEDBACK_RATINGS, FITNESS_LEVELS, LEVEL_DIFFICULTY_CEILING, Profile

RATING_DIRECTION = {"easy": 1, "doable": 0, "too_difficult": -1, "discomfort": -1}
REP_MULTIPLIER = {"easy": 1.15, "doable": 1.0, "too_difficult": 0.85, "discomfort": 0.9}
SET_STEP = {"easy": 1, "doable": 0, "too_difficult": -1, "discomfort": 0}
REP_FACTOR_RANGE = (0.5, 2.0)
SET_DELTA_RANGE = (-2, 2)
MAX_UNNAMED_EXCLUSIONS = 3
#: pain (0-10) given with a week's rating from which the week is adapted as discomfort
PAIN_AS_DISCOMFORT = 5


@dataclass(frozen=True)
class Adjustment:
    fitness_level: str
    rating: str | None = None
    level_change: str | None = None  # "up" | "down" | None
    rep_factor: float = 1.0
    set_delta: int = 0
    excluded_ids: frozenset[str] = frozenset()
    substitutes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    max_difficulty: int | None = None
    notes: tuple[str, ...] = ()
    #: per-exercise volume from last week's measured performance, and why
    exercise_factors: dict[str, float] = field(default_factory=dict)
    exercise_reasons: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: what the discomfort path's reasons quote: the rating, or the pain that stood for it
    discomfort_cause: str = "reported discomfort"

    @property
    def preferred_ids(self) -> frozenset[str]:
        # Substitutes, and measured exercises whose load changed: they continue next week.
        return frozenset([i for subs in self.substitutes.values() for i in subs]
                         + list(self.exercise_factors))

    def to_dict(self) -> dict:
        return {
            "fitness_level": self.fitness_level,
            "rating": self.rating,
            "level_change": self.level_change,
            "rep_factor": self.rep_factor,
            "set_delta": self.set_delta,
            "excluded_ids": sorted(self.excluded_ids),
            "substitutes": {k: list(v) for k, v in self.substitutes.items()},
            "max_difficulty": self.max_difficulty,
            "notes": list(self.notes),
            "exercise_factors": dict(self.exercise_factors),
            "exercise_reasons": {k: list(v) for k, v in self.exercise_reasons.items()},
        }


def direction_run(ratings: list[str]) -> tuple[int, int]:
    """(direction, length) of the run of same-direction ratings ending at ``ratings[-1]``."""
    if not ratings:
        return 0, 0
    d = RATING_DIRECTION.get(ratings[-1], 0)
    if d == 0:
        return 0, 0
    n = 0
    for r in reversed(ratings):
        if RATING_DIRECTION.get(r, 0) != d:
            break
        n += 1
    return d, n


def next_fitness_level(
    level: str, rating: str, rating_history: list[str]
) -> tuple[str, str | None]:
    """Level for next week and the change ("up"/"down"/None)."""
    d, n = direction_run(list(rating_history) + [rating])
    if d == 0 or n < 2 or n % 2 != 0:
        return level, None
    i = FITNESS_LEVELS.index(level) + d
    if not 0 <= i < len(FITNESS_LEVELS):
        return level, None
    return FITNESS_LEVELS[i], "up" if d > 0 else "down"


def plan_exercise_ids(plan: dict | None) -> list[str]:
    ids: list[str] = []
    for day in (plan or {}).get("days", []):
        for item in day.get("exercises", []):
            if item.get("exercise_id") not in ids:
                ids.append(item.get("exercise_id"))
    return ids


def easier_substitutes(
    ex: Exercise, library: list[Exercise], injury: str, excluded, limit: int = 3
) -> tuple[str, ...]:
    """Easier exercises suitable for ``injury`` that train the same thing as ``ex``."""
    cands = []
    for c in library:
        if c.id == ex.id or c.id in excluded or c.difficulty >= ex.difficulty:
            continue
        if injury not in c.suitable_for or injury in c.contraindicated_for:
            continue
        overlap = len(set(c.muscle_groups) & set(ex.muscle_groups))
        same_cat = c.category == ex.category
        if not same_cat and overlap == 0:
            continue
        if c.impact == "high" and ex.impact != "high":
            continue
        cands.append((not same_cat, -overlap, -c.difficulty, c.id))
    cands.sort()
    return tuple(c[-1] for c in cands[:limit])


def _after_discomfort(feedback: dict, previous_plan: dict | None, library: list[Exercise],
                      profile: Profile, new_level: str,
                      notes: list[str]) -> tuple[set[str], dict[str, tuple[str, ...]], int | None]:
    """Discomfort: the named exercises (or, with none named, the week's hardest) are left out
    and get easier substitutes; without names, difficulty is capped one below."""
    lib = by_id(library)
    excluded: set[str] = set()
    max_difficulty = None
    named = [i for i in (feedback.get("exercise_ids") or []) if i in lib]
    if named:
        excluded.update(named)
        notes.append("discomfort reported: " + ", ".join(lib[i].name for i in named)
                     + " replaced by easier exercises")
    else:
        in_plan = [lib[i] for i in plan_exercise_ids(previous_plan) if i in lib]
        if in_plan:
            top = max(e.difficulty for e in in_plan)
            hardest = sorted((e for e in in_plan if e.difficulty == top), key=lambda e: e.id)
            excluded.update(e.id for e in hardest[:MAX_UNNAMED_EXCLUSIONS])
            max_difficulty = max(1, top - 1)
        else:
            max_difficulty = max(1, LEVEL_DIFFICULTY_CEILING[new_level] - 1)
        notes.append(
            f"discomfort reported: the hardest exercises are replaced and difficulty is "
            f"capped at {max_difficulty} next week"
        )
    substitutes = {i: easier_substitutes(lib[i], library, profile.injury, excluded)
                   for i in sorted(excluded)}
    return excluded, substitutes, max_difficulty


def compute_adjustment(
    feedback: dict | None,
    rating_history: list[str],
    previous_plan: dict | None,
    library: list[Exercise],
    profile: Profile,
) -> Adjustment:
    """Adjustment for next week from this week's ``feedback`` ({rating, exercise_ids?, note?}).

    Without feedback the previous plan's volume (rep_factor / set_delta) is carried over."""
    prev = previous_plan or {}
    rep_factor = float(prev.get("rep_factor", 1.0) or 1.0)
    set_delta = int(prev.get("set_delta", 0) or 0)
    level = profile.fitness_level
    if not feedback or not feedback.get("rating"):
        return Adjustment(fitness_level=level, rep_factor=rep_factor, set_delta=set_delta)
    rating = feedback["rating"]
    if rating not in FEEDBACK_RATINGS:
        raise ValueError(f"rating must be one of {', '.join(FEEDBACK_RATINGS)}")

    notes: list[str] = []
    cause = "reported discomfort"
    pain = feedback.get("pain")
    if pain is not None and pain >= PAIN_AS_DISCOMFORT and rating != "discomfort":
        # a week rated doable (or easy) that hurt is not progressed: it is eased like discomfort
        cause = f"pain {pain}/10 reported with '{rating}' (treated as discomfort)"
        notes.append(f"{cause}: adapted as discomfort")
        rating = "discomfort"
    rep_factor = min(max(rep_factor * REP_MULTIPLIER[rating], REP_FACTOR_RANGE[0]),
                     REP_FACTOR_RANGE[1])
    set_delta = min(max(set_delta + SET_STEP[rating], SET_DELTA_RANGE[0]), SET_DELTA_RANGE[1])
    if rating == "easy":
        notes.append("last week felt easy: repetitions x1.15 and one more set")
    elif rating == "too_difficult":
        notes.append("last week was too difficult: repetitions x0.85 and one set fewer")
    elif rating == "doable":
        notes.append("last week was doable: volume kept")

    new_level, change = next_fitness_level(level, rating, rating_history)
    if change:
        notes.append(
            f"fitness level {'raised' if change == 'up' else 'lowered'} from {level} to "
            f"{new_level} after two weeks of '{rating}' feedback"
        )
        rep_factor, set_delta = 1.0, 0

    excluded: set[str] = set()
    substitutes: dict[str, tuple[str, ...]] = {}
    max_difficulty = None
    if rating == "discomfort":
        excluded, substitutes, max_difficulty = _after_discomfort(
            feedback, previous_plan, library, profile, new_level, notes)
    return Adjustment(
        fitness_level=new_level, rating=rating, level_change=change,
        rep_factor=round(rep_factor, 4), set_delta=set_delta,
        excluded_ids=frozenset(excluded), substitutes=substitutes,
        max_difficulty=max_difficulty, notes=tuple(notes), discomfort_cause=cause,
    )


def with_performance(adjustment: Adjustment, changes, library: list[Exercise],
                     profile: Profile) -> Adjustment:
    """Add last week's measured performance (``performance.PerformanceChanges``) to the rating's
    adjustment: per-exercise volume factors with their reasons, and the discomfort path
    (left out, easier substitutes) for exercises reported painful."""
    if not (changes.factors or changes.discomfort_ids):
        return adjustment
    lib = by_id(library)
    excluded = set(adjustment.excluded_ids) | {i for i in changes.discomfort_ids if i in lib}
    substitutes = dict(adjustment.substitutes)
    reasons = {k: tuple(v) for k, v in changes.reasons.items()}
    for ex_id in sorted(changes.discomfort_ids):
        if ex_id not in lib or ex_id in substitutes:
            continue
        substitutes[ex_id] = easier_substitutes(lib[ex_id], library, profile.injury, excluded)
        why = next((n for n in changes.notes if lib[ex_id].name in n), None)
        for sub in substitutes[ex_id]:
            reasons.setdefault(sub, (f"replaces {lib[ex_id].name}: "
                                     + (why or "pain reported last week"),))
    factors = {k: v for k, v in changes.factors.items() if k not in excluded}
    return replace(adjustment, excluded_ids=frozenset(excluded), substitutes=substitutes,
                   exercise_factors=factors, exercise_reasons=reasons,
                   notes=tuple(adjustment.notes) + tuple(changes.notes))
