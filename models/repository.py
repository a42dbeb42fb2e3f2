"""Queries over jobs and analyses, each written once; services and views call these."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session, defer

from models.accounts import User
from models.analyses import Analysis, AnalysisResult, Reference
from models.jobs import TERMINAL_STATUSES, Event, Job


def page(session: Session, stmt: Select, *, offset: int, limit: int) -> tuple[list, int]:
    """One page of a query's rows, and how many rows the whole query has."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return list(session.scalars(stmt.offset(offset).limit(limit))), int(total or 0)


# ---------------------------------------------------------------- jobs


def job_by_idempotency_key(session: Session, user_id: str, key: str) -> Job | None:
    return session.scalar(select(Job).where(Job.user_id == user_id, Job.idempotency_key == key))


def jobs_with_status(session: Session, status: str) -> Sequence[Job]:
    return session.scalars(select(Job).where(Job.status == status)).all()


def child_jobs(session: Session, parent_id: str, *, open_only: bool = False) -> Sequence[Job]:
    stmt = select(Job).where(Job.parent_id == parent_id)
    if open_only:
        stmt = stmt.where(Job.status.not_in(tuple(TERMINAL_STATUSES)))
    return session.scalars(stmt).all()


def child_status_counts(session: Session, parent_id: str) -> dict[str, int]:
    rows = session.execute(select(Job.status, func.count()).where(Job.parent_id == parent_id)
                           .group_by(Job.status))
    return {status: count for status, count in rows}


def jobs_of_subject(session: Session, subject_type: str, subject_id: str) -> Sequence[Job]:
    return session.scalars(select(Job).where(Job.subject_type == subject_type,
                                             Job.subject_id == subject_id)).all()


def user_jobs_query(user_id: str, status: str | None = None, kind: str | None = None) -> Select:
    """The user's jobs, newest first (paginated by the caller)."""
    stmt = select(Job).where(Job.user_id == user_id)
    if status:
        stmt = stmt.where(Job.status == status)
    if kind:
        stmt = stmt.where(Job.kind == kind)
    return stmt.order_by(Job.created_at.desc(), Job.id)


def claim_pipeline_round(session: Session, job_id: str) -> int | None | bool:
    """Set the job's pipeline round to its re-send count unless a pipeline of that round was
    built (atomic). Returns the previous round (None: none), or False when already built."""
    previous = session.scalar(select(Job.pipeline_round).where(Job.id == job_id))
    claimed = session.execute(
        update(Job).where(Job.id == job_id,
                          or_(Job.pipeline_round.is_(None), Job.pipeline_round < Job.resends))
        .values(pipeline_round=Job.resends)
        .execution_options(synchronize_session=False))
    return previous if claimed.rowcount == 1 else False


def end_open_job(session: Session, job_id: str, status: str, **fields) -> bool:
    """Move a job that has not ended to `status` (compare-and-set: of two callers racing, one
    wins, e.g. two sweepers failing the same job). True when this call moved it."""
    claimed = session.execute(
        update(Job).where(Job.id == job_id, Job.status.not_in(tuple(TERMINAL_STATUSES)))
        .values(status=status, **fields).execution_options(synchronize_session=False))
    return claimed.rowcount == 1


def claim_resend(session: Session, job_id: str, *, status: str, resends: int,
                 now: datetime) -> bool:
    """Count one more re-send of a job still as the sweeper read it (same status, same count;
    compare-and-set: of two sweepers deciding at once, one re-sends it)."""
    values: dict = {"resends": resends + 1, "heartbeat_at": now}
    if status == "queued":
        values["enqueued_at"] = now
    claimed = session.execute(
        update(Job).where(Job.id == job_id, Job.status == status, Job.resends == resends)
        .values(**values).execution_options(synchronize_session=False))
    return claimed.rowcount == 1


# ---------------------------------------------------------------- analyses


def user_analyses_query(user_id: str) -> Select:
    """A user's analyses, newest first (paginated by the caller)."""
    return (select(Analysis).where(Analysis.user_id == user_id)
            .order_by(Analysis.created_at.desc(), Analysis.id))


