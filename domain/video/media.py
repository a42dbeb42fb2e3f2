"""Probe, decode and encode uploaded media with FFmpeg (through ffmpeg-python).

* :func:`probe` validates an upload (video or JPEG/PNG still image) and returns :class:`MediaInfo`;
  every rejection is a :class:`MediaError` carrying a stable ``code`` and an ``http_status``.
* :func:`iter_frames` streams BGR frames at a steady rate through a rawvideo pipe: rotation
  metadata is applied (FFmpeg autorotates), the frame rate is made constant with the ``fps``
  filter, frames are optionally downscaled, and a time window ``[start_s, start_s + duration_s)``
  can be selected so long videos can be split into chunks processed in parallel.
* :func:`read_image` decodes a still image (EXIF orientation applied).
* :class:`VideoEncoder` writes browser-playable H.264 MP4 files.

Only local files are read: every FFmpeg/ffprobe input is restricted to the ``file`` protocol
and to a whitelist of demuxers (no playlists, no network, no concat tricks).

Requires the ``ffmpeg`` and ``ffprobe`` executables (Debian package ``ffmpeg``).
"""

from __future__ import annotations

import collections
import json
import math
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import ffmpeg
import numpy as np

from domain.errors import DomainError

__all__ = [
    "ERROR_STATUS",
    "MediaError",
    "MediaInfo",
    "VideoEncoder",
    "iter_frames",
    "output_size",
    "probe",
    "read_image",
]

# code -> HTTP status.  415: we cannot use this kind of file at all; 422: it is media we support,
# but this particular file cannot be analysed.
ERROR_STATUS: dict[str, int] = {
    "unsupported_media": 415,  # not a media file we recognise (text, garbage, empty, BMP, ...)
    "unreadable_media": 415,  # looks like a supported container but ffprobe cannot parse it
    "no_video_stream": 422,  # e.g. an audio-only file
    "empty_video": 422,  # a video stream without frames
    "video_too_long": 422,
    "resolution_too_large": 422,
    "decode_failed": 422,  # probing passed but decoding failed
}

# Demuxers FFmpeg may use on uploads (names as in `ffmpeg -demuxers`).  ``mov`` covers
# mp4/m4v/mov/3gp, ``matroska`` covers mkv/webm.  The audio ones let us say "no video stream"
# instead of "unsupported" for audio uploads.
_DEMUXERS = (
    "mov,matroska,avi,mpegts,flv,mpeg,asf,ogg,h264,hevc,png_pipe,jpeg_pipe,image2,wav,mp3,aac,flac"
)
_INPUT_OPTS = {"format_whitelist": _DEMUXERS, "protocol_whitelist": "file"}
_IMAGE_FORMATS = {"png_pipe", "jpeg_pipe", "image2"}
_IMAGE_CODECS = {"png", "mjpeg"}
_MAX_SANE_FPS = 240.0
_DEFAULT_FPS = 30.0
# Signatures of containers we support: a file starting with one of these that ffprobe rejects is
# "unreadable" (e.g. truncated) rather than "unsupported".
_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"\x1a\x45\xdf\xa3", b"RIFF", b"FLV", b"\x00\x00\x01\xba")


class MediaError(DomainError):
    """A rejected or undecodable upload.  ``code`` is stable and meant for API clients."""

    def __init__(self, code: str, message: str, http_status: int | None = None) -> None:
        Exception.__init__(self, message)
        self.code = code
        self.message = message
        self.http_status = http_status if http_status is not None else ERROR_STATUS.get(code, 422)

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}

    def __repr__(self) -> str:
        return f"MediaError({self.code!r}, {self.message!r}, http_status={self.http_status})"


