"""Video analysis service: the rules of every step of the pipeline, and of a job's end.

    plan_pipeline   the analysis starts running; its video is split into time chunks (or its
                    stored keypoints are reused)
    pose_chunk      decode one chunk at the analysis rate, enhance, pose in batches; every
                    person of every frame kept (pose.detect_sequence)
    assemble        join the chunks, follow the main person, mask low-confidence joints
    classify        classifier, repetitions, form, nearest reference; the result is stored
                    (its history keyed by the model versions that made it)
    render          the annotated mp4
    AnalysisHooks   the job ended: the analysis follows, the event is emitted, a clinician's
                    reference upload becomes (or updates) a reference of their clinic

The tasks layer (tasks/video.py) loads the job, calls one of these with the models and settings
it holds, and wires the steps into Celery. Every step is idempotent: a chunk or keypoint file
already written is reused, so a re-delivered task or a swept job resumes cleanly.

Files are stored by key (infra/storage.py: a local folder or object storage), never by a local
path: a step fetches what it reads (`storage.local_copy` for ffmpeg, `storage.open` for numpy)
and puts back what it writes (`storage.writing`), so the steps of one analysis may run on
different hosts that share no folder.
"""

from __future__ import annotations

import io
import logging
import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

from domain.errors import DomainError
from domain.jobs.service import child_job_ended, update_progress
from domain.video.analysis import analyze_keypoints
from domain.video.angles import joint_angles
from domain.video.media import MediaError, iter_frames, read_image
from domain.video.references import Reference as ReferenceData
from infra import storage
from infra.logs import log_event
from models import TERMINAL_STATUSES, Analysis, AnalysisResult, Job, Plan, Reference, User
from models import repository as repo
from models.base import utcnow
from models.db import session_scope

#: frames go to the pose model in batches of this many
POSE_BATCH = 8
#: frames are decoded no larger than this (the pose model sees imgsz anyway)
DECODE_MAX_SIDE = 640
#: parsed references kept per worker process (each is a few hundred KiB of keypoints)
REFERENCE_CACHE_SIZE = 256
#: a pose chunk refreshes its job's heartbeat at most this often (the sweeper waits minutes;
#: one database write per batch of frames was a write every ~0.2 s per pose process)
HEARTBEAT_EVERY_S = 2.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoConfig:
    """The settings the pipeline needs (the tasks layer builds it from config.Settings)."""

    pose_imgsz: int = 320
    pose_backend: str = "onnx"
    analysis_fps: float = 10.0
    angle_threshold_deg: float = 25.0
    classifier_version: str = "classifier-v2"
    form_model_version: str | None = "form-v2"
    pose_chunk_s: float = 10.0
    render_max_side: int = 640

    @classmethod
    def from_settings(cls, settings) -> VideoConfig:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})

    @property
    def pose_version(self) -> str:
        return f"yolo11n-pose@{self.pose_imgsz}/{self.pose_backend}"


# ---------------------------------------------------------------- step timings


@dataclass
class StepClock:
    """Wall seconds spent in the named parts of one step, logged once at its end (where a
    video's time goes: `video step timings` lines in the workers' logs)."""

    spent: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.spent[name] = self.spent.get(name, 0.0) + seconds

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def iterate(self, name: str, items: Iterable) -> Iterator:
        """`items`, the time spent producing each one (a decoder's) counted under `name`."""
        iterator = iter(items)
        while True:
            start = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                self.add(name, time.perf_counter() - start)
                return
            self.add(name, time.perf_counter() - start)
            yield item

    def log(self, step: str, **fields) -> None:
        log_event(logger, "video step timings", step=step, **fields,
                  **{f"{name}_ms": round(1000 * s, 1) for name, s in self.spent.items()})


class _TimedEstimator:
    """An estimator whose `predict` time is counted on a clock (the pose network's share)."""

    def __init__(self, estimator, clock: StepClock) -> None:
        self._estimator, self._clock = estimator, clock

    def predict(self, frames):
        with self._clock.part("pose"):
            return self._estimator.predict(frames)


# ---------------------------------------------------------------- analyses and their files


def find_job_analysis(session: Session, job_id: str) -> Analysis | None:
    """The analysis a job works on, None when the job or the analysis is gone."""
    job = session.get(Job, job_id)
    return session.get(Analysis, job.params["analysis_id"]) if job else None


