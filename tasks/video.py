"""Video analysis as a fan-out of tasks.

    video.start          plan the work: split the video into time chunks
      ├─ video.pose_chunk × N   (pose queue) decode at the analysis rate, Gaussian + sharpening
      │                         filter, YOLO pose on batches; every person of every frame kept
      └─ chord body:
         video.assemble  join the chunks, follow the main person, mask low-confidence joints
         video.analyze   GRU + attention classifier, repetitions, nearest reference, angles,
                         feedback sentences; result stored (history keyed by model versions)
         video.render    the annotated mp4; the job ends succeeded, the event is emitted

Keypoint uploads (`POST /analyses`) start at video.analyze. Every step is idempotent: a chunk or
keypoint file already written is reused, so a re-delivered task or a swept job resumes cleanly.
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path

import numpy as np
from celery import chain, chord, group
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from config import settings
from domain.errors import DomainError
from domain.video.analysis import analyze_keypoints
from domain.video.angles import joint_angles
from domain.video.media import MediaError, iter_frames, read_image
from domain.video.references import Reference as ReferenceData
from infra import storage
from models import Analysis, AnalysisResult, Job, Reference, User
from models.db import session_scope
from tasks import events
from tasks.jobs import JOB_HOOKS, JobTask, update_progress
from workers import model_registry
from workers.celery_app import app

#: a video is split into chunks of this many seconds, posed in parallel (pose queue, one
#: process per core)
CHUNK_S = float(os.environ.get("POSE_CHUNK_S", "10"))
POSE_BATCH = 8
#: frames are decoded no larger than this (the pose model sees imgsz anyway)
DECODE_MAX_SIDE = 640
#: the annotated replay's longer side (a phone-sized replay encodes ~2x faster than 720p)
RENDER_MAX_SIDE = int(os.environ.get("RENDER_MAX_SIDE", "640"))


def _load_pose():
    from domain.video.nms_patch import import_ultralytics
    from domain.video.pose import PoseEstimator

    import_ultralytics(settings.var_dir / "ultralytics")
    return PoseEstimator(imgsz=settings.pose_imgsz, backend=settings.pose_backend,
                         threads=settings.pose_threads,
                         cache_dir=settings.var_dir / "models" / "pose")


def _load_classifier():
    from domain.video.classifier import ExerciseClassifier

    return ExerciseClassifier.load(settings.artifacts_dir / "classifier"
                                   / settings.classifier_version)


def _load_form():
    """The form model artifact (None when it is absent: the criteria's default thresholds)."""
    from domain.video.form import FormModel

    path = settings.artifacts_dir / "form" / settings.form_model_version
    return FormModel.load(path) if (path / "model.json").exists() else None


model_registry.register("pose", _load_pose)
model_registry.register("classifier", _load_classifier)
model_registry.register("form", _load_form)


class Step(JobTask):
    finishes_job = False


def _analysis(session: Session, job_id: str) -> Analysis:
    job = session.get(Job, job_id)
    analysis = session.get(Analysis, job.params["analysis_id"]) if job else None
    if analysis is None:
        raise DomainError("the analysis of this job was deleted", code="analysis_missing")
    return analysis


def _work_dir(analysis: Analysis) -> Path:
    path = storage.user_dir(analysis.user_id) / "analyses" / analysis.id
    path.mkdir(parents=True, exist_ok=True)
    return path


def chunk_plan(duration_s: float, kind: str) -> list[tuple[float, float | None]]:
    if kind == "image" or duration_s <= 0:
        return [(0.0, None)]
    count = max(1, math.ceil(duration_s / CHUNK_S))
    return [(i * CHUNK_S, CHUNK_S if i < count - 1 else None) for i in range(count)]


@app.task(bind=True, base=Step, name="video.start")
def start(self, job_id: str) -> dict:
    previous = _claim_pipeline(job_id)
    if previous is False:
        # Delivered again (a worker lost after publishing, a duplicate re-send): the pipeline
        # of this round was built and is in the broker; building it again would run it twice.
        return {"chunks": None, "already_started": True}
    try:
        return _build_pipeline(job_id)
    except Exception:
        _release_pipeline(job_id, previous)  # nothing was published: a retry may build it
        raise


def _claim_pipeline(job_id: str) -> int | None | bool:
    """Claim the building of this job's pipeline for its current re-send round, atomically.

    The round is the number of times the sweeper re-sent the job; the sweeper re-sends only a
    job none of whose messages is left in the broker, so a new round rebuilds what was lost
    (chunk files already written are reused). Returns the previously built round (None when
    none was), or False when this round's pipeline was already built.
    """
    from sqlalchemy import update

    with session_scope() as session:
        previous = session.scalar(select(Job.pipeline_round).where(Job.id == job_id))
        claimed = session.execute(
            update(Job).where(Job.id == job_id,
                              or_(Job.pipeline_round.is_(None), Job.pipeline_round < Job.resends))
            .values(pipeline_round=Job.resends)
            .execution_options(synchronize_session=False))
    return previous if claimed.rowcount == 1 else False


def _release_pipeline(job_id: str, previous: int | None) -> None:
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.pipeline_round = previous


def _build_pipeline(job_id: str) -> dict:
    update_progress(job_id, 2, "planning")
    with session_scope() as session:
        analysis = _analysis(session, job_id)
        analysis.status = "running"
        source, info = analysis.source, analysis.media_info or {}
        work = _work_dir(analysis)
        priority = session.get(Job, job_id).priority

    def step(task, *args):  # every message of the job at the job's priority (batch: low)
        sig = task.si(job_id, *args)
        return sig.set(priority=priority) if priority is not None else sig

    tail = chain(step(video_analyze), step(render))
    if source == "keypoints" or _reusable_keypoints(work):
        tail.apply_async()
        return {"chunks": 0}
    chunks = chunk_plan(float(info.get("duration_s") or 0.0), source)
    header = group(step(pose_chunk, index, start_s, duration_s, len(chunks))
                   for index, (start_s, duration_s) in enumerate(chunks))
    chord(header, chain(step(assemble), tail)).apply_async()
    return {"chunks": len(chunks)}


def _reusable_keypoints(work: Path) -> bool:
    """Reprocessing with the same pose model reuses the stored keypoints."""
    path = work / "keypoints.npz"
    if not path.exists():
        return False
    if not any(work.glob("original.*")):
        return True  # the original is gone (retention): the keypoints are all there is
    with np.load(path) as data:
        return "pose_version" in data and str(data["pose_version"]) == _pose_version()


def _pose_version() -> str:
    return f"yolo11n-pose@{settings.pose_imgsz}/{settings.pose_backend}"


@app.task(bind=True, base=Step, name="video.pose_chunk", ignore_result=False)
def pose_chunk(self, job_id: str, index: int, start_s: float, duration_s: float | None,
               total: int) -> str:
    with session_scope() as session:
        analysis = _analysis(session, job_id)
        if not analysis.media_path:
            raise DomainError("the original video was deleted (retention); only its keypoints "
                              "were kept", code="original_deleted")
        source = storage.absolute(analysis.media_path)
        kind = analysis.source
        out = _work_dir(analysis) / "pose" / f"chunk_{index:04d}.npz"
        owner = (analysis.id, analysis.user_id)
    if out.exists():
        return str(out)
    update_progress(job_id, 5, "pose")
    from domain.video.filters import enhance

    estimator = model_registry.get("pose")
    if kind == "image":
        frames_iter = [(0, 0.0, read_image(source))]
    else:
        frames_iter = iter_frames(source, fps=settings.analysis_fps, start_s=start_s,
                                  duration_s=duration_s, max_side=DECODE_MAX_SIDE)
    times, people = [], []
    batch, batch_times = [], []
    scale = None
    with session_scope() as session:
        info = _analysis(session, job_id).media_info or {}
    for _index, t, frame in _frames_or_first(frames_iter, source, info, start_s):
        if scale is None:
            h, w = frame.shape[:2]
            scale = (info.get("width", w) / w, info.get("height", h) / h)
        batch.append(enhance(frame))
        batch_times.append(t)
        if len(batch) == POSE_BATCH:
            people.extend(estimator.predict(batch))
            times.extend(batch_times)
            batch, batch_times = [], []
            update_progress(job_id, 5, "pose")  # heartbeat: a silent job is a dead worker
    if batch:
        people.extend(estimator.predict(batch))
        times.extend(batch_times)
    _save_people(out, times, people, scale or (1.0, 1.0))
    from tasks.privacy import discard_if_deleted

    if discard_if_deleted(*owner):  # deleted while this chunk ran: what it wrote goes too
        return str(out)
    done = len([p for p in out.parent.glob("chunk_*.npz") if ".tmp." not in p.name])
    update_progress(job_id, 5 + int(55 * done / max(total, 1)), "pose")
    return str(out)


def _frames_or_first(frames_iter, source: Path, info: dict, start_s: float):
    """The sampled frames; a clip shorter than one sampling step (a one-frame video) gives its
    first frame, so it is analysed like a photo rather than failing."""
    produced = False
    try:
        for item in frames_iter:
            produced = True
            yield item
    except MediaError as exc:
        if produced or exc.message != "no frame could be decoded" or start_s > 0:
            raise
    if not produced and start_s == 0:
        yield from iter_frames(source, fps=float(info.get("fps") or 25.0), duration_s=None,
                               max_side=DECODE_MAX_SIDE)


def _save_people(out: Path, times: list[float], people: list, scale: tuple[float, float]) -> None:
    """All people of every frame, padded: (T, P, 17, 3) keypoints, (T, P, 4) boxes, (T, P)."""
    most = max((len(p) for p in people), default=0) or 1
    kps = np.full((len(times), most, 17, 3), np.nan, np.float32)
    boxes = np.full((len(times), most, 4), np.nan, np.float32)
    scores = np.zeros((len(times), most), np.float32)
    for t, frame_people in enumerate(people):
        for p, person in enumerate(frame_people):
            scaled = person.scaled(*scale)
            kps[t, p], boxes[t, p], scores[t, p] = scaled.keypoints, scaled.box, scaled.score
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.stem}.{uuid.uuid4().hex[:8]}.tmp.npz")
    np.savez_compressed(tmp, times=np.asarray(times, np.float64), kps=kps, boxes=boxes,
                        scores=scores)
    os.replace(tmp, out)  # atomic: a chunk file is either complete or absent