def _ffmpeg_reason(stderr: str) -> str:
    """The last meaningful line of ffmpeg's output, without addresses or paths (users see it)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = lines[-1] if lines else "unknown error"
    reason = re.sub(r"\[[^\]]*@ ?0x[0-9a-f]+\]\s*", "", reason)  # "[h264 @ 0x55d...]"
    reason = re.sub(r"(/[^\s:]+)+", "<file>", reason)
    return reason[:200]


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe` learnt; ``width``/``height`` are of the displayed (rotated) frames."""

    kind: str  # "video" | "image"
    width: int
    height: int
    duration_s: float  # 0.0 for an image
    fps: float  # source frame rate (sanitised); 0.0 for an image
    rotation: int  # 0, 90, 180 or 270: display rotation FFmpeg applies on decode
    nb_frames: int  # exact when the container says so, else estimated; 1 for an image
    codec: str
    format_name: str

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- probing


def _src(path: str | os.PathLike) -> str:
    # An absolute path never starts with "-" and never looks like a protocol ("http:...").
    return os.path.abspath(os.fspath(path))


def _parse_rate(value: str | None) -> float | None:
    if not value:
        return None
    try:
        if "/" in value:
            num, den = value.split("/", 1)
            num_f, den_f = float(num), float(den)
            if den_f == 0:
                return None
            rate = num_f / den_f
        else:
            rate = float(value)
    except ValueError:
        return None
    if not math.isfinite(rate) or rate <= 0:
        return None
    return rate


def _parse_float(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) and out >= 0 else None


def _parse_hms(value: str | None) -> float | None:
    """Matroska-style ``HH:MM:SS.fffffffff`` duration tags."""
    if not value:
        return None
    m = re.fullmatch(r"\s*(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)\s*", value)
    if not m:
        return None
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def _rotation_of(stream: dict) -> int:
    """Display rotation, normalised to 0/90/180/270 (ffprobe's display-matrix value, else the
    legacy ``rotate`` tag).  Only its parity matters here: 90/270 swap width and height."""
    rot = None
    for side in stream.get("side_data_list") or []:
        if side.get("rotation") is not None:
            rot = _parse_signed(side["rotation"])
            break
    if rot is None:
        rot = _parse_signed((stream.get("tags") or {}).get("rotate"))
    if rot is None:
        return 0
    return int(round(rot / 90.0)) % 4 * 90


