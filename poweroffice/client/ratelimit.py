"""Request pacing that keeps every process under PowerOffice's limit per subscription key.

PowerOffice Go allows about 10 requests per second per subscription key, shared by every client key,
every worker and every machine, counted over a sliding second at their gateway. A limiter that only
spaces requests evenly on our side is not enough: a request that leaves late (a busy CPU, a slow
network) arrives closer to the next one than planned, and the gateway sees 11 in one second.

So the limiter keeps a log of the last requests with, for each, a time that is never earlier than
its arrival at PowerOffice: while the request is in flight, a far-future placeholder; once the
answer is back, the time the answer came (an arrival cannot be later than its answer). A request
may leave only when fewer than ``rate`` entries of the log lie within the last second. Whatever the
delays on the way, no second at PowerOffice's side then holds more than ``rate`` arrivals: the
newest of any such group left after all the others were logged, and each of them was logged at or
after its own arrival. The price is each request's round trip once per second of a slot (some 1-3 %
on a fast network), instead of 429s and a second's penalty.

- :class:`RedisRateLimiter` keeps the log in a Redis sorted set, updated by Lua scripts on Redis'
  own clock, so every process on every machine shares one log.
- :class:`LocalRateLimiter` keeps it in the process (thread-safe) when there is no Redis.

A 429 from PowerOffice blocks the log for everybody for the time asked (:meth:`penalize`), so one
process being throttled makes all of them wait instead of each finding out on its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

WINDOW = 1.0  # seconds: PowerOffice counts requests per second
# An in-flight request holds its slot until its answer, but never longer than this (a process
# that dies mid-request must not hold a slot for ever).
DEFAULT_MAX_HOLD = 60.0
# When every slot is held by requests still in flight, ask again this often.
POLL = 0.01


_Ticket = TypeVar("_Ticket")


def _wait_for_slot(try_acquire: Callable[[], tuple[_Ticket | None, float]]) -> _Ticket:
    """Ask ``try_acquire`` until it hands out a ticket, sleeping as long as each answer says."""
    while True:
        ticket, wait = try_acquire()
        if ticket is not None:
            return ticket
        time.sleep(wait)


def key_fingerprint(secret: str) -> str:
    """A stable, non-reversible name for a secret, for cache and Redis keys."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:32]


class RateLimiter(Protocol):
    rate: float

    def acquire(self) -> object:
        """Wait for a slot; return a ticket for :meth:`release`."""

    def release(self, ticket: object) -> None:
        """The request of ``ticket`` has its answer (or failed): log the time."""

    def penalize(self, seconds: float) -> None:
        """Let nobody send for ``seconds`` (after a 429)."""


class LocalRateLimiter:
    """The sliding-window log in one process, shared by its threads."""

    backend = "local"

    def __init__(
        self,
        rate: float,
        *,
        max_hold: float = DEFAULT_MAX_HOLD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.limit = max(1, int(rate))
        self.max_hold = max_hold
        self._clock = clock
        self._log: dict[int, float] = {}  # ticket -> time not earlier than its arrival
        self._blocked_until = 0.0
        self._next_ticket = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> tuple[int | None, float]:
        """(ticket, 0) when a request may leave now, else (None, seconds to wait at least)."""
        with self._lock:
            now = self._clock()
            if self._blocked_until > now:
                return None, self._blocked_until - now
            for ticket, stamp in list(self._log.items()):
                if stamp <= now - WINDOW:
                    del self._log[ticket]
            if len(self._log) < self.limit:
                self._next_ticket += 1
                self._log[self._next_ticket] = now + self.max_hold
                return self._next_ticket, 0.0
            oldest = min(self._log.values())
            # The oldest has its answer: exactly when it leaves the window. Else all are in
            # flight: ask again soon.
            return None, oldest + WINDOW - now if oldest <= now else POLL

    def acquire(self) -> int:
        return _wait_for_slot(self.try_acquire)

    def release(self, ticket: object) -> None:
        with self._lock:
            if ticket in self._log:
                self._log[ticket] = self._clock()

    def penalize(self, seconds: float) -> None:
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
            self._blocked_until = 0.0


# KEYS[1] = log (sorted set: ticket -> time), KEYS[2] = blocked-until.
# ARGV = limit, window (µs), max hold (µs), ticket.
# Returns 0 when the request may leave now (its ticket is logged), else microseconds to wait,
# or -1 when every slot is held by a request in flight (ask again soon).
# Times are Redis' own (TIME): one clock for every machine. Microseconds since the epoch fit a
# Lua double exactly (< 2^53).
_ACQUIRE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > now then
  return blocked - now
end
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  local hold = tonumber(ARGV[3])
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + hold), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil((hold + window) / 1000))
  return 0
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
if oldest > now then
  return -1
