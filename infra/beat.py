"""One beat for the whole deployment: RedBeat's schedule in Redis, held by a lock in Redis.

`celery beat` with this scheduler (celery_config.beat_scheduler) keeps the schedule and each
entry's last run in Redis (no local schedule file), and schedules only while it holds the lock
``redbeat::lock``. A second beat started by mistake, on any host, waits: it takes over only when
the first stops renewing the lock (it stopped, or lost Redis for longer than
BEAT_LOCK_TIMEOUT_S), so a spare beat is also a warm standby.

Why not RedBeat's own lock handling as it is: it takes the lock once, in a blocking call at
start-up, and renews it in `tick()` with no error handling. Celery's beat loop does not catch
errors from `tick()`, so a Redis restart (a routine deploy, covered by the fault tests) would
kill the beat and no sweeper would run again until someone restarted it. Here the lock is taken,
renewed and given up in `tick()`: Redis errors are logged and retried, a beat that lost the lock
to another goes back to waiting, and a waiting beat writes nothing to Redis.
"""

from __future__ import annotations

import logging

import redis
from celery.signals import beat_init
from redbeat.schedulers import RedBeatScheduler, acquire_distributed_beat_lock, get_redis
from redis.exceptions import LockError

logger = logging.getLogger("celery.beat")

# The lock is ours to take in tick(), not in a blocking call at start-up.
beat_init.disconnect(acquire_distributed_beat_lock)

#: seconds between attempts while Redis does not answer
RETRY_S = 2.0


class SingleBeatScheduler(RedBeatScheduler):
    def __init__(self, app, **kwargs):
        kwargs["lazy"] = True  # the schedule is written to Redis only once the lock is held
        super().__init__(app, **kwargs)
        # RedBeat renews its lock in tick() when lock_key is set: we do that ourselves.
        self.beat_lock_key, self.lock_key = self.lock_key, None
        self.lock = None

    @property
    def standby_interval(self) -> float:
        """How often a waiting beat tries the lock: a few times per lock lifetime."""
        return max(0.5, min(float(self.max_interval), self.lock_timeout / 3))

    def _hold_lock(self) -> bool:
        if self.lock is not None:
            try:
                self.lock.extend(self.lock_timeout, replace_ttl=True)
                return True
            except LockError:  # expired while we were cut off, and another beat took it
                logger.warning("beat: lost the beat lock %s; waiting to take it again",
                               self.beat_lock_key)
                self.lock = None
        lock = get_redis(self.app).lock(self.beat_lock_key, timeout=self.lock_timeout)
        if not lock.acquire(blocking=False):
            return False
        self.lock = lock
        logger.info("beat: holding the beat lock %s (%ss); scheduling", self.beat_lock_key,
                    self.lock_timeout)
        super().setup_schedule()  # static entries into Redis, keeping their last run times
        return True

    def tick(self, min=min, **kwargs) -> float:
        try:
            if not self._hold_lock():
                return self.standby_interval
            return min(super().tick(min=min, **kwargs), self.lock_timeout / 3)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            logger.warning("beat: Redis unavailable (%s); retrying in %ss", exc, RETRY_S)
            return RETRY_S

    def setup_schedule(self) -> None:
        pass  # done in _hold_lock, by the beat that holds the lock

    def close(self) -> None:
        if self.lock is not None:
            try:
                if self.lock.owned():
                    self.lock.release()  # a standby takes over at its next try
                    logger.info("beat: released the beat lock")
            except (redis.ConnectionError, redis.TimeoutError, LockError):
                pass
            self.lock = None
        super(RedBeatScheduler, self).close()