def job_analysis(session: Session, job_id: str) -> Analysis:
    """The analysis a job works on (DomainError when it was deleted)."""
    analysis = find_job_analysis(session, job_id)
    if analysis is None:
        raise DomainError("the analysis of this job was deleted", code="analysis_missing")
    return analysis


def analysis_prefix(user_id: str, analysis_id: str) -> str:
    """The storage prefix of an analysis' files ("users/<u>/analyses/<a>/")."""
    return storage.analysis_prefix(user_id, analysis_id)


def remove_analysis_files(user_id: str, analysis_id: str) -> None:
    storage.delete_prefix(analysis_prefix(user_id, analysis_id))


def discard_if_deleted(analysis_id: str, user_id: str) -> bool:
    """Called right after a step wrote into an analysis' folder: if the analysis was deleted
    meanwhile, remove what it wrote. (The deletion commits before it removes the folder, so a
    write either lands before that removal or is seen here.)"""
    with session_scope() as session:
        if session.get(Analysis, analysis_id) is not None:
            return False
    remove_analysis_files(user_id, analysis_id)
    return True


def _atomic_npz(key: str, **arrays) -> None:
    """Store an .npz that is either complete or absent (a killed worker leaves at most a .tmp
    file, which listings skip)."""
    with storage.writing(key) as tmp, open(tmp, "wb") as out:
        np.savez_compressed(out, **arrays)


def _load_npz(key: str) -> dict[str, np.ndarray]:
    """Every array of a stored .npz, read into memory."""
    with storage.open(key) as stored, np.load(stored) as data:
        return {name: data[name] for name in data.files}


# ---------------------------------------------------------------- new analyses (the web layer)

#: an upload's own suffix is kept only when it is one of these (else .mp4, or .png for a photo)
SAFE_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".jpg", ".jpeg", ".png"}


def check_hint(hint: str | None) -> str | None:
    """An exercise hint from a client: one of the vocabulary's labels (or none)."""
    from domain.video.vocabulary import VOCABULARY

    if hint in (None, ""):
        return None
    if hint not in VOCABULARY:
        error = DomainError("the request has invalid fields", code="validation_error")
        error.errors = {"exercise": [f"must be one of: {', '.join(VOCABULARY)}"]}
        raise error
    return hint


def check_reference_upload(user: User) -> None:
    """Only clinicians of a clinic may upload references (they become the clinic's)."""
    if user.role != "clinician" or not user.clinic_id:
        raise DomainError("only clinicians of a clinic may upload references", code="forbidden",
                          http_status=403)


def original_target(user_id: str, analysis_id: str, filename: str | None, kind: str) -> str:
    """The key an upload is kept at: original.<its suffix when safe> among the analysis' files."""
    suffix = os.path.splitext(filename or "")[1].lower()
    suffix = suffix if suffix in SAFE_SUFFIXES else (".png" if kind == "image" else ".mp4")
    return storage.analysis_key(user_id, analysis_id, f"original{suffix}")


def new_media_analysis(session: Session, *, analysis_id: str, user_id: str, job_id: str,
                       info, hint: str | None, filename: str | None, target: str, size: int,
                       is_reference: bool, prescription: dict | None = None) -> Analysis:
    """The row of an accepted video or photo upload (`info`: its probed MediaInfo);
    `prescription`: the plan day and exercise it is checked against (`check_prescription`)."""
    analysis = Analysis(
        id=analysis_id, user_id=user_id, source=info.kind, status="queued", exercise_hint=hint,
        original_filename=os.path.basename(filename or "")[:255],
        media_path=target, media_bytes=size, media_info=info.to_dict(),
        is_reference=is_reference, job_id=job_id, **_prescription_columns(prescription))
    session.add(analysis)
    return analysis


def check_prescription(session: Session, user_id: str, fields: dict) -> dict | None:
    """The plan day and exercise an upload names (`plan_id`, `day`, `exercise_id`), checked:
    the caller's own plan (else 404), a day and exercise of it, and a camera check for that
    exercise (else 422 with the field's error). None when none is named."""
    from domain.plans.tracking import check_prescription as check
    from domain.video.movement import load_camera_checks

    return check(session, user_id, fields, load_camera_checks())


