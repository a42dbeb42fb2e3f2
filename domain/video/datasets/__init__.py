"""Real labelled keypoint datasets for training and validating the video models.

Every loader yields :class:`Sample` objects: a COCO-17 ``(T, 17, 3)`` pixel sequence (x, y,
confidence; masked joints NaN with confidence 0, as the pipeline produces them), a label, and a
``group`` id (video, file or contiguous run) so that splits never put parts of one recording on
both sides. :func:`is_validation` is the fixed, deterministic validation split used by every
model trained on these data (a hash of the group id, nothing tuned on it).

* :mod:`.pushfit` — PushFit push-up videos run through the project's own pose path (cached).
* :mod:`.pose_trainer` — Pose Trainer OpenPose-18 sequences (curl, shoulder press, front raise,
  shrug; good/bad).
* :mod:`.exercise_correction` — Exercise-Correction MediaPipe-33 frames (curl lean-back, lunge
  knee-over-toe, plank hips) cut into labelled runs.
"""

from .common import Sample, is_validation, split

__all__ = ["Sample", "is_validation", "split"]