def _load_people(path: Path) -> tuple[list[float], list[list]]:
    from domain.video.pose import PersonPose

    with np.load(path) as data:
        times = data["times"].tolist()
        frames = []
        for t in range(len(times)):
            frame = [PersonPose(data["boxes"][t, p], float(data["scores"][t, p]), data["kps"][t, p])
                     for p in range(data["scores"].shape[1]) if data["scores"][t, p] > 0]
            frames.append(frame)
    return times, frames


@app.task(bind=True, base=Step, name="video.assemble")
def assemble(self, job_id: str) -> dict:
    update_progress(job_id, 62, "tracking")
    from domain.video.pose import track_main_person

    with session_scope() as session:
        analysis = _analysis(session, job_id)
        work = _work_dir(analysis)
        info = analysis.media_info or {}
    chunk_files = sorted(p for p in (work / "pose").glob("chunk_*.npz")
                         if ".tmp." not in p.name)
    if not chunk_files:
        raise DomainError("no frames could be decoded from the video", code="decode_failed")
    times, frames = [], []
    for path in chunk_files:
        chunk_times, chunk_frames = _load_people(path)
        times += chunk_times
        frames += chunk_frames
    width, height = int(info.get("width", 0)), int(info.get("height", 0))
    keypoints = track_main_person(frames, width, height)
    fps = settings.analysis_fps if analysis.source != "image" else 1.0
    path = work / "keypoints.npz"
    tmp = work / f"keypoints.{uuid.uuid4().hex[:8]}.tmp.npz"
    np.savez_compressed(tmp, keypoints=keypoints, times=np.asarray(times), fps=fps, width=width,
                        height=height, pose_version=_pose_version())
    os.replace(tmp, path)
    with session_scope() as session:
        _analysis(session, job_id).keypoints_path = storage.relative(path)
    return {"frames": len(times)}


