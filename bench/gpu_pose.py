"""The pose stage on a GPU: many 720p videos at once through one GPU pose worker.

    .venv/bin/python -m bench.gpu_pose                      # on a CUDA machine: the full run
    .venv/bin/python -m bench.gpu_pose --device cpu --videos 2 --seconds 4 --threads 2  # smoke

What it runs is the production path of a `pose_gpu` worker (tasks/video.py with POSE_DEVICE=cuda):
one process, one fp16 `PoseEstimator` behind a `PoseBatcher`, and `--threads` chunk threads,
each running `detect_sequence` over `media.iter_frames` of one 10 s chunk (its own ffmpeg
decode process, frames at ANALYSIS_FPS no larger than DECODE_MAX_SIDE, enhanced, posed in
requests of POSE_BATCH frames). The videos are real footage: the PushFit push-up clips made into
a 720p30 H.264 clip (bench/video_bench.make_clip) of which each "video" is its own copy (so the
page cache is not shared by accident with another video's decode).

Figures, all from this one run and printed + written as JSON (--out):
  * pose_stage_fps: frames posed per second of wall time, decode to kept people (the stage);
  * network_fps: the fused network alone on a device-resident fp16 batch of the same shape
    (letterbox, NMS and transfers excluded), torch.cuda.synchronize() around the timed loop;
  * ratio = pose_stage_fps / network_fps (1.0: the stage runs as fast as the network);
  * preprocess+network+NMS on frames already in memory (no decode), to tell decode-bound from
    GPU-bound.
The issue's aim is pose_stage_fps >= 3000 on one H200 at imgsz 320.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench.common import ROOT, log


def _clips(out_dir: Path, videos: int, seconds: float) -> list[Path]:
    from bench.video_bench import make_clip

    first = make_clip(out_dir, seconds=seconds)
    clips = [first]
    for i in range(1, videos):
        copy = out_dir / f"video_{i:03d}.mp4"
        shutil.copyfile(first, copy)
        clips.append(copy)
    return clips


def _network_fps(estimator, shape: tuple[int, int], batch: int, seconds: float) -> float:
    import torch

    x = torch.rand((batch, 3, *shape), device=estimator.device, dtype=estimator._dtype)
    sync = torch.cuda.synchronize if estimator.device.startswith("cuda") else (lambda: None)
    with torch.inference_mode():
        for _ in range(3):
            estimator._net(x)
        sync()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            estimator._net(x)
            n += 1
        sync()
        return n * batch / (time.perf_counter() - t0)


def _stage(clips: list[Path], batcher, threads: int, chunk_s: float, fps: float,
           batch: int) -> dict:
    """Every chunk of every clip through the batcher from `threads` threads; frames/s."""
    from domain.video import media
    from domain.video.pose import detect_sequence

    info = media.probe(clips[0])
    work = [(clip, start) for clip in clips
            for start in [i * chunk_s for i in range(int(info.duration_s // chunk_s))]]
    lock = threading.Lock()
    frames = [0]
    people = [0]

    def run() -> None:
        while True:
            with lock:
                if not work:
                    return
                clip, start = work.pop()
            found, _ = detect_sequence(
                media.iter_frames(clip, fps=fps, start_s=start, duration_s=chunk_s,
                                  max_side=640, info=info),
                batcher, batch_size=batch, original_size=(info.width, info.height))
            with lock:
                frames[0] += len(found)
                people[0] += sum(len(p) > 0 for p in found)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - t0
    return {"frames": frames[0], "frames_with_people": people[0], "seconds": wall,
            "fps": frames[0] / wall, "width": info.width, "height": info.height}


def _in_memory(estimator, frames: list, batch: int, seconds: float) -> float:
    import torch

    sync = torch.cuda.synchronize if estimator.device.startswith("cuda") else (lambda: None)
    estimator.predict(frames[:batch])
    sync()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        estimator.predict(frames[:batch])
        n += batch
    sync()
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--videos", type=int, default=32, help="720p videos posed at once")
    ap.add_argument("--seconds", type=float, default=60.0, help="length of each video")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 4,
                    help="chunk threads (each with its ffmpeg decode process)")
    ap.add_argument("--fps", type=float, default=None, help="analysis rate (ANALYSIS_FPS)")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--request-batch", type=int, default=8, help="frames per chunk request")
    ap.add_argument("--max-frames", type=int, default=512, help="batcher's largest batch")
    ap.add_argument("--wait-ms", type=float, default=5.0, help="batcher's max wait")
    ap.add_argument("--network-batch", type=int, default=256)
    ap.add_argument("--out", default=str(ROOT / "bench" / "gpu_pose.json"))
    args = ap.parse_args(argv)

    import torch

    from config import settings
    from domain.video import filters, media
    from domain.video.nms_patch import ensure_torchvision_nms, import_ultralytics
    from domain.video.pose import PoseBatcher, PoseEstimator

    fps = args.fps or settings.analysis_fps
    import_ultralytics()
    nms_mode = ensure_torchvision_nms()
    estimator = PoseEstimator(imgsz=args.imgsz, backend="torch", device=args.device,
                              threads=None)
    gpu = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "none"
    log(f"gpu_pose: {estimator!r} on {args.device} ({gpu}), fp16={estimator.half}, "
        f"torchvision nms: {nms_mode}")
    tmp = Path(tempfile.mkdtemp(prefix="gpu-pose-"))
    try:
        t0 = time.perf_counter()
        clips = _clips(tmp, args.videos, args.seconds)
        log(f"gpu_pose: {len(clips)} clips of {args.seconds:.0f} s 720p30 in "
            f"{time.perf_counter() - t0:.1f} s")
        sample = [filters.enhance(f) for _, _, f in media.iter_frames(
            clips[0], fps=fps, duration_s=min(args.seconds, 30.0), max_side=640)]
        shape = tuple(estimator._preprocess_tensor(sample[:1]).shape[2:])
        # warm-up: cuDNN autotuning and allocator growth are not the stage's cost
        batcher = PoseBatcher(estimator, max_frames=args.max_frames,
                              max_wait_s=args.wait_ms / 1000.0)
        _stage(clips[:1], batcher, 2, 10.0, fps, args.request_batch)
        batcher.batches.clear()
        network = _network_fps(estimator, shape, args.network_batch, 5.0)
        log(f"gpu_pose: network alone {network:.0f} frames/s at {shape} "
            f"batch {args.network_batch}")
        memory = _in_memory(estimator, (sample * (args.network_batch // len(sample) + 1)),
                            args.network_batch, 5.0)
        log(f"gpu_pose: letterbox+network+NMS on frames in memory {memory:.0f} frames/s")
        stage = _stage(clips, batcher, args.threads, 10.0, fps, args.request_batch)
        batcher.close()
        sizes = [frames for _, frames in batcher.batches]
        requests = [n for n, _ in batcher.batches]
        result = {
            "device": args.device, "gpu": gpu, "torch": torch.__version__,
            "torchvision_nms": nms_mode, "fp16": estimator.half, "imgsz": args.imgsz,
            "input_shape": list(shape), "analysis_fps": fps, "videos": len(clips),
            "video_seconds": args.seconds, "threads": args.threads,
            "pose_stage_fps": stage["fps"], "network_fps": network,
            "ratio_stage_to_network": stage["fps"] / network,
            "in_memory_fps": memory, "stage": stage,
            "batches": {"count": len(sizes),
                        "frames_mean": statistics.fmean(sizes) if sizes else 0,
                        "frames_max": max(sizes, default=0),
                        "requests_mean": statistics.fmean(requests) if requests else 0},
            "target_fps": 3000, "cpu_count": os.cpu_count(),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"gpu_pose: pose stage {stage['fps']:.0f} frames/s ({stage['frames']} frames of "
        f"{len(clips)} videos in {stage['seconds']:.1f} s), network {network:.0f} frames/s, "
        f"ratio {result['ratio_stage_to_network']:.2f}")
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
