import pytest

from domain.plans.adaptation import compute_adjustment, next_fitness_level
from domain.plans.service import generate_plan


def _items(plan):
    return [i for d in plan["days"] for i in d["exercises"]]


def _by_id(plan):
    return {i["exercise_id"]: i for i in _items(plan)}


def test_easy_raises_and_too_difficult_lowers_volume(scorer, library, paper_users):
    p = paper_users["user2"]
    week1 = generate_plan(p, scorer, library, week=1)
    easy = generate_plan(p, scorer, library, week=2, previous_plan=week1,
                         feedback={"rating": "easy"}, rating_history=[])
    hard = generate_plan(p, scorer, library, week=2, previous_plan=week1,
                         feedback={"rating": "too_difficult"}, rating_history=[])
    same = generate_plan(p, scorer, library, week=2, previous_plan=week1,
                         feedback={"rating": "doable"}, rating_history=[])
    assert easy["rep_factor"] > 1 > hard["rep_factor"] and same["rep_factor"] == 1
    assert easy["fitness_level"] == hard["fitness_level"] == "intermediate"
    common = set(_by_id(easy)) & set(_by_id(hard)) & set(_by_id(same))
    assert common
    for ex_id in common:
        e, h, s = _by_id(easy)[ex_id], _by_id(hard)[ex_id], _by_id(same)[ex_id]
        key = "reps" if s["reps"] else "duration_s"
        assert e[key] > s[key] > h[key] or (e[key] >= s[key] >= h[key] and e[key] > h[key])
        assert e["sets"] >= s["sets"] >= h["sets"]
    # cumulative: a second easy week raises further
    week3 = generate_plan(p, scorer, library, week=3, previous_plan=easy,
                          feedback={"rating": "doable"}, rating_history=["easy"])
    assert week3["rep_factor"] == easy["rep_factor"]


def test_discomfort_replaces_named_exercises_with_easier_ones(scorer, library, paper_users):
    p = paper_users["user2"]
    lib = {e.id: e for e in library}
    week1 = generate_plan(p, scorer, library, week=1)
    named = sorted(_by_id(week1), key=lambda i: -lib[i].difficulty)[:2]
    week2 = generate_plan(p, scorer, library, week=2, previous_plan=week1,
                          feedback={"rating": "discomfort", "exercise_ids": named},
                          rating_history=["doable"])
    got = _by_id(week2)
    assert not set(named) & set(got)
    subs = week2["adjustment"]["substitutes"]
    for ex_id in named:
        assert subs[ex_id], ex_id
        for s in subs[ex_id]:
            assert lib[s].difficulty < lib[ex_id].difficulty
            assert "meniscus" in lib[s].suitable_for
        placed = [s for s in subs[ex_id] if s in got]
        assert placed, f"no substitute for {ex_id} in the new plan"
        assert any("easier substitute" in r for r in got[placed[0]]["reasons"])
    assert week2["rep_factor"] < 1


def test_discomfort_without_names_drops_hardest(scorer, library, paper_users):
    p = paper_users["user3"]
    lib = {e.id: e for e in library}
    week1 = generate_plan(p, scorer, library, week=1)
    top = max(lib[i].difficulty for i in _by_id(week1))
    week2 = generate_plan(p, scorer, library, week=2, previous_plan=week1,
                          feedback={"rating": "discomfort"}, rating_history=[])
    assert max(lib[i].difficulty for i in _by_id(week2)) < top
    assert week2["excluded_ids"] and all(lib[i].difficulty == top for i in week2["excluded_ids"])


def test_two_weeks_same_direction_changes_level(library, paper_users):
    assert next_fitness_level("beginner", "easy", ["easy"]) == ("intermediate", "up")
    assert next_fitness_level("beginner", "easy", []) == ("beginner", None)
    assert next_fitness_level("intermediate", "easy", ["doable"]) == ("intermediate", None)
    assert next_fitness_level("advanced", "too_difficult", ["discomfort"]) == (
        "intermediate", "down")
    assert next_fitness_level("intermediate", "easy", ["easy", "easy"]) == ("intermediate", None)
    assert next_fitness_level("beginner", "easy", ["easy", "easy", "easy"]) == (
        "intermediate", "up")
    assert next_fitness_level("advanced", "easy", ["easy"]) == ("advanced", None)
    assert next_fitness_level("beginner", "too_difficult", ["too_difficult"]) == ("beginner", None)
    adj = compute_adjustment({"rating": "easy"}, ["easy"], {"rep_factor": 1.15, "set_delta": 1},
                             library, paper_users["user1"])
    assert adj.fitness_level == "intermediate" and adj.level_change == "up"
    assert adj.rep_factor == 1.0 and any("raised" in n for n in adj.notes)


def test_level_change_flows_into_plan(scorer, library, paper_users):
    p = paper_users["user1"]
    week1 = generate_plan(p, scorer, library, week=1)
    up = generate_plan(p, scorer, library, week=2, previous_plan=week1,
                       feedback={"rating": "easy"}, rating_history=["easy"])
    assert up["fitness_level"] == "intermediate"
    lib = {e.id: e for e in library}
    assert max(lib[i].difficulty for i in _by_id(up)) > max(
        lib[i].difficulty for i in _by_id(week1))
    assert any("raised from beginner to intermediate" in n for n in up["notes"])


def test_service_plan_shape_and_bad_rating(scorer, library, paper_users):
    p = paper_users["user1"]
    plan = generate_plan(p, scorer, library, week=1, readiness_score=30)
    assert plan["model_version"] == scorer.version and plan["readiness_score"] == 30
    assert len(plan["days"]) == 3
    with pytest.raises(ValueError):
        generate_plan(p, scorer, library, week=2, previous_plan=plan,
                      feedback={"rating": "meh"}, rating_history=[])


def test_pain_from_five_with_another_rating_is_adapted_as_discomfort(scorer, library,
                                                                      paper_users):
    p = paper_users["user3"]
    lib = {e.id: e for e in library}
    week1 = generate_plan(p, scorer, library, week=1)
    named = sorted(_by_id(week1), key=lambda i: -lib[i].difficulty)[:1]
    week2 = generate_plan(p, scorer, library, week=2, previous_plan=week1,
                          feedback={"rating": "doable", "exercise_ids": named, "pain": 6},
                          rating_history=[])
    assert week2["adjustment"]["rating"] == "discomfort" and not set(named) & set(_by_id(week2))
    cause = "pain 6/10 reported with 'doable' (treated as discomfort)"
    assert any(cause in n for n in week2["adjustment"]["notes"])
    reasons = [r for item in _by_id(week2).values() for r in item["reasons"]]
    assert any(cause in r for r in reasons)  # the item's reasons say why it changed
    for pain in (None, 4):  # below the threshold the rating stands
        adj = compute_adjustment({"rating": "doable", "pain": pain}, [], week1, library, p)
        assert adj.rating == "doable" and not adj.excluded_ids
    adj = compute_adjustment({"rating": "discomfort", "pain": 9}, [], week1, library, p)
    assert not any("treated as" in n for n in adj.notes)
