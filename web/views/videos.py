"""Video, photo and keypoint uploads for analysis; results and the annotated video."""

from __future__ import annotations

import numpy as np
from flask import redirect, request, send_file
from flask_smorest import Blueprint
from sqlalchemy.exc import OperationalError

from config import settings
from domain.jobs import kinds
from domain.privacy import ORIGINAL_DELETED
from domain.video import service as video_service
from domain.video.media import probe
from domain.video.vocabulary import VOCABULARY
from infra import storage
from models import Analysis, AnalysisResult
from models import repository as repo
from models.base import new_id
from web.auth import current_user, load_owned, login_required, subject_user_id
from web.db import db_session
from web.errors import ApiError
from web.jobs import enqueue, replay
from web.pages import page_slice, paginated
from web.quota import MULTIPART_SLACK, check_quota
from web.ratelimit import keypoints_limit, upload_limit
from web.schemas.common import JobAcceptedSchema
from web.schemas.plans import PagedUserIdQuerySchema
from web.schemas.videos import (
    AnalysisSchema,
    KeypointAnalysisSchema,
    ReferenceSummarySchema,
    UploadFormSchema,
)
from web.service_errors import answered_as_api_errors
from web.uploads import store, uploaded_path

blp = Blueprint("videos", __name__, url_prefix="/api/v1", description="Exercise analysis")

#: the multipart form fields read besides `file`
UPLOAD_FORM_FIELDS = ("exercise", "reference", "plan_id", "day", "exercise_id")



def analysis_to_dict(analysis: Analysis, history: list[AnalysisResult] | None = None) -> dict:
    """The analysis as AnalysisSchema reads it; `history` when the caller loaded it already."""
    if history is None:
        history = repo.result_histories(db_session(), [analysis.id])[analysis.id]
    return {
        "id": analysis.id, "status": analysis.status, "source": analysis.source,
        "created_at": analysis.created_at, "job_id": analysis.job_id,
        "exercise_hint": analysis.exercise_hint, "original_filename": analysis.original_filename,
        "plan_id": analysis.plan_id, "day": analysis.plan_day,
        "exercise_id": analysis.plan_exercise_id,
        "media": analysis.media_info, "is_reference": analysis.is_reference,
        "annotated_url": f"/api/v1/videos/{analysis.id}/annotated.mp4"
        if analysis.annotated_path else None,
        "result": analysis.result,
        "original_available": analysis.source != "keypoints" and analysis.media_path is not None,
        "original_deleted_at": analysis.original_deleted_at,
        "history": [{"models": r.models, "created_at": r.created_at.isoformat(),
                     "job_id": r.job_id, "rep_count": r.result.get("rep_count"),
                     "label": (r.result.get("exercise") or {}).get("label")} for r in history],
    }


@blp.route("/videos", methods=["POST"], endpoint="upload")
@login_required()
@blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"},
                   "exercise": {"type": "string", "enum": list(VOCABULARY)},
                   "reference": {"type": "boolean"},
                   "plan_id": {"type": "string"}, "day": {"type": "integer"},
                   "exercise_id": {"type": "string"}}}}}})
@blp.response(202, JobAcceptedSchema)
@upload_limit
def upload_video():
    """Upload a video (or a JPEG/PNG photo) for analysis: 202 and a job.

    The file streams to storage; ffprobe decides whether it is readable before anything is
    recorded. Too large: 413 (`storage_quota_exceeded` past the user's storage quota); not a
    video or image: 415; unusable video: 422. Rate limited per user (429).
    """
    request.max_content_length = settings.max_upload_bytes
    first = replay(kinds.VIDEO_ANALYZE)
    if first is not None:
        return first
    # Refuse before streaming a byte when the declared size cannot fit the quota.
    check_quota(current_user().id, request.content_length, slack=MULTIPART_SLACK)
    part = request.files.get("file")
    if part is None or not part.filename and uploaded_path(part).stat().st_size == 0:
        raise ApiError(422, "validation_error", "the request has invalid fields",
                       errors={"file": ["a file part named 'file' is required"]})
    form = UploadFormSchema().load({k: v for k, v in request.form.items()
                                    if k in UPLOAD_FORM_FIELDS})
    is_reference = bool(form.get("reference"))
    path = uploaded_path(part)
    with answered_as_api_errors():
        hint = video_service.check_hint(form.get("exercise"))
        prescription = video_service.check_prescription(db_session(), current_user().id, form)
        if is_reference:
            video_service.check_reference_upload(current_user())
        info = probe(path, max_seconds=settings.max_video_seconds,
                     max_pixels=settings.max_video_pixels, timeout_s=settings.probe_timeout_s)
    analysis_id, size = new_id(), path.stat().st_size
    target = video_service.original_target(current_user().id, analysis_id, part.filename,
                                           info.kind)
    prefix = video_service.analysis_prefix(current_user().id, analysis_id)
    check_quota(current_user().id, size)

    def record(job):
        check_quota(current_user().id, size, lock=True)  # concurrent uploads of this user
        job.subject_id = analysis_id
        video_service.new_media_analysis(
            db_session(), analysis_id=analysis_id, user_id=current_user().id, job_id=job.id,
            info=info, hint=hint, filename=part.filename, target=target, size=size,
            is_reference=is_reference, prescription=prescription)

    def discard():
        storage.delete_prefix(prefix)

    try:
        # Stored before the transaction opens (on object storage this is the whole upload, no
        # row lock held meanwhile); if the rows are not committed, the files go again (and
        # the orphan sweep removes what a crash in between leaves).
        store(path, target)
        return enqueue(kinds.VIDEO_ANALYZE, subject_type="analysis", subject_id=analysis_id,
                       params={"analysis_id": analysis_id}, before_commit=record,
                       on_rollback=discard)
    except OperationalError:
        discard()
        raise ApiError(503, "database_unavailable",
                       "the database is unavailable; nothing was stored, try again") from None
    except BaseException:
        discard()
        raise


