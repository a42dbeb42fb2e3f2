import pytest

from domain.plans.profile import Profile, effective_equipment
from domain.plans.readiness import compute_readiness


def test_profile_bmi_and_validation():
    p = Profile("male", 70, 182, 86, "beginner", "achilles", [], 3)
    assert p.bmi == pytest.approx(86 / 1.82**2, abs=0.05)
    assert p.to_dict()["bmi"] == p.bmi
    assert Profile.from_dict({**p.to_dict(), "id": "x"}) == p
    with pytest.raises(ValueError, match="injury"):
        Profile("male", 30, 180, 80, "beginner", "hamstring", [], 3)
    with pytest.raises(ValueError, match="equipment"):
        Profile("male", 30, 180, 80, "beginner", "acl", ["kettlebell"], 3)
    with pytest.raises(ValueError, match="workouts_per_week"):
        Profile("male", 30, 180, 80, "beginner", "acl", [], 8)
    assert effective_equipment(["gym"]) >= {"dumbbells", "step", "resistance_band"}


def test_readiness_at_baseline_is_high_and_population_defaults():
    r = compute_readiness(8, 62, 45)
    assert r.baseline_source == "population"
    assert r.score == 73 and r.band == "high"
    assert compute_readiness(8, 62, 45, baseline=[{"resting_hr": 60, "hrv_ms": 50}] * 2
                             ).baseline_source == "population"


def test_readiness_personal_baseline():
    base = [{"resting_hr": 50, "hrv_ms": 80}, {"resting_hr": 52, "hrv_ms": 84},
            {"resting_hr": 48, "hrv_ms": 76}]
    good = compute_readiness(8, 50, 80, baseline=base)
    assert good.baseline_source == "personal" and good.band == "high"
    # the same numbers that are normal for the population are poor for this athlete
    bad = compute_readiness(6, 62, 45, baseline=base)
    assert bad.score < 40 and bad.band == "low"
    assert "easy" in bad.recommendation


def test_readiness_monotonic_and_formula():
    import math

    base = compute_readiness(7, 60, 50).score
    assert compute_readiness(7, 60, 70).score > base  # higher HRV better
    assert compute_readiness(7, 70, 50).score < base  # higher resting HR worse
    assert compute_readiness(5, 60, 50).score < base  # less sleep worse
    assert compute_readiness(10, 60, 50).score == compute_readiness(8.5, 60, 50).score
    # formula from the docstring
    z = 0.4 * ((30 - 45) / 15) + 0.3 * ((62 - 70) / 8) + 0.3 * (6 - 8)
    assert compute_readiness(6, 70, 30).score == round(100 / (1 + math.exp(-(1.2 * z + 1))))
    assert compute_readiness(6, 70, 30).components["composite"] == pytest.approx(z, abs=1e-3)
    assert 0 <= compute_readiness(0, 200, 1).score < 10


def test_readiness_rejects_bad_input():
    with pytest.raises(ValueError):
        compute_readiness(30, 60, 50)
    with pytest.raises(ValueError):
        compute_readiness(8, "fast", 50)


def test_low_readiness_lightens_the_day_once():
    from domain.plans.readiness import lighten_day

    day = {"day": 1, "weekday": "Monday", "completed": False, "exercises": [
        {"exercise_id": f"e{i}", "name": "x", "sets": 3, "reps": 10, "duration_s": None,
         "score": 0.9, "reasons": [], "category": "strength"} for i in range(4)] + [
        {"exercise_id": "jump", "name": "jump", "sets": 2, "reps": 8, "duration_s": None,
         "score": 0.8, "reasons": [], "category": "plyometrics"},
        {"exercise_id": "hold", "name": "plank", "sets": 1, "reps": None, "duration_s": 30,
         "score": 0.9, "reasons": [], "category": "strength"}]}
    assert lighten_day(day, 75.0) is None
    light = lighten_day(day, 30.0)
    assert light["lighter"] and "jump" not in [e["exercise_id"] for e in light["exercises"]]
    by_id = {e["exercise_id"]: e for e in light["exercises"]}
    assert by_id["e0"]["sets"] == 2 and by_id["e0"]["reps"] == 8
    assert by_id["hold"]["sets"] == 1 and by_id["hold"]["duration_s"] == 25
    assert any("readiness" in r for r in by_id["e0"]["reasons"])
    assert lighten_day(light, 20.0) is None  # once
    assert day["exercises"][0]["sets"] == 3  # the input is not changed