def _prescription_columns(prescription: dict | None) -> dict:
    if not prescription:
        return {}
    return {"plan_id": prescription["plan_id"], "plan_day": prescription["day"],
            "plan_exercise_id": prescription["exercise_id"]}


def new_keypoint_analysis(session: Session, *, analysis_id: str, user_id: str, job_id: str,
                          frames: np.ndarray, fps: float, width: float, height: float,
                          hint: str | None, prescription: dict | None = None) -> Analysis:
    """Store on-device keypoints (keypoints.npz) and their analysis row."""
    target = storage.analysis_key(user_id, analysis_id, "keypoints.npz")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, keypoints=frames, fps=fps, width=width, height=height)
    storage.put_bytes(buffer.getvalue(), target)
    analysis = Analysis(
        id=analysis_id, user_id=user_id, source="keypoints", status="queued", exercise_hint=hint,
        keypoints_path=target, job_id=job_id, **_prescription_columns(prescription),
        media_info={"kind": "keypoints", "fps": fps, "width": width, "height": height,
                    "nb_frames": len(frames), "duration_s": round(len(frames) / fps, 3)})
    session.add(analysis)
    return analysis


# ---------------------------------------------------------------- planning


def chunk_plan(duration_s: float, kind: str, chunk_s: float = 10.0
               ) -> list[tuple[float, float | None]]:
    """(start, duration) of each chunk; the last one runs to the end (duration None)."""
    if kind == "image" or duration_s <= 0:
        return [(0.0, None)]
    count = max(1, math.ceil(duration_s / chunk_s))
    return [(i * chunk_s, chunk_s if i < count - 1 else None) for i in range(count)]


@dataclass(frozen=True)
class PipelinePlan:
    priority: int | None
    #: chunks to pose, or None when keypoints are there already (uploaded, or reusable)
    chunks: list[tuple[float, float | None]] | None


def plan_pipeline(job_id: str, cfg: VideoConfig) -> PipelinePlan:
    """The analysis starts running; which chunks (if any) need posing."""
    update_progress(job_id, 2, "planning")
    with session_scope() as session:
        analysis = job_analysis(session, job_id)
        analysis.status = "running"
        source, info = analysis.source, analysis.media_info or {}
        prefix = analysis_prefix(analysis.user_id, analysis.id)
        priority = session.get(Job, job_id).priority
    if source == "keypoints" or reusable_keypoints(prefix, cfg):
        return PipelinePlan(priority, None)
    duration = float(info.get("duration_s") or 0.0)
    return PipelinePlan(priority, chunk_plan(duration, source, cfg.pose_chunk_s))


def reusable_keypoints(prefix: str, cfg: VideoConfig) -> bool:
    """Reprocessing with the same pose model reuses the stored keypoints."""
    key = prefix + "keypoints.npz"
    if not storage.exists(key):
        return False
    names = [o.key[len(prefix):] for o in storage.list(prefix)]
    if not any(name.startswith("original.") and "/" not in name for name in names):
        return True  # the original is gone (retention): the keypoints are all there is
    data = _load_npz(key)
    return "pose_version" in data and str(data["pose_version"]) == cfg.pose_version


def _chunk_keys(prefix: str) -> list[str]:
    """The pose chunks written so far, in order (in-progress writes skipped)."""
    return [o.key for o in storage.list(prefix + "pose/")
            if o.key.rsplit("/", 1)[-1].startswith("chunk_")
            and o.key.endswith(".npz") and storage.TMP_MARK not in o.key]


# ---------------------------------------------------------------- pose


