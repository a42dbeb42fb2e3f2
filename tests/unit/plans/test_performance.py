"""Pure rules of what was performed (domain/plans/performance.py): the plan item's `performed`,
day completion, next week's per-exercise changes with their reasons, adherence."""

from __future__ import annotations

from domain.plans import performance as P

SQUATS = {"exercise_id": "mini-squats", "name": "Mini squats", "sets": 2, "reps": 10,
          "duration_s": None}
PLANK = {"exercise_id": "front-plank", "name": "Front plank", "sets": 3, "reps": None,
         "duration_s": 30}


def entry(source="camera", valid=True, **kw) -> dict:
    base = {"day": 1, "exercise_id": "mini-squats", "source": source, "valid": valid,
            "reps": None, "sets": None, "duration_s": None, "hold_s": None, "rom_deg": None,
            "rom_ratio": None, "form_verdict": None, "pain": None}
    return {**base, **kw}


def test_camera_checks_add_up_to_the_prescription():
    one = entry(reps=12, rom_deg=40.0, rom_ratio=1.33)
    first = P.summarize(SQUATS, [one])
    assert first["reps"] == 12 and first["target"] == 20 and not first["completed"]
    done = P.summarize(SQUATS, [one, entry(reps=8)])
    assert done["reps"] == 20 and done["completed"] and done["rom_deg"] == 40.0


def test_an_invalid_check_counts_nothing():
    summary = P.summarize(SQUATS, [entry(valid=False, reps=25)])
    assert summary["reps"] == 0 and not summary["completed"] and summary["camera_checks"] == 1


def test_self_report_leaves_out_what_was_prescribed():
    assert P.self_report_volume(SQUATS, reps=None, sets=None, duration_s=None) == {
        "sets": 2, "reps": 20, "duration_s": None}
    assert P.self_report_volume(SQUATS, reps=6, sets=1, duration_s=None)["reps"] == 6
    assert P.self_report_volume(PLANK, reps=None, sets=2, duration_s=None)["duration_s"] == 60
    timed = P.summarize(PLANK, [entry("self", duration_s=85.0, sets=3, pain=2)])
    assert timed["completed"] and timed["pain"] == 2  # 85 s of 90: within the tolerance


def test_day_completed_only_when_every_exercise_is():
    day = {"exercises": [{"performed": {"completed": True}}, {"performed": None}]}
    assert not P.day_completed(day)
    day["exercises"][1]["performed"] = {"completed": True}
    assert P.day_completed(day)
    assert not P.day_completed({"exercises": []})


def test_short_repetitions_lower_the_load_and_quote_the_measurement():
    days = [{"day": 1, "exercises": [SQUATS]}]
    changes = P.performance_changes(days, [entry(reps=6, rom_ratio=1.0, rom_deg=30.0)],
                                    "beginner")
    assert changes.factors == {"mini-squats": 0.6}
    (reason,) = changes.reasons["mini-squats"]
    assert "6 of 10 Mini squats" in reason and "x0.60" in reason


def test_two_sets_in_one_video_are_not_a_shortfall():
    days = [{"day": 1, "exercises": [SQUATS]}]
    changes = P.performance_changes(days, [entry(reps=20, form_verdict="good")], "beginner")
    assert changes.factors == {}


def test_small_range_lowers_the_load():
    days = [{"day": 1, "exercises": [SQUATS]}]
    changes = P.performance_changes(
        days, [entry(reps=10, rom_deg=15.0, rom_ratio=0.5, form_verdict="good")], "beginner")
    assert changes.factors == {"mini-squats": P.LOWER_STEP}
    assert "15° of the 30° expected for beginner" in changes.reasons["mini-squats"][0]


def test_exceeded_with_good_form_raises_but_not_with_faulty_form():
    days = [{"day": 1, "exercises": [SQUATS]}]
    good = P.performance_changes(days, [entry(reps=13, rom_ratio=1.2, rom_deg=36.0,
                                              form_verdict="good")], "beginner")
    assert good.factors == {"mini-squats": P.RAISE_STEP}
    assert "13 of 10" in good.reasons["mini-squats"][0]
    faulty = P.performance_changes(days, [entry(reps=13, rom_ratio=1.2, rom_deg=36.0,
                                                form_verdict="faulty")], "beginner")
    assert faulty.factors == {}


def test_pain_at_the_threshold_takes_the_discomfort_path():
    days = [{"day": 1, "exercises": [SQUATS]}]
    changes = P.performance_changes(days, [entry("self", reps=20, pain=P.PAIN_THRESHOLD)],
                                    "beginner")
    assert changes.discomfort_ids == {"mini-squats"} and changes.factors == {}
    assert f"pain {P.PAIN_THRESHOLD}/10 during Mini squats" in changes.notes[0]
    calm = P.performance_changes(days, [entry("self", reps=20, pain=P.PAIN_THRESHOLD - 1)],
                                 "beginner")
    assert not calm.discomfort_ids


def test_self_reports_alone_do_not_change_the_load():
    days = [{"day": 1, "exercises": [SQUATS]}]
    assert P.performance_changes(days, [entry("self", reps=4)], "beginner").factors == {}


def test_adherence_counts_sessions_repetitions_trend_and_pain():
    plans = [{"id": "p1", "week": 1, "days": [
        {"day": 1, "completed": True, "exercises": [SQUATS]},
        {"day": 2, "completed": False, "exercises": [SQUATS, PLANK]}]}]
    entries = [{**entry(reps=25, rom_deg=30.0, rom_ratio=1.0), "plan_id": "p1"},
               {**entry(day=2, reps=5, rom_deg=36.0, rom_ratio=1.2), "plan_id": "p1"},
               {**entry("self", day=2, exercise_id="front-plank", duration_s=90.0, pain=3),
                "plan_id": "p1"}]
    out = P.adherence(plans, entries)
    assert out["sessions"] == {"prescribed": 2, "completed": 1, "share": 0.5}
    # 25 counted against 20 prescribed caps at 20; 5 of 20 on day 2
    assert out["repetitions"] == {"prescribed": 40, "done": 25, "share": 0.625}
    assert out["rom_trend"]["mini-squats"]["change_deg"] == 6.0
    assert out["last_pain"][0]["pain"] == 3
