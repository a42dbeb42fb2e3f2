"""Retry schedule (Standard Webhooks), Retry-After handling and auto-disable policy."""

from __future__ import annotations

import math
import random as _random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# The example schedule of the Standard Webhooks spec ("Deliverability and
# reliability"): delay before attempt n, attempt 1 being immediate, each period
# starting when the previous attempt failed: immediately, 5 s, 5 min, 30 min,
# 2 h, 5 h, 10 h, 10 h -> 8 attempts, the last 27 h 35 min 5 s after the first.
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (
    0.0,
    5.0,
    5 * 60.0,
    30 * 60.0,
    2 * 3600.0,
    5 * 3600.0,
    10 * 3600.0,
    10 * 3600.0,
)
DEFAULT_JITTER = 0.1
MAX_RETRY_AFTER_S = 24 * 3600.0
DEFAULT_MAX_FAILING_S = 5 * 24 * 3600.0

DISABLE_REASON_GONE = "endpoint answered 410 Gone"
DISABLE_REASON_FAILING = "endpoint failing continuously for {days:g} days"


def parse_schedule(value: str | Iterable[float]) -> tuple[float, ...]:
    """A schedule from config: ``"0,5,300"`` or a sequence of seconds."""
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        out = tuple(float(str(v).strip()) for v in items if str(v).strip() != "")
    except ValueError:
        raise ValueError(f"invalid retry schedule: {value!r}") from None
    if not out or any(not math.isfinite(d) or d < 0 for d in out):
        raise ValueError(f"invalid retry schedule: {value!r}")
    return out


def scaled_schedule(schedule: Iterable[float], factor: float) -> tuple[float, ...]:
    """E.g. ``scaled_schedule(DEFAULT_RETRY_SCHEDULE, 1/3600)`` for tests (seconds)."""
    return tuple(float(d) * factor for d in schedule)


def next_attempt_delay(
    attempt_number: int,
    schedule: Iterable[float] = DEFAULT_RETRY_SCHEDULE,
    *,
    retry_after_s: float | None = None,
    jitter: float = DEFAULT_JITTER,
    rng=_random,
    max_retry_after_s: float = MAX_RETRY_AFTER_S,
) -> float | None:
    """Seconds to wait after failed attempt ``attempt_number`` (1 = the first
    attempt), or ``None`` when the schedule is exhausted (give up).

    ``schedule[i]`` is the delay before attempt ``i + 1`` (``schedule[0]`` is the
    first, normally immediate, attempt), so the delay after attempt n is
    ``schedule[n]``. The scheduled delay gets ``±jitter`` (fraction) random
    jitter. A ``Retry-After`` value (seconds, capped at ``max_retry_after_s``) is
    honoured as a minimum: the result is never shorter than it.
    """
    sched = tuple(schedule)
    if attempt_number < 1:
        raise ValueError("attempt_number starts at 1")
    if attempt_number >= len(sched):
        return None
    delay = max(0.0, float(sched[attempt_number]))
    if jitter:
        delay *= 1.0 + rng.uniform(-abs(jitter), abs(jitter))
    if retry_after_s is not None and retry_after_s > 0:
        delay = max(delay, min(float(retry_after_s), max_retry_after_s))
    return max(0.0, delay)


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date.
    Dates in the past give 0.0; missing or unparsable values give ``None``."""
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    now = _utc(now or datetime.now(UTC))
    return max(0.0, (_utc(when) - now).total_seconds())


def should_disable(
    first_failure_at: datetime | None,
    now: datetime | None = None,
    max_failing_s: float = DEFAULT_MAX_FAILING_S,
) -> bool:
    """True once an endpoint has failed continuously (no success since
    ``first_failure_at``) for at least ``max_failing_s`` seconds."""
    if first_failure_at is None:
        return False
    now = _utc(now or datetime.now(UTC))
    return now - _utc(first_failure_at) >= timedelta(seconds=max_failing_s)
