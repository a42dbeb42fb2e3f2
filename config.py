"""Settings read from the environment, with defaults that work out of the box.

Every process (web, workers, CLI, tests) reads its configuration here and nowhere else.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from domain.webhooks.schedule import DEFAULT_RETRY_SCHEDULE

PROJECT_ROOT = Path(__file__).resolve().parent
#: the key the test suite signs with; public (it is in this file), so refused everywhere else
DEVELOPMENT_SECRET_KEY = "dev-secret-change-me-in-production-0123456789"
#: keys printed in this project's source or history: never accepted outside the test suite
PUBLIC_SECRET_KEYS = frozenset({DEVELOPMENT_SECRET_KEY})
#: the test suite's explicit opt-in to the public development key (tests/conftest.py sets it)
ALLOW_DEVELOPMENT_KEY_ENV = "ALLOW_DEVELOPMENT_SECRET_KEY"
#: where a key generated on first start is kept (owner-only), under VAR_DIR
SECRET_KEY_FILE = "secret_key"
MIN_SECRET_KEY_LENGTH = 32


class InsecureSecretKeyError(RuntimeError):
    """The configured signing key is public or unusable: the process refuses to start."""


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return _truthy(value)


def _generated_secret_key(var_dir: Path) -> str:
    """The key kept in ``var_dir/secret_key``: made once (random, mode 0600), then reused.

    Concurrent first starts agree on one key: each writes a private temporary file and links it
    into place; the link fails for all but the first, and everyone reads the winner's key.
    """
    path = var_dir / SECRET_KEY_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        tmp = var_dir / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (secrets.token_urlsafe(48) + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    if path.stat().st_mode & 0o077:  # readable by others: tighten it (we own it) or refuse
        try:
            os.chmod(path, 0o600)
        except OSError as exc:
            raise InsecureSecretKeyError(
                f"{path} is readable by other users and cannot be made private ({exc}); "
                "fix its permissions (chmod 600) or set SECRET_KEY") from None
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_SECRET_KEY_LENGTH or key in PUBLIC_SECRET_KEYS:
        raise InsecureSecretKeyError(
            f"{path} does not hold a usable key; delete it to generate a new one, "
            "or set SECRET_KEY")
    return key


def load_secret_key(var_dir: Path, environ=os.environ) -> tuple[str, str]:
    """(key, where it came from). SECRET_KEY wins; unset, a key generated once in VAR_DIR.

    A public key (one printed in this source) is refused unless the test suite opted in.
    """
    allow_public = _truthy(environ.get(ALLOW_DEVELOPMENT_KEY_ENV, ""))
    configured = environ.get("SECRET_KEY")
    if configured is not None and configured.strip():
        if configured in PUBLIC_SECRET_KEYS and not allow_public:
            raise InsecureSecretKeyError(
                "SECRET_KEY is the public development key printed in config.py: anyone could "
                "forge tokens with it. Unset SECRET_KEY (a private key is generated in "
                f"VAR_DIR/{SECRET_KEY_FILE}) or set it to a random value, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
        return configured, "SECRET_KEY"
    if allow_public:
        return DEVELOPMENT_SECRET_KEY, "development key (test suite)"
    try:
        return _generated_secret_key(var_dir), str(var_dir / SECRET_KEY_FILE)
    except OSError as exc:
        raise InsecureSecretKeyError(
            f"SECRET_KEY is unset and no key could be kept in {var_dir / SECRET_KEY_FILE} "
            f"({exc}); set SECRET_KEY or make VAR_DIR writable") from None


def _fallback_keys(environ=os.environ) -> tuple[str, ...]:
    """SECRET_KEY_FALLBACKS: comma-separated earlier keys (public ones are dropped)."""
    keys = (k.strip() for k in environ.get("SECRET_KEY_FALLBACKS", "").split(","))
    return tuple(k for k in keys if k and k not in PUBLIC_SECRET_KEYS)


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    redis_url: str
    storage_dir: Path
    shared_data_dir: Path
    artifacts_dir: Path
    secret_key: str
    #: older keys still accepted for decrypting data at rest (webhook secrets) after a change
    secret_key_fallbacks: tuple[str, ...]
    #: where secret_key came from: "SECRET_KEY", the generated key file, or the test key
    secret_key_source: str
    token_ttl_s: int
    max_upload_bytes: int
    max_json_bytes: int
    max_video_seconds: float
    max_video_pixels: int
    plan_model_version: str
    classifier_version: str
    form_model_version: str
    pose_imgsz: int
    pose_backend: str
    analysis_fps: float
    angle_threshold_deg: float
    webhook_timeout_s: float
    webhook_retry_schedule_s: tuple[float, ...]
    webhook_allow_private: bool
    job_deadline_s: int
    #: a worker pool process is replaced after this many tasks (bounds slow leaks)
    worker_max_tasks_per_child: int = 200
    #: how long a new pool process may take to report ready before Celery kills it
    worker_proc_alive_timeout_s: float = 60.0
    #: CPU niceness of worker processes (0-19): where they share cores with the web process,
    #: API requests go first and the jobs take the CPU the requests leave
    worker_nice: int = 10
    #: a job whose worker process died this many times under it fails (`worker_lost`)
    max_worker_losses: int = 3
    #: test-only fault hooks (a job can ask its worker process to die); never set in production
    fault_injection: bool = False
    #: original uploads (and their annotated renderings) are removed this many days after the
    #: upload; keypoints and results stay. 0 keeps them until the analysis is deleted.
    video_retention_days: float = 30.0
    #: a data export zip can be downloaded for this long, then it is removed
    export_ttl_hours: float = 72.0
    #: rate limits (flask-limiter notation, ";" between several; moving windows in Redis)
    #: login: per account (whatever the address) and per client address (whatever the account)
    rate_limit_login_per_account: str = "10/minute;50/hour"
    rate_limit_login_per_ip: str = "60/minute;600/hour"
    rate_limit_register_per_ip: str = "20/minute;200/hour"
    #: per user: video uploads, keypoint analyses, plan generation, webhook test events
    rate_limit_uploads: str = "10/minute;100/hour"
    rate_limit_keypoints: str = "30/minute;300/hour"
    rate_limit_plans: str = "5/minute;30/hour"
    rate_limit_webhook_tests: str = "5/minute;30/hour"
    #: how many reverse proxies in front of gunicorn append to X-Forwarded-For (0: none, the
    #: peer address is the client's); the per-address login limit keys on that client address
    trusted_proxy_hops: int = 0
    #: where stored files live (infra/storage.py): "local" (the folder STORAGE_DIR) or "s3"
    storage_backend: str = "local"
    #: STORAGE_URL as given: empty (STORAGE_DIR), file:///path, or s3://bucket/prefix
    storage_url: str = ""
    #: S3-compatible server (MinIO, Ceph...); empty: AWS S3 itself
    s3_endpoint_url: str = ""
    #: the endpoint presigned download URLs name, when clients reach the store by another
    #: address than the workers (empty: s3_endpoint_url)
    s3_public_endpoint_url: str = ""
    #: credentials; empty: botocore's own chain (AWS_* variables, instance role...)
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_region: str = "us-east-1"
    #: this host's working folder: uploads being received, copies fetched from object storage
    scratch_dir: Path = Path("var/scratch")
    #: copies fetched from object storage are kept (least recently used first out) up to this
    scratch_cache_bytes: int = 10 * 1024**3
    #: lifetime of a presigned download URL (object storage only)
    download_url_ttl_s: int = 900
    #: the beat lock in Redis expires this long after its holder stopped renewing it
    beat_lock_timeout_s: float = 30.0
    #: the most bytes of uploaded originals one user may keep stored (413 beyond it)
    storage_quota_bytes: int = 5 * 1024**3
    #: browser origins (scheme://host[:port]) allowed to call the API cross-origin; empty: none
    cors_origins: tuple[str, ...] = ()
    #: whether cross-origin requests may carry cookies (the API uses bearer tokens: off)
    cors_allow_credentials: bool = False
    #: a refresh token (rotated on every use) stays valid this long when unused
    refresh_token_ttl_s: int = 30 * 24 * 3600
    #: sweeper: a queued job not started after this long, with no message in the broker, is
    #: sent again (its message was lost: published while Redis was down, or a broker restart)
    requeue_after_s: int = 120
    #: sweeper: a running job whose heartbeat is older than this, with no message in the broker
    #: (or one a worker took this long ago and no live worker holds), is sent again
    stall_after_s: int = 300
    #: sweeper: after this many re-sends a job is failed as `job_stalled`
    max_resends: int = 3
    #: stored files younger than this are left alone by the orphan sweeper (being written)
    orphan_grace_s: int = 3600
    #: a video is split into chunks of this many seconds, posed in parallel on the pose queue
    pose_chunk_s: float = 10.0
    #: CPU threads of one pose estimator (one estimator per worker process)
    pose_threads: int = 1
    #: where the pose network runs: "cpu" (ONNX Runtime) or "cuda"/"cuda:N" (torch, fp16; pose
    #: chunks then go to the `pose_gpu` queue, which only a GPU host's worker consumes)
    pose_device: str = "cpu"
    #: a GPU pose worker waits up to this long for other videos' frames to share a batch
    pose_batch_wait_ms: float = 5.0
    #: the annotated replay's longer side in pixels (phone-sized encodes ~2x faster than 720p)
    render_max_side: int = 640
    #: ffprobe is killed after this many seconds (a hostile file must not hold a request)
    probe_timeout_s: float = 30.0
    #: beat schedule of the sweepers, in seconds
    sweep_interval_s: float = 30.0
    webhook_sweep_interval_s: float = 15.0
    retention_interval_s: float = 3600.0
    extra: dict = field(default_factory=dict)


def _storage_settings(var_dir: Path, environ=os.environ) -> dict:
    """STORAGE_BACKEND and STORAGE_URL, checked together; S3 endpoint and credentials."""
    url = environ.get("STORAGE_URL", "").strip()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if url and scheme not in ("file", "s3"):
        raise ValueError(f"STORAGE_URL must be file:///path or s3://bucket/prefix, not {url!r}")
    backend = environ.get("STORAGE_BACKEND", "").strip().lower() or (
        "s3" if scheme == "s3" else "local")
    if backend not in ("local", "s3"):
        raise ValueError(f"STORAGE_BACKEND must be local or s3, not {backend!r}")
    if (backend == "s3") != (scheme == "s3"):
        raise ValueError("STORAGE_BACKEND=s3 goes with STORAGE_URL=s3://bucket/prefix (and "
                         "STORAGE_BACKEND=local with an empty or file:// STORAGE_URL)")
    return {
        "storage_backend": backend, "storage_url": url,
        "s3_endpoint_url": environ.get("S3_ENDPOINT_URL", ""),
        "s3_public_endpoint_url": environ.get("S3_PUBLIC_ENDPOINT_URL", ""),
        "s3_access_key_id": environ.get("S3_ACCESS_KEY_ID", ""),
        "s3_secret_access_key": environ.get("S3_SECRET_ACCESS_KEY", ""),
        "s3_region": environ.get("S3_REGION", "us-east-1"),
        "scratch_dir": Path(environ.get("SCRATCH_DIR", var_dir / "scratch")),
        "scratch_cache_bytes": int(environ.get("SCRATCH_CACHE_BYTES", 10 * 1024**3)),
        "download_url_ttl_s": int(environ.get("DOWNLOAD_URL_TTL_S", 900)),
    }


def _pose_device_and_backend(environ) -> tuple[str, str]:
    """POSE_DEVICE cpu (default) runs ONNX Runtime; a CUDA device runs the torch backend."""
    device = environ.get("POSE_DEVICE", "cpu").strip().lower() or "cpu"
    if device != "cpu" and not (device == "cuda" or device.startswith("cuda:")):
        raise ValueError(f"POSE_DEVICE must be cpu, cuda or cuda:N, not {device!r}")
    backend = environ.get("POSE_BACKEND", "onnx" if device == "cpu" else "torch")
    if backend not in ("onnx", "torch"):
        raise ValueError(f"POSE_BACKEND must be onnx or torch, not {backend!r}")
    if device != "cpu" and backend != "torch":
        raise ValueError("POSE_DEVICE=cuda runs the torch backend (ONNX Runtime is CPU-only here)")
    return device, backend


def load_settings() -> Settings:
    var_dir = Path(os.environ.get("VAR_DIR", PROJECT_ROOT / "var"))
    # Delay before attempt n (attempt 1 immediate): the Standard Webhooks example schedule.
    schedule = os.environ.get("WEBHOOK_RETRY_SCHEDULE",
                              ",".join(f"{d:g}" for d in DEFAULT_RETRY_SCHEDULE))
    secret_key, secret_key_source = load_secret_key(var_dir)
    pose_device, pose_backend = _pose_device_and_backend(os.environ)
    return Settings(
        var_dir=var_dir,
        database_url=os.environ.get("DATABASE_URL", f"sqlite:///{var_dir / 'app.db'}"),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        storage_dir=Path(os.environ.get("STORAGE_DIR", var_dir / "storage")),
        shared_data_dir=Path(
            os.environ.get("SHARED_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data")
        ),
        artifacts_dir=Path(os.environ.get("ARTIFACTS_DIR", PROJECT_ROOT / "artifacts")),
        secret_key=secret_key,
        secret_key_fallbacks=_fallback_keys(),
        secret_key_source=secret_key_source,
        token_ttl_s=_env_int("TOKEN_TTL_S", 3600),
        max_upload_bytes=_env_int("MAX_UPLOAD_BYTES", 500 * 1024 * 1024),
        max_json_bytes=_env_int("MAX_JSON_BYTES", 8 * 1024 * 1024),
        max_video_seconds=_env_float("MAX_VIDEO_SECONDS", 600.0),
        max_video_pixels=_env_int("MAX_VIDEO_PIXELS", 3840 * 2160),
        plan_model_version=os.environ.get("PLAN_MODEL_VERSION", "plans-v1"),
        classifier_version=os.environ.get("CLASSIFIER_VERSION", "classifier-v2"),
        form_model_version=os.environ.get("FORM_MODEL_VERSION", "form-v2"),
        pose_imgsz=_env_int("POSE_IMGSZ", 320),
        pose_backend=pose_backend,
        analysis_fps=_env_float("ANALYSIS_FPS", 10.0),
        angle_threshold_deg=_env_float("ANGLE_THRESHOLD_DEG", 25.0),
        webhook_timeout_s=_env_float("WEBHOOK_TIMEOUT_S", 15.0),
        webhook_retry_schedule_s=tuple(float(s) for s in schedule.split(",") if s.strip()),
        webhook_allow_private=_env_bool("WEBHOOK_ALLOW_PRIVATE", False),
        job_deadline_s=_env_int("JOB_DEADLINE_S", 1800),
        worker_max_tasks_per_child=_env_int("WORKER_MAX_TASKS_PER_CHILD", 200),
        worker_proc_alive_timeout_s=_env_float("WORKER_PROC_ALIVE_TIMEOUT_S", 60.0),
        worker_nice=min(19, max(0, _env_int("WORKER_NICE", 10))),
        max_worker_losses=_env_int("MAX_WORKER_LOSSES", 3),
        fault_injection=_env_bool("FAULT_INJECTION", False),
        video_retention_days=_env_float("VIDEO_RETENTION_DAYS", 30.0),
        export_ttl_hours=_env_float("EXPORT_TTL_HOURS", 72.0),
        rate_limit_login_per_account=os.environ.get("RATE_LIMIT_LOGIN_PER_ACCOUNT",
                                                    "10/minute;50/hour"),
        rate_limit_login_per_ip=os.environ.get("RATE_LIMIT_LOGIN_PER_IP", "60/minute;600/hour"),
        rate_limit_register_per_ip=os.environ.get("RATE_LIMIT_REGISTER_PER_IP",
                                                  "20/minute;200/hour"),
        rate_limit_uploads=os.environ.get("RATE_LIMIT_UPLOADS", "10/minute;100/hour"),
        rate_limit_keypoints=os.environ.get("RATE_LIMIT_KEYPOINTS", "30/minute;300/hour"),
        rate_limit_plans=os.environ.get("RATE_LIMIT_PLANS", "5/minute;30/hour"),
        rate_limit_webhook_tests=os.environ.get("RATE_LIMIT_WEBHOOK_TESTS", "5/minute;30/hour"),
        trusted_proxy_hops=_env_int("TRUSTED_PROXY_HOPS", 0),
        **_storage_settings(var_dir),
        beat_lock_timeout_s=_env_float("BEAT_LOCK_TIMEOUT_S", 30.0),
        storage_quota_bytes=_env_int("STORAGE_QUOTA_BYTES", 5 * 1024**3),
        cors_origins=tuple(o.strip().rstrip("/") for o in
                           os.environ.get("CORS_ORIGINS", "").split(",") if o.strip()),
        cors_allow_credentials=_env_bool("CORS_ALLOW_CREDENTIALS", False),
        refresh_token_ttl_s=_env_int("REFRESH_TOKEN_TTL_S", 30 * 24 * 3600),
        requeue_after_s=_env_int("REQUEUE_AFTER_S", 120),
        stall_after_s=_env_int("STALL_AFTER_S", 300),
        max_resends=_env_int("MAX_RESENDS", 3),
        orphan_grace_s=_env_int("ORPHAN_GRACE_S", 3600),
        pose_chunk_s=_env_float("POSE_CHUNK_S", 10.0),
        pose_threads=_env_int("POSE_THREADS", 1),
        pose_device=pose_device,
        pose_batch_wait_ms=_env_float("POSE_BATCH_WAIT_MS", 5.0),
        render_max_side=_env_int("RENDER_MAX_SIDE", 640),
        probe_timeout_s=_env_float("PROBE_TIMEOUT_S", 30.0),
        sweep_interval_s=_env_float("SWEEP_INTERVAL_S", 30.0),
        webhook_sweep_interval_s=_env_float("WEBHOOK_SWEEP_INTERVAL_S", 15.0),
        retention_interval_s=_env_float("RETENTION_INTERVAL_S", 3600.0),
    )


settings = load_settings()
