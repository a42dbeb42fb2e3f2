"""The Celery application. Workers start with: celery -A workers.celery_app worker -Q ..."""

from __future__ import annotations

from celery import Celery

import celery_config

app = Celery("rehab")
app.config_from_object(celery_config)
# Importing the task modules registers their tasks.
app.conf.imports = (
    "tasks.plans", "tasks.feedback", "tasks.video", "tasks.webhooks", "tasks.maintenance",
    "tasks.privacy",
)

import workers.startup  # noqa: E402,F401  (signal handlers: per-process start-up, job log context)
