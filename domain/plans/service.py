"""Facade the Celery plan task calls: profile + feedback in, plan dict out (no I/O here)."""

from __future__ import annotations

from dataclasses import replace

from .adaptation import compute_adjustment
from .builder import build_week
from .library import Exercise
from .network import PlanScorer
from .profile import Profile

DISCLAIMER = ("Use this plan only with medical advice; stop any exercise that causes pain "
              "above 3/10 and report it as discomfort.")


def generate_plan(
    profile: Profile,
    scorer: PlanScorer,
    library: list[Exercise],
    *,
    week: int,
    previous_plan: dict | None = None,
    feedback: dict | None = None,
    rating_history: list[str] | None = None,
    readiness_score: float | None = None,
) -> dict:
    """Generate the plan for ``week``.

    - ``previous_plan``: last week's plan dict (as returned by this function) or None.
    - ``feedback``: ``{rating, exercise_ids?, note?}`` given on ``previous_plan`` or None.
    - ``rating_history``: ratings of the weeks before that feedback, oldest first (excluding
      ``feedback['rating']``).
    - ``readiness_score``: today's readiness 0-100 or None.

    Returns the ``PlanDraft`` dict plus ``model_version`` and ``adjustment``.  If the returned
    ``fitness_level`` differs from ``profile.fitness_level`` the caller should store it in the
    user's profile (the feedback loop moved the level).
    """
    adjustment = compute_adjustment(feedback, rating_history or [], previous_plan, library,
                                    profile)
    effective = replace(profile, fitness_level=adjustment.fitness_level)
    scores = scorer.score(effective, library)
    draft = build_week(
        effective, library, scores, week=week, adjustment=adjustment,
        readiness_score=readiness_score,
        explain_fn=lambda exs: scorer.explain(effective, exs, level=adjustment.fitness_level),
    )
    out = draft.to_dict()
    out["notes"].append(DISCLAIMER)
    out["model_version"] = scorer.version
    out["adjustment"] = adjustment.to_dict()
    return out
