"""Camera checks of prescribed library exercises: movement specifications
(``data/camera_checks.json``, :mod:`.specs`) and their measurement on COCO-17 keypoints
(:mod:`.measure`): repetitions, range of motion of the named joint, hold time, and what the
camera view could not show."""

from .measure import (
    MeasureOptions,
    MovementResult,
    RepMeasure,
    measure_exercise,
    measure_movement,
)
from .specs import CameraCheck, load_camera_checks

__all__ = ["CameraCheck", "MeasureOptions", "MovementResult", "RepMeasure", "load_camera_checks",
           "measure_exercise", "measure_movement"]
