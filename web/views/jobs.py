"""Jobs: the state of every asynchronous operation."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from domain.jobs import service as jobs_service
from models import TERMINAL_STATUSES, Job
from models import repository as repo
from web.auth import current_user, load_owned, login_required
from web.db import db_session
from web.errors import ApiError
from web.jobs import job_to_dict
from web.pages import page_slice, paginated
from web.schemas.jobs import JobListQuerySchema, JobSchema

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Asynchronous jobs")


def load_job(job_id: str, *, write: bool = False) -> Job:
    return load_owned(Job, job_id, "job", write=write)


@blp.route("")
@login_required()
@blp.arguments(JobListQuerySchema, location="query")
@blp.response(200, JobSchema(many=True))
@paginated(blp)
def list_jobs(query: dict, pagination_parameters):
    """The caller's jobs, newest first (`?page=&page_size=`; `?limit=` is the page size)."""
    if "limit" in query and "page_size" not in request.args:
        pagination_parameters.page_size = query["limit"]  # the older spelling of page_size
    jobs, total = repo.page(db_session(), repo.user_jobs_query(
        current_user().id, query.get("status"), query.get("kind")), **page_slice(
        pagination_parameters))
    pagination_parameters.item_count = total
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
    jobs_service.cancel(db_session(), job)
    db_session().commit()
    return job_to_dict(job)
