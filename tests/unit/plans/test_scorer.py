import json
import time

import numpy as np

from domain.plans.profile import Profile
from tests.unit.plans.conftest import ARTIFACT


def test_artifact_files_and_metrics():
    names = {p.name for p in ARTIFACT.iterdir()}
    assert {"model.keras", "scaler.json", "feature_spec.json", "metrics.json",
            "learning_curve.png"} <= names
    assert sum(p.stat().st_size for p in ARTIFACT.iterdir()) < 2 * 1024 * 1024
    m = json.loads((ARTIFACT / "metrics.json").read_text())
    assert m["version"] == ARTIFACT.name and m["epochs"] == 50
    assert m["test"]["roc_auc"] >= 0.9
    assert m["cv"]["folds"] == 5 and "mean" in m["cv"]["roc_auc"]
    scaler = json.loads((ARTIFACT / "scaler.json").read_text())
    assert len(scaler["mean"]) == len(scaler["scale"]) == 2


def test_scorer_matches_model_predict(scorer, library, paper_users):
    for p in paper_users.values():
        fast = scorer.score(p, library)
        x = scorer.spec.encode_profile_library(p, library)
        ref = scorer.model.predict(x, verbose=0).ravel()
        assert fast.shape == (len(library),)
        assert np.max(np.abs(fast - ref)) < 1e-5


def test_scorer_is_fast_when_warm(scorer, library, paper_users):
    p = paper_users["user2"]
    scorer.score(p, library)
    t = time.perf_counter()
    for _ in range(20):
        scorer.score(p, library)
    assert (time.perf_counter() - t) / 20 < 0.05  # typically ~1 ms


def test_explain_reasons(scorer, library, paper_users):
    p = paper_users["user1"]
    exs = [e for e in library if e.id in ("toe-curls", "standing-calf-raise", "glute-bridge")]
    reasons = scorer.explain(p, exs)
    assert set(reasons) == {e.id for e in exs}
    for ex in exs:
        r = reasons[ex.id]
        assert r[0].startswith("score ") and "0.5" in r[0]
        assert any(s.startswith("guardrail:") for s in r)
    # the Achilles injury is what makes toe curls suitable for this user
    assert any(s.startswith("injury achilles raised") for s in reasons["toe-curls"])


def test_explain_shows_what_lowered_a_score(scorer, library):
    p = Profile("male", 70, 182, 86, "beginner", "achilles", [], 3)
    ex = [e for e in library if e.id in ("single-leg-calf-raise", "leg-press")]
    r = scorer.explain(p, ex)
    calf = r["single-leg-calf-raise"]
    assert "<" in calf[0]
    assert any(s.startswith("fitness level beginner lowered") for s in calf)
    assert "guardrail: difficulty 3 > beginner ceiling 2 (excluded)" in calf
    assert "guardrail: needs gym (excluded)" in r["leg-press"]


def test_get_scorer_is_cached():
    from domain.plans.network import get_scorer

    a = get_scorer(ARTIFACT)
    assert get_scorer(str(ARTIFACT)) is a and a.version == ARTIFACT.name
