"""An analysis checked against a prescribed exercise (domain/video/movement/prescribed.py and
the video service's `checked_against_prescription`) on real UTD-MHAD squats (subject 1, four
trials joined in 3-D, projected from the side), and every way it must refuse to say done."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from domain.video.movement import load_camera_checks
from domain.video.movement.prescribed import check_prescribed, wrong_exercise

MINI_SQUATS = {"exercise_id": "mini-squats", "name": "Mini squats", "sets": 2, "reps": 10,
               "duration_s": None}
SQUAT = {"label": "squat", "confidence": 0.93, "candidates": []}


@cache
def utd_squats(yaw: float, subject: int = 1) -> np.ndarray:
    from domain.video.datasets import utd_mhad
    from domain.video.rep_eval import concat_utd

    trials = [t for t in utd_mhad.load_trials() if t.action == "squat" and t.subject == subject]
    joined = utd_mhad.UtdTrial("squat", subject, 0, concat_utd(trials))
    kp = utd_mhad.render(joined, yaw, 10.0, np.random.default_rng(0), fps_out=10.0)
    kp.setflags(write=False)  # shared between tests
    return kp


@pytest.fixture(scope="module")
def check():
    return load_camera_checks()["mini-squats"]


def test_real_squats_are_counted_against_the_prescription(check):
    out = check_prescribed(utd_squats(90.0), 10.0, check, MINI_SQUATS, "beginner", SQUAT)
    performed = out["performed"]
    assert performed["counted"] and performed["reps"] == 4
    assert not performed["completed"]  # 4 of 2 x 10
    assert "4 of 20 repetitions" in performed["reasons"][0]
    assert performed["rom_deg"] > 30 and performed["rom_expected"] == 30
    assert out["prescribed"] == MINI_SQUATS
    enough = dict(MINI_SQUATS, sets=1, reps=4)
    assert check_prescribed(utd_squats(90.0), 10.0, check, enough, "beginner",
                            SQUAT)["performed"]["completed"]


def test_another_exercise_is_said_plainly_and_not_counted(check):
    pushup = {"label": "pushup", "confidence": 0.97, "candidates": []}
    assert "looks like pushup (97%)" in wrong_exercise(check, pushup)
    out = check_prescribed(utd_squats(90.0), 10.0, check, dict(MINI_SQUATS, sets=1, reps=4),
                           "beginner", pushup)
    assert not out["performed"]["counted"] and not out["performed"]["completed"]
    assert out["performed"]["reps"] == 0 and "looks like pushup" in out["feedback"][0]
    # a classifier answer compatible with the prescription, or unsure, is no objection
    assert wrong_exercise(check, {"label": "sit_to_stand", "confidence": 0.8}) is None
    assert wrong_exercise(check, {"label": "unknown", "confidence": 0.3}) is None


def test_nobody_too_short_and_wrong_view_never_complete(check):
    one_rep = dict(MINI_SQUATS, sets=1, reps=1)
    nobody = np.zeros((60, 17, 3), np.float32)
    out = check_prescribed(nobody, 10.0, check, one_rep, "beginner", SQUAT)
    assert not out["performed"]["completed"] and "No person" in out["feedback"][0]
    short = check_prescribed(utd_squats(90.0)[:3], 10.0, check, one_rep, "beginner", SQUAT)
    assert not short["performed"]["completed"] and "too short" in short["feedback"][0]
    front = check_prescribed(utd_squats(0.0), 10.0, check, one_rep, "beginner", SQUAT)
    assert not front["performed"]["completed"]
    assert any("wrong side" in r for r in front["performed"]["reasons"])


def test_the_result_becomes_the_measurement(check):
    from domain.video.service import checked_against_prescription

    result = {"exercise": SQUAT, "rep_count": 7, "reps": [], "feedback": ["gym sentence"],
              "form": {"verdict": "uncertain"}}
    checked_against_prescription(result, utd_squats(90.0), 10.0, MINI_SQUATS, "beginner")
    assert result["rep_count"] == 4 and len(result["reps"]) == 4
    assert result["classifier_view"]["rep_count"] == 7
    assert result["performed"]["reps"] == 4 and result["prescribed"]["reps"] == 10
    assert result["feedback"][0].startswith("4 of 20 Mini squats")


def test_a_hold_is_timed_against_the_prescribed_seconds():
    from domain.video.movement.synthetic import generate

    plank = load_camera_checks()["front-plank"]
    held = generate("plank", 0.0, n_reps=1, hold_s=20.0, yaw=90.0, seed=0, side=1)
    item = {"exercise_id": "front-plank", "name": "Front plank", "sets": 1, "reps": None,
            "duration_s": 15}
    out = check_prescribed(held.keypoints, held.fps, plank, item, "intermediate",
                           {"label": "pushup", "confidence": 0.9})
    assert out["performed"]["completed"] and out["performed"]["hold_s"] >= 15
    longer = dict(item, sets=2, duration_s=30)
    out = check_prescribed(held.keypoints, held.fps, plank, longer, "intermediate",
                           {"label": "unknown"})
    assert not out["performed"]["completed"] and "of 60 s" in out["performed"]["reasons"][0]
