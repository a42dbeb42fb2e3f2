"""Squat form criteria on real 3-D motion (UTD-MHAD squats of lab subjects), as done and with a
fault injected into the same motion, seen through a simulated camera with YOLO-like errors."""

from __future__ import annotations

import numpy as np
import pytest

from config import settings
from domain.video.datasets import utd_mhad as U
from domain.video.form import real_motion as R

pytestmark = pytest.mark.skipif(not (settings.shared_data_dir / U.FILE).exists(),
                                reason="UTD-MHAD file missing")


@pytest.fixture(scope="module")
def squats() -> list[U.UtdTrial]:
    return [t for t in U.load_trials() if t.action == "squat" and t.subject in (1, 2)]


def _criteria(xyz, yaw, el, seed) -> tuple[str, set[str], list[str]]:
    r = R.judge(xyz, "squat", yaw, el, np.random.default_rng(seed))
    return r["verdict"], {f["criterion"] for f in r["findings"]}, r["judged"]


def test_knees_caving_in_from_the_front_get_the_knee_finding(squats):
    caught = sum("knee_valgus" in _criteria(R.knees_in(t.xyz), 0.0, 8.0, i)[1]
                 for i, t in enumerate(squats))
    as_done = sum("knee_valgus" in _criteria(t.xyz, 0.0, 8.0, i)[1]
                  for i, t in enumerate(squats))
    assert caught >= len(squats) - 1
    assert as_done <= 1


def test_real_squats_as_done_are_mostly_not_flagged(squats):
    verdicts = [_criteria(t.xyz, yaw, el, i)[0] for i, t in enumerate(squats)
                for yaw, el in ((0.0, 8.0), (90.0, 5.0), (-90.0, 5.0))]
    assert verdicts.count("faulty") <= len(verdicts) // 6


def test_side_view_judges_lean_and_depth_but_not_valgus(squats):
    t = squats[0]
    _, found, judged = _criteria(R.lean_forward(t.xyz), 90.0, 5.0, 0)
    assert "trunk_lean" in found and "knee_valgus" not in judged
    _, found, _ = _criteria(R.half_depth(t.xyz), 90.0, 5.0, 1)
    assert "depth" in found


def test_findings_land_on_the_faulty_repetitions_only(squats):
    subject2 = [t for t in squats if t.subject == 2]
    r = R.joined_check(subject2, "squat", "knees_in", 0.0, 8.0, {1, 3})
    assert r["reps"] == 4 and r["flagged_reps"] == [2, 4]