def _parse_signed(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


#: ffprobe runs inside web requests: a pathological file must not hold a request for ever (the
#: default; callers pass settings.probe_timeout_s)
PROBE_TIMEOUT_S = 30.0


def _ffprobe(path: str, timeout_s: float | None = None, **kwargs) -> dict:
    """ffmpeg-python's probe, with a time limit (its own has none)."""
    from ffmpeg._utils import convert_kwargs_to_cmd_line_args

    args = ["ffprobe", "-show_format", "-show_streams", "-of", "json"]
    args += convert_kwargs_to_cmd_line_args({"v": "error", **_INPUT_OPTS, **kwargs})
    args.append(path)
    try:
        timeout_s = PROBE_TIMEOUT_S if timeout_s is None else timeout_s
        done = subprocess.run(args, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        message = f"the file could not be inspected within {timeout_s:g} s"
        raise MediaError("unreadable_media", message) from None
    if done.returncode != 0:
        raise _ProbeFailed(done.stderr.decode("utf-8", "replace").strip())
    return json.loads(done.stdout.decode("utf-8"))


class _ProbeFailed(Exception):
    pass


def _looks_like_supported_container(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    return head[4:8] == b"ftyp" or head.startswith(_MAGIC)


def _count_packets(path: str, cap: int, timeout_s: float | None = None) -> int:
    """Count video packets, reading at most ``cap`` of them (fallback for a missing duration)."""
    data = _ffprobe(
        path,
        timeout_s=timeout_s,
        select_streams="v:0",
        count_packets=None,
        read_intervals=f"%+#{max(1, cap)}",
    )
    streams = data.get("streams") or []
    if not streams:
        return 0
    try:
        return int(streams[0].get("nb_read_packets") or 0)
    except ValueError:
        return 0


# Over 60 lines: ffprobe's answer checked in order (container, stream, size, duration, frame
# rate), each refusal with its own error code; most of the length is the docstring and messages.
def probe(
    path: str | os.PathLike,
    *,
    max_seconds: float = math.inf,
    max_pixels: int = 3840 * 2160,
    timeout_s: float | None = None,
) -> MediaInfo:
    """Validate a video or JPEG/PNG image and describe it.

    Raises :class:`MediaError` with code ``unsupported_media`` / ``unreadable_media`` (415),
    ``no_video_stream``, ``empty_video``, ``video_too_long``, ``resolution_too_large`` (422).
    """
    src = _src(path)
    if not os.path.isfile(src):
        raise MediaError("unsupported_media", "file not found")
    if os.path.getsize(src) == 0:
        raise MediaError("unsupported_media", "the file is empty")
    try:
        data = _ffprobe(src, timeout_s=timeout_s)
    except _ProbeFailed as exc:
        if _looks_like_supported_container(src):
            raise MediaError(
                "unreadable_media", "the media file is damaged or truncated and cannot be read"
            ) from exc
        raise MediaError(
            "unsupported_media",
            "not a supported video (MP4, MOV, MKV, WebM, AVI) or image (JPEG, PNG)",
        ) from exc

    fmt = data.get("format") or {}
    format_name = str(fmt.get("format_name") or "")
    streams = [
        s
        for s in data.get("streams") or []
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if not streams:
        raise MediaError("no_video_stream", "the file has no video stream")
    stream = streams[0]
    codec = str(stream.get("codec_name") or "")
    raw_w = int(stream.get("width") or 0)
    raw_h = int(stream.get("height") or 0)
    if raw_w <= 0 or raw_h <= 0:
        raise MediaError("unreadable_media", "the video stream has no frame size")
    if raw_w * raw_h > max_pixels:
        raise MediaError(
            "resolution_too_large",
            f"resolution {raw_w}x{raw_h} exceeds the limit of {max_pixels} pixels",
        )
    rotation = _rotation_of(stream)
    width, height = (raw_h, raw_w) if rotation % 180 == 90 else (raw_w, raw_h)

    if format_name in _IMAGE_FORMATS:
        if codec not in _IMAGE_CODECS:
            raise MediaError(
                "unsupported_media", f"image format {codec!r} is not supported (JPEG, PNG)"
            )
        frame = read_image(src)  # also applies EXIF orientation
        height, width = frame.shape[:2]
        return MediaInfo("image", width, height, 0.0, 0.0, 0, 1, codec, format_name)

    fps = _parse_rate(stream.get("avg_frame_rate"))
    if fps is None or fps > _MAX_SANE_FPS:
        fps = _parse_rate(stream.get("r_frame_rate"))
    nb_frames_tag = stream.get("nb_frames")
    nb_frames = int(nb_frames_tag) if str(nb_frames_tag or "").isdigit() else None

    duration = _parse_float(stream.get("duration"))
    if not duration:
        duration = _parse_float(fmt.get("duration"))
    if not duration:
        duration = _parse_hms((stream.get("tags") or {}).get("DURATION"))
    if (fps is None or fps > _MAX_SANE_FPS) and nb_frames and duration:
        fps = nb_frames / duration
    if fps is None or fps > _MAX_SANE_FPS:
        fps = _DEFAULT_FPS

    if not duration:
        # No usable duration anywhere: count packets, but never more than the limit allows.
        cap = int(min(max_seconds, 24 * 3600) * fps) + 2 if math.isfinite(max_seconds) else 10**7
        try:
            count = _count_packets(src, cap, timeout_s=timeout_s)
        except _ProbeFailed as exc:
            raise MediaError("unreadable_media", "the video cannot be read") from exc
        if count >= cap:
            raise MediaError("video_too_long", f"the video is longer than {max_seconds:g} s")
        nb_frames = count
        duration = count / fps

    if nb_frames is None:
        nb_frames = int(round(duration * fps))
    if nb_frames <= 0 or duration <= 0:
        raise MediaError("empty_video", "the video has no frames")
    if duration > max_seconds:
        raise MediaError(
            "video_too_long", f"the video lasts {duration:.1f} s, the limit is {max_seconds:g} s"
        )
    return MediaInfo(
        kind="video",
        width=width,
        height=height,
        duration_s=float(duration),
        fps=float(fps),
        rotation=rotation,
        nb_frames=int(nb_frames),
        codec=codec,
        format_name=format_name,
    )


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode a still image to BGR uint8 (EXIF orientation applied).  Raises MediaError."""
    src = _src(path)
    try:
        buf = np.fromfile(src, dtype=np.uint8)
    except OSError as exc:
        raise MediaError("unsupported_media", "file not found") from exc
    frame = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if frame is None:
        raise MediaError("unreadable_media", "the image cannot be decoded")
    return frame


# --------------------------------------------------------------------------- decoding


class _StderrDrain:
    """Read a subprocess' stderr in a thread (so the pipe never fills) and keep its tail."""

    def __init__(self, stream, max_lines: int = 50) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=max_lines)
        self._stream = stream
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for raw in iter(self._stream.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace").rstrip())

    def text(self, timeout: float = 5.0) -> str:
        self._thread.join(timeout)
        return "\n".join(self.lines)


def _stop(process: subprocess.Popen, timeout: float = 5.0) -> None:
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass
    if process.poll() is None:
        process.kill()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        pass


def output_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """Frame size :func:`iter_frames` yields: unchanged, or scaled so the longer side is at most
    ``max_side`` (then rounded to even numbers)."""
    if not max_side or max(width, height) <= max_side:
        return int(width), int(height)
    scale = max_side / float(max(width, height))
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


# Over 60 lines: one ffmpeg decode pipe (rotation, scaling, sampling, partial files) and its
# cleanup in one place, so that no exit path leaves a process behind.
def iter_frames(
    path: str | os.PathLike,
    *,
    fps: float,
    start_s: float = 0.0,
    duration_s: float | None = None,
    max_side: int | None = None,
    info: MediaInfo | None = None,
) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(frame_index, t_seconds, frame_bgr)`` at a constant ``fps``.

    ``frame_index`` is global: ``round(start_s * fps) + i`` and ``t_seconds = frame_index / fps``,
    so chunks whose boundaries are multiples of ``1 / fps`` (e.g. whole seconds at 10 fps)
    concatenate into exactly the sequence a single pass would give.  Frames are decoded lazily
    (one frame in memory at a time); closing the generator early stops FFmpeg.  A still image
    yields a single frame at t = 0.  Raises ``MediaError("decode_failed")`` if FFmpeg fails.
    ``info`` (from :func:`probe`) avoids probing again.
    """
    if fps <= 0:
        raise ValueError("fps must be positive")
    src = _src(path)
    if info is None:
        info = probe(src, max_seconds=math.inf, max_pixels=2**62)
    if info.kind == "image":
        if start_s <= 0:
            frame = read_image(src)
            w, h = output_size(info.width, info.height, max_side)
            if (w, h) != (frame.shape[1], frame.shape[0]):
                frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
            yield 0, 0.0, frame
        return

    out_w, out_h = output_size(info.width, info.height, max_side)
    first_index = int(round(start_s * fps))
    input_kwargs: dict = dict(_INPUT_OPTS)
    if start_s > 0:
        input_kwargs["ss"] = f"{first_index / fps:.6f}"
    if duration_s is not None:
        if duration_s <= 0:
            return
        input_kwargs["t"] = f"{duration_s:.6f}"
    stream = ffmpeg.input(src, **input_kwargs).video
    stream = stream.filter("fps", fps=fps)
    stream = stream.filter("scale", out_w, out_h, flags="area")
    max_frames = None
    if duration_s is not None:
        max_frames = int(math.ceil(duration_s * fps - 1e-6))
    out_kwargs = {"format": "rawvideo", "pix_fmt": "bgr24"}
    if max_frames is not None:
        out_kwargs["frames:v"] = max_frames
    process = (
        ffmpeg.output(stream, "pipe:", **out_kwargs)
        .global_args("-nostdin", "-hide_banner", "-loglevel", "error")
        .run_async(pipe_stdout=True, pipe_stderr=True)
    )
    drain = _StderrDrain(process.stderr)
    frame_bytes = out_w * out_h * 3
    i = 0
    try:
        while True:
            buf = process.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            frame = np.frombuffer(buf, dtype=np.uint8).reshape(out_h, out_w, 3)
            index = first_index + i
            yield index, index / fps, frame
            i += 1
        process.stdout.close()
        rc = process.wait()
        if rc != 0:
            reason = _ffmpeg_reason(drain.text())
            raise MediaError("decode_failed", f"ffmpeg failed to decode the video: {reason}")
        if i == 0 and start_s <= 0:
            raise MediaError("decode_failed", "no frame could be decoded")
    finally:
        _stop(process)


# --------------------------------------------------------------------------- encoding


class VideoEncoder:
    """Stream BGR frames into a browser-playable H.264 MP4 (yuv420p, +faststart).

    Odd frame sizes are padded to even ones (libx264/yuv420p need even dimensions).  Use as a
    context manager; :meth:`close` raises ``MediaError("encode_failed")`` if FFmpeg fails.
    """

    def __init__(
        self,
        out_path: str | os.PathLike,
        width: int,
        height: int,
        fps: float,
        *,
        crf: int = 23,
        preset: str = "veryfast",
    ) -> None:
        self.out_path = Path(out_path)
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.frames_written = 0
        # what ends up in the file (odd sizes are padded by one pixel)
        self.encoded_width, self.encoded_height = (
            self.width + self.width % 2,
            self.height + self.height % 2,
        )
        self.out_path.parent.mkdir(parents=True, exist_ok=True)
        stream = ffmpeg.input(
            "pipe:",
            format="rawvideo",
            pix_fmt="bgr24",
            s=f"{self.width}x{self.height}",
            framerate=f"{self.fps:g}",
        )
        if self.width % 2 or self.height % 2:
            stream = stream.filter("pad", "ceil(iw/2)*2", "ceil(ih/2)*2")
        self._process = (
            ffmpeg.output(
                stream,
                str(self.out_path),
                vcodec="libx264",
                pix_fmt="yuv420p",
                preset=preset,
                crf=crf,
                movflags="+faststart",
                an=None,
                format="mp4",
            )
            .global_args("-nostdin", "-hide_banner", "-loglevel", "error")
            .overwrite_output()
            .run_async(pipe_stdin=True, pipe_stderr=True)
        )
        self._drain = _StderrDrain(self._process.stderr)
        self._closed = False

    def write(self, frame_bgr: np.ndarray) -> None:
        if frame_bgr.shape != (self.height, self.width, 3) or frame_bgr.dtype != np.uint8:
            raise ValueError(
                f"expected a {self.height}x{self.width}x3 uint8 frame, "
                f"got {frame_bgr.shape} {frame_bgr.dtype}"
            )
        try:
            self._process.stdin.write(np.ascontiguousarray(frame_bgr).tobytes())
        except (BrokenPipeError, OSError) as exc:
            self._closed = True
            _stop(self._process)
            raise MediaError(
                "encode_failed", f"ffmpeg encoder failed: {self._drain.text()[-500:]}", 500
            ) from exc
        self.frames_written += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._process.stdin.close()
        rc = self._process.wait()
        if rc != 0:
            raise MediaError(
                "encode_failed", f"ffmpeg encoder failed: {self._drain.text()[-500:]}", 500
            )

    def abort(self) -> None:
        self._closed = True
        _stop(self._process)
        try:
            self.out_path.unlink()
        except OSError:
            pass

    def __enter__(self) -> VideoEncoder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

