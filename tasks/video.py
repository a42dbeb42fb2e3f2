"""Video analysis as a fan-out of tasks (the rules: domain/video/service.py).

    video.start          plan the work: split the video into time chunks
      ├─ video.pose_chunk × N   (pose queue) decode, enhance, pose; every person kept
      └─ chord body:
         video.assemble  join the chunks, follow the main person
         video.classify  classifier, repetitions, form, nearest reference; result stored;
                         the job ends succeeded, the event is emitted
         video.render    then the annotated mp4 (``annotated_url`` appears when it is there)

Keypoint uploads (`POST /analyses`) start at video.classify. The job kind `video.analyze` is the
whole pipeline (domain/jobs/kinds.py).
"""

from __future__ import annotations

import logging

from celery import chain, chord, group

from config import settings
from domain.jobs import service as jobs
from domain.video import service
from infra.logs import current_job_id
from tasks.jobs import TRANSIENT_ERRORS, JobTask
from workers import model_registry
from workers.celery_app import app

CFG = service.VideoConfig.from_settings(settings)


def _load_pose():
    from domain.video.nms_patch import import_ultralytics
    from domain.video.pose import PoseEstimator

    import_ultralytics(settings.var_dir / "ultralytics")
    estimator = PoseEstimator(imgsz=settings.pose_imgsz, backend=settings.pose_backend,
                              threads=settings.pose_threads, device=settings.pose_device,
                              cache_dir=settings.var_dir / "models" / "pose")
    if settings.pose_device == "cpu":
        return estimator
    from domain.video.pose import PoseBatcher

    # The GPU worker runs chunks in threads (--pool threads): they decode in their own ffmpeg
    # processes and share one estimator, chunks of several videos in one batch.
    return PoseBatcher(estimator, max_wait_s=settings.pose_batch_wait_ms / 1000.0)


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


logger = logging.getLogger("tasks")


@app.task(bind=True, base=Step, name="video.start")
def start(self, job_id: str) -> dict:
    previous = jobs.claim_pipeline(job_id)
    if previous is False:
        # Delivered again (a worker lost after publishing, a duplicate re-send): the pipeline
        # of this round was built and is in the broker; building it again would run it twice.
        return {"chunks": None, "already_started": True}
    try:
        return _build_pipeline(job_id)
    except Exception:
        jobs.release_pipeline(job_id, previous)  # nothing was published: a retry may build it
        raise


def _build_pipeline(job_id: str) -> dict:
    plan = service.plan_pipeline(job_id, CFG)

    def step(task, *args):  # every message of the job at the job's priority (batch: low)
        sig = task.si(job_id, *args)
        return sig.set(priority=plan.priority) if plan.priority is not None else sig

    tail = chain(step(classify), step(render))
    if plan.chunks is None:
        tail.apply_async()
        return {"chunks": 0}
    header = group(step(pose_chunk, index, start_s, duration_s, len(plan.chunks))
                   for index, (start_s, duration_s) in enumerate(plan.chunks))
    chord(header, chain(step(assemble), tail)).apply_async()
    return {"chunks": len(plan.chunks)}


@app.task(bind=True, base=Step, name="video.pose_chunk", ignore_result=False)
def pose_chunk(self, job_id: str, index: int, start_s: float, duration_s: float | None,
               total: int) -> str:
    return service.pose_chunk(job_id, index, start_s, duration_s, total,
                              lambda: model_registry.get("pose"), CFG)


@app.task(bind=True, base=Step, name="video.assemble")
def assemble(self, job_id: str) -> dict:
    return service.assemble(job_id, CFG)


@app.task(bind=True, base=JobTask, name="video.classify")
def classify(self, job_id: str) -> dict:
    return service.classify(job_id, model_registry.get("classifier"), model_registry.get("form"),
                            CFG)


@app.task(bind=True, name="video.render", max_retries=2)
def render(self, job_id: str) -> str | None:
    """Draw skeleton, angles and the repetition counter of a succeeded job. The replay is not
    part of the job (its result and event are out already): a failure is logged, retried twice
    for a broken connection, and leaves the analysis without a replay."""
    token = current_job_id.set(job_id)
    try:
        return service.render(job_id, CFG)
    except TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=2 ** self.request.retries) from None
    except Exception:
        logger.exception("replay failed", extra={"fields": {"task": self.name}})
        return None
    finally:
        current_job_id.reset(token)
