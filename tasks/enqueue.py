"""Creating jobs and sending them to the broker (used by the web layer, the CLI and the sweeper)."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field

from celery import Signature, chain
from sqlalchemy.orm import Session

from domain.jobs import kinds
from domain.jobs import service as jobs_service
from models import Job
from models import repository as repo
from workers.celery_app import app


def pipeline(kind: str, job_id: str) -> Signature:
    """The canvas that runs a job of this kind from its start (every step is idempotent): its
    first task, or a chain of immutable signatures (domain/jobs/kinds.py)."""
    steps = kinds.get(kind).pipeline
    if len(steps) == 1:
        return app.signature(steps[0], args=[job_id])
    return chain(*(app.signature(name, args=[job_id], immutable=True) for name in steps))


class BrokerUnavailable(Exception):
    pass


def find_idempotent(session: Session, user_id: str, key: str | None) -> Job | None:
    return repo.job_by_idempotency_key(session, user_id, key) if key else None


def create_job(session: Session, **fields) -> Job:
    """A queued job row (see domain.jobs.service.create_job); batch kinds at BATCH_PRIORITY."""
    from celery_config import BATCH_PRIORITY

    return jobs_service.create_job(session, batch_priority=BATCH_PRIORITY, **fields)


def send_job(job_id: str, kind: str, priority: int | None = None) -> None:
    """Publish the job's entry task. The caller has committed the job row first."""
    try:
        # ignore_result: job results live in the jobs table and nobody waits on this message's
        # result; without it Celery subscribes (and later unsubscribes) to the task's result
        # channel in Redis on every publish: two more round trips per POST (issue 13).
        pipeline(kind, job_id).apply_async(priority=priority, ignore_result=True)
    except Exception as exc:  # kombu raises many types when Redis is down
        raise BrokerUnavailable(str(exc)) from exc


# ---------------------------------------------------------------- what the broker holds


@dataclass
class BrokerView:
    """The jobs that have a message in the broker, read from Redis at one moment.

    kombu's Redis transport keeps a queue's messages in Redis lists (one per priority step:
    "video", "video:3", "video:8" with the "sep" of broker_transport_options), and a message a
    worker has taken but not yet acknowledged (acks_late) in the "unacked" hash, with the time
    it was taken in the "unacked_index" sorted set.
    """

    #: job id -> number of its messages waiting in a queue
    queued: dict[str, int] = field(default_factory=dict)
    #: job id -> (task id, time a worker took it, epoch seconds) of each of its messages a
    #: worker has taken and not yet acknowledged
    taken: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    def waiting(self, job_id: str) -> bool:
        """A message of the job waits in a queue: the job waits for a worker; it is not lost."""
        return self.queued.get(job_id, 0) > 0

    def taken_long_ago(self, job_id: str, within_s: float) -> list[str]:
        """Task ids of the job's messages a worker took more than `within_s` seconds ago."""
        return [task_id for task_id, when in self.taken.get(job_id, ())
                if self.at - when >= within_s]

    def held(self, job_id: str, within_s: float, live_task_ids: set[str] | None = None) -> bool:
        """A worker holds a message of the job, unacknowledged: it took it less than
        `within_s` seconds ago, or a live worker says it is running or holding it. A message
        taken by a worker that has since died stays in the hash (until the visibility
        timeout): that one does not count."""
        entries = self.taken.get(job_id, ())
        return any(self.at - when < within_s or task_id in (live_task_ids or ())
                   for task_id, when in entries)


def live_task_ids(timeout: float = 1.0) -> set[str] | None:
    """Ids of the tasks live workers are running or hold (remote control); None when no worker
    answered."""
    inspector = app.control.inspect(timeout=timeout)
    ids: set[str] = set()
    answered = False
    for method in (inspector.active, inspector.reserved):
        for tasks in (method() or {}).values():
            answered = True
            ids.update(task.get("id") for task in tasks or () if task.get("id"))
    return ids if answered else None


def queue_keys() -> list[str]:
    """The Redis lists of every queue, one per priority step."""
    from celery_config import QUEUES

    options = app.conf.broker_transport_options or {}
    sep = options.get("sep", ":")
    steps = sorted({int(step) for step in options.get("priority_steps", [0])})
    return [queue if not step else f"{queue}{sep}{step}" for queue in QUEUES
            for step in ([0] + [s for s in steps if s])]


def message_job_id(raw: bytes | str) -> str | None:
    """The first argument of a task message (every job task takes the job id first)."""
    return _message_ids(raw)[0]


def _message_ids(raw: bytes | str) -> tuple[str | None, str | None]:
    """(job id, task id) of a raw kombu message, or of an unacked entry."""
    try:
        payload = json.loads(raw)
        if isinstance(payload, list):  # an unacked entry: [message, exchange, routing_key]
            payload = payload[0]
        task_id = (payload.get("headers") or {}).get("id")
        body = payload["body"]
        if (payload.get("properties") or {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        decoded = json.loads(body)
        args = decoded.get("args") if isinstance(decoded, dict) else decoded[0]
        if args and isinstance(args[0], str):
            return args[0], task_id
    except Exception:  # not a task message, or not one of ours
        pass
    return None, None


def broker_view(client=None) -> BrokerView:
    """Read every queue list and the unacked hash of the broker (raises if Redis is down)."""
    from infra.redis_client import get_redis

    client = client or get_redis()
    options = app.conf.broker_transport_options or {}
    view = BrokerView(at=time.time())
    pipe = client.pipeline(transaction=False)
    keys = queue_keys()
    for key in keys:
        pipe.lrange(key, 0, -1)
    unacked_key = options.get("unacked_key", "unacked")
    pipe.hgetall(unacked_key)
    pipe.zrange(options.get("unacked_index_key", "unacked_index"), 0, -1, withscores=True)
    *lists, unacked, index = pipe.execute()
    for messages in lists:
        for raw in messages:
            job_id = message_job_id(raw)
            if job_id:
                view.queued[job_id] = view.queued.get(job_id, 0) + 1
    taken_at = {(tag.decode() if isinstance(tag, bytes) else tag): score for tag, score in index}
    for tag, raw in unacked.items():
        job_id, task_id = _message_ids(raw)
        if job_id:
            tag = tag.decode() if isinstance(tag, bytes) else tag
            view.taken.setdefault(job_id, []).append((task_id or "", taken_at.get(tag, view.at)))
    return view