@blp.route("/analyses", methods=["POST"])
@login_required()
@blp.arguments(KeypointAnalysisSchema)
@blp.response(202, JobAcceptedSchema)
@keypoints_limit
def upload_keypoints(body: dict):
    """Keypoint sequences (COCO-17) from on-device pose estimation: same pipeline from the
    classification step on, same result shape as a video."""
    first = replay(kinds.KEYPOINTS_ANALYZE)
    if first is not None:
        return first
    with answered_as_api_errors():
        hint = video_service.check_hint(body.get("exercise"))
        prescription = video_service.check_prescription(db_session(), current_user().id, body)
    frames: np.ndarray = body["frames"]
    duration = len(frames) / body["fps"]
    if duration > settings.max_video_seconds:
        raise ApiError(422, "video_too_long",
                       f"the sequence lasts {duration:.0f} s; the limit is "
                       f"{settings.max_video_seconds:.0f} s")
    analysis_id = new_id()
    prefix = video_service.analysis_prefix(current_user().id, analysis_id)

    def record(job):
        job.subject_id = analysis_id
        video_service.new_keypoint_analysis(
            db_session(), analysis_id=analysis_id, user_id=current_user().id, job_id=job.id,
            frames=frames, fps=body["fps"], width=body["width"], height=body["height"],
            hint=hint, prescription=prescription)

    try:
        return enqueue(kinds.KEYPOINTS_ANALYZE, subject_type="analysis", subject_id=analysis_id,
                       params={"analysis_id": analysis_id}, before_commit=record,
                       on_rollback=lambda: storage.delete_prefix(prefix))
    except BaseException:
        storage.delete_prefix(prefix)
        raise


def load_analysis(analysis_id: str) -> Analysis:
    return load_owned(Analysis, analysis_id, "analysis")


@blp.route("/videos/<analysis_id>")
@login_required()
@blp.response(200, AnalysisSchema)
def get_video(analysis_id: str):
    """Status and result of a video (or photo) analysis."""
    return analysis_to_dict(load_analysis(analysis_id))


@blp.route("/analyses/<analysis_id>")
@login_required()
@blp.response(200, AnalysisSchema)
def get_analysis(analysis_id: str):
    """Status and result of a keypoint (or video) analysis."""
    return analysis_to_dict(load_analysis(analysis_id))


@blp.route("/videos", methods=["GET"])
@login_required()
@blp.arguments(PagedUserIdQuerySchema, location="query")
@blp.response(200, AnalysisSchema(many=True))
@paginated(blp)
def list_videos(query: dict, pagination_parameters):
    """The caller's analyses (performance history), newest first; clinicians: `?user_id=`.
    Paginated (`?page=&page_size=`, `X-Pagination`)."""
    session = db_session()
    rows, total = repo.page(session, repo.user_analyses_query(
        subject_user_id(query.get("user_id"))), **page_slice(pagination_parameters))
    pagination_parameters.item_count = total
    histories = repo.result_histories(session, [a.id for a in rows])  # one query, not N
    return [analysis_to_dict(a, histories[a.id]) for a in rows]


@blp.route("/references")
@login_required()
@blp.response(200, ReferenceSummarySchema(many=True))
def list_references():
    """Expert references the caller's analyses are compared with (global and their clinic's)."""
    return repo.reference_summaries(db_session(), current_user().clinic_id,
                                    request.args.get("exercise"))


@blp.route("/videos/<analysis_id>/annotated.mp4")
@login_required()
@blp.response(200, content_type="video/mp4")
def annotated_video(analysis_id: str):
    """The video with skeleton, angles and repetition counter drawn on it: the file itself, or
    (object storage) a 302 to a presigned URL of the store, valid DOWNLOAD_URL_TTL_S."""
    analysis = load_analysis(analysis_id)
    if analysis.original_deleted_at is not None:
        raise ApiError(410, ORIGINAL_DELETED,
                       "the original video was deleted after the retention period, and the "
                       "annotated video with it; the keypoints and the result are kept")
    if not analysis.annotated_path:
        raise ApiError(404, "not_ready", "no annotated video (yet) for this analysis")
    url = storage.url_for_download(analysis.annotated_path, content_type="video/mp4")
    if url is not None:
        return redirect(url, code=302)
    return send_file(storage.absolute(analysis.annotated_path), mimetype="video/mp4",
                     conditional=True, download_name=f"{analysis.id}.mp4")


def _delete_analysis(analysis_id: str) -> None:
    """Delete an analysis the caller owns: its running job is canceled first, then its rows
    (results, the reference built from it) and its stored files go."""
    from tasks.privacy import delete_analysis

    analysis = load_owned(Analysis, analysis_id, "analysis", write=True)
    owner = analysis.user_id
    delete_analysis(db_session(), analysis)
    db_session().commit()
    video_service.remove_analysis_files(owner, analysis_id)


@blp.route("/videos/<analysis_id>", methods=["DELETE"])
@login_required()
@blp.response(204)
def delete_video(analysis_id: str):
    """Delete a video (or photo) analysis: its upload, keypoints, annotated video and results."""
    _delete_analysis(analysis_id)


@blp.route("/analyses/<analysis_id>", methods=["DELETE"])
@login_required()
@blp.response(204)
def delete_keypoint_analysis(analysis_id: str):
    """Delete an analysis: its stored files and results."""
    _delete_analysis(analysis_id)
