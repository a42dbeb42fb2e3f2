"""Measuring a prescribed exercise on keypoints: repetitions, range, holds, view, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from domain.video.movement import load_camera_checks, measure_movement
from domain.video.movement.synthetic import generate, true_signal


@pytest.fixture(scope="module")
def checks():
    return load_camera_checks()


@pytest.mark.parametrize("template, exercise, amount, reps", [
    ("knee_bend", "bodyweight-squat", 90.0, 4),
    ("bridge", "glute-bridge", 1.0, 3),
    ("seated_knee_ext", "seated-knee-extension", 80.0, 2),
    ("side_lying_abduction", "side-lying-hip-abduction", 35.0, 3),
])
def test_repetitions_and_range_from_the_filming_view(checks, template, exercise, amount, reps):
    check = checks[exercise]
    s = generate(template, amount, n_reps=reps, yaw=0.0 if check.view == "front" else 90.0,
                 seed=3)
    r = measure_movement(s.keypoints, s.fps, check, "intermediate")
    assert r.rep_count == reps and r.counted_by == "specification"
    truth = float(np.ptp(true_signal(s.points3d, check.rom["signal"])))
    assert r.rom == pytest.approx(truth, abs=8.0)
    assert all(x.start_frame <= x.peak_frame <= x.end_frame for x in r.reps)
    assert r.rom_expected == check.rom["expected"]["intermediate"]
    assert r.rom_ratio == pytest.approx(r.rom / r.rom_expected, abs=0.01)
    assert all(x.to_peak_s > 0 and x.from_peak_s > 0 for x in r.reps)


def test_heel_raise_is_measured_by_the_body_rising(checks):
    s = generate("heel_raise", 0.07, n_reps=3, yaw=90.0, seed=1)
    r = measure_movement(s.keypoints, s.fps, checks["standing-calf-raise"])
    assert r.rep_count == 3
    assert 10.0 < r.rom < 50.0  # estimated plantar flexion, degrees


def test_a_knee_bend_filmed_from_the_front_counts_but_says_the_range_was_not_measured(checks):
    s = generate("knee_bend", 90.0, n_reps=3, yaw=0.0, seed=2)
    r = measure_movement(s.keypoints, s.fps, checks["bodyweight-squat"])
    assert r.view_detected == "front" and r.status == "partial"
    assert r.rom is None and r.counted_by == "dominant_motion"
    assert any("from the side" in m for m in r.not_measured)


@pytest.mark.parametrize("template, exercise, amount, hold_s, yaw", [
    ("wall_sit", "wall-sit", 60.0, 12.0, 90.0),
    ("plank", "front-plank", 0.0, 15.0, 90.0),
    ("single_leg_stance", "single-leg-stance", 80.0, 10.0, 0.0),
])
def test_hold_time_within_tolerance(checks, template, exercise, amount, hold_s, yaw):
    s = generate(template, amount, hold_s=hold_s, yaw=yaw, seed=1)
    r = measure_movement(s.keypoints, s.fps, checks[exercise], "beginner")
    assert r.kind == "hold" and r.rep_count is None
    assert r.hold_s == pytest.approx(hold_s, abs=2.5)


def test_a_sagging_plank_stops_the_hold(checks):
    s = generate("plank", 0.12, hold_s=12.0, yaw=90.0, seed=1)  # hips 12 cm below the line
    r = measure_movement(s.keypoints, s.fps, checks["front-plank"], "advanced")
    assert r.hold_s < 3.0


def test_measure_by_exercise_id():
    from domain.video.movement import measure_exercise

    s = generate("knee_bend", 90.0, n_reps=2, yaw=90.0, seed=5)
    assert measure_exercise(s.keypoints, s.fps, "sit-to-stand").rep_count == 2
    with pytest.raises(KeyError):
        measure_exercise(s.keypoints, s.fps, "no-such-exercise")


def test_nobody_too_short_and_unsupported_are_said_plainly(checks):
    empty = np.zeros((40, 17, 3), np.float32)
    r = measure_movement(empty, 10.0, checks["sit-to-stand"])
    assert r.status == "no_person" and r.rep_count == 0
    s = generate("knee_bend", 90.0, n_reps=1, yaw=90.0, seed=0)
    r = measure_movement(s.keypoints[:3], s.fps, checks["sit-to-stand"])
    assert r.status == "too_short" and r.rep_count == 0
    with pytest.raises(ValueError, match="no camera check"):
        measure_movement(s.keypoints, s.fps, checks["stationary-bike"])
    with pytest.raises(ValueError, match="level"):
        measure_movement(s.keypoints, s.fps, checks["sit-to-stand"], level="expert")


def test_real_sit_to_stand_from_utd_mhad(checks, shared_data):
    from domain.video.datasets import utd_mhad

    trials = [t for t in utd_mhad.load_trials(shared_data / utd_mhad.FILE)
              if t.action == "sit_to_stand" and t.subject == 5]
    rng = np.random.default_rng(0)
    for tr in trials:
        kp = utd_mhad.render(tr, 90.0, 10.0, rng, fps_out=10.0)
        r = measure_movement(kp, 10.0, checks["sit-to-stand"])
        assert r.rep_count == 1
        assert 50.0 < r.rom < 110.0