def pose_chunk(job_id: str, index: int, start_s: float, duration_s: float | None, total: int,
               load_estimator: Callable[[], object], cfg: VideoConfig) -> str:
    """Pose one chunk of the video into pose/chunk_NNNN.npz (reused when already there; the
    estimator is loaded only when needed). Returns the chunk's key."""
    from domain.video.pose import detect_sequence

    with session_scope() as session:
        analysis = job_analysis(session, job_id)
        if not analysis.media_path:
            raise DomainError("the original video was deleted (retention); only its keypoints "
                              "were kept", code="original_deleted")
        media_key, kind = analysis.media_path, analysis.source
        prefix = analysis_prefix(analysis.user_id, analysis.id)
        out = prefix + f"pose/chunk_{index:04d}.npz"
        owner, info = (analysis.id, analysis.user_id), analysis.media_info or {}
    if storage.exists(out):
        return out
    update_progress(job_id, 5, "pose")
    size = (info["width"], info["height"]) if info.get("width") and info.get("height") else None
    clock = StepClock()
    # On object storage this host fetches the video once into its scratch cache (its other
    # chunks reuse that copy).
    with clock.part("total"), storage.local_copy(media_key) as source:
        if kind == "image":
            frames = [(0, 0.0, read_image(source))]
        else:
            frames = iter_frames(source, fps=cfg.analysis_fps, start_s=start_s,
                                 duration_s=duration_s, max_side=DECODE_MAX_SIDE)
        frames = clock.iterate("decode", _frames_or_first(frames, source, info, start_s))
        with clock.part("estimator"):
            estimator = _TimedEstimator(load_estimator(), clock)
        # A heartbeat now and then: a silent job is a dead worker to the sweeper.
        people, times = detect_sequence(frames, estimator, batch_size=POSE_BATCH,
                                        original_size=size,
                                        on_batch=_heartbeat(job_id, clock))
        with clock.part("save"):
            _save_people(out, times, people)
    # enhance = the rest of the loop (the filters run between decoding and the network)
    clock.add("enhance", clock.spent["total"] - sum(
        clock.spent.get(name, 0.0) for name in ("decode", "pose", "estimator", "save",
                                                "heartbeat")))
    clock.log("pose_chunk", index=index, frames=len(times))
    if discard_if_deleted(*owner):  # deleted while this chunk ran: what it wrote goes too
        return out
    done = len(_chunk_keys(prefix))
    update_progress(job_id, 5 + int(55 * done / max(total, 1)), "pose")
    return out


def _heartbeat(job_id: str, clock: StepClock,
               every_s: float = HEARTBEAT_EVERY_S) -> Callable[[], None]:
    """A pose chunk's per-batch callback: the job's heartbeat, at most every `every_s`."""
    last = time.monotonic()

    def beat() -> None:
        nonlocal last
        if time.monotonic() - last >= every_s:
            with clock.part("heartbeat"):
                update_progress(job_id, 5, "pose")
            last = time.monotonic()

    return beat


def _frames_or_first(frames_iter, source, info: dict, start_s: float):
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


def _save_people(out: str, times: list[float], people: list) -> None:
    """All people of every frame, padded: (T, P, 17, 3) keypoints, (T, P, 4) boxes, (T, P)."""
    most = max((len(p) for p in people), default=0) or 1
    kps = np.full((len(times), most, 17, 3), np.nan, np.float32)
    boxes = np.full((len(times), most, 4), np.nan, np.float32)
    scores = np.zeros((len(times), most), np.float32)
    for t, frame_people in enumerate(people):
        for p, person in enumerate(frame_people):
            kps[t, p], boxes[t, p], scores[t, p] = person.keypoints, person.box, person.score
    _atomic_npz(out, times=np.asarray(times, np.float64), kps=kps, boxes=boxes, scores=scores)


def _load_people(key: str) -> tuple[list[float], list[list]]:
    from domain.video.pose import PersonPose

    data = _load_npz(key)
    times = data["times"].tolist()
    frames = [[PersonPose(data["boxes"][t, p], float(data["scores"][t, p]), data["kps"][t, p])
               for p in range(data["scores"].shape[1]) if data["scores"][t, p] > 0]
              for t in range(len(times))]
    return times, frames


def assemble(job_id: str, cfg: VideoConfig) -> dict:
    """Join the chunks in order, follow the main person; keypoints.npz."""
    from domain.video.pose import track_main_person

    update_progress(job_id, 62, "tracking")
    with session_scope() as session:
        analysis = job_analysis(session, job_id)
        prefix = analysis_prefix(analysis.user_id, analysis.id)
        info, source = analysis.media_info or {}, analysis.source
    chunk_files = _chunk_keys(prefix)
    if not chunk_files:
        raise DomainError("no frames could be decoded from the video", code="decode_failed")
    times, frames = [], []
    for path in chunk_files:
        chunk_times, chunk_frames = _load_people(path)
        times += chunk_times
        frames += chunk_frames
    width, height = int(info.get("width", 0)), int(info.get("height", 0))
    keypoints = track_main_person(frames, width, height)
    fps = cfg.analysis_fps if source != "image" else 1.0
    key = prefix + "keypoints.npz"
    _atomic_npz(key, keypoints=keypoints, times=np.asarray(times), fps=fps, width=width,
                height=height, pose_version=cfg.pose_version)
    with session_scope() as session:
        job_analysis(session, job_id).keypoints_path = key
    return {"frames": len(times)}


