"""Annotated replay: a browser-playable H.264 MP4 (or PNG for a still image)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from config import settings
from domain.video import media
from domain.video.render import draw_overlay, render_annotated

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffmpeg not installed")

SAMPLE = Path(settings.shared_data_dir) / "pushfit_sample" / "correct1.mp4"


def _ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_streams",
         "-show_format", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return json.loads(out)


def _movenet_keypoints(path: Path) -> np.ndarray:
    frames = json.loads(path.with_suffix(".json").read_text())
    kps = np.array(
        [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]] for f in frames], np.float32
    )
    kps[kps[..., 2] < 0.3] = [np.nan, np.nan, 0.0]
    return kps


def test_render_video_is_playable_h264(tmp_path):
    kps = _movenet_keypoints(SAMPLE)  # one row per source frame, 25 fps
    times = np.arange(len(kps)) / 25.0
    angles = [
        {"left_elbow": 150.0 + i, "right_knee": 170.0, "hip_angle_left": 120.0}
        for i in range(len(kps))
    ]
    labels = [f"Push-up  reps: {i // 25}" for i in range(len(kps))]
    out = tmp_path / "annotated.mp4"
    res = render_annotated(SAMPLE, kps, times, out, angles_per_frame=angles, labels=labels, fps=10)
    assert res.path == out and res.kind == "video"
    info = _ffprobe(out)
    stream = info["streams"][0]
    assert stream["codec_name"] == "h264" and stream["pix_fmt"] == "yuv420p"
    assert (stream["width"], stream["height"]) == (640, 360)
    n = int(stream["nb_read_frames"])
    assert n == res.frames and abs(n - 2.44 * 10) <= 1
    assert stream["avg_frame_rate"] == "10/1"
    data = out.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")  # +faststart: playable while loading
    # the overlay is really there: the rendered frames differ from the source
    src = next(iter(media.iter_frames(SAMPLE, fps=10)))[2]
    rendered = next(iter(media.iter_frames(out, fps=10)))[2]
    assert np.abs(src.astype(int) - rendered.astype(int)).mean() > 1.0


def test_render_downscaled_and_sparse_keypoints(tmp_path):
    kps = _movenet_keypoints(SAMPLE)[::5]  # analysis at 5 fps, render at 10 fps
    times = np.arange(len(kps)) / 5.0
    out = tmp_path / "small.mp4"
    res = render_annotated(SAMPLE, kps, times, out, labels=["Push-up"], max_side=320)
    assert (res.width, res.height) == (320, 180) and res.fps == pytest.approx(5.0)
    stream = _ffprobe(out)["streams"][0]
    assert (stream["width"], stream["height"]) == (320, 180)
    assert int(stream["nb_read_frames"]) == res.frames


def test_render_still_image(tmp_path):
    from skimage import data as skdata

    img_path = tmp_path / "astro.png"
    cv2.imwrite(str(img_path), cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR))
    kps = np.full((1, 17, 3), np.nan, np.float32)
    kps[0, :, 2] = 0
    kps[0, 5:7] = [[330, 270, 0.9], [100, 260, 0.9]]
    png = render_annotated(img_path, kps, [0.0], tmp_path / "out.png", labels=["Astronaut"])
    assert png.kind == "image" and cv2.imread(str(png.path)).shape == (512, 512, 3)
    mp4 = render_annotated(img_path, kps, [0.0], tmp_path / "out.mp4", labels=["Astronaut"], fps=10)
    assert mp4.kind == "video" and mp4.frames == 10
    stream = _ffprobe(mp4.path)["streams"][0]
    assert stream["codec_name"] == "h264" and int(stream["nb_read_frames"]) == 10
    assert float(_ffprobe(mp4.path)["format"]["duration"]) == pytest.approx(1.0, abs=0.05)


def test_draw_overlay_handles_missing_joints():
    frame = np.zeros((120, 160, 3), np.uint8)
    kps = np.full((17, 3), np.nan, np.float32)
    kps[:, 2] = 0
    draw_overlay(frame, kps, angles={"left_knee": 90.0}, label=None)
    assert frame.sum() == 0  # nothing visible, nothing drawn
    kps[5] = [40, 40, 0.9]
    kps[7] = [60, 80, 0.9]
    draw_overlay(frame, kps, angles={"left_elbow": 91.4, "bogus": "x"}, label="Squat 3")
    assert frame.sum() > 0
