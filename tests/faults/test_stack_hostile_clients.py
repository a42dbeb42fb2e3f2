"""Hostile clients at the HTTP layer, on a stack of its own with low limits: password guessing
(per account and per address), per-user rate limits, the storage quota, malformed upload fields,
reused and racing Idempotency-Keys, and login failing closed while Redis is down.

The stack trusts one proxy hop (TRUSTED_PROXY_HOPS=1), so each test picks its client address
with `X-Forwarded-For`. Only a maintenance worker runs: accepted jobs stay queued (no CPU spent).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid

import pytest
import redis
import requests

from tests.faults.conftest import SECRETS, assert_error_shape, ffmpeg, query, running_stack
from tests.support.stack import Client, RedisServer, wait_until

pytestmark = pytest.mark.faults

QUOTA = 200_000  # bytes: two ~80 KB PushFit clips fit, a third does not
ENV = {
    "TRUSTED_PROXY_HOPS": "1",
    "RATE_LIMIT_LOGIN_PER_ACCOUNT": "4/minute",
    "RATE_LIMIT_LOGIN_PER_IP": "6/minute",
    "RATE_LIMIT_REGISTER_PER_IP": "1000/minute",
    "RATE_LIMIT_UPLOADS": "4/minute",
    "RATE_LIMIT_KEYPOINTS": "3/minute",
    "RATE_LIMIT_PLANS": "2/minute",
    "RATE_LIMIT_WEBHOOK_TESTS": "2/minute",
    "STORAGE_QUOTA_BYTES": str(QUOTA),
}
ACL_BEGINNER = {"sex": "female", "age": 34, "height_cm": 168, "weight_kg": 64,
                "fitness_level": "beginner", "injury": "acl", "equipment": [],
                "workouts_per_week": 3}
_addresses = (f"10.{a}.{b}.{c}" for a, b, c in itertools.product(range(1, 250), repeat=3))


def address() -> str:
    """A client address nobody used yet in this module."""
    return next(_addresses)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("faults-hostile"), worker_queues=("maintenance",),
                       extra_env=ENV) as running:
        yield running


def token(stack, email: str, password: str, ip: str) -> requests.Response:
    return requests.post(f"{stack.url}/api/v1/auth/token", json={"email": email,
                         "password": password}, headers={"X-Forwarded-For": ip}, timeout=30)


def new_user(stack) -> Client:
    """A registered patient, logged in from an address of its own."""
    ip, email, password = address(), f"h-{uuid.uuid4().hex[:10]}@example.com", uuid.uuid4().hex
    SECRETS.add(password)
    response = requests.post(f"{stack.url}/api/v1/auth/register", headers={"X-Forwarded-For": ip},
                             json={"email": email, "password": password}, timeout=30)
    assert response.status_code == 201, response.text
    login = token(stack, email, password, ip)
    assert login.status_code == 200, login.text
    client = Client(stack.url, login.json()["access_token"])
    client.email, client.password, client.ip = email, password, ip
    client.user_id = client.get("/api/v1/me").json()["id"]
    SECRETS.add(client.token)
    return client


def assert_limited(response: requests.Response, window_s: int = 60) -> dict:
    body = assert_error_shape(response, (429,))
    assert body["code"] == "too_many_requests", body
    assert 0 < int(response.headers["Retry-After"]) <= window_s + 1, response.headers
    return body


def keypoints(fps: float = 10.0, frames: int = 20) -> dict:
    frame = [[100.0 + 5 * j, 200.0 + 3 * j, 0.9] for j in range(17)]
    return {"fps": fps, "width": 640, "height": 480, "layout": "coco17",
            "frames": [frame] * frames}


def stored_originals(stack, user_id: str) -> list:
    root = stack.base_dir / "storage" / "users" / user_id / "analyses"
    return sorted(p for p in root.rglob("original*") if p.is_file()) if root.exists() else []


def incoming(stack) -> list:
    root = stack.base_dir / "storage" / "incoming"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture(scope="module")
def clips(shared_data, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("hostile-clips")
    png = folder / "tiny.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", str(png))
    big = folder / "big.mp4"
    big.write_bytes(b"\0" * 1_500_000)  # never probed: refused on its declared size
    sample = shared_data / "pushfit_sample"
    return {"png": png.read_bytes(), "big": big.read_bytes(),
            **{name: (sample / f"{name}.mp4").read_bytes()
               for name in ("correct1", "correct2", "correct3")}}


# ---- 1. malformed multipart fields ----

def test_a_non_boolean_reference_field_is_a_422_not_a_500(stack, clips):
    patient = new_user(stack)
    response = patient.post("/api/v1/videos", data={"reference": "maybe"},
                            files={"file": ("a.png", clips["png"])})
    body = assert_error_shape(response, (422,))
    assert body["code"] == "validation_error" and "reference" in body["errors"], body
    assert not stored_originals(stack, patient.user_id)


def test_a_multipart_body_of_many_parts_is_413_and_leaves_no_file(stack):
    patient = new_user(stack)
    parts = {f"part{i}": (f"{i}.bin", b"x") for i in range(100)}
    response = patient.post("/api/v1/videos", files=parts)
    assert assert_error_shape(response, (413,))["code"] == "payload_too_large"
    assert not incoming(stack)


# ---- 3. login limits ----

def test_login_is_limited_per_account_whatever_the_address(stack):
    victim = new_user(stack)  # its login used 1 of the 4 a minute
    statuses = [token(stack, victim.email, "guess-" + str(i), address()).status_code
                for i in range(3)]
    assert statuses == [401] * 3, statuses
    assert_limited(token(stack, victim.email, "guess-3", address()))
    # The right password from yet another address: still refused (no oracle), no token.
    right = token(stack, victim.email, victim.password, address())
    assert_limited(right)
    assert "access_token" not in right.text
    # Another account logs in from the same addresses.
    other = new_user(stack)
    assert token(stack, other.email, other.password, address()).status_code == 200
    # The counters are moving windows in Redis (lists of timestamps, not a fixed-window counter),
    # and no email address is stored there.
    store = redis.Redis.from_url(stack.redis.url)
    keys = [k.decode() for k in store.scan_iter("*auth*")]
    assert any("account:" in k for k in keys), keys
    assert {store.type(k) for k in keys} == {b"list"}, keys
    assert not any(victim.email in k for k in keys)


def test_login_is_limited_per_address_whatever_the_account(stack):
    spray = address()
    statuses = [token(stack, f"nobody-{i}-{uuid.uuid4().hex[:6]}@example.com", "Winter2026!",
                      spray).status_code for i in range(6)]
    assert statuses == [401] * 6, statuses
    target = new_user(stack)
    assert_limited(token(stack, target.email, target.password, spray))
    # The account itself is not locked: its owner logs in from elsewhere.
    assert token(stack, target.email, target.password, address()).status_code == 200


# ---- 3. per-user limits ----

def test_keypoint_analyses_plans_and_webhook_tests_are_limited_per_user(stack):
    patient, other = new_user(stack), new_user(stack)
    for _ in range(3):
        assert patient.post("/api/v1/analyses", json=keypoints()).status_code == 202
    assert_limited(patient.post("/api/v1/analyses", json=keypoints()))
    assert other.post("/api/v1/analyses", json=keypoints()).status_code == 202

    assert patient.put("/api/v1/profile", json=ACL_BEGINNER).status_code == 200
    for _ in range(2):
        assert patient.post("/api/v1/plans").status_code == 202
    assert_limited(patient.post("/api/v1/plans"))

    hook = patient.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                                  "events": ["plan.generated"]})
    assert hook.status_code == 201, hook.text
    test_path = f"/api/v1/webhooks/{hook.json()['id']}/test"
    for _ in range(2):
        assert patient.post(test_path).status_code == 202
    assert_limited(patient.post(test_path))
    jobs = query(stack, "SELECT kind FROM jobs WHERE user_id = :u", {"u": patient.user_id})
    assert sorted(j["kind"] for j in jobs) == ["keypoints.analyze"] * 3 + ["plan.generate"] * 2


def test_uploads_are_limited_per_user_and_a_refused_one_stores_nothing(stack, clips):
    patient = new_user(stack)
    for i in range(4):
        response = patient.post("/api/v1/videos", files={"file": (f"p{i}.png", clips["png"])})
        assert response.status_code == 202, response.text
    assert_limited(patient.post("/api/v1/videos", files={"file": ("p4.png", clips["png"])}))
    assert len(stored_originals(stack, patient.user_id)) == 4
    assert not incoming(stack)


# ---- 4. storage quota ----

def test_an_upload_past_the_storage_quota_is_413_and_stores_nothing(stack, clips):
    patient = new_user(stack)
    for name in ("correct1", "correct2"):
        response = patient.post("/api/v1/videos", files={"file": (f"{name}.mp4", clips[name])})
        assert response.status_code == 202, response.text
    before = stored_originals(stack, patient.user_id)
    assert sum(p.stat().st_size for p in before) <= QUOTA
    over = patient.post("/api/v1/videos", files={"file": ("correct3.mp4", clips["correct3"])})
    body = assert_error_shape(over, (413,))
    assert body["code"] == "storage_quota_exceeded", body
    # Refused on its declared size before a byte is streamed.
    big = patient.post("/api/v1/videos", files={"file": ("big.mp4", clips["big"])})
    assert assert_error_shape(big, (413,))["code"] == "storage_quota_exceeded"
    assert stored_originals(stack, patient.user_id) == before
    assert not incoming(stack)
    rows = query(stack, "SELECT count(*) AS n FROM analyses WHERE user_id = :u",
                 {"u": patient.user_id})
    assert rows[0]["n"] == 2
    # The quota is per user.
    other = new_user(stack)
    ok = other.post("/api/v1/videos", files={"file": ("correct3.mp4", clips["correct3"])})
    assert ok.status_code == 202, ok.text


# ---- 2. Idempotency-Key fingerprints ----

def test_an_idempotency_key_reused_with_another_body_is_422(stack):
    patient = new_user(stack)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = patient.post("/api/v1/analyses", json=keypoints(), headers=key)
    assert first.status_code == 202, first.text
    again = patient.post("/api/v1/analyses", json=keypoints(), headers=key)
    assert again.status_code == 202 and again.json() == first.json()
    other = patient.post("/api/v1/analyses", json=keypoints(fps=12.0), headers=key)
    assert assert_error_shape(other, (422,))["code"] == "idempotency_key_reused"
    # The same key on another endpoint is another request too.
    assert patient.put("/api/v1/profile", json=ACL_BEGINNER).status_code == 200
    elsewhere = patient.post("/api/v1/plans", headers=key)
    assert assert_error_shape(elsewhere, (422,))["code"] == "idempotency_key_reused"
    jobs = query(stack, "SELECT id FROM jobs WHERE user_id = :u", {"u": patient.user_id})
    assert [j["id"] for j in jobs] == [first.json()["job_id"]]


def test_an_upload_key_fingerprints_the_file_and_the_fields(stack, clips):
    patient = new_user(stack)
    key = {"Idempotency-Key": uuid.uuid4().hex}

    def send(clip="correct1", **fields):
        return patient.post("/api/v1/videos", headers=key, data=fields,
                            files={"file": ("clip.mp4", clips[clip])})

    first = send(exercise="pushup")
    assert first.status_code == 202, first.text
    same = send(exercise="pushup")
    assert same.status_code == 202 and same.json() == first.json()
    for changed in (send("correct2", exercise="pushup"), send(exercise="squat")):
        assert assert_error_shape(changed, (422,))["code"] == "idempotency_key_reused"
    assert len(stored_originals(stack, patient.user_id)) == 1
    assert not incoming(stack)


def _race(stack, clients_and_files: list[tuple[Client, bytes]], key: str) -> list:
    barrier = threading.Barrier(len(clients_and_files))
    answers: list = [None] * len(clients_and_files)

    def post(index, client, data):
        barrier.wait()
        answers[index] = client.post("/api/v1/videos", headers={"Idempotency-Key": key},
                                     files={"file": ("race.mp4", data)}, timeout=60)

    threads = [threading.Thread(target=post, args=(i, c, d))
               for i, (c, d) in enumerate(clients_and_files)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return answers


def test_concurrent_requests_with_one_key_make_one_job_and_leave_no_file(stack, clips):
    """Requests with one Idempotency-Key fired at once: one job, one stored file; the same body
    gets the first answer, another body 422; a request that lost the race at the database
    leaves nothing behind (its file was already moved into place when its commit failed)."""
    races_lost = 0
    for _ in range(3):
        # The same body four times.
        patient, key = new_user(stack), uuid.uuid4().hex
        answers = _race(stack, [(patient, clips["correct1"])] * 4, key)
        assert all(a is not None and a.status_code == 202 for a in answers), [
            (a.status_code, a.text[:200]) for a in answers if a is not None]
        assert len({a.json()["job_id"] for a in answers}) == 1
        jobs = query(stack, "SELECT id FROM jobs WHERE user_id = :u", {"u": patient.user_id})
        assert len(jobs) == 1
        assert len(stored_originals(stack, patient.user_id)) == 1
        # Different bodies with one key: one wins, the others are refused.
        patient, key = new_user(stack), uuid.uuid4().hex
        answers = _race(stack, [(patient, clips[n]) for n in ("correct1", "correct2", "png")],
                        key)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [202, 422, 422], [(a.status_code, a.text[:200]) for a in answers]
        assert len(stored_originals(stack, patient.user_id)) == 1
        assert not incoming(stack)
        races_lost = stack.logs("web").count("idempotency race lost")
        if races_lost:
            break
    # At least one request passed the replay check and lost at the insert or the commit.
    assert races_lost >= 1, "the requests never raced; the race path is untested"


# ---- 3. Redis down: login fails closed, the rest fails open ----

def test_login_fails_closed_while_redis_is_down(stack):
    patient = new_user(stack)
    redis_dir, port = stack.redis.directory, stack.redis.port
    stack.redis.stop()
    try:
        started = time.monotonic()
        login = token(stack, patient.email, patient.password, address())
        body = assert_error_shape(login, (503,))
        assert body["code"] == "rate_limiter_unavailable", body
        assert "access_token" not in login.text and login.headers.get("Retry-After")
        assert time.monotonic() - started < 5
        register = requests.post(f"{stack.url}/api/v1/auth/register",
                                 headers={"X-Forwarded-For": address()}, timeout=30,
                                 json={"email": f"x-{uuid.uuid4().hex[:8]}@example.com",
                                       "password": uuid.uuid4().hex})
        assert assert_error_shape(register, (503,))["code"] == "rate_limiter_unavailable"
        # An authenticated user's work is still accepted (the per-user limits fail open); the
        # job row waits for the broker.
        accepted = patient.post("/api/v1/analyses", json=keypoints())
        assert accepted.status_code == 202, accepted.text
    finally:
        stack.redis = RedisServer(redis_dir, port=port).start()
    wait_until(lambda: token(stack, patient.email, patient.password, address()).status_code
               == 200, 30, interval=0.5, message="login works again")
