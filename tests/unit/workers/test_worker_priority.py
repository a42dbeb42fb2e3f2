"""Worker processes run at WORKER_NICE, so that API requests on the same cores go first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import os
from workers.startup import lower_priority
print(lower_priority(), os.getpriority(os.PRIO_PROCESS, 0), lower_priority(3))
"""


def run(env: dict) -> list[int]:
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env={**os.environ, **env},
                         capture_output=True, text=True, check=True, timeout=120)
    return [int(x) for x in out.stdout.split()]


def test_a_worker_lowers_its_priority_to_worker_nice_and_never_raises_it():
    # WORKER_NICE=7: the process runs at 7; asking for 3 afterwards leaves it at 7.
    start = os.getpriority(os.PRIO_PROCESS, 0)  # the child starts where this process runs
    nice = max(start, 7)
    assert run({"WORKER_NICE": "7"}) == [nice, nice, nice]


def test_worker_nice_zero_leaves_the_priority_as_it_is():
    start = os.getpriority(os.PRIO_PROCESS, 0)
    assert run({"WORKER_NICE": "0"}) == [start, start, max(start, 3)]
