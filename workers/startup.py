"""Per-process start-up of Celery workers.

Models are loaded in each worker process after fork (never in the parent: TensorFlow and PyTorch
state does not survive fork), once, and kept for every task the process runs.

`worker_process_init` must not outlast a limit: Celery kills a pool process that has not reported
ready within `worker_proc_alive_timeout` and starts another, which would load the models again
and be killed again, forever (pool processes are replaced every `worker_max_tasks_per_child`
tasks). So the models named in WORKER_MODELS load in a background thread of the new process,
which reports ready once they are loaded or a quarter of that limit has passed, whichever comes
first; a task that needs a model still loading waits for it (`model_registry.get`).
"""

from __future__ import annotations

import logging
import os

from celery.signals import after_setup_logger, worker_init, worker_process_init, worker_ready

from config import settings
from infra.logs import configure_logging, log_event
from models.db import reset_engines

logger = logging.getLogger("workers")


@after_setup_logger.connect
def _json_logs(logger=None, **_kwargs) -> None:
    configure_logging()


def lower_priority(target: int | None = None) -> int:
    """Run this process at niceness `target` (WORKER_NICE) unless it already runs nicer; returns
    the niceness it runs at. Workers share the cores with the web process on small hosts: a
    burst of jobs (each plan is tens of ms of CPU, a video minutes) must not take the CPU that
    the API's requests need to be answered in milliseconds; the jobs wait in the queue instead,
    and take all the CPU when the API is quiet. (On Linux niceness is per thread and inherited
    by threads and processes started afterwards: called before the pool and the model threads
    start.)"""
    target = settings.worker_nice if target is None else target
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if target > current:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, target)
        except OSError as exc:  # not allowed here: run at the niceness we have
            logger.warning("could not lower the worker's CPU priority: %s", exc)
            return current
        return target
    return current


@worker_init.connect
def _init_worker(**_kwargs) -> None:
    lower_priority()


@worker_process_init.connect
def _init_process(**_kwargs) -> None:
    lower_priority()  # the pool process inherits it; set again in case it was forked elsewhere
    # Database connections opened before fork must not be shared with the child.
    reset_engines()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from workers import model_registry

    models = os.environ.get("WORKER_MODELS", "")
    log_event(logger, "worker process started", pid=os.getpid(), models=models)
    loading = model_registry.warm_up_in_background(models)
    if loading is not None:
        # Celery gives a process no task before it reports ready: waiting a little here lets the
        # other pool processes take the work while this one loads. But report ready well within
        # the limit, whether or not the models are in (a task waits for them then).
        loading.join(settings.worker_proc_alive_timeout_s / 4)


@worker_ready.connect
def _ready(**_kwargs) -> None:
    logger.info("worker ready")
