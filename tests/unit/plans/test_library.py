import copy
import json

import pytest

from domain.plans.library import (
    CATEGORIES,
    filter_exercises,
    load_library,
    parse_exercise,
    parse_library,
)
from domain.plans.profile import EQUIPMENT, INJURIES, LEVEL_DIFFICULTY_CEILING


def test_library_size_and_coverage(library):
    assert len(library) >= 85
    assert {e.category for e in library} == set(CATEGORIES)
    for injury in ("acl", "meniscus", "achilles"):
        phases = {e.phase for e in library if injury in e.suitable_for}
        assert {1, 2, 3, 4} <= phases, injury
    assert all(set(e.equipment) <= set(EQUIPMENT) for e in library)
    assert all(set(e.suitable_for) <= set(INJURIES) for e in library)


def test_library_is_clinically_sensible(library):
    lib = {e.id: e for e in library}
    # Achilles: no plyometrics before the return-to-sport phase; eccentric heel drops later
    for e in library:
        if e.category == "plyometrics" and "achilles" in e.suitable_for:
            assert e.phase == 4 and e.difficulty >= 3
        if e.phase == 1:
            assert e.impact != "high" and e.difficulty <= 2
    assert lib["eccentric-heel-drop-straight"].phase >= 3
    # meniscus: deep loaded flexion and pivoting are never early meniscus exercises
    for e in library:
        if "meniscus" in e.suitable_for and ({"deep_flexion", "pivoting"} & set(e.tags)):
            assert e.phase is not None and e.phase >= 3
    assert "meniscus" in lib["deep-squat-hold"].contraindicated_for
    # ACL: closed-chain quadriceps work is available before open-chain extension
    first_closed = min(e.phase for e in library if "acl" in e.suitable_for
                       and e.chain == "closed" and "quadriceps" in e.muscle_groups)
    first_open = min(e.phase for e in library if "acl" in e.suitable_for
                     and e.chain == "open" and "quadriceps" in e.muscle_groups)
    assert first_closed < first_open


def test_every_injury_has_bodyweight_beginner_exercises(library):
    for injury in INJURIES:
        got = filter_exercises(library, injury=injury, equipment=[], level="beginner")
        assert len(got) >= 15, injury


def _good_entry():
    return json.loads(json.dumps(load_library()[0].to_dict()))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("category", "yoga", "category"),
        ("difficulty", 7, "difficulty"),
        ("equipment", ["kettlebell"], "equipment"),
        ("id", "Bad Id", "id"),
        ("chain", "half", "chain"),
        ("phase", 9, "phase"),
        ("muscle_groups", [], "muscle_groups"),
        ("suitable_for", ["knee"], "suitable_for"),
    ],
)
def test_validation_rejects_bad_entries(field, value, message):
    entry = _good_entry()
    entry[field] = value
    with pytest.raises(ValueError, match=message):
        parse_exercise(entry)


def test_validation_needs_reps_or_duration_and_unique_ids():
    entry = _good_entry()
    entry["default_reps"] = None
    entry["default_duration_s"] = None
    with pytest.raises(ValueError, match="default_reps"):
        parse_exercise(entry)
    good = _good_entry()
    with pytest.raises(ValueError, match="duplicate"):
        parse_library([good, copy.deepcopy(good)])
    with pytest.raises(ValueError, match="non-empty"):
        parse_library([])


def test_load_library_bad_file(tmp_path):
    p = tmp_path / "ex.json"
    p.write_text("{not json")
    with pytest.raises(ValueError, match="invalid JSON"):
        load_library(p)
    entry = _good_entry()
    entry["impact"] = "extreme"
    p.write_text(json.dumps([entry]))
    with pytest.raises(ValueError, match="impact"):
        load_library(p)


def test_filter_exercises(library):
    bands = filter_exercises(library, equipment=["resistance_band"])
    assert bands and all(set(e.equipment) <= {"resistance_band"} for e in bands)
    gym = filter_exercises(library, equipment=["gym"])
    assert len(gym) == len(library)
    for e in filter_exercises(library, injury="meniscus"):
        assert "meniscus" in e.suitable_for and "meniscus" not in e.contraindicated_for
    assert all(e.category == "balance" for e in filter_exercises(library, category="balance"))
    assert all("calves" in e.muscle_groups for e in filter_exercises(library, muscle="calves"))
    lvl = filter_exercises(library, level="intermediate")
    assert lvl and max(e.difficulty for e in lvl) == LEVEL_DIFFICULTY_CEILING["intermediate"]
    assert max(e.difficulty for e in filter_exercises(library, level=2)) == 2
    assert [e.id for e in filter_exercises(library, q="HEEL DROP")] == [
        "eccentric-heel-drop-straight", "eccentric-heel-drop-bent"]
    with pytest.raises(ValueError):
        filter_exercises(library, level="expert")
