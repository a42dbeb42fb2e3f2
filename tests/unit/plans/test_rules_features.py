import json

import numpy as np

from domain.plans.features import FeatureSpec
from domain.plans.profile import Profile
from domain.plans.rules import (
    RULES_SUMMARY,
    generate_training_set,
    rule_contributions,
    suitability_probability,
)


def _ex(library, ex_id):
    return next(e for e in library if e.id == ex_id)


def test_training_set_is_deterministic_and_balanced(library):
    rows, y = generate_training_set(3000, seed=7, library=library)
    rows2, y2 = generate_training_set(3000, seed=7, library=library)
    assert len(rows) == len(y) == 3000
    assert np.array_equal(y, y2) and [r[1].id for r in rows] == [r[1].id for r in rows2]
    assert 0.3 < y.mean() < 0.7
    assert len(RULES_SUMMARY) >= 10


def test_rules_encode_clinical_knowledge(library):
    old_achilles = Profile("male", 70, 182, 86, "beginner", "achilles", [], 3)
    assert suitability_probability(old_achilles, _ex(library, "squat-jumps")) < 0.01
    assert suitability_probability(old_achilles, _ex(library, "toe-curls")) > 0.9
    # equipment the user lacks
    assert suitability_probability(old_achilles, _ex(library, "leg-press")) < 0.01
    # ACL beginner: closed chain before open chain quadriceps work
    acl = Profile("female", 22, 168, 60, "beginner", "acl", ["gym"], 3)
    assert suitability_probability(acl, _ex(library, "mini-squats")) > suitability_probability(
        acl, _ex(library, "seated-knee-extension")) + 0.3
    assert "R7_acl_open_chain" in rule_contributions(acl, _ex(library, "seated-knee-extension"))
    # high BMI beginner: high impact penalised more than for a lean beginner
    heavy = Profile("male", 40, 175, 110, "beginner", "none", [], 3)
    lean = Profile("male", 40, 175, 68, "beginner", "none", [], 3)
    jj = _ex(library, "jumping-jacks")
    assert suitability_probability(heavy, jj) < suitability_probability(lean, jj)
    # contraindication is decisive
    men = Profile("female", 51, 168, 63, "advanced", "meniscus", [], 4)
    assert suitability_probability(men, _ex(library, "deep-squat-hold")) < 0.01


def test_feature_encoding(library):
    spec = FeatureSpec()
    p = Profile("female", 51, 168, 63, "intermediate", "meniscus", ["resistance_band"], 4)
    x = spec.encode_profile_library(p, library)
    assert x.dtype == np.float32 and x.shape == (len(library), spec.n_features)
    assert np.allclose(spec.encode([(p, e) for e in library]), x)
    sl = spec.profile_slices()
    assert x[0, sl["injury"][0] + spec.injuries.index("meniscus")] == 1
    assert x[0, sl["sex"][0]:sl["sex"][1]].sum() == 1
    gym = Profile("male", 24, 176, 70, "advanced", "acl", ["gym"], 5)
    assert spec.encode_profile(gym)[sl["equipment"][0]:sl["equipment"][1]].sum() == len(
        spec.equipment)
    assert np.allclose(x[0, :2], spec.scale_numeric(51, p.bmi))
    again = FeatureSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert np.array_equal(again.encode_profile_library(p, library), x)
