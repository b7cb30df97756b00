"""The rule every backend applies: a sliding window of send times and a queue of waiters.

The state of one subscription key's limiter is small: the requests let go but not yet on the
wire (*pending*, each holding its slot), the send times of the requests sent within the last
window, the waiters (who asks, in which lane, since when, last seen), when each PowerOffice
client was last served, and until when a 429 blocks everybody. :func:`poll` is one atomic step
on it: a waiter either gets a slot now (it becomes pending) or is told how long to sleep before
asking again; :func:`sent` logs the send time once the request has left. The file and in-memory
backends run this Python code under their lock; the Redis backend runs the same rule as Lua
scripts (``redis_backend.py``).

Who is served first: the interactive lane before bulk; within a lane, the PowerOffice client
served longest ago (per-client round-robin: four bulk workers of one client take turns with one
of another client), then the earliest waiter. A waiter is granted when fewer waiters stand ahead
of it than there are free slots, so a free window is not served one by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "MAX_SLEEP",
    "WAITER_STALE",
    "Lane",
    "QueueStatus",
    "State",
    "Waiter",
    "Window",
    "cancel",
    "poll",
    "sent",
    "status",
]


class Lane(StrEnum):
    """Which queue a request waits in."""

    INTERACTIVE = "interactive"  # a person waits, or one new invoice's automatic export
    BULK = "bulk"  # "Eksporter alle", the payment check, payroll exports


RANK = {Lane.INTERACTIVE: 0, Lane.BULK: 1}

# A waiter asks again at least this often (seconds), even when it has longer to wait: its
# heartbeat. One not seen for WAITER_STALE has gone (its process died) and is dropped, so that
# it cannot hold the queue.
MAX_SLEEP = 0.25
WAITER_STALE = 2.0
# Never sleep less than this (seconds) between two asks of one waiter.
MIN_SLEEP = 0.001
# How long the last grant of a client is remembered for the round-robin (seconds).
SERVED_KEEP = 60.0
# A request let go but never reported sent (its process died on the way) stops holding its slot
# after this long (seconds).
PENDING_HOLD = 10.0
# When the slot a waiter needs is held by a request on its way out, ask again this soon.
PENDING_POLL = 0.01


@dataclass(frozen=True)
class Window:
    """At most ``limit`` sends in any ``seconds`` (the margin included)."""

    limit: int
    seconds: float

    @classmethod
    def for_rate(cls, rate: float, margin: float) -> Window:
        """``rate`` requests per second, counted over whole requests: 10/s is 10 per second,
        2.5/s is 2 per 0.8 s; then ``margin`` seconds added to the window."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        if margin < 0:
            raise ValueError("margin must not be negative")
        limit = max(1, math.floor(rate))
        return cls(limit=limit, seconds=limit / rate + margin)

    @property
    def rate(self) -> float:
        """The sustained rate this window allows (requests per second)."""
        return self.limit / self.seconds


@dataclass
class Waiter:
    rank: int
    client: str
    since: float
    seen: float


@dataclass
class State:
    sends: list[float] = field(default_factory=list)  # ascending
    pending: dict[str, float] = field(default_factory=dict)  # ticket -> when it was let go
    waiters: dict[str, Waiter] = field(default_factory=dict)
    served: dict[str, float] = field(default_factory=dict)
    blocked_until: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "sends": self.sends,
            "pending": self.pending,
            "waiters": {t: [w.rank, w.client, w.since, w.seen] for t, w in self.waiters.items()},
            "served": self.served,
            "blocked_until": self.blocked_until,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        return cls(
            sends=sorted(float(t) for t in data.get("sends", [])),
            pending={str(k): float(t) for k, t in dict(data.get("pending", {})).items()},
            waiters={
                str(t): Waiter(int(w[0]), str(w[1]), float(w[2]), float(w[3]))
                for t, w in dict(data.get("waiters", {})).items()
            },
            served={str(c): float(t) for c, t in dict(data.get("served", {})).items()},
            blocked_until=float(data.get("blocked_until", 0.0)),
        )


def _prune(state: State, *, window: Window, now: float) -> None:
    # Entries from the future mean the clock stepped back: they would block for that long.
    state.sends = [t for t in state.sends if now - window.seconds < t <= now + window.seconds]
    state.pending = {k: t for k, t in state.pending.items() if now - PENDING_HOLD < t <= now + 1}
    state.waiters = {
        t: w for t, w in state.waiters.items() if now - WAITER_STALE <= w.seen <= now + WAITER_STALE
    }
    state.served = {c: t for c, t in state.served.items() if now - SERVED_KEEP <= t <= now}
    if state.blocked_until > now + 3600:
        state.blocked_until = 0.0


