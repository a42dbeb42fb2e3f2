from __future__ import annotations

from functools import cache

import redis

from config import settings


@cache
def get_redis(url: str | None = None) -> redis.Redis:
    return redis.Redis.from_url(url or settings.redis_url, socket_timeout=1.0,
                                socket_connect_timeout=1.0)
