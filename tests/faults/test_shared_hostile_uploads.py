"""A corpus of broken and adversarial uploads, generated here, against a running stack.

Every upload is refused (4xx in the contract's error shape) or accepted and then its job ends
(failed with a code, or succeeded); the workers keep running; nothing is written outside the
stack's storage, and refused uploads leave nothing behind.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import zipfile
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.faults.conftest import assert_error_shape, ffmpeg, register, storage_files
from tests.support.stack import ROOT

pytestmark = pytest.mark.faults

TERMINAL = ("succeeded", "failed", "canceled")


class Canary:
    """An HTTP server that records any request: a playlist must never make us fetch a URL."""

    def __init__(self):
        self.hits: list[str] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                canary.hits.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bomb(side: int = 30000) -> bytes:
    """A 1-bit grey PNG of side × side pixels (900 megapixels) that compresses to ~100 KB."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\0" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", body)
            + png_chunk(b"IEND", b""))


def small_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def build_corpus(tmp: Path, sample: Path, canary: Canary) -> list[tuple[str, str, bytes, str]]:
    """(label, filename, content, expectation): expectation "refuse" (must be a 4xx) or "any"
    (4xx, or accepted and then the job ends with a code or succeeds)."""
    real = sample.read_bytes()

    def made(name: str, *args: str) -> bytes:
        out = tmp / name
        ffmpeg(*args, str(out))
        return out.read_bytes()

    faststart = made("faststart.mp4", "-i", str(sample), "-c", "copy", "-movflags", "+faststart")
    lavfi = ("-f", "lavfi", "-i")
    x264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    meta = tmp / "meta.txt"
    meta.write_text(";FFMETADATA1\ncomment=" + "A" * (1024 * 1024) + "\n")
    corpus = [
        ("zero bytes", "empty.mp4", b"", "refuse"),
        ("first 8 bytes", "head.mp4", real[:8], "refuse"),
        ("random bytes", "noise.mp4", os.urandom(50_000), "refuse"),
        ("ftyp box then garbage", "ftyp.mp4", real[:32] + os.urandom(20_000), "refuse"),
        ("text named .mov", "notes.mov", b"just some text\n" * 100, "refuse"),
        ("HTML named .mp4", "page.mp4",
         b"<!doctype html><html><body><script>alert(1)</script></body></html>", "refuse"),
        ("SVG named .png", "image.png",
         b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
         b'<image href="file:///etc/passwd"/></svg>', "refuse"),
        ("zip named .mp4", "archive.mp4", zip_of(real), "refuse"),
        ("HLS playlist (.m3u8) to a URL", "list.m3u8",
         f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{canary.url}/seg.ts\n"
         "#EXT-X-ENDLIST\n".encode(), "refuse"),
        ("HLS playlist named .mp4 to a file", "list.mp4",
         f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{sample}\n#EXTINF:10,\n"
         f"{canary.url}/b.ts\n#EXT-X-ENDLIST\n".encode(), "refuse"),
        ("ffconcat script named .mp4", "concat.mp4",
         f"ffconcat version 1.0\nfile '{sample}'\nfile '{canary.url}/c.mp4'\n".encode(),
         "refuse"),
        ("PNG decompression bomb (900 MP)", "bomb.png", png_bomb(), "refuse"),
        ("8000x8000 video", "huge.mp4",
         made("huge.mp4", *lavfi, "color=c=blue:s=8000x8000:d=0.2:r=5", *x264), "refuse"),
        ("audio only", "tone.mp4",
         made("tone.m4a", *lavfi, "sine=frequency=440:duration=1", "-c:a", "aac"), "refuse"),
        ("1/1000 fps for 3000 s", "slow.mp4",
         made("slow.mp4", *lavfi, "testsrc=size=64x64:rate=1/1000:duration=3000", *x264),
         "any"),
    ]
    for fraction in (0.05, 0.5, 0.9, 0.99):
        corpus.append((f"moov-last mp4 cut at {fraction}", f"cut{fraction}.mp4",
                       real[: int(len(real) * fraction)], "refuse"))
    for fraction in (0.1, 0.4, 0.8):
        corpus.append((f"faststart mp4 cut at {fraction}", f"fcut{fraction}.mp4",
                       faststart[: int(len(faststart) * fraction)], "any"))
    corpus += [
        ("PNG named .mp4", "photo.mp4", small_png(), "any"),
        ("mp4 named .png", "clip.png", real, "any"),
        ("16000x16 video", "wide.mp4",
         made("wide.mp4", *lavfi, "color=c=red:s=16000x16:d=0.2:r=5", *x264), "any"),
        ("16x4000 video", "tall.mp4",
         made("tall.mp4", *lavfi, "color=c=red:s=16x4000:d=0.2:r=5", *x264), "any"),
        ("1000 fps", "fast.mp4",
         made("fast.mp4", *lavfi, "testsrc=size=64x64:rate=1000:duration=0.5", *x264), "any"),
        ("one frame", "one.mp4",
         made("one.mp4", *lavfi, "testsrc=size=160x120:rate=25", "-frames:v", "1", *x264),
         "any"),
        ("1 MB of metadata", "meta.mp4",
         made("meta.mp4", "-i", str(sample), "-i", str(meta), "-map_metadata", "1",
              "-c", "copy"), "any"),
        ("animated GIF", "anim.gif",
         made("anim.gif", *lavfi, "testsrc=size=64x64:rate=5:duration=1"), "any"),
        ("VP8 webm", "tiny.webm",
         made("tiny.webm", *lavfi, "testsrc=size=64x64:rate=5:duration=1", "-c:v", "libvpx"),
         "any"),
        ("MPEG-4 part 2 in mkv", "old.mkv",
         made("old.mkv", *lavfi, "testsrc=size=64x64:rate=5:duration=1", "-c:v", "mpeg4"),
         "any"),
        ("path traversal name", "../../etc/passwd.mp4", real, "any"),
        ("absolute path name", "/tmp/faults-escape.mp4", real, "any"),
        ("backslash traversal name", "..\\..\\..\\windows\\evil.mp4", real, "any"),
        ("right-to-left override name", "clip\u202egnp.mp4", real, "any"),
        ("emoji and combining marks name", "\U0001f4aa\u0301 r\u00e9p\u00e9tition.mp4", real,
         "any"),
        ("5000-character name", "a" * 5000 + ".mp4", real, "any"),
        ("no extension", "video", real, "any"),
        ("dot names", "....mp4", real, "any"),
    ]
    return corpus


