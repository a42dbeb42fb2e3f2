import json
import os
from pathlib import Path

import numpy as np
import pytest

from config import settings
from domain.video.analysis import analyze_keypoints
from domain.video.references import default_library
from domain.video.synthetic import generate

ARTIFACT = Path(
    os.environ.get(
        "VIDEO_TEST_ARTIFACT", settings.artifacts_dir / "classifier" / settings.classifier_version
    )
)
PUSHFIT = Path(settings.shared_data_dir) / "pushfit_sample"


@pytest.fixture(scope="module")
def clf():
    from domain.video.classifier import ExerciseClassifier

    return ExerciseClassifier.load(ARTIFACT)


@pytest.fixture(scope="module")
def refs():
    return default_library()


def _check_shape(res):
    json.dumps(res)
    assert {"exercise", "rep_count", "reps", "feedback", "reference_id", "person_detected"} <= set(
        res
    )
    assert {"label", "confidence", "candidates"} <= set(res["exercise"])
    for r in res["reps"]:
        assert {"index", "start_s", "end_s", "angles", "issues"} <= set(r)
        assert r["start_s"] <= r["end_s"]
    assert res["rep_count"] == len(res["reps"])
    assert all(isinstance(s, str) and s for s in res["feedback"])


@pytest.mark.skipif(not PUSHFIT.exists(), reason="shared data missing")
def test_real_pushfit_analysis(clf, refs):
    from domain.video.keypoints import from_pushfit

    res = analyze_keypoints(from_pushfit(PUSHFIT / "wrong1.json"), 25.0, 640, 360, clf, refs)
    _check_shape(res)
    assert res["person_detected"] and res["exercise"]["label"] == "pushup"
    assert res["rep_count"] >= 1 and res["reference_id"]


def test_fault_is_reported_and_good_form_praised(clf, refs):
    bad = generate("squat", n_reps=3, view="left", seed=11, fault="forward_lean")
    res = analyze_keypoints(bad.keypoints, bad.fps, bad.width, bad.height, clf, refs)
    _check_shape(res)
    assert res["exercise"]["label"] == "squat" and res["rep_count"] == 3
    form = res["form"]
    assert form["verdict"] == "faulty" and form["view"] == "side"
    assert {f["criterion"] for f in form["findings"]} >= {"trunk_lean"}
    assert any(i.get("criterion") == "trunk_lean" for r in res["reps"] for i in r["issues"])
    assert any("lean your upper body forward less" in s for s in res["feedback"])
    assert all(r["angles"] for r in res["reps"])  # angle differences stay, as information
    good = generate("squat", n_reps=3, view="left", seed=12)
    res = analyze_keypoints(good.keypoints, good.fps, good.width, good.height, clf, refs)
    assert res["rep_count"] == 3 and res["form"]["verdict"] == "good"
    assert not any(r["issues"] for r in res["reps"]) and res["form"]["findings"] == []
    assert res["feedback"][0].startswith("Good form") and len(res["feedback"]) == 1


def test_no_person(clf, refs):
    seq = np.zeros((50, 17, 3), np.float32)
    res = analyze_keypoints(seq, 30, 640, 480, clf, refs)
    _check_shape(res)
    assert res["person_detected"] is False and res["exercise"]["label"] == "unknown"
    assert res["rep_count"] == 0 and "No person" in res["feedback"][0]


def test_still_image_and_hint_without_classifier(clf, refs):
    s = generate("pushup", n_reps=1, view="left", seed=2)
    res = analyze_keypoints(s.keypoints[s.bottom_frames[0]][None], 30, s.width, s.height, clf, refs)
    _check_shape(res)
    assert res["person_detected"] and res["rep_count"] == 0
    assert any("still image" in f for f in res["feedback"])
    res = analyze_keypoints(
        s.keypoints, s.fps, s.width, s.height, None, refs, exercise_hint="pushup"
    )
    assert (
        res["exercise"]["label"] == "unknown"
        and res["analyzed_as"] == "pushup"
        and res["rep_count"] == 1
    )
