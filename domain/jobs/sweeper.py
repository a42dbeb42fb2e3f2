"""The stuck-job sweeper's decisions: the database, not the broker, is the record of truth.

A job is suspect when it stayed queued too long, or runs with a silent heartbeat, or runs past
its deadline (service.suspects). The tasks layer reads the broker (what waits in a queue, what
a worker took and has not acknowledged) and asks the live workers; `decide` then says, per
suspect, whether it waits (not lost, however long: a large batch, a busy hour), is re-sent at its
own priority, or fails (`job_stalled` after max_resends re-sends, `job_timeout` past its
deadline). A running job seen waiting gets `enqueued_at` = now: the time it waits for a worker
does not count toward its deadline.

`view` is the broker view (tasks/enqueue.py BrokerView: waiting, taken_long_ago, held), None when
the broker could not be read (then nothing is re-sent).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.jobs.service import (
    Emit,
    SweepLimits,
    child_job_ended,
    suspect_reason,
    suspects,
)
from models import Job
from models import repository as repo
from models.base import utcnow
from models.db import session_scope


@dataclass
class Sweep:
    #: (job id, kind, priority) to send again
    resend: list[tuple[str, str, int | None]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"resent": [job_id for job_id, _, _ in self.resend], "failed": self.failed,
                "timed_out": self.timed_out, "waiting": self.waiting}


def find_suspects(limits: SweepLimits, emit: Emit) -> dict[str, str]:
    """Suspect jobs (id -> "lost" | "deadline"); running batches are settled on the way
    (children that ended at the same moment may each have missed the other)."""
    with session_scope() as session:
        found, batches = suspects(session, utcnow(), limits)
        for batch_id in batches:
            child_job_ended(session, batch_id, emit)
    return found


def needs_live_workers(found: dict[str, str], view, limits: SweepLimits) -> bool:
    """A suspect's message was taken by a worker long ago and is still unacknowledged: running
    on a live worker (a long step), or left by a worker that died. Ask the live ones."""
    return view is not None and any(view.taken_long_ago(job_id, limits.stall_after_s)
                                    for job_id in found)


def decide(found: dict[str, str], limits: SweepLimits, view, live: set[str] | None) -> Sweep:
    """Read the jobs again (after the broker: a message that left its queue since was taken by a
    worker, which refreshed the job's heartbeat) and decide; re-sends are counted here."""
    sweep = Sweep()
    now = utcnow()
    with session_scope() as session:
        again, _ = suspects(session, now, limits)
        for job_id, reason in again.items():
            if found.get(job_id) != reason:
                continue  # it became a suspect after the broker was read: next sweep
            job = session.get(Job, job_id)
            # The row as read now must still be suspect for that reason: the compare-and-set
            # below is against this very read (another sweeper may have acted since `again`).
            if job is None or suspect_reason(job, now, limits) != reason:
                continue
            if view is not None and view.waiting(job_id):
                sweep.waiting.append(job_id)
                if job.status == "running":
                    job.enqueued_at = now  # its deadline counts from the end of its wait
            elif reason == "deadline":
                sweep.timed_out.append(job_id)
            elif view is None:
                continue
            elif view.held(job_id, limits.stall_after_s, live):
                sweep.waiting.append(job_id)
            elif job.resends >= limits.max_resends:
                sweep.failed.append(job_id)  # ended once whoever fails it (end_job)
            elif repo.claim_resend(session, job.id, status=job.status, resends=job.resends,
                                   now=now):
                sweep.resend.append((job.id, job.kind, job.priority))
            # else: another sweeper (run by mistake) re-sent it meanwhile
    return sweep
