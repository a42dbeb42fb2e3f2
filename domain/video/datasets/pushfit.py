"""PushFit push-up videos through the project's own pose path, cached.

Each ``correct*.mp4`` / ``wrong*.mp4`` of ``pushfit_sample/`` and ``pushfit_more/`` is decoded
at the analysis frame rate (``media.iter_frames``, longer side at most 640 px as the pose task
decodes), enhanced (Gaussian + unsharp, ``filters.enhance``), posed with YOLO11n-pose
(``pose.PoseEstimator``) and the main person tracked with low-confidence joints masked
(``pose.estimate_sequence``) — exactly the steps of ``tasks/video.py`` (pose_chunk + assemble).

Results are cached in ``var/datasets/pushfit_keypoints.jsonl.gz``, one line per video, keyed by
the video's sha256 and the pose version, so extraction runs once per machine.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ..pose import file_digest as pose_file_digest
from .common import Sample, project_var_dir, shared_data_dir

FOLDERS = ("pushfit_sample", "pushfit_more")
DECODE_MAX_SIDE = 640  # as tasks/video.py decodes
_NAME = re.compile(r"^(correct|wrong)(\d+)$")


def default_cache_path() -> Path:
    return project_var_dir() / "datasets" / "pushfit_keypoints.jsonl.gz"


def video_files(data_dir: str | Path | None = None) -> list[Path]:
    root = Path(data_dir) if data_dir else shared_data_dir()
    out = []
    for folder in FOLDERS:
        out += [p for p in sorted((root / folder).glob("*.mp4")) if _NAME.match(p.stem)]
    return out


def file_digest(path: Path) -> str:
    """The cache key of one video (16 hex digits of its SHA-256)."""
    return pose_file_digest(path, length=16)


def extract_video(path: Path, estimator, fps: float) -> dict:
    """One video -> the cache record (keypoints as nested lists, NaN as null)."""
    from ..media import iter_frames, probe
    from ..pose import estimate_sequence

    info = probe(str(path), max_seconds=float("inf"), max_pixels=2**62)
    frames = iter_frames(path, fps=fps, max_side=DECODE_MAX_SIDE, info=info)
    kp, found, times = estimate_sequence(frames, estimator, batch_size=8, enhance=True,
                                         original_size=(info.width, info.height))
    return {"fps": fps, "width": info.width, "height": info.height,
            "times": [round(float(t), 4) for t in times],
            "keypoints": _encode(kp), "found": found.astype(int).tolist()}


def _encode(kp: np.ndarray) -> list:
    return [[[None if not np.isfinite(v) else round(float(v), 2) for v in joint]
             for joint in frame] for frame in kp]


def _decode(data: list) -> np.ndarray:
    arr = np.array(data, dtype=np.float32).reshape(-1, 17, 3) if data else np.zeros(
        (0, 17, 3), np.float32)
    return arr


def _read_cache(path: Path) -> dict[tuple[str, str, float], dict]:
    out: dict[tuple[str, str, float], dict] = {}
    if not path.exists():
        return out
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                rec = json.loads(line)
                out[(rec["digest"], rec["pose_version"], float(rec["fps"]))] = rec
    return out


def _write_cache(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
    os.replace(tmp, path)


def default_estimator(imgsz: int | None = None):
    from ..pose import PoseEstimator

    try:
        from config import settings

        default, backend = settings.pose_imgsz, settings.pose_backend
    except Exception:  # noqa: BLE001
        default, backend = 320, "onnx"
    return PoseEstimator(imgsz=imgsz or default, backend=backend, threads=int(os.environ.get(
        "POSE_THREADS", "1")))


def extract(
    data_dir: str | Path | None = None,
    cache_path: str | Path | None = None,
    fps: float | None = None,
    estimator_factory: Callable[[], object] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    limit: int | None = None,
    only: Callable[[str], bool] | None = None,
    imgsz: int | None = None,
) -> Path:
    """Pose every PushFit video not yet in the cache (``only``: those whose file stem it
    accepts); returns the cache path. ``fps`` / ``imgsz`` (default: the analysis settings)
    are part of the cache key (the pose version names the input size), so several settings
    can be cached side by side and picked with ``load(pose_version=..., fps=...)``.

    Measured on the 12 ``pushfit_sample`` clips (640x360, 25 fps): 25 fps instead of 10
    changes no per-clip statistic of the form signals (body-line percentiles within 0.005);
    imgsz 640 instead of 320 raises the hips/knees/ankles' confidence (0.91 -> 0.98) but does
    not separate sagging from correct clips better (and posing is about 2x slower), so the cached
    training data and the pipeline keep 320 / 10 fps."""
    if fps is None:
        try:
            from config import settings

            fps = settings.analysis_fps
        except Exception:  # noqa: BLE001
            fps = 10.0
    cache = Path(cache_path) if cache_path else default_cache_path()
    records = _read_cache(cache)
    files = video_files(data_dir)
    if only is not None:
        files = [p for p in files if only(p.stem)]
    files = files[:limit] if limit else files
    estimator = None
    changed = False
    for i, path in enumerate(files):
        digest = file_digest(path)
        if estimator is None:
            estimator = (estimator_factory or (lambda: default_estimator(imgsz)))()
        version = estimator.version
        key = (digest, version, float(fps))
        if key in records:
            continue
        rec = extract_video(path, estimator, float(fps))
        rec.update(file=path.name, folder=path.parent.name, digest=digest,
                   pose_version=version)
        records[key] = rec
        changed = True
        if progress:
            progress(i + 1, len(files), path.name)
        if (i + 1) % 20 == 0:
            _write_cache(cache, list(records.values()))
    if changed or not cache.exists():
        _write_cache(cache, list(records.values()))
    return cache


#: mean absolute difference of two standardized 32x18 grey thumbnails under which two clips
#: are taken to be cut from the same source recording
SAME_SOURCE = 0.4
#: clips seen by eye (one frame of every clip side by side) to come from one recording although
#: their first frames differ more than ``SAME_SOURCE`` (the camera moved, a caption came in):
#: the same person, room and clothes. Thumbnails alone had split e.g. wrong28-50 (one man, 23
#: piked push-ups) into three sources, one of them held out, so he was on both sides of the split.
SAME_SOURCE_BY_EYE = (
    ("wrong28", "wrong35", "wrong41"), ("wrong6", "wrong8"), ("correct8", "wrong3", "wrong4"),
    ("wrong58", "wrong59"), ("wrong66", "wrong67"), ("correct59", "correct74"),
    ("correct42", "wrong26"), ("correct69", "correct70"), ("wrong62", "wrong69"),
    ("correct61", "correct78"), ("correct45", "correct50", "wrong27"),
)


def _thumbnail(path: Path) -> np.ndarray | None:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, 5)
        ok, frame = cap.read()
    finally:
        cap.release()
    if not ok or frame is None:
        return None
    g = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (32, 18),
                   interpolation=cv2.INTER_AREA).astype(np.float32)
    return (g - g.mean()) / (g.std() + 1e-6)


def source_groups(files: list[Path]) -> dict[str, str]:
    """File stem -> source id. PushFit clips are cut from about 40 source recordings (the same
    person, room and camera in consecutive clips, sometimes both correct and wrong ones); clips
    whose first frames look alike (connected components under ``SAME_SOURCE``), or that
    ``SAME_SOURCE_BY_EYE`` joins, share a source, named after its first member. A split by
    source keeps one person's clips on one side."""
    thumbs = {p.stem: _thumbnail(p) for p in files}
    names = sorted(thumbs, key=_order)
    parent = {n: n for n in names}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ta, tb = thumbs[a], thumbs[b]
            if ta is not None and tb is not None and float(np.abs(ta - tb).mean()) < SAME_SOURCE:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb, key=_order)] = min(ra, rb, key=_order)
    for same in SAME_SOURCE_BY_EYE:
        present = [n for n in same if n in parent]
        for b in present[1:]:
            ra, rb = find(present[0]), find(b)
            if ra != rb:
                parent[max(ra, rb, key=_order)] = min(ra, rb, key=_order)
    return {n: find(n) for n in names}


