"""2. POST /plans -> plan readable; 3. enqueue throughput under load; 4. 1 GB upload memory."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import threading
import time
import uuid
from contextlib import contextmanager
from urllib.parse import urlparse

from bench.common import MB, RssSampler, log, summary_ms
from bench.results import Result, mb, ms

PROFILE = {"sex": "female", "age": 34, "height_cm": 168, "weight_kg": 64,
           "fitness_level": "intermediate", "injury": "meniscus", "equipment": ["dumbbells"],
           "workouts_per_week": 3}
TARGET_PLAN_P95_MS = 500.0
#: issue 13: POST /plans enqueued at this fixed rate (open loop) with p99 at most this
TARGET_ENQUEUE_RATE = 200.0
TARGET_ENQUEUE_P99_MS = 50.0
UPLOAD_GROWTH_LIMIT = 100 * MB
#: seconds a freshly started stack is left alone before it is measured
STACK_SETTLE_S = 30.0



def _send(conn, parsed, method, path, body, headers):
    """One request read to the end on a keep-alive connection: (connection to use next, status),
    status None on a transport error (the connection is then replaced)."""
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
        return conn, response.status
    except (OSError, http.client.HTTPException):
        conn.close()
        return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30), None

def _users(stack, count: int) -> list:
    from tests.support.stack import Client

    anon = Client(stack.url)
    users = []
    for _ in range(count):
        user = anon.register()
        assert user.put("/api/v1/profile", json=PROFILE).status_code == 200
        users.append(user)
    return users


def _iso(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# ----------------------------------------------------------------------------- 2.


def _one_plan(user, poll: float = 0.01, timeout: float = 60.0) -> dict:
    t0 = time.perf_counter()
    response = user.post("/api/v1/plans")
    t_post = time.perf_counter() - t0
    if response.status_code != 202:
        raise RuntimeError(f"POST /plans -> {response.status_code} {response.text[:200]}")
    job_id = response.json()["job_id"]
    deadline = t0 + timeout
    while True:
        job = user.get(f"/api/v1/jobs/{job_id}").json()
        if job.get("status") == "succeeded":
            break
        if job.get("status") in ("failed", "canceled"):
            raise RuntimeError(f"plan job {job.get('status')}: {job.get('error')}")
        if time.perf_counter() > deadline:
            raise TimeoutError(f"plan job {job_id} not done in {timeout}s")
        time.sleep(poll)
    plan_id = job["result"]["plan_id"]
    while user.get(f"/api/v1/plans/{plan_id}").status_code != 200:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"plan {plan_id} not readable")
        time.sleep(poll)
    total = time.perf_counter() - t0
    created, started, finished = (_iso(job.get(k)) for k in ("created_at", "started_at",
                                                              "finished_at"))
    out = {"total": total, "post": t_post}
    if created and started and finished:
        out["queue_wait"] = (started - created).total_seconds()
        out["run"] = (finished - started).total_seconds()
    return out


def _plan_round(users, per_user: int, parallel: bool) -> list[dict]:
    samples: list[dict] = []
    errors: list[str] = []
    lock = threading.Lock()

    def drive(user):
        for _ in range(per_user):
            try:
                s = _one_plan(user)
            except Exception as exc:
                with lock:
                    errors.append(repr(exc))
                continue
            with lock:
                samples.append(s)

    if parallel:
        threads = [threading.Thread(target=drive, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for u in users:
            drive(u)
    if errors:
        raise RuntimeError(f"{len(errors)} plan requests failed, first: {errors[0]}")
    return samples


def run_plan_e2e(stack_holder, quick: bool = False, warm: dict | None = None, **_) -> Result:
    res = Result("plan_e2e", "POST /plans → plan readable (real stack)")
    from bench.common import procfile_web_args

    n_users, per_user = (2, 10) if quick else (3, 40)
    web = " ".join(procfile_web_args())
    res.method = (
        f"{n_users} users, each {per_user} sequential POST /api/v1/plans; the clock runs from "
        "sending the POST until the job reads `succeeded` and GET /plans/{id} answers 200 "
        "(both polled every 10 ms). Run twice: users one after another (no concurrency) and "
        f"the {n_users} users at once. Stack with the Procfile's worker layout (gunicorn "
        f"{web}, 2 Celery processes for plans/feedback/webhooks, SQLite). "
        "Queue wait and run time come from the "
        "job's created/started/finished timestamps. Baseline: the in-process generate_plan p50 "
        "of benchmark 1 (the floor the HTTP + queue path adds to).")
    stack = stack_holder.get()
    users = _users(stack, n_users)
    _one_plan(users[0])  # warm-up: the worker loads the plan model on first use
    _one_plan(users[0])
    seq = _plan_round(users, per_user, parallel=False)
    par = _plan_round(users, per_user, parallel=True)
    base = "-"
    if warm and warm.get("p50") is not None:
        base = f"{ms(warm['p50'])} (in-process)"
    for label, samples in (("sequential", seq), (f"{n_users} users at once", par)):
        total = summary_ms([s["total"] for s in samples])
        log(f"plan_e2e {label}: p50 {total['p50']:.0f} p95 {total['p95']:.0f} "
            f"p99 {total['p99']:.0f} ms (n={total['n']})")
        res.add(f"{label}: p50", ms(total["p50"]), base)
        res.add(f"{label}: p95", ms(total["p95"]), base, f"≤ {TARGET_PLAN_P95_MS:.0f} ms",
                total["p95"] <= TARGET_PLAN_P95_MS)
        res.add(f"{label}: p99", ms(total["p99"]), base)
        parts = []
        for key, name in (("post", "POST answer"), ("queue_wait", "queue wait"),
                          ("run", "task run")):
            vals = [s[key] for s in samples if key in s]
            if vals:
                parts.append(f"{name} p50 {summary_ms(vals)['p50']:.0f} ms")
        res.notes.append(f"{label} (n={total['n']}): " + ", ".join(parts) + ".")
        res.raw[label] = {"total": total}
    return res


# ----------------------------------------------------------------------------- 3.


def _load(url: str, method: str, path: str, headers_for, body: bytes | None, seconds: float,
          clients: int) -> dict:
    parsed = urlparse(url)
    stop_at = time.monotonic() + seconds
    lat: list[float] = []
    statuses: dict[int, int] = {}
    errors = [0]
    lock = threading.Lock()

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        mine, codes, errs = [], {}, 0
        headers = headers_for(index)
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            conn, status = _send(conn, parsed, method, path, body, headers)
            if status is None:
                errs += 1
                continue
            mine.append(time.perf_counter() - t0)
            codes[status] = codes.get(status, 0) + 1
        conn.close()
        with lock:
            lat.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v
            errors[0] += errs

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    out = summary_ms(lat)
    out.update({"rps": len(lat) / elapsed, "statuses": statuses, "errors": errors[0],
                "seconds": elapsed})
    return out


def _open_loop(url: str, method: str, path: str, headers_for, body: bytes | None,
               seconds: float, rate: float, senders: int = 64) -> dict:
    """Requests scheduled at a fixed rate whatever the answers (request i at t0 + i / rate);
    `senders` threads with keep-alive connections take the next scheduled request. Latency runs
    from the scheduled time, so a request that waited for a free sender (the server being
    slow) counts that wait: no coordinated omission."""
    parsed = urlparse(url)
    total = int(seconds * rate)
    lat: list[float] = []
    statuses: dict[int, int] = {}
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(total))
    late = [0]
    t0 = time.perf_counter() + 0.2  # every sender connected before the first slot

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        mine, codes, errs, behind = [], {}, 0, 0
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            scheduled = t0 + i / rate
            wait = scheduled - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            elif wait < -0.001:
                behind += 1
            conn, status = _send(conn, parsed, method, path, body, headers_for(i))
            if status is None:
                errs += 1
                continue
            mine.append(time.perf_counter() - scheduled)
            codes[status] = codes.get(status, 0) + 1
        conn.close()
        with lock:
            lat.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v
            errors[0] += errs
            late[0] += behind

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    out = summary_ms(lat)
    out.update({"rps": len(lat) / elapsed, "statuses": statuses, "errors": errors[0],
                "seconds": elapsed, "scheduled": total, "rate": rate, "senders": senders,
                "sent_late": late[0]})
    return out


def run_api_load(stack_holder, quick: bool = False, **_) -> Result:
    res = Result("api_load", "API enqueue throughput and latency under load (loopback)")
    seconds = 5.0 if quick else 15.0
    clients = 16
    stack = stack_holder.get()
    users = _users(stack, 8)
    from bench.common import procfile_web_args

    web = " ".join(procfile_web_args())
    res.method = (
        f"Gunicorn as in the Procfile ({web}). Open loop (the target's terms): POST "
        f"/api/v1/plans sent at a fixed {TARGET_ENQUEUE_RATE:.0f} requests/s for "
        f"{seconds:.0f} s whatever the answers (request i at t0 + i/rate, 64 sender threads "
        "with keep-alive connections), latency from each request's scheduled time to its "
        "answer read in full (a request that waited for a free sender counts the wait). "
        f"Closed loop (throughput): {clients} threads send back to back for {seconds:.0f} s; "
        f"a closed loop's p99 cannot be under its mean latency {clients}/throughput, so its "
        "latencies are not the target's. Enqueue: 8 users with profiles, round-robin; every "
        "request writes a job row and publishes a Celery task. Baseline: GET /healthz under "
        "the same load. The generator shares the 2 cores with gunicorn and the workers. Both loops "
        "run first on SQLite (`make run`'s database); the open loop then runs again on a new "
        "stack whose database is this machine's PostgreSQL (the several-host deployment's), "
        "after the first stack was stopped. Each open loop of POSTs runs twice: with the "
        "plan workers generating the plans it enqueues (200 plans/s on the same 2 cores), "
        "then with them paused (Celery `cancel_consumer` on the plans queue; the jobs wait "
        "in Redis and are purged after): the API's enqueue path alone.")
    auth = [{"Authorization": f"Bearer {u.token}", "Content-Length": "0"} for u in users]
    log(f"api_load: GET /healthz, {clients} clients, {seconds:.0f}s")
    health = _load(stack.url, "GET", "/healthz", lambda i: {}, None, seconds, clients)
    log(f"api_load: healthz {health['rps']:.0f} req/s p99 {health['p99']:.0f} ms")
    log(f"api_load: POST /api/v1/plans, {clients} clients, {seconds:.0f}s")
    post = _load(stack.url, "POST", "/api/v1/plans", lambda i: auth[i % len(auth)], b"",
                 seconds, clients)
    log(f"api_load: POST /plans {post['rps']:.0f} req/s p99 {post['p99']:.0f} ms "
        f"statuses {post['statuses']}")
    _purge_queues(stack)
    post_open, health_open, alone = _open_loop_round(stack, users, seconds)
    _open_loop_rows(res, "", post_open, health_open, alone)
    ok = post["statuses"].get(202, 0)
    res.add(f"closed loop, {clients} clients: POST /plans requests/s (202 only)",
            f"{ok / post['seconds']:.0f}/s",
            f"{health['rps']:.0f}/s (healthz)")
    res.add(f"closed loop, {clients} clients: POST /plans p50", ms(post["p50"]),
            ms(health["p50"]))
    res.add(f"closed loop, {clients} clients: POST /plans p99", ms(post["p99"]),
            ms(health["p99"]))
    res.add("non-202 answers / transport errors",
            f"{sum(v for k, v in post['statuses'].items() if k != 202)} / {post['errors']}",
            f"{sum(v for k, v in health['statuses'].items() if k != 200)} / "
            f"{health['errors']}")
    res.notes.append(f"status counts: POST {post['statuses']}, healthz {health['statuses']}; "
                     "the queued plan jobs were purged from Redis afterwards.")
    res.raw = {"post_plans": post, "healthz": health, "clients": clients, "seconds": seconds,
               "open_loop": {"post_plans": post_open, "healthz": health_open,
                             "post_plans_workers_paused": alone}}
    stack_holder.stop()  # its workers would compete with the next stack's for the 2 cores
    res.raw["open_loop_postgresql"] = _postgresql_round(res, stack_holder.extra_env, seconds)
    return res


def _open_loop_round(stack, users, seconds: float) -> tuple[dict, dict, dict | None]:
    """GET /healthz, then POST /plans, each at the target's fixed rate (open loop); then POST
    /plans again with the plan workers not taking jobs (the API's enqueue path alone)."""
    auth = [{"Authorization": f"Bearer {u.token}", "Content-Length": "0"} for u in users]
    log(f"api_load: open loop, POST /api/v1/plans at {TARGET_ENQUEUE_RATE:.0f}/s, "
        f"{seconds:.0f}s")
    health_open = _open_loop(stack.url, "GET", "/healthz", lambda i: {}, None, seconds,
                             TARGET_ENQUEUE_RATE)

    def post_round(label: str) -> dict:
        result = _open_loop(stack.url, "POST", "/api/v1/plans",
                            lambda i: auth[i % len(auth)], b"", seconds, TARGET_ENQUEUE_RATE)
        log(f"api_load: open loop POST /plans ({label}) {result['rps']:.0f} req/s p50 "
            f"{result['p50']:.0f} ms p99 {result['p99']:.0f} ms, statuses "
            f"{result['statuses']}, sent late {result['sent_late']}")
        _purge_queues(stack)
        return result

    post_open = post_round("plan workers generating")
    alone = None
    try:
        with _plans_paused(stack):
            alone = post_round("plan workers paused")
    except Exception as exc:  # remote control unanswered: the first round stands alone
        log(f"api_load: could not pause the plan workers: {exc!r}")
    return post_open, health_open, alone


@contextmanager
def _plans_paused(stack):
    """The workers that consume the `plans` queue stop taking its messages (Celery remote
    control: cancel_consumer) and take them again afterwards (add_consumer): the jobs the
    requests enqueue wait in Redis, so the requests alone share the cores."""
    from celery import Celery

    client = Celery()
    client.config_from_object("celery_config")  # the workers' settings (a bare app's
    client.conf.broker_url = stack.redis.url     # broadcasts went unanswered)
    control = client.control
    try:
        queues = control.inspect(timeout=2.0).active_queues() or {}
        hosts = [host for host, active in queues.items()
                 if any(queue.get("name") == "plans" for queue in active)]
        if not hosts:
            raise RuntimeError("no worker answered as a consumer of the plans queue")
        control.cancel_consumer("plans", destination=hosts, reply=True, timeout=5.0)
        time.sleep(1.0)  # the jobs they had already taken finish
        try:
            yield
        finally:
            control.add_consumer("plans", destination=hosts, reply=True, timeout=5.0)
    finally:
        client.close()  # its broker connections (as Stack.send_task closes its client)


def _open_loop_rows(res: Result, database: str, post_open: dict, health_open: dict,
                    alone: dict | None) -> None:
    prefix = f"{database + ': ' if database else ''}open loop at {TARGET_ENQUEUE_RATE:.0f}/s"
    rounds = [(prefix, post_open)]
    if alone is not None:
        rounds.append((f"{prefix}, plan workers paused", alone))
    for label, post in rounds:
        ok = post["statuses"].get(202, 0)
        res.add(f"{label}: POST /plans answered 202 per s", f"{ok / post['seconds']:.0f}/s",
                f"{health_open['rps']:.0f}/s (healthz, same rate)",
                f"{TARGET_ENQUEUE_RATE:.0f}/s (≥ 98% of it)",
                ok / post["seconds"] >= 0.98 * TARGET_ENQUEUE_RATE and post["errors"] == 0)
        res.add(f"{label}: POST /plans p50", ms(post["p50"]), ms(health_open["p50"]))
        res.add(f"{label}: POST /plans p99", ms(post["p99"]), ms(health_open["p99"]),
                f"≤ {TARGET_ENQUEUE_P99_MS:.0f} ms", post["p99"] <= TARGET_ENQUEUE_P99_MS)
        res.notes.append(
            f"{label}: {post['scheduled']} POSTs scheduled, statuses {post['statuses']}, "
            f"transport errors {post['errors']}, {post['sent_late']} sent more than 1 ms after "
            f"their slot (all senders busy); healthz at the same rate: p99 "
            f"{health_open['p99']:.1f} ms.")


def _postgresql_round(res: Result, extra_env: dict, seconds: float) -> dict | None:
    """The same open loop on a stack whose database is PostgreSQL (the several-host
    deployment's database; SQLite, `make run`'s default, lets one writer in at a time)."""
    from bench.common import StackHolder, postgres_database

    try:
        with postgres_database() as url:
            holder = StackHolder(extra_env, database_url=url)
            try:
                stack = holder.get()
                users = _users(stack, 8)
                # the new stack's workers load their models after they report ready: let them
                # finish (the SQLite stack had been up for the whole run before its round)
                time.sleep(STACK_SETTLE_S)
                post_open, health_open, alone = _open_loop_round(stack, users, seconds)
            finally:
                holder.stop()
    except Exception as exc:  # no PostgreSQL server here: the SQLite figures stand alone
        log(f"api_load: PostgreSQL round skipped: {exc!r}")
        res.notes.append(f"PostgreSQL round not run: {exc!r}")
        return None
    _open_loop_rows(res, "PostgreSQL", post_open, health_open, alone)
    return {"post_plans": post_open, "healthz": health_open, "post_plans_workers_paused": alone}


def _purge_queues(stack) -> None:
    try:
        import redis

        client = redis.Redis.from_url(stack.redis.url)
        for key in client.scan_iter("plans*"):
            client.delete(key)
    except Exception as exc:  # purging is hygiene only
        log(f"api_load: could not purge the plans queue: {exc!r}")


# ----------------------------------------------------------------------------- 4.


def _stream_multipart(url: str, token: str, size: int, chunk: int = MB) -> tuple[int, float, str]:
    parsed = urlparse(url)
    boundary = "bench" + uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.mp4\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=600)
    conn.putrequest("POST", "/api/v1/videos")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    block = os.urandom(chunk)  # garbage bytes; one block reused, never the whole body
    t0 = time.perf_counter()
    conn.send(head)
    sent = 0
    while sent < size:
        piece = block if size - sent >= chunk else block[: size - sent]
        conn.send(piece)
        sent += len(piece)
    conn.send(tail)
    response = conn.getresponse()
    body = response.read().decode(errors="replace")
    elapsed = time.perf_counter() - t0
    conn.close()
    return response.status, elapsed, body[:200]


