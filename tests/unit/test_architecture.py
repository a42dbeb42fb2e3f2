"""The import contracts in pyproject.toml hold (layers web -> tasks -> domain -> models; domain
imports no Flask/Celery), and no two top-level packages import each other (no circle)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("web", "tasks", "workers", "domain", "models", "infra")
#: pairs allowed to import each other, with the reason
ALLOWED_BOTH_WAYS = {
    # One runtime: workers host the tasks (celery_app, model registry) and the worker's main
    # process fails a job that keeps killing its pool processes through tasks.jobs.fail_job.
    ("tasks", "workers"),
    # The ORM column type of webhook secrets encrypts with domain.webhooks.secret_box
    # (the same exception is in the layers contract, pyproject.toml).
    ("domain", "models"),
}


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_no_import_circle_between_top_level_packages():
    import grimp

    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    both_ways = [(a, b) for a, b in itertools.combinations(PACKAGES, 2)
                 if graph.chain_exists(importer=a, imported=b, as_packages=True)
                 and graph.chain_exists(importer=b, imported=a, as_packages=True)]
    assert set(both_ways) <= ALLOWED_BOTH_WAYS, both_ways


def test_no_import_circle_between_task_and_cli_modules():
    import grimp

    graph = grimp.build_graph("tasks", "web", cache_dir=None)
    modules = [m for m in graph.modules if m.startswith(("tasks.", "web.cli"))]
    circles = [(a, b) for a, b in itertools.combinations(sorted(modules), 2)
               if graph.chain_exists(importer=a, imported=b)
               and graph.chain_exists(importer=b, imported=a)]
    assert circles == []
