"""Annotated replay video: skeleton, joint angles and a text banner drawn over the source.

:func:`render_annotated` decodes the source with :func:`domain.video.media.iter_frames` at
``fps``, draws with OpenCV and streams the frames into :class:`domain.video.media.VideoEncoder`
(H.264, yuv420p, ``+faststart``: plays in browsers).  Memory stays bounded (one frame at a time).

Keypoint rows are matched to decoded frames by time (nearest ``times_s`` within one frame
period), so the render rate does not have to equal the analysis rate.

For a still image the output is a one-second MP4 of the annotated image (so API clients always
get a video), or a PNG when ``out_path`` ends with ``.png``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from domain.video import media
from domain.video.keypoints import JOINT_INDEX, SKELETON_EDGES

__all__ = ["COCO_EDGES", "RenderResult", "draw_overlay", "render_annotated"]

# COCO-17 joint names and skeleton: one definition, in domain.video.keypoints.
KEYPOINT_INDEX = JOINT_INDEX
COCO_EDGES = SKELETON_EDGES
_LEFT = {1, 3, 5, 7, 9, 11, 13, 15}
_RIGHT = {2, 4, 6, 8, 10, 12, 14, 16}
_COLOR_LEFT = (255, 160, 0)  # BGR: blue-ish
_COLOR_RIGHT = (0, 140, 255)  # orange
_COLOR_CENTRE = (80, 220, 80)
# The replay is for viewing only: the fastest x264 preset (files ~2.5x those of veryfast, still
# under 1 Mbit/s at 640 px and 10 fps) takes about a third of veryfast's encoding time.
RENDER_PRESET = "ultrafast"
_ANGLE_JOINTS = ("left_knee", "right_knee", "left_elbow", "right_elbow", "left_hip", "right_hip")


@dataclass(frozen=True)
class RenderResult:
    path: Path
    kind: str  # "video" | "image"
    width: int
    height: int
    fps: float
    frames: int


def _side_color(i: int, j: int | None = None) -> tuple[int, int, int]:
    idx = {i} if j is None else {i, j}
    if idx <= _LEFT:
        return _COLOR_LEFT
    if idx <= _RIGHT:
        return _COLOR_RIGHT
    return _COLOR_CENTRE


def _put_text(
    img: np.ndarray, text: str, org: tuple[int, int], scale: float, color, thickness: int
) -> None:
    cv2.putText(
        img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA
    )
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA)


def _joint_for_key(key: str) -> int | None:
    key = key.lower()
    for name in _ANGLE_JOINTS:
        if name in key:
            return KEYPOINT_INDEX[name]
    for name, idx in KEYPOINT_INDEX.items():
        if name in key:
            return idx
    return None


# Over 60 lines: a flat list of drawing calls (skeleton, angles, labels) on one frame.
def draw_overlay(
    frame: np.ndarray,
    keypoints: np.ndarray | None,
    *,
    angles: dict | None = None,
    label: str | None = None,
    scale: float = 1.0,
) -> np.ndarray:
    """Draw skeleton (``keypoints`` (17, 3) in source pixels, multiplied by ``scale``), angle
    numbers next to the named joints (``angles`` maps e.g. ``"left_knee"`` -> degrees) and a
    banner with ``label``; modifies and returns ``frame``."""
    h, w = frame.shape[:2]
    unit = max(h, w) / 640.0
    thick = max(1, int(round(2 * unit)))
    radius = max(2, int(round(4 * unit)))
    pts: dict[int, tuple[int, int]] = {}
    if keypoints is not None:
        kp = np.asarray(keypoints, dtype=np.float32)
        for i in range(min(len(kp), 17)):
            x, y, c = kp[i]
            if c > 0 and math.isfinite(float(x)) and math.isfinite(float(y)):
                pts[i] = (int(round(float(x) * scale)), int(round(float(y) * scale)))
        for a, b in COCO_EDGES:
            if a in pts and b in pts:
                cv2.line(frame, pts[a], pts[b], _side_color(a, b), thick, cv2.LINE_AA)
        for i, p in pts.items():
            cv2.circle(frame, p, radius, _side_color(i), -1, cv2.LINE_AA)
            cv2.circle(frame, p, radius, (255, 255, 255), 1, cv2.LINE_AA)
    if angles:
        for key, value in angles.items():
            if value is None:
                continue
            try:
                deg = float(value)
            except (TypeError, ValueError):
                continue
            idx = _joint_for_key(str(key))
            if idx is None or idx not in pts or not math.isfinite(deg):
                continue
            x, y = pts[idx]
            dx = int(8 * unit) if idx in _LEFT else -int(40 * unit)
            _put_text(
                frame,
                f"{deg:.0f}",
                (x + dx, y - int(6 * unit)),
                0.5 * unit,
                (255, 255, 255),
                thick - 1 or 1,
            )
    if label:
        bar_h = int(30 * unit)
        overlay = frame[:bar_h].copy()
        cv2.rectangle(overlay, (0, 0), (w, bar_h), (0, 0, 0), -1)
        frame[:bar_h] = cv2.addWeighted(overlay, 0.55, frame[:bar_h], 0.45, 0)
        _put_text(
            frame,
            label,
            (int(8 * unit), int(21 * unit)),
            0.6 * unit,
            (255, 255, 255),
            thick - 1 or 1,
        )
    return frame


def _pick(seq: Sequence | None, row: int):
    if not seq or row < 0:
        return None
    return seq[min(row, len(seq) - 1)]


# Over 60 lines: the encoder pipe's lifetime (open, draw every frame, close, clean up) kept in
# one function so a failure cannot leave an ffmpeg process or a partial file.
def render_annotated(
    src_path: str | os.PathLike,
    keypoints: np.ndarray,
    times_s: Sequence[float] | np.ndarray,
    out_path: str | os.PathLike,
    *,
    angles_per_frame: list[dict] | None = None,
    labels: list[str] | None = None,
    fps: float | None = None,
    max_side: int | None = None,
    info: media.MediaInfo | None = None,
) -> RenderResult:
    """Write the annotated replay of ``src_path`` to ``out_path`` and return what was written.

    ``keypoints`` (T, 17, 3) are in pixels of the (rotation-corrected) source; ``times_s`` (T,)
    their times; ``angles_per_frame`` / ``labels`` are per keypoint row (shorter lists repeat
    their last item, so ``labels=["Push-up"]`` labels everything).  ``fps`` defaults to the rate
    of ``times_s`` (else 10).  ``max_side`` optionally downscales the output.
    """
    kps = np.asarray(keypoints, dtype=np.float32).reshape(-1, 17, 3)
    times = np.asarray(times_s, dtype=np.float64).reshape(-1)
    if len(times) != len(kps):
        raise ValueError("keypoints and times_s must have the same length")
    if fps is None:
        diffs = np.diff(times)
        diffs = diffs[diffs > 0]
        fps = float(1.0 / np.median(diffs)) if len(diffs) else 10.0
    if info is None:
        info = media.probe(src_path, max_seconds=math.inf, max_pixels=2**62)
    out_path = Path(out_path)
    out_w, out_h = media.output_size(info.width, info.height, max_side)
    scale = out_w / float(info.width)
    tol = 0.75 / fps

    def nearest_row(t: float) -> tuple[int, bool]:
        """Nearest keypoint row (-1 if none) and whether it is within one frame period."""
        if len(times) == 0:
            return -1, False
        k = int(np.searchsorted(times, t))
        cands = [c for c in (k - 1, k) if 0 <= c < len(times)]
        best = min(cands, key=lambda c: abs(times[c] - t))
        return best, abs(times[best] - t) <= tol

    def annotate(frame: np.ndarray, t: float) -> np.ndarray:
        frame = np.array(frame, copy=True)  # frames from the pipe are read-only
        row, close = nearest_row(t)
        return draw_overlay(
            frame,
            kps[row] if close else None,
            angles=_pick(angles_per_frame, row) if close else None,
            label=_pick(labels, row),  # the banner holds its last value between rows
            scale=scale,
        )

    if info.kind == "image":
        frame = next(iter(media.iter_frames(src_path, fps=fps, max_side=max_side, info=info)))[2]
        img = annotate(frame, float(times[0]) if len(times) else 0.0)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        if out_path.suffix.lower() == ".png":
            if not cv2.imwrite(str(out_path), img):
                raise media.MediaError("encode_failed", "cannot write the PNG", 500)
            return RenderResult(out_path, "image", out_w, out_h, 0.0, 1)
        n = max(1, int(round(fps)))
        with media.VideoEncoder(out_path, out_w, out_h, fps, preset=RENDER_PRESET) as enc:
            for _ in range(n):
                enc.write(img)
        return RenderResult(out_path, "video", enc.encoded_width, enc.encoded_height, fps, n)

    n = 0
    with media.VideoEncoder(out_path, out_w, out_h, fps, preset=RENDER_PRESET) as enc:
        for _, t, frame in media.iter_frames(src_path, fps=fps, max_side=max_side, info=info):
            enc.write(annotate(frame, t))
            n += 1
    return RenderResult(out_path, "video", enc.encoded_width, enc.encoded_height, fps, n)