def held_out_stems(data_dir: str | Path | None = None,
                   cache_path: str | Path | None = None) -> set[str]:
    """File stems of the validation split (by source recording), without any pose."""
    from .common import is_validation

    files = video_files(data_dir)
    cache = Path(cache_path) if cache_path else default_cache_path()
    sources = _cached_sources(files, cache.with_name("pushfit_sources.json")) if files else {}
    return {stem for stem, src in sources.items() if is_validation(f"pushfit-src:{src}")}


def _cached_sources(files: list[Path], path: Path) -> dict[str, str]:
    stems = sorted(p.stem for p in files)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if (data.get("files") == stems and data.get("same_source") == SAME_SOURCE
                and data.get("by_eye") == [list(g) for g in SAME_SOURCE_BY_EYE]):
            return data["sources"]
    except (OSError, ValueError, KeyError):
        pass
    sources = source_groups(files)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(json.dumps({"files": stems, "same_source": SAME_SOURCE,
                                   "by_eye": [list(g) for g in SAME_SOURCE_BY_EYE],
                                   "sources": sources}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
    return sources


def _order(stem: str) -> tuple[str, int]:
    m = _NAME.match(stem)
    return (m.group(1), int(m.group(2))) if m else (stem, 0)


def load(cache_path: str | Path | None = None, pose_version: str | None = None,
         fps: float | None = None, data_dir: str | Path | None = None,
         group_by: str = "source") -> Iterator[Sample]:
    """The cached PushFit keypoint sequences as samples (``correct`` from the file name).

    ``group``: ``pushfit-src:<first clip>`` — the source recording the clip was cut from
    (:func:`source_groups`, needs the videos) — or, with ``group_by="video"`` or when the videos
    are absent, the clip itself (``pushfit:correct12``).
    With several pose versions cached, ``pose_version`` picks one (default: the most common).
    """
    cache = Path(cache_path) if cache_path else default_cache_path()
    sources: dict[str, str] = {}
    if group_by == "source":
        files = video_files(data_dir)
        if files:
            sources = _cached_sources(files, cache.with_name("pushfit_sources.json"))
    records = list(_read_cache(cache).values())
    if not records:
        return
    if pose_version is None:
        versions = [r["pose_version"] for r in records]
        pose_version = max(set(versions), key=versions.count)
    seen: set[str] = set()
    for rec in sorted(records, key=lambda r: (r["folder"], r["file"])):
        if rec["pose_version"] != pose_version or (fps and float(rec["fps"]) != float(fps)):
            continue
        stem = Path(rec["file"]).stem
        if stem in seen:
            continue
        seen.add(stem)
        m = _NAME.match(stem)
        if not m:
            continue
        correct = m.group(1) == "correct"
        group = f"pushfit-src:{sources[stem]}" if stem in sources else f"pushfit:{stem}"
        yield Sample(dataset="pushfit", exercise="pushup", name=stem, group=group,
                     keypoints=_decode(rec["keypoints"]), fps=float(rec["fps"]),
                     width=float(rec["width"]), height=float(rec["height"]), correct=correct,
                     fault=None if correct else "wrong",
                     meta={"folder": rec["folder"], "pose_version": rec["pose_version"],
                           "digest": rec["digest"]})


def load_shipped_movenet(data_dir: str | Path | None = None) -> Iterator[Sample]:
    """The 12 ``pushfit_sample`` videos' shipped MoveNet keypoints (25 fps, no extraction)."""
    from ..keypoints import from_pushfit
    from .common import mask

    root = Path(data_dir) if data_dir else shared_data_dir()
    for path in sorted((root / "pushfit_sample").glob("*.json")):
        m = _NAME.match(path.stem)
        if not m:
            continue
        correct = m.group(1) == "correct"
        yield Sample(dataset="pushfit-movenet", exercise="pushup", name=path.stem,
                     group=f"pushfit:{path.stem}", keypoints=mask(from_pushfit(path)), fps=25.0,
                     width=640.0, height=360.0, correct=correct,
                     fault=None if correct else "wrong")