def run_upload(stack_holder, quick: bool = False, **_) -> Result:
    res = Result("upload_1gb", "Memory of the web process during a 1 GB upload")
    size = (256 if quick else 1024) * MB
    res.method = (
        f"A {size // MB} MB multipart body (garbage bytes, generated 1 MB at a time, never "
        "held whole) is streamed with http.client to POST /api/v1/videos on a stack started "
        "with MAX_UPLOAD_BYTES=1.2 GB; the RSS of the gunicorn process tree (arbiter + worker) "
        "is sampled every 50 ms with psutil. Baseline: the tree's RSS just before the upload "
        "(after a 4 MB warm-up upload, so first-request imports are not counted). "
        "The server refuses the garbage with 415 after it has been streamed to disk.")
    stack = stack_holder.get()
    user = _users(stack, 1)[0]
    pid = stack.processes["web"].pid
    # Warm-up: a small upload of the same kind first, so that the lazy imports and buffers of
    # the first upload request are in the baseline and only size-dependent growth remains.
    _stream_multipart(stack.url, user.token, 4 * MB)
    with RssSampler({"web": pid}, interval=0.05) as sampler:
        time.sleep(0.5)
        baseline = max(sampler.samples["web"])
        log(f"upload_1gb: streaming {size // MB} MB, baseline RSS {baseline / MB:.0f} MB")
        status, elapsed, body = _stream_multipart(stack.url, user.token, size)
        time.sleep(0.3)
    peak = sampler.peak("web")
    after = sampler.samples["web"][-1] if sampler.samples["web"] else 0
    growth = peak - baseline
    log(f"upload_1gb: status {status}, {size / MB / elapsed:.0f} MB/s, peak RSS "
        f"{peak / MB:.0f} MB (+{growth / MB:.0f} MB)")
    res.add("gunicorn tree peak RSS", mb(peak), mb(baseline) + " (before)")
    res.add("peak − baseline", mb(growth), "-", f"< {UPLOAD_GROWTH_LIMIT // MB} MB",
            growth < UPLOAD_GROWTH_LIMIT)
    res.add("gunicorn tree RSS after the answer", mb(after), mb(baseline) + " (before)")
    res.add("largest single process in the tree, peak", mb(sampler.single_max["web"]))
    res.add("upload throughput", f"{size / MB / elapsed:.0f} MB/s")
    res.add("answer", f"{status}", "-", "415 (refused after streaming)",
            status in (415, 422))
    res.notes.append(f"answer body: {body!r}; {len(sampler.samples['web'])} RSS samples. "
                     "The tree includes short-lived children (ffprobe, run on the upload once "
                     "it is complete), so the peak can hold one of those.")
    res.raw = {"status": status, "seconds": elapsed, "baseline": baseline, "peak": peak,
               "bytes": size, "body": json.dumps(body)}
    return res
