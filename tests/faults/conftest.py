"""Fault-injection fixtures: stacks of real processes that the tests may break.

Each breaking module starts its own `Stack`; the modules named `test_shared_*` use one shared,
unbroken stack (`shared_stack`). Helpers here: the contract's error shape, users of any role, SQL
reads, a long exercise clip made with ffmpeg.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from tests.support.stack import BIN, ROOT, Client, Stack, running_stack, wait_until

#: every password and token the fault tests used, for the secrets-in-logs check
SECRETS: set[str] = set()


@pytest.fixture(scope="session")
def shared_stack(tmp_path_factory):
    """One unbroken stack for the non-destructive fault tests (corpus, authz, fuzzing, logs)."""
    with running_stack(tmp_path_factory.mktemp("faults-shared")) as stack:
        yield stack


def assert_error_shape(response: requests.Response, statuses=None) -> dict:
    """The contract: JSON {code, message, errors?, request_id}, never HTML or a stack trace."""
    if statuses is not None:
        assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers.get("Content-Type", "").startswith("application/json"), (
        response.status_code, response.headers.get("Content-Type"), response.text[:300])
    body = response.json()
    assert isinstance(body, dict) and set(body) <= {"code", "message", "errors", "request_id"}, body
    # The id quoted in the body is the one in the header, so a support ticket can name either.
    assert body.get("request_id") == response.headers.get("X-Request-Id"), body
    assert isinstance(body.get("code"), str) and body["code"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert "Traceback" not in response.text and "<html" not in response.text.lower()
    return body


def register(stack: Stack, password: str | None = None) -> Client:
    password = password or "pw-" + uuid.uuid4().hex
    client = Client(stack.url).register(password=password)
    SECRETS.update({password, client.token})
    client.user_id = client.get("/api/v1/me").json()["id"]
    return client


def create_user(stack: Stack, role: str) -> Client:
    """A clinician or ops account, made the way an operator makes one (the flask CLI)."""
    email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
    password = f"{role}-pw-{uuid.uuid4().hex}"
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "users", "create", "--email", email,
                    "--password", password, "--role", role], cwd=ROOT, env=stack.env,
                   check=True, capture_output=True)
    client = Client(stack.url).login(email, password)
    SECRETS.update({password, client.token})
    client.user_id = client.get("/api/v1/me").json()["id"]
    return client


def query(stack: Stack, statement: str, params: dict | None = None) -> list[dict]:
    from sqlalchemy import create_engine, text

    engine = create_engine(stack.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(text(statement), params or {})]
    finally:
        engine.dispose()


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, capture_output=True)


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory, shared_data) -> Path:
    """About 15 s of real push-ups (correct1.mp4 looped), so a worker can be caught mid-pose."""
    out = tmp_path_factory.mktemp("clips") / "pushups-15s.mp4"
    ffmpeg("-stream_loop", "5", "-i", str(shared_data / "pushfit_sample" / "correct1.mp4"),
           "-an", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out))
    return out


def wait_status(client: Client, job_id: str, statuses: tuple[str, ...], timeout: float,
                stage: str | None = None) -> dict:
    def reached():
        body = client.get(f"/api/v1/jobs/{job_id}").json()
        if body["status"] in statuses and (stage is None or body.get("stage") == stage):
            return body
        return None

    return wait_until(reached, timeout, interval=0.1, message=f"job {job_id} in {statuses}")


def storage_files(stack: Stack, sub: str = "") -> list[Path]:
    root = stack.base_dir / "storage" / sub
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