end
return math.max(1, oldest + window - now)
"""

# KEYS[1] = log; ARGV[1] = ticket. The answer is back: its arrival was no later than now.
_RELEASE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZADD', KEYS[1], 'XX', string.format('%.0f', now), ARGV[1])
return 0
"""

# KEYS[1] = blocked-until; ARGV[1] = microseconds during which nobody may send.
_PENALIZE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > blocked then
  local ttl = math.ceil((until_ - now) / 1000) + 1000
  redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX', ttl)
end
return 0
"""


class RedisRateLimiter:
    """The sliding-window log in Redis, shared by every process using the same subscription key.

    If Redis cannot be reached the limiter falls back to pacing this process alone (and logs it),
    rather than stopping all traffic to PowerOffice.
    """

    backend = "redis"

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        name: str,
        rate: float,
        max_hold: float = DEFAULT_MAX_HOLD,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.limit = max(1, int(rate))
        self.max_hold = max_hold
        self.key = f"poweroffice:ratelimit:{name}"
        self.blocked_key = f"{self.key}:blocked"
        self._redis = redis_client
        self._acquire = redis_client.register_script(_ACQUIRE_SCRIPT)
        self._release = redis_client.register_script(_RELEASE_SCRIPT)
        self._penalize = redis_client.register_script(_PENALIZE_SCRIPT)
        self._fallback = LocalRateLimiter(rate, max_hold=max_hold)

    def try_acquire(self) -> tuple[object | None, float]:
        """(ticket, 0) when a request may leave now, else (None, seconds to wait at least).

        The ticket is the Redis log's, or ``("local", n)`` when Redis was unreachable."""
        import redis

        ticket = uuid.uuid4().hex
        try:
            micros = int(
                self._acquire(
                    keys=[self.key, self.blocked_key],
                    args=[self.limit, int(WINDOW * 1e6), int(self.max_hold * 1e6), ticket],
                )
            )
        except redis.RedisError as exc:
            logger.warning(
                "PowerOffice rate limiter: Redis unavailable (%s), pacing this process only",
                type(exc).__name__,
            )
            local, wait = self._fallback.try_acquire()
            return (None if local is None else ("local", local)), wait
        if micros == 0:
            return ticket, 0.0
        return None, POLL if micros < 0 else micros / 1e6

    def acquire(self) -> object:
        return _wait_for_slot(self.try_acquire)

    def release(self, ticket: object) -> None:
        import redis

        if isinstance(ticket, tuple):
            self._fallback.release(ticket[1])
            return
        # If Redis is gone, the placeholder simply expires after max_hold.
        with contextlib.suppress(redis.RedisError):
            self._release(keys=[self.key], args=[str(ticket)])

    def penalize(self, seconds: float) -> None:
        import redis

        self._fallback.penalize(seconds)
        with contextlib.suppress(redis.RedisError):
            self._penalize(keys=[self.blocked_key], args=[int(seconds * 1e6)])

    def reset(self) -> None:
        self._fallback.reset()
        self._redis.delete(self.key, self.blocked_key)


_limiters: dict[tuple[str, float, str | None, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


def get_rate_limiter(
    subscription_key: str,
    *,
    rate: float,
    redis_url: str | None,
    max_hold: float = DEFAULT_MAX_HOLD,
) -> RateLimiter:
    """The limiter for one subscription key, shared by every client in this process.

    With ``redis_url`` the log lives in Redis and is shared by every process; without it, by
    this process's threads only. Keyed by a hash of the subscription key, never the key itself.
    """
    name = key_fingerprint(subscription_key)
    cache_key = (name, float(rate), redis_url, float(max_hold))
    with _limiters_lock:
        limiter = _limiters.get(cache_key)
        if limiter is None:
            if redis_url:
                import redis

                client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
                limiter = RedisRateLimiter(client, name=name, rate=rate, max_hold=max_hold)
            else:
                limiter = LocalRateLimiter(rate, max_hold=max_hold)
            _limiters[cache_key] = limiter
        return limiter
