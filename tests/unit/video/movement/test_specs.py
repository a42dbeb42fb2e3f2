"""The reviewed movement specifications: schema, coverage of the library and its phases."""

from __future__ import annotations

import json

import pytest

from domain.plans.library import load_library
from domain.video.movement.specs import DEFAULT_PATH, load_camera_checks, parse_camera_checks

#: how the plan builder's rules read the library's phases (rules.LEVEL_PHASES)
STAGES = {1: "early", 2: "middle", 3: "late", 4: "late"}


@pytest.fixture(scope="module")
def checks():
    return load_camera_checks()


def test_every_library_exercise_has_an_entry_and_60_or_more_are_checkable(checks):
    library = load_library()
    assert set(checks) == {e.id for e in library}
    supported = [c for c in checks.values() if c.supported]
    assert len(supported) >= 60
    for c in checks.values():
        if not c.supported:
            assert c.reason and len(c.reason) > 20


def test_each_injury_has_checkable_exercises_in_each_phase(checks):
    seen: dict[tuple[str, str], int] = {}
    for e in load_library():
        if not checks[e.id].supported or e.phase is None:
            continue
        for injury in e.suitable_for:
            if injury not in e.contraindicated_for:
                key = (injury, STAGES[e.phase])
                seen[key] = seen.get(key, 0) + 1
    for injury in ("acl", "meniscus", "achilles"):
        for stage in ("early", "middle", "late"):
            assert seen.get((injury, stage), 0) >= 3, (injury, stage)


def test_checkable_entries_are_complete(checks):
    for c in checks.values():
        if not c.supported:
            continue
        assert c.view in c.views_ok
        assert "phone" in c.instructions and "picture" in c.instructions, c.exercise_id
        if c.kind == "reps":
            assert set(c.rom["expected"]) == {"beginner", "intermediate", "advanced"}
            assert c.min_amplitude > 0
        else:
            for low, high in c.hold["target"].values():
                assert low <= high
        if c.form:
            from domain.video.form.criteria import CRITERIA

            keys = {k.key for k in CRITERIA[c.form["family"]]}
            assert set(c.form["criteria"]) <= keys, c.exercise_id


def test_key_exercises_measure_the_joint_that_defines_them(checks):
    assert checks["sit-to-stand"].signal["joint"] == "knee"
    assert checks["glute-bridge"].signal["joint"] == "hip"
    assert checks["terminal-knee-extension"].signal["toward"] == "min"
    assert checks["standing-calf-raise"].signal["measure"] == "rise"  # no foot point
    assert checks["side-lying-hip-abduction"].signal["parts"] == "thighs"
    assert checks["front-plank"].kind == checks["wall-sit"].kind == "hold"
    assert checks["stationary-bike"].supported is False


def _data():
    return json.loads(DEFAULT_PATH.read_text())


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["exercises"]["sit-to-stand"].pop("instructions"), "instructions"),
    (lambda d: d["exercises"]["sit-to-stand"]["signal"].update(measure="teleport"), "measure"),
    (lambda d: d["exercises"]["sit-to-stand"]["rom"]["expected"].pop("advanced"), "level"),
    (lambda d: d["exercises"]["stationary-bike"].pop("reason"), "reason"),
    (lambda d: d["exercises"]["wall-sit"]["hold"]["target"].update(beginner=[60, 30]), "low"),
    (lambda d: d["exercises"]["sit-to-stand"].update(view="top"), "view"),
    (lambda d: d["exercises"]["sit-to-stand"].update(colour="red"), "colour"),
])
def test_the_schema_refuses_a_broken_entry(mutate, field):
    data = _data()
    mutate(data)
    with pytest.raises(ValueError, match="camera checks"):
        parse_camera_checks(data)
