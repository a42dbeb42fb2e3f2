"""Passwords, bearer tokens and webhook secrets never reach the process logs."""

from __future__ import annotations

import pytest

from tests.e2e.test_jobs_and_plans import make_plan
from tests.faults.conftest import SECRETS, register
from tests.support.stack import Client, wait_until

pytestmark = pytest.mark.faults


def test_no_secret_in_any_log(shared_stack):
    stack = shared_stack
    password = "Tr0ub4dor-and-3-" + "x" * 8
    user = register(stack, password=password)
    anon = Client(stack.url)
    # A failed login with a near-miss password, and a password change.
    assert anon.post("/api/v1/auth/token",
                     json={"email": user.email, "password": password + "!"}).status_code == 401
    new_password = "n3w-Pass-phrase-" + "y" * 8
    changed = user.patch("/api/v1/me", json={"password": new_password,
                                             "current_password": password})
    assert changed.status_code == 200, changed.text
    user = anon.login(user.email, new_password)
    SECRETS.update({new_password, user.token})
    hook = user.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                               "events": ["plan.generated"]}).json()
    rotated = user.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret").json()
    make_plan(user)  # a delivery is signed with the secret (and fails: nothing on port 9)
    wait_until(lambda: user.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json(), 30,
               message="a delivery attempt")
    secrets = SECRETS | {password, password + "!", new_password, hook["secret"],
                         rotated["secret"], hook["secret"].removeprefix("whsec_"),
                         rotated["secret"].removeprefix("whsec_"), stack.secret_key}
    logs = {name: stack.logs(name) for name in ("web", "worker0", "worker1")}
    assert all(logs.values()), "a process wrote no log at all"
    found = [(name, secret[:12] + "...") for name, text in logs.items()
             for secret in secrets if secret and secret in text]
    assert not found, f"secrets found in logs: {found}"