def result_histories(session: Session, analysis_ids: Sequence[str]
                     ) -> dict[str, list[AnalysisResult]]:
    """Every stored result of these analyses, oldest first, in one query (no N+1)."""
    out: dict[str, list[AnalysisResult]] = {analysis_id: [] for analysis_id in analysis_ids}
    if analysis_ids:
        rows = session.scalars(select(AnalysisResult)
                               .where(AnalysisResult.analysis_id.in_(list(analysis_ids)))
                               .order_by(AnalysisResult.created_at))
        for row in rows:
            out[row.analysis_id].append(row)
    return out


def stored_result(session: Session, analysis_id: str, models_key: str) -> AnalysisResult | None:
    return session.scalar(select(AnalysisResult).where(
        AnalysisResult.analysis_id == analysis_id, AnalysisResult.models_key == models_key))


def ended_analyses(session: Session, *, since: datetime | None = None,
                   until: datetime | None = None, user_id: str | None = None
                   ) -> Sequence[Analysis]:
    """Analyses that ended (succeeded or failed), oldest first, within the filters."""
    stmt = select(Analysis).where(Analysis.status.in_(("succeeded", "failed")))
    if since:
        stmt = stmt.where(Analysis.created_at >= since)
    if until:
        stmt = stmt.where(Analysis.created_at < until)
    if user_id:
        stmt = stmt.where(Analysis.user_id == user_id)
    return session.scalars(stmt.order_by(Analysis.created_at)).all()


def visible_references_condition(clinic_id: str | None):
    """Global references, plus those of the clinic (if any)."""
    condition = Reference.clinic_id.is_(None)
    if clinic_id:
        condition = or_(condition, Reference.clinic_id == clinic_id)
    return condition


def visible_references(session: Session, user_id: str) -> Sequence[Reference]:
    """The references a user's analyses compare with; their keypoints load on first access
    (a worker's cache has most already: decoding every one's JSON took ~0.6 s per analysis)."""
    user = session.get(User, user_id)
    return session.scalars(select(Reference).options(defer(Reference.keypoints)).where(
        visible_references_condition(user.clinic_id if user else None))).all()


def reference_summaries(session: Session, clinic_id: str | None, exercise: str | None
                        ) -> list[dict]:
    """References without their keypoints: the frame count comes from the database (decoding
    every reference's keypoints cost about 0.4 s of CPU per request)."""
    frames = func.json_array_length(Reference.keypoints).label("frames")
    stmt = select(Reference.id, Reference.exercise, Reference.name, Reference.view,
                  Reference.source, Reference.clinic_id, Reference.fps, frames).where(
        visible_references_condition(clinic_id))
    if exercise:
        stmt = stmt.where(Reference.exercise == exercise)
    rows = session.execute(stmt.order_by(Reference.exercise, Reference.name))
    return [dict(row._mapping) for row in rows]


def analysis_ids(session: Session) -> set[str]:
    return set(session.scalars(select(Analysis.id)))


def ended_analyses_with_originals(session: Session, *, before: datetime) -> Sequence[Analysis]:
    """Ended analyses created before `before` that still have their original upload (a
    running job may still read its original)."""
    return session.scalars(select(Analysis).where(
        Analysis.created_at < before, Analysis.media_path.is_not(None),
        Analysis.status.in_(tuple(TERMINAL_STATUSES)))).all()


def claim_original_expiry(session: Session, analysis_id: str, media_path: str) -> bool:
    """Forget an analysis' original if it still names `media_path` (compare-and-set: of two
    retention sweeps at once, one expires it)."""
    claimed = session.execute(
        update(Analysis).where(Analysis.id == analysis_id, Analysis.media_path == media_path)
        .values(media_path=None).execution_options(synchronize_session=False))
    return claimed.rowcount == 1


def events_about_analysis(session: Session, user_id: str, analysis_id: str) -> list[Event]:
    return [event for event in session.scalars(select(Event).where(Event.user_id == user_id))
            if (event.data or {}).get("analysis_id") == analysis_id]


def delete_reference(session: Session, reference_id: str) -> None:
    session.execute(delete(Reference).where(Reference.id == reference_id))


def delete_references_of_user(session: Session, user_id: str) -> int:
    """References built from this user's uploads (their id is the analysis id)."""
    ids = select(Analysis.id).where(Analysis.user_id == user_id)
    return session.execute(delete(Reference).where(Reference.id.in_(ids))).rowcount or 0


def user_ids(session: Session) -> set[str]:
    return set(session.scalars(select(User.id)))
