"""Pose Trainer sequences (Chen & Yang 2018): OpenPose-18 ``.npy`` -> COCO-17, good/bad labels.

Files ``pose_trainer/<folder>/<exercise>[_]<good|bad>[_]<n>.npy``, each ``(T, 18, 3)`` pixels +
confidence, about one repetition, filmed from the side. Joints map by name (OpenPose's neck has
no COCO-17 counterpart and is dropped); a joint with confidence 0 is missing. One file is one
group (no subject ids are published). The frame rate is not published: 30 fps is assumed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..keypoints import JOINT_INDEX
from .common import Sample, mask, shared_data_dir

OPENPOSE18 = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
)  # fmt: skip
#: folder -> exercise label (the classifier's names; a curl label contains "curl")
EXERCISES = {
    "bicep": "biceps_curl",
    "shoulderpress": "shoulder_press",
    "frontraise": "front_raise",
    "shouldershrug": "shoulder_shrug",
}
ASSUMED_FPS = 30.0
_NAME = re.compile(r"^(?P<ex>[a-z]+?)_?(?P<label>good|bad)_?(?P<n>\d+)$")


def to_coco17(seq: np.ndarray, min_conf: float = 0.05) -> np.ndarray:
    """(T, 18, 3) OpenPose -> (T, 17, 3) COCO-17 by joint name; missing joints masked.

    OpenPose confidences run lower than YOLO's: a joint OpenPose found (>= ``min_conf``) keeps
    a confidence of at least 0.35, so the pipeline's 0.3 masking treats it as seen."""
    seq = np.asarray(seq, dtype=np.float32)
    out = np.zeros((seq.shape[0], 17, 3), np.float32)
    for i, name in enumerate(OPENPOSE18):
        if name in JOINT_INDEX:
            out[:, JOINT_INDEX[name]] = seq[:, i]
    out = mask(out, min_conf)
    seen = out[..., 2] > 0
    out[..., 2] = np.where(seen, np.maximum(out[..., 2], 0.35), 0.0)
    return out


def load(data_dir: str | Path | None = None) -> Iterator[Sample]:
    root = (Path(data_dir) if data_dir else shared_data_dir()) / "pose_trainer"
    for folder, exercise in EXERCISES.items():
        for path in sorted((root / folder).glob("*.npy")):
            m = _NAME.match(path.stem)
            if not m:
                continue
            arr = np.load(path)
            kp = to_coco17(arr)
            finite = kp[..., :2][np.isfinite(kp[..., :2])]
            xs = kp[..., 0][np.isfinite(kp[..., 0])]
            ys = kp[..., 1][np.isfinite(kp[..., 1])]
            width = float(max(640.0, np.ceil(xs.max() / 10) * 10)) if finite.size else 640.0
            height = float(max(480.0, np.ceil(ys.max() / 10) * 10)) if finite.size else 480.0
            correct = m.group("label") == "good"
            yield Sample(dataset="pose_trainer", exercise=exercise, name=path.stem,
                         group=f"pose_trainer:{path.stem}", keypoints=kp, fps=ASSUMED_FPS,
                         width=width, height=height, correct=correct,
                         fault=None if correct else "bad", meta={"folder": folder})
