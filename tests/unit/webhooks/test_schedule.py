from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from domain.webhooks import schedule
from domain.webhooks.schedule import (
    DEFAULT_RETRY_SCHEDULE,
    next_attempt_delay,
    parse_retry_after,
    parse_schedule,
    should_disable,
)


class FixedRng:
    def __init__(self, value):
        self.value = value

    def uniform(self, a, b):
        return self.value if self.value is not None else b


def test_default_schedule_is_the_spec_example():
    h, m = 3600, 60
    # immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
    expected = (0, 5, 5 * m, 30 * m, 2 * h, 5 * h, 10 * h, 10 * h)
    assert expected == DEFAULT_RETRY_SCHEDULE
    total = sum(DEFAULT_RETRY_SCHEDULE)
    assert total == 27 * h + 35 * m + 5  # the last attempt 27:35:05 after the first


def test_delay_follows_schedule_without_jitter():
    delays = [next_attempt_delay(n, jitter=0) for n in range(1, 9)]
    assert delays == [5, 300, 1800, 7200, 18000, 36000, 36000, None]


def test_configured_default_is_the_spec_schedule_and_timeout(monkeypatch):
    """The settings every worker uses: first retry 5 s after the first failure, 15 s timeout."""
    import config

    monkeypatch.delenv("WEBHOOK_RETRY_SCHEDULE", raising=False)
    monkeypatch.delenv("WEBHOOK_TIMEOUT_S", raising=False)
    loaded = config.load_settings()
    assert loaded.webhook_retry_schedule_s == DEFAULT_RETRY_SCHEDULE
    assert loaded.webhook_timeout_s == 15.0
    assert next_attempt_delay(1, loaded.webhook_retry_schedule_s, jitter=0) == 5.0
    assert next_attempt_delay(2, loaded.webhook_retry_schedule_s, jitter=0) == 300.0


def test_jitter_is_bounded_to_ten_percent():
    rng = random.Random(42)
    values = [next_attempt_delay(2, rng=rng) for _ in range(500)]
    assert all(270.0 <= v <= 330.0 for v in values)
    assert max(values) - min(values) > 30  # it actually varies
    assert next_attempt_delay(2, rng=FixedRng(0.1)) == pytest.approx(330.0)
    assert next_attempt_delay(2, rng=FixedRng(-0.1)) == pytest.approx(270.0)


def test_give_up_after_schedule_and_custom_schedule():
    sched = (0, 0.1, 0.2)
    assert next_attempt_delay(1, sched, jitter=0) == 0.1
    assert next_attempt_delay(2, sched, jitter=0) == 0.2
    assert next_attempt_delay(3, sched, jitter=0) is None
    with pytest.raises(ValueError):
        next_attempt_delay(0, sched)


def test_retry_after_is_a_minimum_and_capped():
    # longer than the schedule: honoured even with jitter
    assert next_attempt_delay(1, retry_after_s=60, rng=FixedRng(0.1)) == 60
    # shorter than the schedule: schedule wins
    assert next_attempt_delay(2, retry_after_s=1, jitter=0) == 300
    # absurd values are capped
    assert next_attempt_delay(1, retry_after_s=10**9, jitter=0, max_retry_after_s=3600) == 3600
    # the give-up decision is not overridden by Retry-After
    assert next_attempt_delay(10, retry_after_s=5) is None


def test_parse_retry_after():
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0.0  # past
    for bad in (None, "", "soon", "-5", "1.5e3", "Mon, 99 Foo 2024"):
        assert parse_retry_after(bad, now) is None


def test_should_disable_after_days_of_failure():
    now = datetime(2024, 1, 10, tzinfo=UTC)
    assert should_disable(None, now) is False
    assert should_disable(now - timedelta(days=4, hours=23), now) is False
    assert should_disable(now - timedelta(days=5), now) is True
    assert should_disable(now - timedelta(hours=2), now, max_failing_s=3600) is True
    assert "5" in schedule.DISABLE_REASON_FAILING.format(days=5)


def test_parse_and_scale_schedule():
    assert parse_schedule("0, 1,2.5") == (0.0, 1.0, 2.5)
    assert parse_schedule([0, 5]) == (0.0, 5.0)
    for bad in ("", "a,b", "1,-1", "inf", "nan"):
        with pytest.raises(ValueError):
            parse_schedule(bad)
    assert schedule.scaled_schedule((0, 5, 300), 0.01) == (0.0, 0.05, 3.0)