# ---------------------------------------------------------------- classification


def models_used(source: str, cfg: VideoConfig) -> dict:
    return {"pose": None if source == "keypoints" else cfg.pose_version,
            "classifier": cfg.classifier_version, "form": cfg.form_model_version}


def models_key(models: dict) -> str:
    """The key of a result in an analysis' history: the model versions that made it."""
    key = f"pose={models['pose']};classifier={models['classifier']}"
    return key + (f";form={models['form']}" if models.get("form") else "")


def has_result(session: Session, analysis_id: str, key: str) -> bool:
    return repo.stored_result(session, analysis_id, key) is not None


class ReferenceCache:
    """Parsed references by (id, version): bounded, least recently used out first. A version
    is the row's creation time and the job that last wrote it (a clinic reference re-run)."""

    def __init__(self, size: int = REFERENCE_CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple, ReferenceData] = OrderedDict()

    def get(self, row: Reference) -> ReferenceData:
        key = (row.id, row.created_at, (row.meta or {}).get("job_id"))
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        data = ReferenceData.from_dict({"name": row.id, "exercise": row.exercise,
                                        "view": row.view or "", "source": row.source,
                                        "fps": row.fps, "width": row.width,
                                        "height": row.height, "keypoints": row.keypoints})
        self._items[key] = data
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return data

    def __len__(self) -> int:
        return len(self._items)


_references = ReferenceCache()


def load_references(session: Session, user_id: str,
                    cache: ReferenceCache | None = None) -> list[ReferenceData]:
    """The references a user's analyses are compared with: global ones and their clinic's."""
    cache = cache or _references
    return [cache.get(row) for row in repo.visible_references(session, user_id)]


def classify(job_id: str, classifier, form_model, cfg: VideoConfig) -> dict:
    """Classify, count, judge form, compare with the nearest reference; store the result."""
    update_progress(job_id, 70, "classifying")
    clock = StepClock()
    with clock.part("load"):
        with session_scope() as session:
            analysis = job_analysis(session, job_id)
            keypoints_key = analysis.keypoints_path
            hint, source = analysis.exercise_hint, analysis.source
            references = load_references(session, analysis.user_id)
            prescribed = prescribed_item(session, analysis)
        data = _load_npz(keypoints_key)
    keypoints = data["keypoints"].astype(np.float32)
    fps, width, height = float(data["fps"]), float(data["width"]), float(data["height"])
    with clock.part("analyze"):
        result = analyze_keypoints(keypoints, fps, width, height, classifier, references,
                                   exercise_hint=hint, threshold=cfg.angle_threshold_deg,
                                   form_model=form_model)
        if prescribed is not None:
            checked_against_prescription(result, keypoints, fps, *prescribed)
    models = models_used(source, cfg)
    result["models"] = models
    with clock.part("store"):
        update_progress(job_id, 85, "comparing")
        with session_scope() as session:
            analysis = job_analysis(session, job_id)
            analysis.result = result
            key = models_key(models)
            row = repo.stored_result(session, analysis.id, key)
            if row is None:
                row = AnalysisResult(analysis_id=analysis.id, models_key=key)
                session.add(row)
            row.models, row.result, row.job_id = models, result, job_id
    clock.log("classify", frames=len(keypoints), references=len(references))
    return result  # the job's result (the replay is drawn after the job ends)


def prescribed_item(session: Session, analysis: Analysis) -> tuple[dict, str] | None:
    """(plan item, the plan's fitness level) of a checked analysis; None when it names no
    prescription (or its plan was deleted since)."""
    if not analysis.plan_id:
        return None
    plan = session.get(Plan, analysis.plan_id)
    if plan is None:
        return None
    day = next((d for d in plan.days if d["day"] == analysis.plan_day), None)
    item = next((i for i in (day or {}).get("exercises", [])
                 if i["exercise_id"] == analysis.plan_exercise_id), None)
    return (item, plan.fitness_level) if item else None


