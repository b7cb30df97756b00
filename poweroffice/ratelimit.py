"""Request pacing that keeps every process under PowerOffice's limit per subscription key.

PowerOffice Go allows about 10 requests per second per subscription key, shared by every client key,
every worker and every machine. The limiter is GCRA (generic cell rate algorithm) without burst:
it keeps one timestamp, the "theoretical arrival time" (TAT) of the next free slot, and each request
reserves the slot ``max(TAT, now)`` and moves TAT one interval on. A caller sleeps until its slot,
then sends. An idle limiter lets a request through at once; a busy one spaces requests evenly,
which is what a server-side window counter can accept without ever seeing a burst.

- :class:`RedisRateLimiter` keeps TAT in Redis and reserves slots in one Lua script using Redis'
  own clock, so processes on different machines share one schedule.
- :class:`LocalRateLimiter` keeps TAT in the process (thread-safe) when there is no Redis.

A 429 from PowerOffice pushes TAT forward for everybody (:meth:`penalize`), so one process being
throttled makes all of them wait instead of each finding out on its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger(__name__)

# Spacing is a little wider than 1/rate: a request's arrival at PowerOffice lags its slot by a
# variable delay (scheduling, sending), and a window counter on their side must never see rate+1
# requests inside one second.
DEFAULT_SAFETY_MARGIN = 0.03


def key_fingerprint(secret: str) -> str:
    """A stable, non-reversible name for a secret, for cache and Redis keys."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:32]


class RateLimiter(Protocol):
    rate: float

    def acquire(self) -> float:
        """Wait for a slot; return the seconds waited."""

    def penalize(self, seconds: float) -> None:
        """Let nobody send for ``seconds`` (after a 429)."""


class LocalRateLimiter:
    """GCRA in one process, shared by its threads."""

    backend = "local"

    def __init__(
        self,
        rate: float,
        *,
        safety_margin: float = DEFAULT_SAFETY_MARGIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.interval = (1.0 + safety_margin) / self.rate
        self._clock = clock
        self._tat = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next slot; return how long to wait for it (0 when it is now)."""
        with self._lock:
            now = self._clock()
            start = max(self._tat, now)
            self._tat = start + self.interval
            return start - now

    def acquire(self) -> float:
        wait = self.reserve()
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)

    def penalize(self, seconds: float) -> None:
        with self._lock:
            self._tat = max(self._tat, self._clock() + seconds)

    def reset(self) -> None:
        with self._lock:
            self._tat = 0.0


# KEYS[1] = TAT key; ARGV[1] = interval in microseconds. Returns the microseconds to wait.
# Times come from Redis (TIME), one clock for every machine. Microseconds since the epoch fit in
# a Lua double exactly (< 2^53).
_RESERVE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now)
local new_tat = start + interval
local ttl = math.ceil((new_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl)
return start - now
"""

# KEYS[1] = TAT key; ARGV[1] = microseconds during which nobody may send.
_PENALIZE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > tat then
  local ttl = math.ceil((until_ - now) / 1000) + 1000
  redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX', ttl)
end
return 0
"""


class RedisRateLimiter:
    """GCRA in Redis, shared by every process that uses the same Redis and subscription key.

    If Redis cannot be reached the limiter falls back to pacing this process alone (and logs it),
    rather than stopping all traffic to PowerOffice.
    """

    backend = "redis"

    def __init__(
        self,
        redis_client,
        *,
        name: str,
        rate: float,
        safety_margin: float = DEFAULT_SAFETY_MARGIN,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.interval = (1.0 + safety_margin) / self.rate
        self.key = f"poweroffice:ratelimit:{name}"
        self._redis = redis_client
        self._reserve = redis_client.register_script(_RESERVE_SCRIPT)
        self._penalize = redis_client.register_script(_PENALIZE_SCRIPT)
        self._fallback = LocalRateLimiter(rate, safety_margin=safety_margin)

    def reserve(self) -> float:
        import redis

        try:
            micros = self._reserve(keys=[self.key], args=[round(self.interval * 1_000_000)])
        except redis.RedisError as exc:
            logger.warning(
                "PowerOffice rate limiter: Redis unavailable (%s), pacing this process only",
                type(exc).__name__,
            )
            return self._fallback.reserve()
        return int(micros) / 1_000_000

    def acquire(self) -> float:
        wait = self.reserve()
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)

    def penalize(self, seconds: float) -> None:
        import redis

        self._fallback.penalize(seconds)
        with contextlib.suppress(redis.RedisError):
            self._penalize(keys=[self.key], args=[round(seconds * 1_000_000)])

    def reset(self) -> None:
        self._fallback.reset()
        self._redis.delete(self.key)


_limiters: dict[tuple, RateLimiter] = {}
_limiters_lock = threading.Lock()


def get_rate_limiter(
    subscription_key: str,
    *,
    rate: float,
    redis_url: str | None,
    safety_margin: float = DEFAULT_SAFETY_MARGIN,
) -> RateLimiter:
    """The limiter for one subscription key, shared by every client in this process.

    With ``redis_url`` the schedule lives in Redis and is shared by every process; without it,
    by this process's threads only.
    """
    name = key_fingerprint(subscription_key)
    cache_key = (name, float(rate), redis_url, float(safety_margin))
    with _limiters_lock:
        limiter = _limiters.get(cache_key)
        if limiter is None:
            if redis_url:
                import redis

                client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
                limiter = RedisRateLimiter(
                    client, name=name, rate=rate, safety_margin=safety_margin
                )
            else:
                limiter = LocalRateLimiter(rate, safety_margin=safety_margin)
            _limiters[cache_key] = limiter
        return limiter
