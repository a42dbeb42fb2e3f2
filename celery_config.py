"""Celery settings: separate queues per kind of work, at-least-once delivery for idempotent tasks.

Every task here is idempotent (it re-reads its job row and does nothing if the job already ended),
so tasks are acknowledged late and re-queued when a worker dies mid-task.
"""

from __future__ import annotations

from celery.app import trace as _trace
from kombu import Exchange, Queue

from config import settings

broker_url = settings.redis_url
# Job results live in the database (jobs table). Redis keeps task results only so that chords
# (pose chunks joined before classification) can count their parts, and only for a day.
result_backend = settings.redis_url
task_ignore_result = True
result_expires = 86400

task_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

_default = Exchange("default", type="direct")
QUEUES = ("plans", "feedback", "video", "pose", "pose_gpu", "webhooks", "maintenance")
# Pose chunks go to the GPU pose worker's own queue when this deployment poses on a GPU
# (POSE_DEVICE=cuda); CPU-only pose workers consume `pose` and never see GPU work.
POSE_QUEUE = "pose" if settings.pose_device == "cpu" else "pose_gpu"
task_queues = tuple(Queue(name, _default, routing_key=name) for name in QUEUES)
task_default_queue = "maintenance"
task_default_exchange = "default"
task_default_routing_key = "maintenance"
task_routes = {
    "plans.*": {"queue": "plans", "routing_key": "plans"},
    "feedback.*": {"queue": "feedback", "routing_key": "feedback"},
    "video.pose_chunk": {"queue": POSE_QUEUE, "routing_key": POSE_QUEUE},
    "video.*": {"queue": "video", "routing_key": "video"},
    "webhooks.*": {"queue": "webhooks", "routing_key": "webhooks"},
    "maintenance.*": {"queue": "maintenance", "routing_key": "maintenance"},
    # Data exports run beside the other light work.
    "accounts.*": {"queue": "maintenance", "routing_key": "maintenance"},
}

# Redelivery on worker loss: ack only after the task ran, reject (re-queue) if the process died.
task_acks_late = True
task_reject_on_worker_lost = True
# Heavy queues: a worker takes one message at a time so nothing waits behind a long video.
worker_prefetch_multiplier = 1
# A pool process is replaced after this many tasks (WORKER_MAX_TASKS_PER_CHILD): slow leaks in
# native libraries cannot grow without bound.
worker_max_tasks_per_child = settings.worker_max_tasks_per_child
# A replacement pool process must report ready within this many seconds, or Celery kills it and
# starts another (4 s by default). Its models load in a background thread after it reported
# ready (workers/startup.py), so its start is short; but on a saturated 2-core machine even a
# short start can be delayed by seconds, and a start that misses the limit once misses it every
# time: an endless kill/restart loop with every job of that queue stuck. A process that truly
# hangs at start is still killed, after WORKER_PROC_ALIVE_TIMEOUT_S (60 s).
worker_proc_alive_timeout = settings.worker_proc_alive_timeout_s
worker_hijack_root_logger = False
# Privacy: Celery logs "Task x[id] succeeded in 0.1s: <return value>" at INFO, and a task's return
# value can be an analysis result (health data). Log the task, its id and its runtime only; the
# result lives in the jobs table. (`celery.app.trace` reads this format at each log call.)
_trace.LOG_SUCCESS = "Task %(name)s[%(id)s] succeeded in %(runtime)ss"

# Limits: the longest task (a 10-minute video chunk group) must finish well inside these.
task_soft_time_limit = 900
task_time_limit = 960
# Redis redelivers an unacknowledged message after the visibility timeout: keep it above the
# hard time limit, or a long task would run twice while still alive.
broker_transport_options = {
    "visibility_timeout": 3600,
    "priority_steps": list(range(10)),
    "sep": ":",
}
broker_connection_retry_on_startup = True
# Publishing from the web process must fail fast when Redis is down (the API answers 503).
broker_connection_timeout = 2
task_publish_retry_policy = {
    "max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5,
}
# Redis serves lower numbers first: live work at 3, ops batch reprocessing at 8.
task_default_priority = 3
BATCH_PRIORITY = 8

beat_schedule = {
    "sweep-stuck-jobs": {"task": "maintenance.sweep_stuck_jobs",
                         "schedule": settings.sweep_interval_s},
    "webhooks-sweep-due": {"task": "webhooks.sweep_due",
                           "schedule": settings.webhook_sweep_interval_s},
    "sweep-orphan-files": {"task": "maintenance.sweep_orphan_files", "schedule": 3600.0},
    # Originals past VIDEO_RETENTION_DAYS, export zips past EXPORT_TTL_HOURS.
    "apply-retention": {"task": "maintenance.apply_retention",
                        "schedule": settings.retention_interval_s},
}

# One beat for the whole deployment (infra/beat.py): the schedule and each entry's last run live
# in Redis (no local schedule file), and only the beat holding the Redis lock sends anything; a
# second beat started by mistake waits as a standby.
beat_scheduler = "infra.beat:SingleBeatScheduler"
redbeat_redis_url = settings.redis_url
redbeat_key_prefix = "redbeat:"
redbeat_lock_timeout = settings.beat_lock_timeout_s
# A Redis that stops answering must not hang the beat: it logs and retries (infra/beat.py).
redbeat_redis_options = {"socket_timeout": 5, "socket_connect_timeout": 5}