def checked_against_prescription(result: dict, keypoints: np.ndarray, fps: float, item: dict,
                                 level: str) -> None:
    """The analysis result as a check of the prescribed exercise: the movement measured with
    its specification at the patient's level; `prescribed`, `performed`, `not_measured`; the
    repetitions and feedback are the measurement's (the classifier's own are kept beside)."""
    from domain.video.movement import load_camera_checks
    from domain.video.movement.prescribed import check_prescribed

    check = load_camera_checks()[item["exercise_id"]]
    checked = check_prescribed(keypoints, fps, check, item, level, result.get("exercise") or {})
    movement = checked["movement"]
    result["classifier_view"] = {"rep_count": result.get("rep_count"),
                                 "feedback": result.get("feedback", []),
                                 "analyzed_as": result.get("analyzed_as")}
    result.update(prescribed=checked["prescribed"], performed=checked["performed"],
                  not_measured=checked["not_measured"], movement=movement,
                  feedback=checked["feedback"])
    if checked["performed"]["counted"] and movement["kind"] == "reps":
        result["rep_count"] = movement["rep_count"] or 0
        result["reps"] = [{"index": r["index"], "start_s": r["start_s"], "end_s": r["end_s"],
                           "rom_deg": r["rom"], "rom_joint": movement["rom_name"],
                           "angles": {}, "issues": []} for r in movement["reps"]]
    elif not checked["performed"]["counted"]:
        result["rep_count"], result["reps"] = 0, []
    if movement.get("form"):
        result["form"] = {**movement["form"], "verdict": checked["performed"]["form_verdict"]
                          or "uncertain", "score": None}


# ---------------------------------------------------------------- rendering


def frame_labels(result: dict, times: np.ndarray) -> list[str]:
    """The text drawn on each frame: the exercise, and the repetition it is in (or the total)."""
    label = result["exercise"]["label"].replace("_", " ")
    total = result["rep_count"]
    labels = []
    for t in times:
        current = [r["index"] for r in result["reps"] if r["start_s"] <= t <= r["end_s"]]
        rep = f"rep {current[0]}/{total}" if current else f"{total} reps"
        labels.append(f"{label}  {rep}")
    return labels


def render(job_id: str, cfg: VideoConfig,
           draw: Callable[..., None] | None = None) -> str | None:
    """The annotated mp4 (skeleton, angles, repetition counter) of a job that has succeeded:
    the replay follows the result, so a client reads the analysis without waiting for it
    (``annotated_url`` stays null until it is there). Returns the stored key, or None when
    there is nothing to draw or the analysis was deleted meanwhile."""
    with session_scope() as session:
        analysis = find_job_analysis(session, job_id)
        if analysis is None or analysis.source == "keypoints" or not analysis.media_path \
                or not analysis.result or not analysis.keypoints_path:
            return None
        result = dict(analysis.result)
        media_key, keypoints_key = analysis.media_path, analysis.keypoints_path
        out = storage.analysis_key(analysis.user_id, analysis.id, "annotated.mp4")
    if draw is None:
        from domain.video.render import render_annotated as draw
    clock = StepClock()
    with clock.part("prepare"):
        data = _load_npz(keypoints_key)
        keypoints, times = data["keypoints"], data["times"]
        angles = joint_angles(keypoints)
        per_frame = [{joint: float(values[i]) for joint, values in angles.items()
                      if np.isfinite(values[i])} for i in range(len(keypoints))]
        labels = frame_labels(result, times)
    with clock.part("draw_encode"), storage.local_copy(media_key) as source, \
            storage.writing(out) as tmp:
        draw(source, keypoints, times, tmp, angles_per_frame=per_frame, labels=labels,
             max_side=cfg.render_max_side,
             fps=cfg.analysis_fps if len(times) > 1 else None)
    with session_scope() as session:
        analysis = find_job_analysis(session, job_id)
        if analysis is None or analysis.media_path != media_key:
            # deleted (or its original expired) while the replay was drawn: keep nothing
            storage.delete(out)
            return None
        analysis.annotated_path = out
    clock.log("render", frames=len(times))
    return out


# ---------------------------------------------------------------- the job ended


