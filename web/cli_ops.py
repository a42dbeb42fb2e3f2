"""`flask ops reprocess`: the same batch as POST /api/v1/ops/reprocess, from the shell."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup
from sqlalchemy import select

from celery_config import BATCH_PRIORITY
from domain.jobs import kinds
from models import User
from models.db import session_scope
from tasks.enqueue import create_job, send_job

ops_cli = AppGroup("ops", help="Operations.")


@ops_cli.command("reprocess")
@click.option("--since", type=click.DateTime(), default=None)
@click.option("--until", type=click.DateTime(), default=None)
@click.option("--exercise", default=None)
@click.option("--user", "user_id", default=None, help="Only this user's analyses (id).")
@click.option("--ops-email", default=None, help="The ops account the batch belongs to.")
def reprocess(since: dt.datetime | None, until: dt.datetime | None, exercise: str | None,
              user_id: str | None, ops_email: str | None) -> None:
    """Re-run stored videos through the current models as a batch job; prints its id."""
    params = {k: v for k, v in {"since": since and since.replace(tzinfo=dt.UTC).isoformat(),
                                "until": until and until.replace(tzinfo=dt.UTC).isoformat(),
                                "exercise": exercise, "user_id": user_id}.items() if v}
    with session_scope() as session:
        stmt = select(User).where(User.role == "ops")
        if ops_email:
            stmt = stmt.where(User.email == ops_email.strip().lower())
        owner = session.scalars(stmt.order_by(User.created_at)).first()
        if owner is None:
            raise click.ClickException("no ops account; create one: flask users create --role ops")
        job = create_job(session, user_id=owner.id, kind=kinds.BATCH_REPROCESS, params=params)
        job_id = job.id
    send_job(job_id, kinds.BATCH_REPROCESS, priority=BATCH_PRIORITY)
    click.echo(f"batch job {job_id} queued; follow it at /api/v1/jobs/{job_id}")


COMMANDS = (ops_cli,)