def _order(state: State) -> list[str]:
    """The waiters' tickets, first served first."""

    def key(item: tuple[str, Waiter]) -> tuple[int, float, float, str]:
        ticket, waiter = item
        return (waiter.rank, state.served.get(waiter.client, 0.0), waiter.since, ticket)

    return [ticket for ticket, _ in sorted(state.waiters.items(), key=key)]


def poll(
    state: State, *, window: Window, now: float, ticket: str, lane: Lane, client: str
) -> float | None:
    """One ask of one waiter: None when it may send now (it holds a slot until :func:`sent`),
    else the seconds to sleep before asking again."""
    _prune(state, window=window, now=now)
    waiter = state.waiters.get(ticket)
    if waiter is None:
        waiter = state.waiters[ticket] = Waiter(RANK[Lane(lane)], client, since=now, seen=now)
    waiter.seen = now
    if state.blocked_until > now:
        return min(state.blocked_until - now, MAX_SLEEP)
    ahead = _order(state).index(ticket)
    free = window.limit - len(state.sends) - len(state.pending)
    if ahead < free:
        state.pending[ticket] = now
        state.served[client] = now
        del state.waiters[ticket]
        return None
    # This many sends must leave the window before the slot for this waiter is free (the
    # waiters ahead taking theirs first); requests still on their way out leave it last.
    need = ahead + 1 - free
    wait = MAX_SLEEP  # more waiters ahead than one window holds: the heartbeat
    if need <= len(state.sends):
        wait = state.sends[need - 1] + window.seconds - now
    elif need <= len(state.sends) + len(state.pending):
        wait = PENDING_POLL
    return max(MIN_SLEEP, min(wait, MAX_SLEEP))


def sent(state: State, *, ticket: str, now: float) -> None:
    """The request of ``ticket`` has left (or failed before it could): from now on its slot is
    counted from ``now``, which is no earlier than the moment it went on the wire."""
    state.pending.pop(ticket, None)
    state.sends.append(now)
    state.sends.sort()


def cancel(state: State, *, ticket: str) -> None:
    """The waiter gave up (an exception while it waited)."""
    state.waiters.pop(ticket, None)


@dataclass(frozen=True)
class QueueStatus:
    """What the queue looks like now, for pages ("how long is the queue ahead")."""

    limit: int  # requests per window
    window: float  # seconds, margin included
    in_window: int  # requests sent within the last window, or on their way out
    waiting_interactive: int
    waiting_bulk: int
    bulk_clients: int  # distinct PowerOffice clients with bulk work waiting
    blocked_for: float  # seconds nobody may send (after a 429)
    backend: str = ""

    @property
    def waiting(self) -> int:
        return self.waiting_interactive + self.waiting_bulk

    def ahead(self, lane: Lane = Lane.BULK) -> int:
        """Requests that a new request of ``lane`` would find waiting ahead of it."""
        return self.waiting_interactive if lane == Lane.INTERACTIVE else self.waiting

    def wait_estimate(self, lane: Lane = Lane.BULK) -> float:
        """Seconds a new request of ``lane`` would wait, roughly: the queue ahead of it at the
        sustained rate, beyond the slots free now."""
        free = self.limit - self.in_window
        over = max(0, self.ahead(lane) + 1 - free)
        return self.blocked_for + over * self.window / self.limit

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "limit": self.limit,
            "window_seconds": round(self.window, 3),
            "in_window": self.in_window,
            "waiting_interactive": self.waiting_interactive,
            "waiting_bulk": self.waiting_bulk,
            "bulk_clients": self.bulk_clients,
            "blocked_for": round(self.blocked_for, 3),
        }


def status(state: State, *, window: Window, now: float, backend: str = "") -> QueueStatus:
    _prune(state, window=window, now=now)
    bulk = [w for w in state.waiters.values() if w.rank > 0]
    return QueueStatus(
        limit=window.limit,
        window=window.seconds,
        in_window=len(state.sends) + len(state.pending),
        waiting_interactive=len(state.waiters) - len(bulk),
        waiting_bulk=len(bulk),
        bulk_clients=len({w.client for w in bulk}),
        blocked_for=max(0.0, state.blocked_until - now),
        backend=backend,
    )
