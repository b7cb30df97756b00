"""The window and queue in Redis, shared by every process on every machine.

The rule of ``schedule.py``, as Lua scripts that Redis runs atomically on its own clock (``TIME``),
one clock for every machine. Keys (one hash tag, so a cluster keeps them on one node):

- ``…:sends``: sorted set, ticket@time -> send time (µs) of the requests sent within the window;
- ``…:pending``: sorted set, ticket -> when it was let go, of requests not yet on the wire;
- ``…:waiters``: hash, ticket -> "rank since seen client" of the requests waiting;
- ``…:served``: hash, client -> time (µs) of its last grant (the round-robin);
- ``…:blocked``: until when nobody may send (µs), after a 429.

Every key expires on its own when nobody uses the limiter. If Redis cannot be reached, the limiter
falls back to ``fallback`` (the machine's file limiter) and logs it, rather than stopping all
traffic to PowerOffice.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .backends import BaseRateLimiter, LocalRateLimiter
from .schedule import (
    MAX_SLEEP,
    PENDING_HOLD,
    PENDING_POLL,
    RANK,
    SERVED_KEEP,
    WAITER_STALE,
    Lane,
    QueueStatus,
)

if TYPE_CHECKING:
    import redis

__all__ = ["RedisRateLimiter"]

logger = logging.getLogger(__name__)

_MICRO = 1_000_000

# Shared head of the scripts: the time (ARGV[1] when a test gives one, else Redis' own) and the
# pruning of the window and the waiters. KEYS = sends, waiters, served, blocked, pending.
# ARGV[1] = now (µs, or -1), ARGV[2] = window (µs), ARGV[3] = waiter stale after (µs),
# ARGV[4] = pending held at most (µs).
# Microseconds since the epoch fit a Lua double exactly (< 2^53).
_PRELUDE = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local window = tonumber(ARGV[2])
local stale = tonumber(ARGV[3])
local function fmt(x) return string.format('%.0f', x) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now - window))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '(' .. fmt(now + window), '+inf')
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', fmt(now - tonumber(ARGV[4])))
redis.call('ZREMRANGEBYSCORE', KEYS[5], '(' .. fmt(now + 1000000), '+inf')
local waiters = {}
local raw = redis.call('HGETALL', KEYS[2])
for i = 1, #raw, 2 do
  local rank, since, seen, client = string.match(raw[i + 1], '^(%d+) (%d+) (%d+) (.*)$')
  seen = tonumber(seen)
  if rank == nil or seen < now - stale or seen > now + stale then
    redis.call('HDEL', KEYS[2], raw[i])
  else
    waiters[#waiters + 1] = {raw[i], tonumber(rank), tonumber(since), client}
  end
end
local blocked = tonumber(redis.call('GET', KEYS[4]) or '0')
"""

# ARGV[5] = limit, ARGV[6] = ticket, ARGV[7] = rank, ARGV[8] = client, ARGV[9] = max sleep (µs),
# ARGV[10] = served kept (µs), ARGV[11] = poll while a slot is on its way out (µs).
# Returns 0 when granted (the ticket is pending), else µs to sleep before asking again.
_POLL_SCRIPT = (
    _PRELUDE
    + """
local limit = tonumber(ARGV[5])
local ticket = ARGV[6]
local client = ARGV[8]
local max_sleep = tonumber(ARGV[9])
local keep = tonumber(ARGV[10])
local mine = nil
for _, w in ipairs(waiters) do
  if w[1] == ticket then mine = w end
end
if mine == nil then
  mine = {ticket, tonumber(ARGV[7]), now, client}
  waiters[#waiters + 1] = mine
end
local entry = mine[2] .. ' ' .. fmt(mine[3]) .. ' ' .. fmt(now) .. ' ' .. client
redis.call('HSET', KEYS[2], ticket, entry)
redis.call('PEXPIRE', KEYS[2], math.ceil(stale / 1000) + 1000)
if blocked > now then
  return math.min(blocked - now, max_sleep)
end
local served = {}
for _, w in ipairs(waiters) do
  if served[w[4]] == nil then
    local t = tonumber(redis.call('HGET', KEYS[3], w[4]) or '0')
    if t < now - keep or t > now then t = 0 end
    served[w[4]] = t
  end
end
table.sort(waiters, function(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  local sa, sb = served[a[4]], served[b[4]]
  if sa ~= sb then return sa < sb end
  if a[3] ~= b[3] then return a[3] < b[3] end
  return a[1] < b[1]
end)
local ahead = 0
for i, w in ipairs(waiters) do
  if w[1] == ticket then ahead = i - 1 end
end
local count = redis.call('ZCARD', KEYS[1])
local pending = redis.call('ZCARD', KEYS[5])
local free = limit - count - pending
if ahead < free then
  redis.call('ZADD', KEYS[5], fmt(now), ticket)
  redis.call('PEXPIRE', KEYS[5], math.ceil(tonumber(ARGV[4]) / 1000) + 1000)
  redis.call('HSET', KEYS[3], client, fmt(now))
  redis.call('PEXPIRE', KEYS[3], math.ceil(keep / 1000))
  redis.call('HDEL', KEYS[2], ticket)
  return 0
end
local need = ahead + 1 - free
local wait = max_sleep
if need <= count then
  local entry = redis.call('ZRANGE', KEYS[1], need - 1, need - 1, 'WITHSCORES')
  wait = tonumber(entry[2]) + window - now
elseif need <= count + pending then
  wait = tonumber(ARGV[11])
end
return math.max(1000, math.min(wait, max_sleep))
"""
)

