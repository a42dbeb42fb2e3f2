"""The paper's section IV examples: plans must match what the paper says about each user."""

import numpy as np

from domain.plans.builder import build_week


def _plan(scorer, library, p):
    return build_week(p, library, scorer.score(p, library), week=1,
                      explain_fn=lambda exs: scorer.explain(p, exs))


def _exs(plan, library):
    lib = {e.id: e for e in library}
    return [lib[i.exercise_id] for d in plan.days for i in d.exercises]


def test_user1_older_achilles_beginner_no_equipment(scorer, library, paper_users):
    """'calf raises, stretches, and toe curls' without equipment; low-impact, suitable for an
    older novice; focus on the calf and lower leg; recuperation over intensity."""
    p = paper_users["user1"]
    plan = _plan(scorer, library, p)
    exs = _exs(plan, library)
    ids = {e.id for e in exs}
    assert len(plan.days) == 3
    assert all(not e.equipment for e in exs)
    assert all(e.impact != "high" and e.category != "plyometrics" for e in exs)
    assert all(e.difficulty <= 2 for e in exs)
    assert ids & {"standing-calf-raise", "isometric-calf-hold", "seated-calf-raise"}  # calf raises
    assert any(e.category == "stretching" for e in exs)  # stretches
    assert "toe-curls" in ids  # toe curls
    lower_leg = {"calves", "ankle", "foot_intrinsics", "tibialis"}
    assert sum(bool(lower_leg & set(e.muscle_groups)) for e in exs) >= 5
    assert all(any(e.category == "balance" for e in
                   (next(x for x in library if x.id == i.exercise_id) for i in d.exercises))
               for d in plan.days)  # leg stability
    # recuperation over intensity: modest volume
    assert max(i.sets for d in plan.days for i in d.exercises) <= 3


def test_user2_meniscus_intermediate_bands(scorer, library, paper_users):
    """Knee support and lower-body strengthening: squats, hip thrusts, resistance-band
    exercises, stability/balance work; harder than user 1; no over-tiring of the knee."""
    p = paper_users["user2"]
    plan = _plan(scorer, library, p)
    exs = _exs(plan, library)
    ids = {e.id for e in exs}
    assert len(plan.days) == 4
    assert all(set(e.equipment) <= {"resistance_band"} for e in exs)
    assert any("squat" in i for i in ids)
    assert ids & {"banded-hip-thrust", "glute-bridge", "banded-glute-bridge",
                  "single-leg-glute-bridge"}
    assert sum("resistance_band" in e.equipment for e in exs) >= 4
    assert all(any(e.category == "balance" for e in _exs_day(d, library)) for d in plan.days)
    assert all("meniscus" not in e.contraindicated_for for e in exs)
    assert all(e.impact != "high" and "pivoting" not in e.tags and "deep_flexion" not in e.tags
               for e in exs)
    muscles = [m for e in exs for m in e.muscle_groups]
    assert muscles.count("quadriceps") >= 4 and muscles.count("glutes") >= 4
    user1 = _exs(_plan(scorer, library, paper_users["user1"]), library)
    assert np.mean([e.difficulty for e in exs]) > np.mean([e.difficulty for e in user1])


def test_user3_young_acl_athlete_gym(scorer, library, paper_users):
    """Late ACL rehab with a gym: leg presses, various lunges and squats for quads and
    hamstrings, plus explosive plyometrics and box jumps; hardest of the three plans."""
    p = paper_users["user3"]
    plan = _plan(scorer, library, p)
    exs = _exs(plan, library)
    ids = {e.id for e in exs}
    assert len(plan.days) == 5
    # "leg presses, various lunges, and squats" using the gym
    gym_legs = [e for e in exs if "gym" in e.equipment and "quadriceps" in e.muscle_groups]
    assert len(gym_legs) >= 3
    assert len({i for i in ids if "lunge" in i or "split-squat" in i}) >= 2
    assert len({i for i in ids if "squat" in i}) >= 3
    assert "box-jumps" in ids
    assert sum(e.category == "plyometrics" for e in exs) >= 4
    muscles = [m for e in exs for m in e.muscle_groups]
    assert muscles.count("quadriceps") >= 10 and muscles.count("hamstrings") >= 5
    user2 = _exs(_plan(scorer, library, paper_users["user2"]), library)
    assert np.mean([e.difficulty for e in exs]) > np.mean([e.difficulty for e in user2])
    assert np.mean([i.sets for d in plan.days for i in d.exercises]) > 3


def _exs_day(day, library):
    lib = {e.id: e for e in library}
    return [lib[i.exercise_id] for i in day.exercises]
