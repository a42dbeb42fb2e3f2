"""UTD-MHAD 3-D Kinect skeletons projected to 2-D COCO-17 keypoints as YOLO pose would see them.

``../shared/data/utd_mhad_train.jsonl.gz`` (subjects 1-6; 27 actions x 4 trials; Kinect v1, 20
joints, 30 fps, metres in the sensor's frame: y up, z away from the sensor, x toward the
sensor's left, so a subject facing the sensor has the left shoulder at negative x). Each trial is
one execution (one repetition for the exercise actions).

Projection (:func:`project`): the skeleton is turned about the vertical axis through its mean hip
centre by ``yaw`` (0 = facing the camera, +-90 = profile), the camera is raised by
``elevation`` degrees (looking down at the body), placed ``distance`` metres away, and a pinhole
camera (f = 525 px, centre 320 x 240, a 640 x 480 frame, the Kinect's own intrinsics) gives
pixels. COCO points Kinect lacks are built from the head and shoulders: the nose 9 cm in front of
the head centre, the eyes beside and above it, the ears 7.5 cm to each side of the head centre.

YOLO-like output (:func:`yolo_like`): confidences near 0.9 for joints in sight, lower (often
under the 0.3 mask threshold) for the far side in profile views, for the face seen from behind
and for the ear turned away; temporally correlated jitter of 1-2.5 % of the torso length, rare
outlier frames, rare left/right limb swaps in profile, and rare lost frames.

Labels: ``arm_curl`` -> ``barbell_biceps_curl``, ``squat``, ``lunge``, ``sit_to_stand`` and
``stand_to_sit`` -> ``sit_to_stand``; the 22 everyday / sport actions -> ``other``. Validation is
by subject (:data:`VAL_SUBJECTS`), never by trial or window.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import Sample, shared_data_dir

FILE = "utd_mhad_train.jsonl.gz"
FPS = 30.0
WIDTH, HEIGHT = 640.0, 480.0
FOCAL, CX, CY = 525.0, 320.0, 240.0

UTD_JOINTS: tuple[str, ...] = (
    "head", "shoulder_center", "spine", "hip_center",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
)  # fmt: skip
_U = {n: i for i, n in enumerate(UTD_JOINTS)}
# COCO-17 index -> UTD joint for the joints both have
COCO_FROM_UTD: dict[int, int] = {
    5: _U["left_shoulder"], 6: _U["right_shoulder"], 7: _U["left_elbow"], 8: _U["right_elbow"],
    9: _U["left_wrist"], 10: _U["right_wrist"], 11: _U["left_hip"], 12: _U["right_hip"],
    13: _U["left_knee"], 14: _U["right_knee"], 15: _U["left_ankle"], 16: _U["right_ankle"],
}  # fmt: skip

LABELS: dict[str, str] = {
    "arm_curl": "barbell_biceps_curl",
    "squat": "squat",
    "lunge": "lunge",
    "sit_to_stand": "sit_to_stand",
    "stand_to_sit": "sit_to_stand",
}
OTHER = "other"
EXERCISE_ACTIONS = tuple(LABELS)
VAL_SUBJECTS: tuple[int, ...] = (5, 6)

#: (yaw, elevation) in degrees used for training and validation projections
YAWS: tuple[float, ...] = (0.0, 45.0, -45.0, 90.0, -90.0)
ELEVATIONS: tuple[float, ...] = (0.0, 15.0, 30.0)
VIEWS: tuple[tuple[float, float], ...] = tuple((y, e) for y in YAWS for e in ELEVATIONS)


@dataclass
class UtdTrial:
    action: str
    subject: int
    trial: int
    xyz: np.ndarray  # (T, 20, 3) metres, sensor frame
    fps: float = FPS

    @property
    def label(self) -> str:
        return LABELS.get(self.action, OTHER)

    @property
    def group(self) -> str:
        return f"utd:s{self.subject}"


def default_path() -> Path:
    return shared_data_dir() / FILE


def load_trials(path: str | Path | None = None) -> list[UtdTrial]:
    path = Path(path) if path else default_path()
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            d = json.loads(line)
            xyz = np.asarray(d["xyz"], dtype=np.float64)
            if xyz.ndim != 3 or xyz.shape[1:] != (20, 3) or xyz.shape[0] < 2:
                continue
            out.append(UtdTrial(action=d["action"], subject=int(d["subject"]),
                                trial=int(d["trial"]), xyz=xyz, fps=float(d.get("fps", FPS))))
    out.sort(key=lambda t: (t.subject, t.action, t.trial))
    return out


def split_by_subject(trials: Iterable[UtdTrial], val_subjects: tuple[int, ...] = VAL_SUBJECTS):
    """-> (train, validation): whole subjects on one side."""
    train, val = [], []
    for t in trials:
        (val if t.subject in val_subjects else train).append(t)
    return train, val


# ------------------------------------------------------------------ geometry


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-9)


def to_world(xyz: np.ndarray) -> np.ndarray:
    """Sensor frame -> a right-of-image x frame: X = -x (the sensor's x points to its left),
    Y up, Z away from the camera."""
    w = np.array(xyz, dtype=np.float64, copy=True)
    w[..., 0] = -w[..., 0]
    return w


def coco_3d(world: np.ndarray) -> np.ndarray:
    """(T, 20, 3) world skeleton -> (T, 17, 3) COCO-17 3-D points (face points built from the
    head, the neck and the shoulder line)."""
    T = world.shape[0]
    out = np.zeros((T, 17, 3))
    for c, u in COCO_FROM_UTD.items():
        out[:, c] = world[:, u]
    head, neck = world[:, _U["head"]], world[:, _U["shoulder_center"]]
    lat = _unit(world[:, _U["left_shoulder"]] - world[:, _U["right_shoulder"]])  # toward left
    up = _unit(head - neck)
    # facing: perpendicular to the shoulder line and the head-neck axis, toward the camera (-Z)
    # for a subject facing it; the sign is fixed once per sequence from the first frames
    fwd = _unit(np.cross(up, lat))
    if np.nanmean(fwd[: max(T // 5, 1), 2]) > 0:
        fwd = -fwd
    out[:, 0] = head + 0.09 * fwd - 0.03 * up
    out[:, 1] = head + 0.075 * fwd + 0.01 * up + 0.032 * lat
    out[:, 2] = head + 0.075 * fwd + 0.01 * up - 0.032 * lat
    out[:, 3] = head + 0.075 * lat - 0.01 * fwd
    out[:, 4] = head - 0.075 * lat - 0.01 * fwd
    return out


def _rot_y(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rot_x(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rot_z(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def camera_points(
    xyz: np.ndarray,
    yaw_deg: float = 0.0,
    elevation_deg: float = 0.0,
    distance: float = 3.0,
    roll_deg: float = 0.0,
) -> np.ndarray:
    """(T, 20, 3) sensor-frame skeleton -> (T, 17, 3) COCO points in the new camera's frame.

    The body turns by ``yaw_deg`` about the vertical axis through its mean hip centre (+90: the
    camera sees the subject's left side, they face the image's left; -90: the right side), then the
    camera rises by ``elevation_deg`` (it looks down at the body) and rolls by ``roll_deg``; the
    mean hip centre ends ``distance`` metres in front of the camera, on its axis.
    """
    world = to_world(xyz)
    pts = coco_3d(world)
    hip = world[:, _U["hip_center"]]
    center = np.nanmean(hip, axis=0)
    p = pts - center
    # yaw of the body; seen from the camera the person then faces +yaw
    p = p @ _rot_y(yaw_deg).T
    # camera raised: the scene rotates about the camera's horizontal axis
    p = p @ _rot_x(-elevation_deg).T
    p = p @ _rot_z(roll_deg).T
    p[..., 2] += distance
    return p


def pinhole(p: np.ndarray, f: float = FOCAL, cx: float = CX, cy: float = CY) -> np.ndarray:
    """(..., 3) camera points -> (..., 2) pixels (image y grows downward)."""
    z = np.maximum(p[..., 2], 0.1)
    u = cx + f * p[..., 0] / z
    v = cy - f * p[..., 1] / z
    return np.stack([u, v], axis=-1)


def project(
    xyz: np.ndarray,
    yaw_deg: float = 0.0,
    elevation_deg: float = 0.0,
    distance: float = 3.0,
    roll_deg: float = 0.0,
    f: float = FOCAL,
    cx: float = CX,
    cy: float = CY,
) -> np.ndarray:
    """Noise-free projection -> (T, 17, 3) pixels with confidence 1 (see :func:`yolo_like`)."""
    p = camera_points(xyz, yaw_deg, elevation_deg, distance, roll_deg)
    uv = pinhole(p, f, cx, cy)
    conf = np.ones(uv.shape[:2] + (1,))
    return np.concatenate([uv, conf], axis=-1).astype(np.float32)


# ------------------------------------------------------------------ YOLO-like output

_BILATERAL = {1: 2, 3: 4, 5: 6, 7: 8, 9: 10, 11: 12, 13: 14, 15: 16}
_LIMB_PAIRS = ((7, 8), (9, 10), (13, 14), (15, 16))


def yolo_like(
    p: np.ndarray,
    rng: np.random.Generator,
    f: float = FOCAL,
    cx: float = CX,
    cy: float = CY,
    jitter: tuple[float, float] = (0.01, 0.025),
    outlier_p: float = 0.004,
    swap_p: float = 0.01,
    lost_p: float = 0.01,
) -> np.ndarray:
    """Camera points (T, 17, 3) -> (T, 17, 3) pixels + confidence with YOLO-like errors.

    Confidence follows visibility: a joint on the far side of the body in a profile view, the
    face seen from behind and the ear turned away get low confidence (often under 0.3, i.e.
    masked by the pipeline); joints in sight get 0.6-0.99.
    """
    T = p.shape[0]
    uv = pinhole(p, f, cx, cy)
    # body axes in the camera frame: lateral (toward the subject's left) and facing
    lat = _unit(p[:, 5] - p[:, 6])
    up = _unit(0.5 * (p[:, 5] + p[:, 6]) - 0.5 * (p[:, 11] + p[:, 12]))
    fwd = _unit(np.cross(up, lat))
    face_cam = -fwd[:, 2]  # > 0: the face turns toward the camera
    side = lat[:, 2]  # > 0: the subject's left side is the far side
    conf = rng.uniform(0.75, 0.99, (T, 17))
    # far-side limbs in (near-)profile views
    for left, right in _BILATERAL.items():
        far_left = np.clip(side, 0, 1)
        far_right = np.clip(-side, 0, 1)
        conf[:, left] -= far_left * rng.uniform(0.2, 0.7, T)
        conf[:, right] -= far_right * rng.uniform(0.2, 0.7, T)
    # face seen from behind: nose and eyes vanish; ears stay plausible
    back = np.clip(-face_cam, 0, 1)
    for j in (0, 1, 2):
        conf[:, j] -= back * 0.9
    # the ear turned away in profile
    conf[:, 3] -= np.clip(side, 0, 1) * 0.6
    conf[:, 4] -= np.clip(-side, 0, 1) * 0.6
    conf = np.clip(conf, 0.01, 0.99)

    torso = np.linalg.norm(0.5 * (uv[:, 5] + uv[:, 6]) - 0.5 * (uv[:, 11] + uv[:, 12]), axis=-1)
    torso = float(np.nanmedian(torso)) if np.isfinite(torso).any() else 60.0
    sigma = rng.uniform(*jitter) * torso
    noise = rng.normal(0, sigma, (T, 17, 2))
    # temporally correlated part (a detector's error drifts between frames)
    drift = rng.normal(0, sigma, (T, 17, 2))
    for t in range(1, T):
        drift[t] = 0.7 * drift[t - 1] + 0.3 * drift[t]
    # lower confidence -> larger error
    uv = uv + (noise + drift) * (1.5 - conf)[..., None]
    out = np.concatenate([uv, conf[..., None]], axis=-1)
    # rare outliers: one joint jumps for a frame
    hits = rng.random((T, 17)) < outlier_p
    out[..., :2][hits] += rng.normal(0, 0.4 * torso, (int(hits.sum()), 2))
    # rare left/right swaps of a limb pair in profile views (the far limb taken for the near)
    if abs(float(np.nanmean(side))) > 0.5:
        for t in np.flatnonzero(rng.random(T) < swap_p):
            a, b = _LIMB_PAIRS[int(rng.integers(len(_LIMB_PAIRS)))]
            out[t, [a, b]] = out[t, [b, a]]
    # rare frames where the person is lost
    lost = rng.random(T) < lost_p
    out[lost] = 0.0
    # the pipeline masks low confidence: NaN coordinates, confidence 0
    low = out[..., 2] < 0.3
    out[..., :2][low] = np.nan
    out[..., 2][low] = 0.0
    return out.astype(np.float32)


def subsample(seq: np.ndarray, fps_in: float, fps_out: float | None) -> tuple[np.ndarray, float]:
    """Every k-th frame so the rate is close to ``fps_out`` (the pipeline analyses 10 fps)."""
    if not fps_out or fps_out >= fps_in:
        return seq, fps_in
    k = max(int(round(fps_in / fps_out)), 1)
    return seq[::k], fps_in / k


def render(
    trial: UtdTrial,
    yaw_deg: float,
    elevation_deg: float,
    rng: np.random.Generator,
    fps_out: float | None = None,
    noise: bool = True,
) -> np.ndarray:
    """One trial from one view -> (T, 17, 3) pixel keypoints (YOLO-like when ``noise``).

    Distance 2.5-4.5 m and a roll of up to 3 degrees are drawn from ``rng``."""
    dist = float(rng.uniform(2.5, 4.5))
    roll = float(rng.uniform(-3, 3))
    p = camera_points(trial.xyz, yaw_deg, elevation_deg, dist, roll)
    if noise:
        kp = yolo_like(p, rng)
    else:
        uv = pinhole(p)
        kp = np.concatenate([uv, np.ones(uv.shape[:2] + (1,))], axis=-1).astype(np.float32)
    kp, _ = subsample(kp, trial.fps, fps_out)
    return kp


def view_name(yaw: float, elevation: float) -> str:
    return f"yaw{int(yaw):+d}_el{int(elevation)}"


def samples(
    trials: Iterable[UtdTrial],
    views: Iterable[tuple[float, float]] = VIEWS,
    seed: int = 0,
    fps_out: float | None = None,
    jitter_views: bool = True,
) -> Iterator[Sample]:
    """Every trial from every view as a :class:`Sample` (``exercise`` = the class label,
    ``group`` = the subject). ``jitter_views`` adds +-10 degrees of yaw and +-5 of elevation."""
    rng = np.random.default_rng(seed)
    views = list(views)
    for tr in trials:
        for yaw, el in views:
            y = yaw + (rng.uniform(-10, 10) if jitter_views else 0.0)
            e = max(el + (rng.uniform(-5, 5) if jitter_views else 0.0), -5.0)
            kp = render(tr, y, e, rng, fps_out=fps_out)
            fps = tr.fps if not fps_out else tr.fps / max(int(round(tr.fps / fps_out)), 1)
            yield Sample(
                dataset="utd_mhad", exercise=tr.label,
                name=f"s{tr.subject}_{tr.action}_t{tr.trial}",
                group=tr.group, keypoints=kp, fps=fps, width=WIDTH, height=HEIGHT,
                meta={"action": tr.action, "subject": tr.subject, "trial": tr.trial,
                      "view": view_name(yaw, el), "yaw": round(y, 1), "elevation": round(e, 1)},
            )
