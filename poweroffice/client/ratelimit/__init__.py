"""Pacing every request of Bitnet under PowerOffice's limit per subscription key, fairly.

PowerOffice Go allows about 10 requests per second per subscription key, shared by every agency,
client key, worker and process of Bitnet, and counts them over a sliding second at its gateway.

What PowerOffice can observe, and the margin
--------------------------------------------
The gateway counts *arrivals*; we only know when we *send*. So each request counts in a sliding
window from the moment it has been written to the connection (``wire.py`` reports it; until
then it holds its slot, so a busy CPU between the grant and the write, or a new connection's TCP
and TLS handshakes, cannot bunch requests up), and never for its round trip: an answer that
takes 150 ms does not keep the slot, and 1.5 requests in flight keep the limit busy at 150 ms.
A request then arrives one network delay ``d`` after it was counted, and ``d`` varies. If the
delays lie within ``[d_min, d_min + J]``, the arrivals inside any one second at PowerOffice's
side were written within ``1 s + J``. The limiter therefore allows at most N sends in any window
of ``1 s + margin``: no second at PowerOffice holds more than N arrivals while the network delay
varies by less than the margin. The default margin, 30 ms (``POWEROFFICE_RATE_LIMIT_MARGIN``),
covers the delay variation of a healthy network path to PowerOffice (a few milliseconds) several
times over and costs 3 % of the limit (9.7 of 10 requests/s). Should PowerOffice still answer
429, the request is sent again after the second it names, and everybody waits with it
(:meth:`penalize`).

Fair share, two lanes
---------------------
Requests wait in one queue per subscription key with two lanes: *interactive* (a person waits,
or one new invoice's automatic export; the default) before *bulk* ("Eksporter alle", the payment
check, payroll exports). Within a lane the PowerOffice client served longest ago goes first, so
one client's four bulk workers take turns with another client's single one. A free slot goes to
the first waiter in that order, so an interactive request waits at most until the next send
leaves the window (under a second) behind a full window of bulk work, whatever its size.

Backends, chosen by :func:`get_rate_limiter`
--------------------------------------------
- Redis (``REDIS_URL`` set): Lua scripts on Redis' clock; every process on every machine.
- File (``REDIS_URL`` empty, the embedded default of ``bin/run``): a JSON file under
  ``fcntl.flock`` in ``POWEROFFICE_RATE_LIMIT_DIR``; every process of this machine.
- Local: this process only (tests, and the last resort when no file can be written).

``status()`` and :func:`rate_limit_queue` tell pages how long the queue ahead is.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from .backends import BaseRateLimiter, FileRateLimiter, LocalRateLimiter, RateLimiter
from .redis_backend import RedisRateLimiter
from .schedule import Lane, QueueStatus, Window

__all__ = [
    "BaseRateLimiter",
    "FileRateLimiter",
    "Lane",
    "LocalRateLimiter",
    "QueueStatus",
    "RateLimiter",
    "RedisRateLimiter",
    "Window",
    "default_rate_limiter",
    "get_rate_limiter",
    "key_fingerprint",
    "rate_limit_queue",
]


def key_fingerprint(secret: str) -> str:
    """A stable, non-reversible name for a secret, for cache and Redis keys."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:32]


_limiters: dict[tuple[str, float, float, str | None, str | None], RateLimiter] = {}
_limiters_lock = threading.Lock()


def get_rate_limiter(
    subscription_key: str,
    *,
    rate: float,
    redis_url: str | None,
    margin: float = 0.0,
    directory: str | Path | None = None,
) -> RateLimiter:
    """The limiter for one subscription key, shared by every client in this process.

    With ``redis_url``, in Redis (every process, every machine), falling back to the file when
    Redis is down; else with ``directory``, in a file there (every process of this machine);
    else in this process. Named by a hash of the subscription key, never the key itself.
    """
    name = key_fingerprint(subscription_key)
    folder = str(directory) if directory else None
    cache_key = (name, float(rate), float(margin), redis_url or None, folder)
    with _limiters_lock:
        limiter = _limiters.get(cache_key)
        if limiter is None:
            limiter = _make_limiter(
                name, rate=rate, margin=margin, redis_url=redis_url, directory=folder
            )
            _limiters[cache_key] = limiter
        return limiter


def _make_limiter(
    name: str, *, rate: float, margin: float, redis_url: str | None, directory: str | None
) -> RateLimiter:
    machine: BaseRateLimiter
    if directory:
        machine = FileRateLimiter(Path(directory) / f"{name}.json", rate, margin=margin)
    else:
        machine = LocalRateLimiter(rate, margin=margin)
    if not redis_url:
        return machine
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    return RedisRateLimiter(client, name=name, rate=rate, margin=margin, fallback=machine)


def default_rate_limiter(
    subscription_key: str | None = None, *, rate: float | None = None
) -> RateLimiter:
    """The limiter the settings describe: ``POWEROFFICE_SUBSCRIPTION_KEY``,
    ``POWEROFFICE_RATE_LIMIT``, ``POWEROFFICE_RATE_LIMIT_MARGIN``, ``REDIS_URL`` and
    ``POWEROFFICE_RATE_LIMIT_DIR``."""
    from django.conf import settings

    return get_rate_limiter(
        str(
            settings.POWEROFFICE_SUBSCRIPTION_KEY if subscription_key is None else subscription_key
        ),
        rate=float(settings.POWEROFFICE_RATE_LIMIT if rate is None else rate),
        redis_url=settings.REDIS_URL or None,
        margin=float(settings.POWEROFFICE_RATE_LIMIT_MARGIN),
        directory=settings.POWEROFFICE_RATE_LIMIT_DIR or None,
    )


def rate_limit_queue() -> QueueStatus:
    """The queue for PowerOffice now (Bitnet's subscription key): who waits, in which lane."""
    return default_rate_limiter().status()