# Returns {sends in window, interactive waiting, bulk waiting, bulk clients, blocked for (µs)}.
_STATUS_SCRIPT = (
    _PRELUDE
    + """
local interactive, bulk, clients, distinct = 0, 0, {}, 0
for _, w in ipairs(waiters) do
  if w[2] == 0 then
    interactive = interactive + 1
  else
    bulk = bulk + 1
    if clients[w[4]] == nil then
      clients[w[4]] = true
      distinct = distinct + 1
    end
  end
end
local in_window = redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[5])
return {in_window, interactive, bulk, distinct, math.max(0, blocked - now)}
"""
)

# KEYS = sends, pending; ARGV[1] = now (µs, or -1), ARGV[2] = ticket, ARGV[3] = window (µs).
# The request is on the wire: its slot is counted from now.
_SENT_SCRIPT = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
redis.call('ZREM', KEYS[2], ARGV[2])
local stamp = string.format('%.0f', now)
redis.call('ZADD', KEYS[1], stamp, ARGV[2] .. '@' .. stamp)  -- one member per send
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3]) / 1000) + 1000)
return 0
"""

# KEYS[1] = blocked; ARGV[1] = now (µs, or -1); ARGV[2] = µs during which nobody may send.
_PENALIZE_SCRIPT = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local until_ = now + tonumber(ARGV[2])
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > blocked then
  local ttl = math.ceil((until_ - now) / 1000) + 1000
  redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX', ttl)
end
return 0
"""


class RedisRateLimiter(BaseRateLimiter):
    """One window and queue per subscription key in Redis, for every process that shares it."""

    backend = "redis"

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        name: str,
        rate: float,
        margin: float = 0.0,
        fallback: BaseRateLimiter | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        # ``clock`` is for tests only: without it, the time is Redis' own.
        super().__init__(rate, margin=margin, clock=clock or time.time)
        self._fixed_clock = clock is not None
        self.key = f"poweroffice:ratelimit:{{{name}}}"
        parts = ("sends", "waiters", "served", "blocked", "pending")
        self.keys = [f"{self.key}:{part}" for part in parts]
        self._redis = redis_client
        self._poll = redis_client.register_script(_POLL_SCRIPT)
        self._status = redis_client.register_script(_STATUS_SCRIPT)
        self._sent = redis_client.register_script(_SENT_SCRIPT)
        self._penalize = redis_client.register_script(_PENALIZE_SCRIPT)
        self._fallback = fallback or LocalRateLimiter(rate, margin=margin)

    def _now(self) -> int:
        return int(self._clock() * _MICRO) if self._fixed_clock else -1

    def _head(self) -> list[int]:
        return [
            self._now(),
            int(self.window.seconds * _MICRO),
            int(WAITER_STALE * _MICRO),
            int(PENDING_HOLD * _MICRO),
        ]

    def _unavailable(self, exc: Exception) -> None:
        logger.warning(
            "PowerOffice rate limiter: Redis unavailable (%s), using the %s limiter",
            type(exc).__name__,
            self._fallback.backend,
        )

    def try_acquire(
        self, *, ticket: str, lane: Lane = Lane.INTERACTIVE, client: str = ""
    ) -> float | None:
        import redis

        args: list[Any] = [
            *self._head(),
            self.limit,
            ticket,
            RANK[Lane(lane)],
            client,
            int(MAX_SLEEP * _MICRO),
            int(SERVED_KEEP * _MICRO),
            int(PENDING_POLL * _MICRO),
        ]
        try:
            micros = int(self._poll(keys=self.keys, args=args))
        except redis.RedisError as exc:
            self._unavailable(exc)
            return self._fallback.try_acquire(ticket=ticket, lane=lane, client=client)
        return None if micros == 0 else micros / _MICRO

    def cancel(self, ticket: str) -> None:
        import redis

        self._fallback.cancel(ticket)
        with contextlib.suppress(redis.RedisError):
            self._redis.hdel(self.keys[1], ticket)

    def sent(self, ticket: str) -> None:
        import redis

        try:
            self._sent(
                keys=[self.keys[0], self.keys[4]],
                args=[self._now(), ticket, int(self.window.seconds * _MICRO)],
            )
        except redis.RedisError as exc:
            self._unavailable(exc)
            self._fallback.sent(ticket)

    def penalize(self, seconds: float) -> None:
        import redis

        self._fallback.penalize(seconds)
        with contextlib.suppress(redis.RedisError):
            self._penalize(keys=[self.keys[3]], args=[self._now(), int(seconds * _MICRO)])

    def status(self) -> QueueStatus:
        import redis

        try:
            sends, interactive, bulk, clients, blocked = self._status(
                keys=self.keys, args=self._head()
            )
        except redis.RedisError as exc:
            self._unavailable(exc)
            return self._fallback.status()
        return QueueStatus(
            limit=self.limit,
            window=self.window.seconds,
            in_window=int(sends),
            waiting_interactive=int(interactive),
            waiting_bulk=int(bulk),
            bulk_clients=int(clients),
            blocked_for=int(blocked) / _MICRO,
            backend=self.backend,
        )

    def reset(self) -> None:
        self._fallback.reset()
        self._redis.delete(*self.keys)