def load_references(session: Session, user_id: str) -> list[ReferenceData]:
    """Global references, plus those of the user's clinic."""
    user = session.get(User, user_id)
    condition = Reference.clinic_id.is_(None)
    if user is not None and user.clinic_id:
        condition = or_(condition, Reference.clinic_id == user.clinic_id)
    rows = session.scalars(select(Reference).where(condition)).all()
    return [_reference_data(row) for row in rows]


_reference_cache: dict[tuple, ReferenceData] = {}


def _reference_data(row: Reference) -> ReferenceData:
    key = (row.id, row.created_at, (row.meta or {}).get("job_id"))
    if key not in _reference_cache:
        data = ReferenceData.from_dict({"name": row.id, "exercise": row.exercise,
                                        "view": row.view or "", "source": row.source,
                                        "fps": row.fps, "width": row.width,
                                        "height": row.height, "keypoints": row.keypoints})
        _reference_cache[key] = data
    return _reference_cache[key]


def models_used(source: str) -> dict:
    return {"pose": None if source == "keypoints" else _pose_version(),
            "classifier": settings.classifier_version,
            "form": settings.form_model_version}


def models_key(models: dict) -> str:
    """The key of a result in an analysis' history: the model versions that made it."""
    key = f"pose={models['pose']};classifier={models['classifier']}"
    return key + (f";form={models['form']}" if models.get("form") else "")


