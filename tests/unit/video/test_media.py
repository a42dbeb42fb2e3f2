"""Probing and decoding with FFmpeg: real videos, broken uploads, rotation, chunked decoding."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from config import settings
from domain.video import media
from domain.video.media import MediaError, iter_frames, probe

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")

PUSHFIT = Path(settings.shared_data_dir) / "pushfit_sample"
SAMPLE = PUSHFIT / "correct1.mp4"  # 640x360, 25 fps, 2.44 s, 61 frames


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("media")
    out: dict[str, Path] = {}
    out["text"] = d / "notes.mp4"
    out["text"].write_text("this is not a video\n" * 50)
    out["empty"] = d / "empty.mp4"
    out["empty"].write_bytes(b"")
    data = SAMPLE.read_bytes()
    out["truncated"] = d / "truncated.mp4"  # moov atom is at the end: cut it off
    out["truncated"].write_bytes(data[: len(data) // 2])
    out["wav"] = d / "tone.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", str(out["wav"]))
    from skimage import data as skdata

    astro = cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)
    out["png"] = d / "astronaut.png"
    cv2.imwrite(str(out["png"]), astro)
    out["jpg"] = d / "astronaut.jpg"
    cv2.imwrite(str(out["jpg"]), astro)
    out["bmp"] = d / "astronaut.bmp"
    cv2.imwrite(str(out["bmp"]), astro)
    plain = d / "plain.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-t", "1", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", str(plain))  # fmt: skip
    out["plain"] = plain
    out["rot90"] = d / "rot90.mp4"
    _ffmpeg("-i", str(plain), "-metadata:s:v:0", "rotate=90", "-c", "copy", str(out["rot90"]))
    out["raw_h264"] = d / "clip.h264"  # elementary stream: no duration anywhere
    _ffmpeg("-i", str(SAMPLE), "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264",
            str(out["raw_h264"]))  # fmt: skip
    return out


def _expect(code: str, status: int, path: Path, **kw) -> MediaError:
    with pytest.raises(MediaError) as info:
        probe(path, max_seconds=kw.pop("max_seconds", 600), max_pixels=kw.pop("max_pixels", 10**8))
    assert info.value.code == code, info.value
    assert info.value.http_status == status
    assert info.value.message
    return info.value


def test_probe_real_videos():
    videos = sorted(PUSHFIT.glob("*.mp4"))
    assert len(videos) == 12
    for path in videos:
        info = probe(path, max_seconds=600, max_pixels=3840 * 2160)
        assert info.kind == "video"
        assert (info.width, info.height) == (640, 360)
        assert info.fps == pytest.approx(25.0)
        assert 1.0 <= info.duration_s <= 5.5
        assert info.nb_frames == pytest.approx(info.duration_s * 25, abs=2)
        assert info.codec == "h264" and info.rotation == 0
        assert "mp4" in info.format_name


def test_broken_inputs(files):
    _expect("unsupported_media", 415, files["text"])
    _expect("unsupported_media", 415, files["empty"])
    _expect("unreadable_media", 415, files["truncated"])
    _expect("no_video_stream", 422, files["wav"])
    _expect("unsupported_media", 415, files["bmp"])
    _expect("unsupported_media", 415, files["text"].with_name("missing.mp4"))


def test_limits():
    err = _expect("video_too_long", 422, SAMPLE, max_seconds=1.0)
    assert "1" in err.message
    _expect("resolution_too_large", 422, SAMPLE, max_pixels=640 * 359)
    assert probe(SAMPLE, max_seconds=2.5, max_pixels=640 * 360).kind == "video"


def test_missing_duration_falls_back_to_counting(files):
    info = probe(files["raw_h264"], max_seconds=600, max_pixels=10**8)
    assert info.nb_frames == 61
    assert info.duration_s == pytest.approx(2.44, abs=0.05)
    _expect("video_too_long", 422, files["raw_h264"], max_seconds=1.0)


def test_images(files):
    for key, codec in (("png", "png"), ("jpg", "mjpeg")):
        info = probe(files[key], max_seconds=600, max_pixels=10**8)
        assert (info.kind, info.width, info.height, info.codec) == ("image", 512, 512, codec)
        frame = media.read_image(files[key])
        assert frame.shape == (512, 512, 3) and frame.dtype == np.uint8
        frames = list(iter_frames(files[key], fps=10))
        assert len(frames) == 1 and frames[0][:2] == (0, 0.0)
    _expect("resolution_too_large", 422, files["png"], max_pixels=512 * 511)


def test_rotation_metadata(files):
    info = probe(files["rot90"], max_seconds=600, max_pixels=10**8)
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (48, 64)
    rotated = list(iter_frames(files["rot90"], fps=10))
    plain = list(iter_frames(files["plain"], fps=10))
    assert len(rotated) == len(plain) == 10
    a, b = rotated[3][2], plain[3][2]
    assert a.shape == (64, 48, 3)
    err = min(np.abs(a.astype(int) - np.rot90(b, k).astype(int)).mean() for k in (1, 3))
    assert err < 3


def test_iter_frames_rate_and_chunks():
    info = probe(SAMPLE)
    full = list(iter_frames(SAMPLE, fps=10, info=info))
    assert abs(len(full) - info.duration_s * 10) <= 1
    assert [f[0] for f in full] == list(range(len(full)))
    np.testing.assert_allclose([f[1] for f in full], np.arange(len(full)) / 10)
    assert all(f[2].shape == (360, 640, 3) and f[2].dtype == np.uint8 for f in full)
    chunks = []
    for start in (0.0, 1.0, 2.0):
        chunks += list(iter_frames(SAMPLE, fps=10, start_s=start, duration_s=1.0, info=info))
    assert [c[0] for c in chunks] == [f[0] for f in full]
    for (_, _, a), (_, _, b) in zip(full, chunks, strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).mean() < 2
    small = list(iter_frames(SAMPLE, fps=5, max_side=320, start_s=1.0, duration_s=0.8))
    assert [s[0] for s in small] == [5, 6, 7, 8]
    assert small[0][2].shape == (180, 320, 3)


def test_iter_frames_is_lazy_and_closable():
    gen = iter_frames(SAMPLE, fps=25)
    first = next(gen)
    assert first[0] == 0
    gen.close()  # stops ffmpeg without reading the rest


def test_encoder_pads_odd_sizes(tmp_path):
    enc_path = tmp_path / "odd.mp4"
    with media.VideoEncoder(enc_path, 33, 21, 5) as enc:
        for i in range(5):
            enc.write(np.full((21, 33, 3), i * 40, np.uint8))
    info = probe(enc_path)
    assert (info.width, info.height, info.nb_frames) == (34, 22, 5)


def test_media_error_shape():
    err = MediaError("video_too_long", "too long")
    assert (err.code, err.message, err.http_status) == ("video_too_long", "too long", 422)
    assert err.to_dict() == {"code": "video_too_long", "message": "too long"}
    assert MediaError("unsupported_media", "x").http_status == 415


def _fake_probe(monkeypatch, stream: dict, fmt: dict | None = None) -> None:
    base = {"codec_type": "video", "codec_name": "h264", "width": 640, "height": 360}
    data = {"streams": [{**base, **stream}], "format": {"format_name": "mov", **(fmt or {})}}
    monkeypatch.setattr(media, "_ffprobe", lambda path, **kw: data)


def test_absurd_frame_rate_and_empty_video(monkeypatch):
    _fake_probe(
        monkeypatch,
        {"avg_frame_rate": "0/0", "r_frame_rate": "90000/1", "nb_frames": "50", "duration": "2.0"},
    )
    info = probe(SAMPLE)
    assert info.fps == pytest.approx(25.0) and info.nb_frames == 50
    _fake_probe(monkeypatch, {"avg_frame_rate": "1000000/1", "duration": "2.0"})
    assert probe(SAMPLE).fps == 30.0  # nothing sane: assume 30
    _fake_probe(monkeypatch, {"avg_frame_rate": "25/1", "nb_frames": "0", "duration": "0"})
    monkeypatch.setattr(media, "_count_packets", lambda path, cap, **kw: 0)
    _expect("empty_video", 422, SAMPLE)
    _fake_probe(
        monkeypatch,
        {"avg_frame_rate": "25/1", "tags": {"DURATION": "00:10:00.500000000"}},
    )
    _expect("video_too_long", 422, SAMPLE, max_seconds=600)
    _fake_probe(
        monkeypatch,
        {"avg_frame_rate": "30/1", "duration": "1", "side_data_list": [{"rotation": -90}]},
    )
    info = probe(SAMPLE)
    assert (info.width, info.height, info.rotation) == (360, 640, 270)


def test_truncated_faststart_video_decodes_partially(tmp_path):
    fast = tmp_path / "fast.mp4"
    _ffmpeg("-i", str(SAMPLE), "-c", "copy", "-movflags", "+faststart", str(fast))
    data = fast.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    info = probe(cut)  # the index is intact, so probing succeeds
    frames = list(iter_frames(cut, fps=10, info=info))
    assert 0 < len(frames) < info.duration_s * 10 - 2  # what is there is decoded, no crash


def test_probe_has_a_time_limit(monkeypatch):
    monkeypatch.setattr(media, "PROBE_TIMEOUT_S", 0.0001)
    with pytest.raises(MediaError) as raised:
        probe(SAMPLE)
    assert raised.value.code == "unreadable_media" and "could not be inspected" in (
        raised.value.message)
