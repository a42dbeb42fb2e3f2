import json

import numpy as np
import pytest

from domain.video.references import Reference, default_library, nearest_reference
from domain.video.reps import segment_repetitions
from domain.video.synthetic import EXERCISES, generate


@pytest.fixture(scope="module")
def library():
    return default_library()


def test_library_covers_every_exercise_and_marks_sources(library):
    assert {r.exercise for r in library} == set(EXERCISES)
    for ex in EXERCISES:
        assert len({r.view for r in library if r.exercise == ex and r.source == "synthetic"}) >= 3
    real = [r for r in library if r.source.startswith("pushfit:")]
    assert real and all(r.exercise == "pushup" for r in real)
    assert all(r.reps for r in library), [r.name for r in library if not r.reps]


def test_reference_serializes(library):
    d = library[0].to_dict()
    assert {"exercise", "name", "view", "source", "fps", "keypoints"} <= set(d)
    back = Reference.from_dict(json.loads(json.dumps(d)))
    assert back.keypoints.shape == library[0].keypoints.shape
    assert np.allclose(back.keypoints, library[0].keypoints, atol=0.01)


@pytest.mark.parametrize(
    "exercise", ["squat", "pushup", "barbell_biceps_curl", "jumping_jacks", "lat_pulldown", "situp"]
)
def test_nearest_reference_is_same_exercise(library, exercise):
    s = generate(exercise, n_reps=2, view="front_left", seed=42, noise=0.01, yaw_jitter_deg=10)
    reps = segment_repetitions(s.keypoints, s.fps, exercise)
    ref, dist = nearest_reference(s.keypoints, reps, library)
    assert ref.exercise == exercise and np.isfinite(dist)
    assert nearest_reference(s.keypoints, reps, []) == (None, float("inf"))
