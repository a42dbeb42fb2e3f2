"""Expert reference library and nearest-reference retrieval (seed 003, section 4.4.2).

The default library (:func:`build_default_references`) holds

* for every exercise, synthetic perfect-form sequences (3 repetitions, 30 fps, 640x480) seen
  from five views: front, left, right, front_left, front_right (``source = "synthetic"``);
* for the push-up, the six real PushFit ``correct*.json`` MoveNet sequences
  (``source = "pushfit:correctN.json"``), read from the shared data folder at run time (they
  are not copied into the repository);
* real correct executions of the training split of ``domain.video.datasets``: PushFit push-ups
  through the project's own YOLO pose (when cached) and Pose Trainer's good curls (and any
  label of the same criteria family).

:func:`nearest_reference` compares the user's normalized poses (each frame centered on its
mid-hip and divided by the torso length) at the velocity-minimum frames - the repetitions'
extremes and their start frames - with the same poses of each candidate, by L2 distance
over the joints visible in both.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import keypoints as K
from .reps import Rep, segment_repetitions

REFERENCE_VIEWS = ("front", "left", "right", "front_left", "front_right")


@dataclass
class Reference:
    name: str
    exercise: str
    view: str
    source: str
    fps: float
    keypoints: np.ndarray  # (T, 17, 3) pixels
    width: int = 640
    height: int = 480
    _reps: list | None = field(default=None, repr=False, compare=False)

    @property
    def reps(self) -> list[Rep]:
        if self._reps is None:
            self._reps = segment_repetitions(self.keypoints, self.fps, self.exercise)
        return self._reps

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "exercise": self.exercise,
            "view": self.view,
            "source": self.source,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "keypoints": np.round(self.keypoints.astype(float), 2).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Reference:
        return cls(
            name=d["name"],
            exercise=d["exercise"],
            view=d.get("view", ""),
            source=d.get("source", ""),
            fps=float(d.get("fps", 30.0)),
            keypoints=K.as_sequence(d["keypoints"]),
            width=int(d.get("width", 640)),
            height=int(d.get("height", 480)),
        )


def _pushfit_dir() -> Path:
    """The default shared data folder's clips (the CLI passes SHARED_DATA_DIR's)."""
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "pushfit_sample"


def build_default_references(
    include_pushfit: bool = True, pushfit_dir: str | Path | None = None
) -> list[Reference]:
    """Synthetic perfect-form references for every exercise and view, plus the real PushFit
    correct push-ups when their folder exists. Deterministic."""
    from .synthetic import EXERCISES, generate

    refs: list[Reference] = []
    for ei, ex in enumerate(EXERCISES):
        for vi, view in enumerate(REFERENCE_VIEWS):
            s = generate(
                ex,
                n_reps=3,
                fps=30.0,
                width=640,
                height=480,
                view=view,
                noise=0.003,
                occlusion=0.0,
                fault=None,
                seed=1000 + 10 * ei + vi,
                rep_seconds=2.0 if ex != "jumping_jacks" else 0.9,
                fill=0.7,
                pitch_deg=5.0,
                style=0,
            )
            refs.append(
                Reference(
                    f"synthetic-{ex}-{view}",
                    ex,
                    view,
                    "synthetic",
                    s.fps,
                    s.keypoints,
                    s.width,
                    s.height,
                )
            )
    if include_pushfit:
        folder = Path(pushfit_dir) if pushfit_dir else _pushfit_dir()
        for path in sorted(folder.glob("correct*.json")):
            kp = K.from_pushfit(path)
            if kp.shape[0] == 0:
                continue
            refs.append(
                Reference(
                    f"pushfit-{path.stem}",
                    "pushup",
                    "side",
                    f"pushfit:{path.name}",
                    25.0,
                    kp,
                    640,
                    360,
                )
            )
    if include_pushfit:
        refs += _real_references(set(EXERCISES))
    return refs


def _real_references(exercises: set[str]) -> list[Reference]:
    """Real correct executions of the training split (never the validation split): PushFit
    push-ups through the project's own pose (when ``flask ml extract-keypoints`` has cached
    them) and Pose Trainer's good executions, under every label of the same criteria family."""
    from .datasets import is_validation, pose_trainer, pushfit
    from .form.criteria import family

    out: list[Reference] = []
    try:
        samples = [s for s in pushfit.load() if s.correct and not is_validation(s.group)][:8]
        samples += [s for s in pose_trainer.load() if s.correct and not is_validation(s.group)]
    except (OSError, ValueError):  # pragma: no cover - unreadable data: synthetic only
        return out
    for s in samples:
        for ex in sorted(e for e in exercises if family(e) and family(e) == family(s.exercise)):
            if K.person_present(s.keypoints).sum() < 5:
                continue
            out.append(Reference(f"{s.dataset}-{s.name}", ex, "side", f"{s.dataset}:{s.name}",
                                 s.fps, s.keypoints, int(s.width), int(s.height)))
    return out


@functools.lru_cache(maxsize=1)
def default_library() -> tuple[Reference, ...]:
    """Cached default library (built once per process)."""
    return tuple(build_default_references())


def key_poses(seq: np.ndarray, reps: list[Rep]) -> np.ndarray:
    """(2, 17, 2) normalized poses: median over reps at the extreme (bottom) frames and at the
    start frames; a sequence without reps uses its median pose for both."""
    xy, mask = K.normalize_sequence(seq, per_frame=True, max_gap=3)
    xy = np.where(mask[..., None] > 0, xy, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if reps:
            bottom = np.nanmedian(xy[[r.bottom_frame for r in reps]], axis=0)
            start = np.nanmedian(xy[[r.start_frame for r in reps]], axis=0)
        else:
            bottom = start = np.nanmedian(xy, axis=0)
    return np.stack([bottom, start])


def pose_distance(a: np.ndarray, b: np.ndarray, bottom_weight: float = 0.7) -> float:
    """L2 distance between key poses over the 13 body joints visible in both (rescaled to all
    13 joints); inf when fewer than 4 joints are shared."""
    joints = list(K.MODEL_JOINTS)
    total = 0.0
    for k, w in ((0, bottom_weight), (1, 1.0 - bottom_weight)):
        pa, pb = a[k, joints], b[k, joints]
        ok = np.isfinite(pa).all(axis=1) & np.isfinite(pb).all(axis=1)
        if ok.sum() < 4:
            return float("inf")
        sq = np.sum((pa[ok] - pb[ok]) ** 2)
        total += w * np.sqrt(sq * len(joints) / ok.sum())
    return float(total)


def nearest_reference(
    user_seq: np.ndarray, user_reps: list[Rep], candidates
) -> tuple[Reference | None, float]:
    """The candidate whose key poses are closest (L2) to the user's -> (reference, distance);
    ``(None, inf)`` when there is no candidate."""
    user = key_poses(user_seq, list(user_reps))
    best, best_d = None, float("inf")
    for ref in candidates:
        d = pose_distance(user, key_poses(ref.keypoints, ref.reps))
        if d < best_d or best is None:
            best, best_d = ref, d
    return best, best_d