def zip_of(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("clip.mp4", data)
    return buffer.getvalue()


def outside_files(stack) -> set[Path]:
    """Files of the stack's directory outside storage that uploads could have written."""
    ignored = {"app.db", "app.db-wal", "app.db-shm", "app.db-journal"}
    return {p for p in stack.base_dir.rglob("*") if p.is_file()
            and "storage" not in p.relative_to(stack.base_dir).parts
            and p.suffix != ".log" and p.name not in ignored
            and not p.name.startswith("beat-schedule")
            and "redis" not in p.relative_to(stack.base_dir).parts
            and p.relative_to(stack.base_dir).parts[0] != "models"}  # the workers' model cache


def test_hostile_upload_corpus(shared_stack, shared_data, tmp_path):
    stack = shared_stack
    canary = Canary()
    sample = shared_data / "pushfit_sample" / "correct1.mp4"
    corpus = build_corpus(tmp_path, sample, canary)
    assert len(corpus) >= 30
    patient = register(stack)
    before_outside = outside_files(stack)
    before_storage = set(storage_files(stack))

    outcomes, accepted = {}, {}
    for label, filename, content, expectation in corpus:
        response = patient.post("/api/v1/videos", files={"file": (filename, content)},
                                timeout=120)
        outcomes[label] = response.status_code
        assert response.status_code < 500, (label, response.status_code, response.text[:500])
        if response.status_code == 202:
            assert expectation == "any", f"{label}: accepted, must be refused"
            accepted[label] = response.json()
        else:
            assert 400 <= response.status_code < 500, (label, response.status_code)
            assert_error_shape(response)
        # A refused upload leaves nothing; an accepted one only its own analysis directory.
        assert storage_files(stack, "incoming") == [], label

    failures, problems = {}, []
    for label, body in accepted.items():
        job = patient.wait_job(body["job_id"], timeout=180)
        assert job["status"] in ("succeeded", "failed"), (label, job)
        if job["status"] == "failed":
            assert job["error"] and job["error"]["code"] and job["error"]["message"], (label, job)
            failures[label] = job["error"]["code"]
            if job["error"]["code"] == "internal_error":  # a crash, not a reason
                problems.append((label, job["error"]))
        video = patient.get(f"/api/v1/videos/{body['id']}")
        assert video.status_code == 200
        name = video.json()["original_filename"] or ""
        assert "/" not in name and "\\" not in name, (label, name)
    print("\noutcomes:", outcomes, "\nfailed jobs:", failures)

    # Workers and web still up; a normal video afterwards still succeeds.
    for name, process in stack.processes.items():
        assert process.poll() is None, f"{name} died:\n{stack.logs(name)[-3000:]}"
    normal = patient.post("/api/v1/videos", files={"file": ("ok.mp4", sample.read_bytes())})
    assert normal.status_code == 202
    assert patient.wait_job(normal.json()["job_id"], timeout=180)["status"] == "succeeded"
    accepted["normal"] = normal.json()

    # Nothing escaped storage: every new file lies in an accepted analysis' own directory.
    users = stack.base_dir / "storage" / "users" / patient.user_id / "analyses"
    allowed = {users / body["id"] for body in accepted.values()}
    for path in set(storage_files(stack)) - before_storage:
        assert any(d in path.parents for d in allowed), f"unexpected file {path}"
    assert outside_files(stack) - before_outside == set()
    for escaped in (Path("/etc/passwd.mp4"), Path("/tmp/faults-escape.mp4"),
                    ROOT / "etc" / "passwd.mp4", stack.base_dir / "etc",
                    stack.base_dir.parent / "etc"):
        assert not escaped.exists(), escaped
    assert canary.hits == [], f"a playlist made the server fetch URLs: {canary.hits}"
    canary.server.shutdown()
    assert requests.get(stack.url + "/readyz", timeout=10).status_code == 200
    assert not problems, f"accepted uploads whose job crashed instead of failing with a code: " \
        f"{problems}"
