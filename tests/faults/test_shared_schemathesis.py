"""Property-based fuzzing of the whole API with Schemathesis, authenticated as every role.

`schemathesis_fuzz.py` does the fuzzing, in a child pytest process that runs the app in-process
(WSGI) against this module's own migrated database, real Redis and a real plans/feedback worker
(plans are generated for real, so plan ids lead somewhere); this module starts those, runs it and
asserts on the JSON report it writes: at least 10,000 generated requests, no 5xx, every role
reached its data, the session-ending operations ran (with throwaway accounts), multipart uploads
and stateful sequences ran, and the responses match the OpenAPI document.

Reproducible: Hypothesis is derandomized and Schemathesis seeded, no shrinking, no example
database. Rate limits are set out of the way (10^5 a minute) for this stack.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest

from tests.support.stack import BIN, PYTHON, ROOT, RedisServer, Stack

pytestmark = pytest.mark.faults

MIN_REQUESTS = 10_000
ROLES = ("patient", "clinician", "ops")
LIMITS = ("LOGIN_PER_ACCOUNT", "LOGIN_PER_IP", "REGISTER_PER_IP", "UPLOADS", "KEYPOINTS", "PLANS",
          "WEBHOOK_TESTS")


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory, shared_data):
    pytest.importorskip("schemathesis", reason="schemathesis is not installed "
                                               "(requirements-dev.txt)")
    base = tmp_path_factory.mktemp("schemathesis")
    stack = Stack(base, worker_queues=("plans,feedback",), extra_env={
        **{f"RATE_LIMIT_{name}": "100000/minute" for name in LIMITS},
        "SHARED_DATA_DIR": str(shared_data), "PYTHONHASHSEED": "0"})
    stack.redis = RedisServer(base / "redis").start()
    stack._env = env = stack.env
    report_path = base / "report.json"
    try:
        for argv in (["alembic", "upgrade", "head"],
                     ["flask", "--app", "wsgi", "exercises", "load", "--if-empty"],
                     ["flask", "--app", "wsgi", "references", "load", "--if-empty"]):
            subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=ROOT, env=env, check=True,
                           capture_output=True)
        stack.start_worker("worker0", "plans,feedback")
        run = subprocess.run(
            [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
             "tests/faults/schemathesis_fuzz.py"],
            cwd=ROOT, env=dict(env, FUZZ_REPORT=str(report_path)), capture_output=True,
            # A cap against a hang, not a speed check: 3-6 min quiet, over 7 on a loaded 2-core box.
            text=True, timeout=900)
        worker_alive = stack.processes["worker0"].poll() is None
    finally:
        stack.stop()
    output = run.stdout + run.stderr
    print(output[-4000:])
    assert report_path.exists(), output[-6000:]
    report = json.loads(report_path.read_text())
    report["pytest_rc"], report["output"], report["worker_alive"] = run.returncode, output, \
        worker_alive
    return report


def responses(report: dict, run: str | None = None, role: str | None = None,
              operation: str | None = None) -> Counter:
    """Status code -> count, for the responses matching the filters."""
    counts: Counter = Counter()
    for key, count in report["responses"].items():
        r, ro, op, status = key.split("|")
        if (run in (None, r)) and (role in (None, ro)) and (operation in (None, op)):
            counts[int(status)] += count
    return counts


def test_fuzzing_ran_clean(fuzz):
    assert fuzz["pytest_rc"] == 0, fuzz["output"][-6000:]
    assert fuzz["worker_alive"]


def test_at_least_ten_thousand_requests_and_no_server_error(fuzz):
    total = sum(responses(fuzz).values())
    print(f"{total} generated requests in {fuzz['seconds']}")
    errors = fuzz["server_errors"]
    assert not errors, f"{len(errors)} 5xx answers, first ones:\n" + "\n\n".join(
        f"{e['role']} {e['operation']} -> {e['status']} {e['response']}\n{e['request']}\n"
        f"{e['traceback']}" for e in errors[:5])
    assert total >= MIN_REQUESTS, total


def test_every_role_reached_its_authenticated_api(fuzz):
    for role in ROLES:
        statuses = responses(fuzz, "authenticated", role)
        ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
        assert sum(statuses.values()) >= 2000, (role, statuses)
        # far from all 401: the token was sent and the fuzzing got past authentication
        assert statuses[401] < 0.05 * sum(statuses.values()), (role, statuses)
        assert ok >= 500, (role, statuses)
    # the seeded ids reached the objects behind them, per role
    plan = "GET /api/v1/plans/{plan_id}"
    assert responses(fuzz, "authenticated", "patient", plan)[200] > 0
    assert responses(fuzz, "authenticated", "clinician", plan)[200] > 0  # the clinic's patient
    assert responses(fuzz, "authenticated", "ops", plan)[200] == 0  # not ops' business
    assert responses(fuzz, "authenticated", "ops", "POST /api/v1/ops/reprocess")[202] > 0
    assert responses(fuzz, "authenticated", "clinician", "GET /api/v1/clinic/patients")[200] > 0


def test_session_ending_operations_used_throwaway_accounts(fuzz):
    for role in ROLES:
        patch = responses(fuzz, "session", role, "PATCH /api/v1/me")
        delete = responses(fuzz, "session", role, "DELETE /api/v1/me")
        assert patch[200] > 0 and patch[403] > 0, (role, patch)  # right and wrong passwords
        assert delete[204] > 0, (role, delete)
        assert fuzz["throwaway_accounts"][role] >= 2, fuzz["throwaway_accounts"]
    assert responses(fuzz, "session", "patient", "DELETE /api/v1/clinic")[204] > 0
    assert fuzz["final_me"] == {role: 200 for role in ROLES}


def test_multipart_uploads_were_fuzzed(fuzz):
    for role in ROLES:
        uploads = responses(fuzz, "authenticated", role, "POST /api/v1/videos")
        assert sum(uploads.values()) >= 40, (role, uploads)
        assert uploads[202] > 0, (role, uploads)  # the real video was accepted
        assert sum(n for status, n in uploads.items() if 400 <= status < 500) > 0, uploads


def test_stateful_sequences_followed_links(fuzz):
    for role in ROLES:
        stats = {key.split("|")[1]: n for key, n in fuzz["stateful"].items()
                 if key.startswith(role + "|")}
        assert stats.get("scenarios", 0) >= 10, (role, stats)
        assert stats.get("longest", 0) >= 3, (role, stats)
        assert stats.get("linked_2xx", 0) > 0, (role, stats)


def test_anonymous_requests_are_refused(fuzz):
    statuses = responses(fuzz, "anonymous")
    assert statuses[401] > 0.5 * sum(statuses.values()), statuses
    assert not any(200 <= status < 300 for status in statuses), statuses


def test_responses_conform_to_the_schema(fuzz):
    mismatches = fuzz["nonconforming"]
    assert not mismatches, "responses not matching the OpenAPI document:\n" + "\n\n".join(
        f"{m['role']} {m['operation']} {m['status']}: {m['failure']}" for m in mismatches[:10])
