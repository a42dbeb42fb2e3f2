"""Test-only fault hooks, active only when FAULT_INJECTION=1 (never set in production).

A job whose params carry `"_fault": "kill_worker"` makes the pool process that runs it die with
SIGKILL, the way the kernel's OOM killer or a crash in native code would: the fault tests use it
as a poison input. With `"_fault_times": n` it kills only while the job has lost fewer than n
processes (a passing OOM kill rather than a poison input). Params are written by the API from
validated fields only, so a client cannot set `_fault`; the tests write such job rows directly.
"""

from __future__ import annotations

import os
import signal

FAULT_KEY = "_fault"


def inject(params: dict | None, worker_losses: int) -> None:
    params = params or {}
    if params.get(FAULT_KEY) == "kill_worker" and worker_losses < params.get("_fault_times",
                                                                              float("inf")):
        os.kill(os.getpid(), signal.SIGKILL)
