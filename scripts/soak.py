"""Sustained-load check against a running stack (`make run`): keypoint analyses back to back.

    .venv/bin/python scripts/soak.py --count 2000 --burners 2

Registers a patient, sends `--count` keypoint analyses (a real PushFit push-up's keypoints) as
fast as the API takes them while `--burners` busy processes load the cores, waits until every
job has ended, then prints one JSON summary: jobs by status, error codes, elapsed time and
whether `/readyz` still answers 200. Start the stack with `RATE_LIMIT_KEYPOINTS` raised
(e.g. `10000/minute`), or the per-user limit answers 429 after 30 analyses a minute.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
TERMINAL = {"succeeded", "failed", "canceled"}


def keypoints_body(shared_data: Path) -> dict:
    frames = json.loads((shared_data / "pushfit_sample" / "correct5.json").read_text())
    return {"fps": 25, "width": 640, "height": 360, "layout": "coco17",
            "frames": [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]] for f in frames]}


def login(base: str) -> requests.Session:
    email, password = f"soak-{uuid.uuid4().hex[:10]}@example.com", uuid.uuid4().hex
    http = requests.Session()
    http.post(f"{base}/api/v1/auth/register", json={"email": email, "password": password},
              timeout=30).raise_for_status()
    token = http.post(f"{base}/api/v1/auth/token", json={"email": email, "password": password},
                      timeout=30).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--burners", type=int, default=2, help="busy-loop processes")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds to wait for all")
    parser.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()

    http = login(args.base)
    body = keypoints_body(args.shared_data)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(args.burners)]
    started = time.monotonic()
    job_ids: list[str] = []
    refused: collections.Counter = collections.Counter()
    try:
        for _ in range(args.count):
            response = http.post(f"{args.base}/api/v1/analyses", json=body, timeout=60)
            if response.status_code == 202:
                job_ids.append(response.json()["job_id"])
            else:
                refused[f"{response.status_code} {response.json().get('code')}"] += 1
        sent_s = time.monotonic() - started
        # Jobs run roughly in the order sent: wait on the oldest open one at a time.
        pending = list(job_ids)
        statuses: dict[str, dict] = {}
        while pending and time.monotonic() - started < args.timeout:
            job = http.get(f"{args.base}/api/v1/jobs/{pending[0]}", timeout=30).json()
            if job["status"] in TERMINAL:
                statuses[pending.pop(0)] = job
            else:
                time.sleep(1)
        elapsed = time.monotonic() - started
    finally:
        for burner in burners:
            burner.kill()
    by_status = collections.Counter(job["status"] for job in statuses.values())
    errors = collections.Counter((job.get("error") or {}).get("code") for job in statuses.values()
                                 if job["status"] != "succeeded")
    ready = requests.get(f"{args.base}/readyz", timeout=30).status_code
    summary = {"sent": args.count, "accepted": len(job_ids), "refused": dict(refused),
               "by_status": dict(by_status), "still_open": len(pending),
               "errors": dict(errors), "send_s": round(sent_s, 1), "elapsed_s": round(elapsed, 1),
               "jobs_per_s": round(len(statuses) / elapsed, 2), "burners": args.burners,
               "readyz_after": ready}
    print(json.dumps(summary, indent=2))
    ok = (by_status.get("succeeded", 0) == args.count and not pending and ready == 200)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
