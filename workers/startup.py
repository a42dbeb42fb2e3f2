"""Per-process start-up of Celery workers.

Models are loaded in each worker process after fork (never in the parent: TensorFlow and PyTorch
state does not survive fork), once, and kept for every task the process runs.
"""

from __future__ import annotations

import logging
import os

from celery.signals import after_setup_logger, worker_process_init, worker_ready

from infra.logs import configure_logging
from models.db import reset_engines

logger = logging.getLogger("workers")


@after_setup_logger.connect
def _json_logs(logger=None, **_kwargs) -> None:
    configure_logging()


@worker_process_init.connect
def _init_process(**_kwargs) -> None:
    # Database connections opened before fork must not be shared with the child.
    reset_engines()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from workers import model_registry

    model_registry.warm_up(os.environ.get("WORKER_MODELS", ""))


@worker_ready.connect
def _ready(**_kwargs) -> None:
    logger.info("worker ready")
