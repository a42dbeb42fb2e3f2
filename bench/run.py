"""Run the benchmarks and rewrite BENCHMARKS.md.

    python -m bench.run [--quick] [--only plan_warm,plan_e2e,upload_1gb,video,api_load]

Each benchmark measures its own baseline in the same run. The stack ones start one real stack
(Redis, SQLite, Celery workers, gunicorn on free ports, as tests/support/stack.py does) and stop
it at the end. Raw figures also go to bench/last_run.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from bench.common import ROOT, StackHolder, error_text, log, machine_info
from bench.results import Result

ORDER = ("plan_warm", "plan_e2e", "upload_1gb", "video", "api_load")
TITLES = {"plan_warm": "Plan generation, warm, in-process",
          "plan_e2e": "POST /plans → plan readable (real stack)",
          "upload_1gb": "Memory of the web process during a 1 GB upload",
          "video": "Video pipeline (60 s, 1280x720, 30 fps) and pose inference",
          "api_load": "API enqueue throughput and latency under load (loopback)"}
#: POSE_CHUNK_S: the deployment's chunk length (config's default, the Procfile sets none), not
#: the e2e stack's 2 s: 2-s chunks of the 720p clip each decoded from the keyframe before them
#: (one every 8.3 s), so the bench decoded the video ~3.5 times over in 30 tasks
STACK_ENV = {"MAX_UPLOAD_BYTES": str(1200 * 1024 * 1024), "POSE_CHUNK_S": "10"}


def _runner(name: str):
    if name == "plan_warm":
        from bench.plan_bench import run
        return run
    if name == "video":
        from bench.video_bench import run
        return run
    from bench import api_bench

    return {"plan_e2e": api_bench.run_plan_e2e, "upload_1gb": api_bench.run_upload,
            "api_load": api_bench.run_api_load}[name]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the benchmarks, rewrite BENCHMARKS.md")
    ap.add_argument("--quick", action="store_true", help="smaller N, ~3 minutes")
    ap.add_argument("--only", default="", help=f"comma-separated subset of {','.join(ORDER)}")
    ap.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    args = ap.parse_args(argv)
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(only) - set(ORDER))
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}; choose from {','.join(ORDER)}")
    selected = [n for n in ORDER if not only or n in only]
    skipped = [n for n in ORDER if n not in selected]

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    machine = machine_info()
    log(f"machine: {machine['cpu_model']}, {machine['cores']} cores, "
        f"load {machine['loadavg_start']}")
    holder = StackHolder(STACK_ENV)
    results: list[Result] = []
    context: dict = {}
    t_all = time.perf_counter()
    try:
        for name in selected:
            log(f"==> {name}{' (quick)' if args.quick else ''}")
            t0 = time.perf_counter()
            try:
                res = _runner(name)(stack_holder=holder, quick=args.quick, **context)
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                log(f"{name} FAILED: {error_text(exc)}")
                res = Result(name, TITLES[name], error=error_text(exc))
            res.seconds = time.perf_counter() - t0
            if name == "plan_warm" and not res.error:
                context["warm"] = res.raw["tf_function"]["generate"]
            results.append(res)
            log(f"<== {name} in {res.seconds:.0f}s")
    finally:
        holder.stop()
    total_s = time.perf_counter() - t_all
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    from bench.report import render

    command = "python -m bench.run" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    raw = {"machine": machine, "quick": args.quick,
           "results": {r.name: {"error": r.error, "seconds": r.seconds, "raw": r.raw,
                                "rows": [vars(row) for row in r.rows]} for r in results}}
    (ROOT / "bench" / "last_run.json").write_text(json.dumps(raw, indent=1, default=str),
                                                  encoding="utf-8")
    Path(args.output).write_text(render(machine, results, command, total_s, skipped),
                                 encoding="utf-8")
    log(f"wrote {args.output} ({total_s / 60:.1f} min)")
    for res in results:
        for row in res.rows:
            if row.verdict != "-":
                log(f"{res.name}: {row.figure}: {row.value} [{row.verdict}]")
        if res.error:
            log(f"{res.name}: ERROR {res.error[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