@app.task(bind=True, base=Step, name="video.analyze")
def video_analyze(self, job_id: str) -> dict:
    update_progress(job_id, 70, "classifying")
    with session_scope() as session:
        analysis = _analysis(session, job_id)
        path = storage.absolute(analysis.keypoints_path)
        hint, source, user_id = analysis.exercise_hint, analysis.source, analysis.user_id
        references = load_references(session, user_id)
    with np.load(path) as data:
        keypoints = data["keypoints"].astype(np.float32)
        fps, width, height = float(data["fps"]), float(data["width"]), float(data["height"])
    result = analyze_keypoints(keypoints, fps, width, height, model_registry.get("classifier"),
                               references, exercise_hint=hint,
                               threshold=settings.angle_threshold_deg,
                               form_model=model_registry.get("form"))
    models = models_used(source)
    result["models"] = models
    key = models_key(models)
    update_progress(job_id, 85, "comparing")
    with session_scope() as session:
        analysis = _analysis(session, job_id)
        analysis.result = result
        row = session.scalar(select(AnalysisResult).where(
            AnalysisResult.analysis_id == analysis.id, AnalysisResult.models_key == key))
        if row is None:
            row = AnalysisResult(analysis_id=analysis.id, models_key=key)
            session.add(row)
        row.models, row.result, row.job_id = models, result, job_id
    return {"label": result["exercise"]["label"], "rep_count": result["rep_count"]}


def _frame_labels(result: dict, times: np.ndarray) -> list[str]:
    label = result["exercise"]["label"].replace("_", " ")
    total = result["rep_count"]
    labels = []
    for t in times:
        current = [r["index"] for r in result["reps"] if r["start_s"] <= t <= r["end_s"]]
        rep = f"rep {current[0]}/{total}" if current else f"{total} reps"
        labels.append(f"{label}  {rep}")
    return labels


