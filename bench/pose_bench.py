"""Pose inference benchmark (not a test): PyTorch vs ONNX Runtime, imgsz 320/640, batch 1/8.

Usage:  .venv/bin/python bench/pose_bench.py [--video PATH] [--frames 24] [--threads 1]

Frames come from a PushFit sample video (640x360) decoded at 10 fps and enhanced as in the
pipeline.  Prints one JSON object: per configuration the mean latency per frame (ms), frames/s,
and the latency of one batch call, plus the decode and enhance costs and the machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config import settings  # noqa: E402
from domain.video import filters, media  # noqa: E402
from domain.video.pose import PoseEstimator  # noqa: E402


def _bench(est: PoseEstimator, frames: list, batch: int, repeats: int) -> dict:
    est.predict(frames[:batch])  # warm-up (first call per shape allocates)
    calls: list[float] = []
    start = time.perf_counter()
    n = 0
    for _ in range(repeats):
        for i in range(0, len(frames), batch):
            chunk = frames[i : i + batch]
            t0 = time.perf_counter()
            est.predict(chunk)
            calls.append(time.perf_counter() - t0)
            n += len(chunk)
    total = time.perf_counter() - start
    calls.sort()
    return {
        "ms_per_frame": round(1000 * total / n, 2),
        "fps": round(n / total, 1),
        "ms_per_call_median": round(1000 * calls[len(calls) // 2], 2),
        "frames": n,
    }


def main() -> None:
    default_video = Path(settings.shared_data_dir) / "pushfit_sample" / "correct1.mp4"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(default_video))
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--imgsz", type=int, nargs="+", default=[320, 640])
    ap.add_argument("--backends", nargs="+", default=["torch", "onnx"])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    args = ap.parse_args()

    t0 = time.perf_counter()
    raw = [f for _, _, f in media.iter_frames(args.video, fps=10)][: args.frames]
    decode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    frames = [filters.enhance(f) for f in raw]
    enhance_s = time.perf_counter() - t0

    report: dict = {
        "video": os.path.basename(args.video),
        "frame_size": f"{raw[0].shape[1]}x{raw[0].shape[0]}",
        "frames": len(frames),
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "decode_ms_per_frame": round(1000 * decode_s / len(raw), 2),
        "enhance_ms_per_frame": round(1000 * enhance_s / len(frames), 2),
        "results": {},
    }
    for backend in args.backends:
        for imgsz in args.imgsz:
            t0 = time.perf_counter()
            est = PoseEstimator(imgsz=imgsz, backend=backend, threads=args.threads)
            load_s = time.perf_counter() - t0
            for batch in args.batches:
                key = f"{backend}/imgsz{imgsz}/batch{batch}"
                res = _bench(est, frames, batch, args.repeats)
                res["load_s"] = round(load_s, 2)
                report["results"][key] = res
                print(key, res, file=sys.stderr, flush=True)
    report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
