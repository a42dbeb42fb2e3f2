"""Jobs: the state of every asynchronous operation."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select

from models import TERMINAL_STATUSES, Analysis, Job
from models.base import utcnow
from web.auth import current_user, load_owned, login_required
from web.db import db_session
from web.errors import ApiError
from web.jobs import job_to_dict
from web.schemas.jobs import JobListQuerySchema, JobSchema

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Asynchronous jobs")


def load_job(job_id: str, *, write: bool = False) -> Job:
    return load_owned(Job, job_id, "job", write=write)


@blp.route("")
@login_required()
@blp.arguments(JobListQuerySchema, location="query")
@blp.response(200, JobSchema(many=True))
def list_jobs(query: dict):
    """The caller's jobs, newest first."""
    stmt = select(Job).where(Job.user_id == current_user().id)
    if "status" in query:
        stmt = stmt.where(Job.status == query["status"])
    if "kind" in query:
        stmt = stmt.where(Job.kind == query["kind"])
    jobs = db_session().scalars(stmt.order_by(Job.created_at.desc()).limit(query["limit"])).all()
    return [job_to_dict(job) for job in jobs]


@blp.route("/<job_id>")
@login_required()
@blp.response(200, JobSchema)
def get_job(job_id: str):
    """Status, progress, stage, error and result of one job."""
    return job_to_dict(load_job(job_id))


@blp.route("/<job_id>/cancel", methods=["POST"])
@login_required()
@blp.response(200, JobSchema)
def cancel_job(job_id: str):
    """Cancel a job that has not ended; its remaining tasks stop at their next step."""
    job = load_job(job_id, write=True)
    if job.status in TERMINAL_STATUSES:
        raise ApiError(409, "job_ended", f"the job already ended ({job.status})")
    # A canceled batch cancels the children that have not ended; tasks stop at their next step.
    children = db_session().scalars(select(Job).where(
        Job.parent_id == job.id, Job.status.not_in(tuple(TERMINAL_STATUSES)))).all()
    for canceled in (job, *children):
        canceled.status, canceled.finished_at = "canceled", utcnow()
        if canceled.subject_type == "analysis":
            analysis = db_session().get(Analysis, canceled.subject_id)
            if analysis is not None and analysis.status in ("queued", "running"):
                # A canceled re-run keeps the result the analysis already had.
                analysis.status = "succeeded" if analysis.result else "canceled"
    db_session().commit()
    return job_to_dict(job)
