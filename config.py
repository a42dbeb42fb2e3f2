"""Settings read from the environment, with defaults that work out of the box.

Every process (web, workers, CLI, tests) reads its configuration here and nowhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent
#: signs bearer tokens when SECRET_KEY is unset: fine on a laptop, never in production
DEVELOPMENT_SECRET_KEY = "dev-secret-change-me-in-production-0123456789"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    database_url: str
    redis_url: str
    storage_dir: Path
    shared_data_dir: Path
    artifacts_dir: Path
    secret_key: str
    token_ttl_s: int
    max_upload_bytes: int
    max_json_bytes: int
    max_video_seconds: float
    max_video_pixels: int
    plan_model_version: str
    classifier_version: str
    pose_imgsz: int
    pose_backend: str
    analysis_fps: float
    angle_threshold_deg: float
    webhook_timeout_s: float
    webhook_retry_schedule_s: tuple[float, ...]
    webhook_allow_private: bool
    job_deadline_s: int
    extra: dict = field(default_factory=dict)


def load_settings() -> Settings:
    var_dir = Path(os.environ.get("VAR_DIR", PROJECT_ROOT / "var"))
    schedule = os.environ.get("WEBHOOK_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,36000")
    return Settings(
        var_dir=var_dir,
        database_url=os.environ.get("DATABASE_URL", f"sqlite:///{var_dir / 'app.db'}"),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        storage_dir=Path(os.environ.get("STORAGE_DIR", var_dir / "storage")),
        shared_data_dir=Path(
            os.environ.get("SHARED_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data")
        ),
        artifacts_dir=Path(os.environ.get("ARTIFACTS_DIR", PROJECT_ROOT / "artifacts")),
        secret_key=os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY),
        token_ttl_s=_env_int("TOKEN_TTL_S", 3600),
        max_upload_bytes=_env_int("MAX_UPLOAD_BYTES", 500 * 1024 * 1024),
        max_json_bytes=_env_int("MAX_JSON_BYTES", 8 * 1024 * 1024),
        max_video_seconds=_env_float("MAX_VIDEO_SECONDS", 600.0),
        max_video_pixels=_env_int("MAX_VIDEO_PIXELS", 3840 * 2160),
        plan_model_version=os.environ.get("PLAN_MODEL_VERSION", "plans-v1"),
        classifier_version=os.environ.get("CLASSIFIER_VERSION", "classifier-v1"),
        pose_imgsz=_env_int("POSE_IMGSZ", 320),
        pose_backend=os.environ.get("POSE_BACKEND", "onnx"),
        analysis_fps=_env_float("ANALYSIS_FPS", 10.0),
        angle_threshold_deg=_env_float("ANGLE_THRESHOLD_DEG", 25.0),
        webhook_timeout_s=_env_float("WEBHOOK_TIMEOUT_S", 10.0),
        webhook_retry_schedule_s=tuple(float(s) for s in schedule.split(",") if s.strip()),
        webhook_allow_private=_env_bool("WEBHOOK_ALLOW_PRIVATE", False),
        job_deadline_s=_env_int("JOB_DEADLINE_S", 1800),
    )


settings = load_settings()
