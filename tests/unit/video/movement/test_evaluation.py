"""The camera-check evaluation behind `flask ml eval-camera-checks`, on a small subset."""

from __future__ import annotations

from domain.video.movement import evaluation as ev
from domain.video.movement import load_camera_checks, measure_movement
from domain.video.movement.synthetic import generate


def test_synthetic_cases_are_scored_per_exercise_and_view(monkeypatch):
    monkeypatch.setattr(ev, "SYNTHETIC", (("knee_bend", "mini-squats", 40.0, None),
                                          ("wall_sit", "wall-sit", 60.0, 8.0)))
    monkeypatch.setattr(ev, "GYM_SYNTHETIC", ())
    cases = ev.synthetic_cases(seeds=1)
    assert {c.view for c in cases} == {"side", "three_quarter", "front"}
    summary = ev.summarize(cases)
    side = summary["mini-squats"]["synthetic"]["by_view"]["side"]
    assert side["rep_mae"] == 0.0 and side["rom_mae"] < 8.0
    hold = summary["wall-sit"]["synthetic"]["by_view"]["side"]
    assert hold["hold_mae_s"] < 2.0
    assert summary["wall-sit"]["synthetic"]["by_view"]["front"]["hold_not_measured"] == 1
    assert summary["banded-squat"]["same_specification_as"] == "bodyweight-squat"


def test_form_criteria_named_by_the_specification_are_judged_from_the_side():
    check = load_camera_checks()["bodyweight-squat"]
    s = generate("knee_bend", 95.0, n_reps=2, yaw=90.0, seed=4)
    r = measure_movement(s.keypoints, s.fps, check)
    assert r.form is not None and r.form["family"] == "squat"
    assert set(r.form["judged"]) | set(r.form["not_judged"]) <= set(check.form["criteria"])
    assert "knee_valgus" in r.form["not_judged"]  # only the front view shows it