@app.task(bind=True, base=JobTask, name="video.render")
def render(self, job_id: str) -> dict:
    """Draw skeleton, angles and the repetition counter; then the job ends succeeded."""
    with session_scope() as session:
        analysis = _analysis(session, job_id)
        result = dict(analysis.result or {})
        if analysis.source == "keypoints" or not analysis.media_path:
            return result
        source = storage.absolute(analysis.media_path)
        keypoints_path = storage.absolute(analysis.keypoints_path)
        out = _work_dir(analysis) / "annotated.mp4"
    update_progress(job_id, 90, "rendering")
    from domain.video.render import render_annotated

    with np.load(keypoints_path) as data:
        keypoints, times = data["keypoints"], data["times"]
    angles = joint_angles(keypoints)
    per_frame = [{joint: float(values[i]) for joint, values in angles.items()
                  if np.isfinite(values[i])} for i in range(len(keypoints))]
    tmp = out.with_name(f"annotated.{uuid.uuid4().hex[:8]}.tmp.mp4")
    render_annotated(source, keypoints, times, tmp, angles_per_frame=per_frame,
                     labels=_frame_labels(result, times), max_side=RENDER_MAX_SIDE,
                     fps=settings.analysis_fps if len(times) > 1 else None)
    os.replace(tmp, out)
    with session_scope() as session:
        _analysis(session, job_id).annotated_path = storage.relative(out)
    return result


class _AnalysisHooks:
    """Keep the analysis row in step with its job and announce the outcome."""

    @staticmethod
    def on_succeeded(session: Session, job: Job) -> None:
        analysis = _settle(session, job, "succeeded")
        if analysis is not None and analysis.is_reference:
            _store_reference(session, analysis, job.id)

    @staticmethod
    def on_failed(session: Session, job: Job) -> None:
        _settle(session, job, "failed")


def _settle(session: Session, job: Job, status: str) -> Analysis | None:
    analysis = session.get(Analysis, (job.params or {}).get("analysis_id"))
    if analysis is None:
        return None
    analysis.status = status
    data = {"analysis_id": analysis.id, "job_id": job.id, "status": status,
            "links": {"analysis": f"/api/v1/videos/{analysis.id}",
                      "job": f"/api/v1/jobs/{job.id}"}}
    if status == "succeeded":
        result = analysis.result or {}
        data.update(label=(result.get("exercise") or {}).get("label"),
                    rep_count=result.get("rep_count"))
    else:
        data["error"] = {"code": job.error_code, "message": job.error_message}
    events.emit(session, f"video.analysis.{status}", analysis.user_id, data, key=job.id)
    return analysis


def _store_reference(session: Session, analysis: Analysis, job_id: str) -> None:
    """A clinician's reference upload becomes a reference of their clinic (its id is the
    analysis id). Reprocessing it updates that reference from the new result; a new result that
    names no exercise (unknown) keeps the reference as it was."""
    owner = session.get(User, analysis.user_id)
    label = (analysis.result or {}).get("exercise", {}).get("label")
    exercise = analysis.exercise_hint or label
    if owner is None or not owner.clinic_id or not exercise or exercise == "unknown":
        return
    with np.load(storage.absolute(analysis.keypoints_path)) as data:
        keypoints = np.nan_to_num(data["keypoints"], nan=0.0).round(2).tolist()
        fps, width, height = float(data["fps"]), float(data["width"]), float(data["height"])
    row = session.get(Reference, analysis.id)
    if row is None:
        row = Reference(id=analysis.id, view=None, source=f"clinic upload {analysis.id}",
                        clinic_id=owner.clinic_id)  # it stays the reference of that clinic
        session.add(row)
    row.exercise, row.name = exercise, analysis.original_filename or analysis.id
    row.fps, row.width, row.height, row.keypoints = fps, width, height, keypoints
    # The job that made this version: workers' cached copies are keyed by it.
    row.meta = {"analysis_id": analysis.id, "job_id": job_id}


JOB_HOOKS["video.analyze"] = _AnalysisHooks
JOB_HOOKS["keypoints.analyze"] = _AnalysisHooks
