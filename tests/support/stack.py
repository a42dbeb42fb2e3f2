"""Start the real stack for end-to-end tests: Redis, migrated database, Celery workers, gunicorn.

Every part is a real process on a free port with its own temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
#: the Procfile light worker's WORKER_MAX_TASKS_PER_CHILD (plans, feedback, webhooks, maintenance)
LIGHT_MAX_TASKS_PER_CHILD = 10000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as exc:  # the thing may not be up yet
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{message} not met within {timeout}s (last: {last!r})")


@dataclass
class RedisServer:
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--dir", str(self.directory), "--logfile",
             str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis

        wait_until(lambda: redis.Redis(port=self.port).ping(), 10, message="redis up")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@dataclass
class Stack:
    """A running system. `env` is what every process of it sees."""

    #: the worker layout of the Procfile (used by the benchmarks)
    PRODUCTION_WORKERS = ("plans,feedback,webhooks,maintenance*2", "video", "pose*2")

    base_dir: Path
    database_url: str | None = None
    #: one worker process group per entry; "queues*N" runs N processes (as in the Procfile)
    worker_queues: tuple[str, ...] = ("plans,feedback,webhooks,maintenance", "video,pose")
    extra_env: dict = field(default_factory=dict)
    redis: RedisServer | None = None
    web_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    secret_key: str = field(default_factory=lambda: "e2e-" + uuid.uuid4().hex)
    preload_models: bool = False
    #: the processes' working directory (another host's: not the repository)
    workdir: Path | None = None
    #: run the migrations and data loads (False: another stack of the deployment did)
    migrate: bool = True
    #: start the web process (False: a host of workers only)
    run_web: bool = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def env(self) -> dict:
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": self.database_url or f"sqlite:///{self.base_dir / 'app.db'}",
            "REDIS_URL": self.redis.url,
            "VAR_DIR": str(self.base_dir),
            "STORAGE_DIR": str(self.base_dir / "storage"),
            "SECRET_KEY": self.secret_key,
            "YOLO_OFFLINE": "1",
            "YOLO_CONFIG_DIR": str(ROOT / "var" / "ultralytics"),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "MPLBACKEND": "Agg",
            "PYTHONUNBUFFERED": "1",
            # Tests register and log in hundreds of users from one address: limits out of the
            # way (tests/faults/test_stack_hostile_clients.py sets low ones on its own stack).
            **{f"RATE_LIMIT_{name}": "100000/minute" for name in (
                "LOGIN_PER_ACCOUNT", "LOGIN_PER_IP", "REGISTER_PER_IP", "UPLOADS", "KEYPOINTS",
                "PLANS", "WEBHOOK_TESTS")},
            "WEBHOOK_ALLOW_PRIVATE": "1",
            "MAX_UPLOAD_BYTES": str(20 * 1024 * 1024),
            "WEBHOOK_RETRY_SCHEDULE": "0,1,1,1,1",
            # Small chunks so that even short test videos fan out into a chord of pose tasks.
            "POSE_CHUNK_S": "2",
        })
        if self.workdir is not None:  # the code is imported from the repository all the same
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env.update(self.extra_env)
        return env

    def prepare(self) -> Stack:
        """Redis, the environment, and (when `migrate`) the migrated database with its data."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self.workdir is not None:
            self.workdir.mkdir(parents=True, exist_ok=True)
        if self.redis is None:
            self.redis = RedisServer(self.base_dir / "redis").start()
        env = self.env
        self._env = env
        if self.migrate:
            subprocess.run([str(BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env,
                           check=True, capture_output=True)
            for group in ("exercises", "references"):
                subprocess.run([str(BIN / "flask"), "--app", "wsgi", group, "load",
                                "--if-empty"], cwd=ROOT, env=env, check=True,
                               capture_output=True)
        return self

    def start(self) -> Stack:
        self.prepare()
        for index, entry in enumerate(self.worker_queues):
            queues, _, processes = entry.partition("*")
            self.start_worker(f"worker{index}", queues, concurrency=int(processes or 1))
        if self.run_web:
            self.start_web()
            self.wait_ready()
        return self

    def log_path(self, name: str) -> Path:
        return self.base_dir / f"{name}.log"

    def _spawn(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        with open(self.log_path(name), "ab") as log:
            process = subprocess.Popen(argv, cwd=self.workdir or ROOT, env=env or self._env,
                                       stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def start_worker(self, name: str, queues: str, concurrency: int = 1) -> subprocess.Popen:
        env = dict(self._env)
        if self.preload_models:  # as the Procfile does: load models at process start
            wanted = {"plans": "plan_scorer", "video": "classifier,form", "pose": "pose"}
            env["WORKER_MODELS"] = ",".join(models for queue, models in wanted.items()
                                            if queue in queues.split(","))
        if "plans" in queues.split(",") and "WORKER_MAX_TASKS_PER_CHILD" not in self.extra_env:
            # as the Procfile's light worker: its tasks take milliseconds, and a new pool
            # process every 200 of them spent more CPU loading the plan model than on plans
            env["WORKER_MAX_TASKS_PER_CHILD"] = str(LIGHT_MAX_TASKS_PER_CHILD)
        return self._spawn(name, [
            str(BIN / "celery"), "-A", "workers.celery_app", "worker", "-Q", queues,
            "--concurrency", str(concurrency), "--hostname", f"{name}-{uuid.uuid4().hex[:6]}@%h",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle",
        ], env=env)

    def start_beat(self) -> subprocess.Popen:
        return self._spawn("beat", [
            str(BIN / "celery"), "-A", "workers.celery_app", "beat", "--schedule",
            str(self.base_dir / "beat-schedule"), "--loglevel", "INFO",
        ])

    def start_web(self) -> subprocess.Popen:
        process = self._spawn("web", [
            str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.web_port}", "--workers", "1",
            "--threads", "8", "--worker-class", "gthread", "--timeout", "120", "wsgi:app",
        ])
        wait_until(lambda: requests.get(self.url + "/healthz", timeout=1).ok, 60,
                   message="web up")
        return process

    def wait_ready(self, timeout: float = 120) -> None:
        wait_until(lambda: requests.get(self.url + "/readyz", timeout=5).status_code == 200,
                   timeout, interval=0.5, message="readyz 200")

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def stop(self, *, redis: bool = True) -> None:
        for name in list(self.processes):
            self.stop_process(name)
        if self.redis and redis:
            self.redis.stop()

    def insert_job(self, user_id: str, kind: str, params: dict) -> str:
        """Write a job row directly (as the web layer would) and return its id."""
        from sqlalchemy import create_engine, text

        job_id = uuid.uuid4().hex
        engine = create_engine(self._env["DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO jobs (id, user_id, kind, status, progress, params, attempts, "
                "created_at) VALUES (:id, :user_id, :kind, 'queued', 0, :params, 0, "
                "CURRENT_TIMESTAMP)"), {"id": job_id, "user_id": user_id, "kind": kind,
                                        "params": json.dumps(params)})
        engine.dispose()
        return job_id

    def execute_sql(self, statement: str, params: dict | None = None) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self._env["DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(text(statement), params or {})
        engine.dispose()

    def send_task(self, name: str, *args, queue: str) -> None:
        from celery import Celery

        client = Celery(broker=self.redis.url)
        client.send_task(name, args=list(args), queue=queue)
        client.close()

    def logs(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def cleanup(self) -> None:
        shutil.rmtree(self.base_dir, ignore_errors=True)



@contextmanager
def running_stack(base_dir: Path, *, beat: bool = False, stack_class: type[Stack] = Stack,
                  **kwargs):
    """A started stack for one block; on a failed start, print each process's log tail."""
    stack = stack_class(base_dir, **kwargs)
    try:
        stack.start()
        if beat:
            stack.start_beat()
    except Exception:
        for name in list(stack.processes):
            print(f"---- {name} log ----\n{stack.logs(name)[-4000:]}")
        stack.stop()
        raise
    try:
        yield stack
    finally:
        stack.stop()


class Client:
    """A tiny HTTP client for the API with a bearer token."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        self.session = requests.Session()
        self.token = token

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {}) or {}
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base_url + path, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def register(self, email: str | None = None, password: str = "correct-horse-1") -> Client:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        response = self.post("/api/v1/auth/register", json={"email": email, "password": password})
        assert response.status_code == 201, response.text
        return self.login(email, password)

    def login(self, email: str, password: str) -> Client:
        response = self.post("/api/v1/auth/token", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        client = Client(self.base_url, response.json()["access_token"])
        client.email = email
        client.password = password
        return client

    def wait_replay(self, analysis_id: str, timeout: float = 60) -> dict:
        """The analysis once its annotated replay is stored (drawn after the job succeeded)."""
        def ready():
            body = self.get(f"/api/v1/videos/{analysis_id}").json()
            return body if body.get("annotated_url") else None

        return wait_until(ready, timeout, interval=0.2, message=f"replay of {analysis_id}")

    def wait_job(self, job_id: str, timeout: float = 120, statuses=("succeeded", "failed",
                                                                    "canceled")) -> dict:
        def done():
            body = self.get(f"/api/v1/jobs/{job_id}").json()
            return body if body.get("status") in statuses else None

        return wait_until(done, timeout, interval=0.2, message=f"job {job_id} ended")
