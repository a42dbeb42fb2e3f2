"""Fixtures for the plan-domain unit tests (they load the committed plans-v1 artifact)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[3]
#: PLANS_TEST_ARTIFACT lets the same tests check a newly trained version
ARTIFACT = Path(os.environ.get("PLANS_TEST_ARTIFACT", ROOT / "artifacts" / "plans" / "plans-v1"))


@pytest.fixture(scope="session")
def library():
    from domain.plans.library import load_library

    return load_library()


@pytest.fixture(scope="session")
def scorer():
    from domain.plans.network import PlanScorer

    if not (ARTIFACT / "model.keras").exists():
        pytest.skip(f"plan artifact missing: {ARTIFACT}")
    return PlanScorer.load(ARTIFACT)


@pytest.fixture
def paper_users():
    """The three users of the paper's section IV."""
    from domain.plans.profile import Profile

    return {
        "user1": Profile("male", 70, 182, 86, "beginner", "achilles", [], 3),
        "user2": Profile("female", 51, 168, 63, "intermediate", "meniscus",
                         ["resistance_band"], 4),
        "user3": Profile("male", 24, 176, 70, "advanced", "acl", ["gym"], 5),
    }