class AnalysisHooks:
    """Keep the analysis row in step with its job and announce the outcome (job kinds
    video.analyze and keypoints.analyze, see domain/jobs/kinds.py)."""

    @staticmethod
    def on_succeeded(session: Session, job: Job, emit) -> None:
        analysis = settle(session, job, "succeeded", emit)
        if analysis is not None and analysis.is_reference:
            store_reference(session, analysis, job.id)
        if analysis is not None and analysis.plan_id:
            from domain.plans.tracking import record_camera_check

            record_camera_check(session, analysis, job.id, emit, utcnow())

    @staticmethod
    def on_failed(session: Session, job: Job, emit) -> None:
        settle(session, job, "failed", emit)


def settle(session: Session, job: Job, status: str, emit) -> Analysis | None:
    """The analysis takes its job's outcome; `video.analysis.<status>` is emitted once."""
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
    emit(session, f"video.analysis.{status}", analysis.user_id, data, key=job.id)
    return analysis


def reference_exercise(session: Session, analysis: Analysis) -> tuple[str, str] | None:
    """(clinic id, exercise) when this analysis' upload becomes a reference of the uploader's
    clinic: the uploader belongs to a clinic and the exercise is named (hint) or recognised."""
    owner = session.get(User, analysis.user_id)
    label = (analysis.result or {}).get("exercise", {}).get("label")
    exercise = analysis.exercise_hint or label
    if owner is None or not owner.clinic_id or not exercise or exercise == "unknown":
        return None
    return owner.clinic_id, exercise


def store_reference(session: Session, analysis: Analysis, job_id: str) -> None:
    """A clinician's reference upload becomes a reference of their clinic (its id is the
    analysis id). Reprocessing it updates that reference from the new result; a new result that
    names no exercise (unknown) keeps the reference as it was."""
    becomes = reference_exercise(session, analysis)
    if becomes is None:
        return
    clinic_id, exercise = becomes
    data = _load_npz(analysis.keypoints_path)
    keypoints = np.nan_to_num(data["keypoints"], nan=0.0).round(2).tolist()
    fps, width, height = float(data["fps"]), float(data["width"]), float(data["height"])
    row = session.get(Reference, analysis.id)
    if row is None:
        row = Reference(id=analysis.id, view=None, source=f"clinic upload {analysis.id}",
                        clinic_id=clinic_id)  # it stays the reference of that clinic
        session.add(row)
    row.exercise, row.name = exercise, analysis.original_filename or analysis.id
    row.fps, row.width, row.height, row.keypoints = fps, width, height, keypoints
    # The job that made this version: workers' cached copies are keyed by it.
    row.meta = {"analysis_id": analysis.id, "job_id": job_id}


# ---------------------------------------------------------------- deletion and retention


def delete_analysis(session: Session, analysis: Analysis, emit) -> None:
    """Delete an analysis with everything derived from it, in the caller's transaction.

    Its jobs that have not ended are canceled first (their remaining tasks stop at their next
    step), every job's copy of the result is cleared, the events announcing it and the expert
    reference built from it go, then the analysis row (its result history goes with it by
    ON DELETE CASCADE). Call `remove_analysis_files` after the commit.
    """
    now = utcnow()
    parents: set[str] = set()
    for job in repo.jobs_of_subject(session, "analysis", analysis.id):
        if job.status not in TERMINAL_STATUSES:
            job.status, job.finished_at = "canceled", now
            job.error_code, job.error_message = "analysis_deleted", "the analysis was deleted"
            if job.parent_id:
                parents.add(job.parent_id)
        job.result = None
    for event in repo.events_about_analysis(session, analysis.user_id, analysis.id):
        session.delete(event)  # its webhook deliveries go by ON DELETE CASCADE
    repo.delete_reference(session, analysis.id)
    if analysis.plan_id:  # its record goes; the plan item's `performed` follows
        from domain.plans.tracking import forget_camera_check

        forget_camera_check(session, analysis, now)
    session.delete(analysis)
    session.flush()
    for parent_id in parents:
        child_job_ended(session, parent_id, emit)


def remove_user_references(session: Session, user_id: str) -> int:
    """Expert references built from this user's uploads (a clinician's reference videos)."""
    return repo.delete_references_of_user(session, user_id)


def expire_original(session: Session, analysis: Analysis) -> list[str]:
    """Forget the original upload and its annotated rendering; returns the files to remove
    once committed. Keypoints and results stay."""
    paths = [p for p in (analysis.media_path, analysis.annotated_path) if p]
    analysis.media_path = None
    analysis.annotated_path = None
    analysis.original_deleted_at = utcnow()
    return paths
