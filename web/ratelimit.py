"""Fixed-window rate limits on authentication, counted in Redis (fails open if Redis is down)."""

from __future__ import annotations

import hashlib
import logging
import os
import time

import redis
from flask import request

from infra.redis_client import get_redis
from web.errors import ApiError

logger = logging.getLogger("web.ratelimit")

WINDOW_S = 60


def _limit(action: str) -> int:
    defaults = {"token": 10, "register": 30}
    return int(os.environ.get(f"RATE_LIMIT_{action.upper()}_PER_MIN", defaults.get(action, 30)))


def limit_auth_attempts(action: str, identity: str | None = None) -> None:
    subject = f"{request.remote_addr}|{(identity or '').strip().lower()}"
    digest = hashlib.sha256(subject.encode()).hexdigest()[:24]  # no emails stored in Redis
    window = int(time.time() // WINDOW_S)
    key = f"ratelimit:{action}:{digest}:{window}"
    try:
        client = get_redis()
        count = client.incr(key)
        if count == 1:
            client.expire(key, WINDOW_S + 5)
    except redis.RedisError:
        logger.warning("rate limiter unavailable; allowing request")
        return
    if count > _limit(action):
        retry_after = WINDOW_S - int(time.time()) % WINDOW_S
        raise ApiError(429, "too_many_requests", "too many attempts; try again later",
                       headers={"Retry-After": str(retry_after)})
