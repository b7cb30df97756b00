"""The PowerOffice rate limiter: the window of send times, the lanes, the backends.

The rules are checked on a frozen clock that the test moves by hand, on each backend (in this
process, the machine's file, Redis with the test's clock), so that no test depends on how fast
this machine is. The sandbox tests send real requests and check what PowerOffice would see.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.ratelimit import (
    FileRateLimiter,
    Lane,
    LocalRateLimiter,
    RedisRateLimiter,
    default_rate_limiter,
    get_rate_limiter,
    key_fingerprint,
    rate_limit_queue,
)
from poweroffice.client.ratelimit.backends import BaseRateLimiter
from poweroffice.client.ratelimit.schedule import (
    MAX_SLEEP,
    PENDING_HOLD,
    PENDING_POLL,
    WAITER_STALE,
    Window,
)

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/2"
BULK, INTERACTIVE = Lane.BULK, Lane.INTERACTIVE


class Clock:
    """A clock that stands still until the test moves it (picklable, for other processes)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


MakeLimiter = Callable[..., BaseRateLimiter]


@pytest.fixture(params=["local", "file", "redis"])
def make_limiter(request, tmp_path) -> Iterator[MakeLimiter]:
    made: list[BaseRateLimiter] = []

    def make(rate: float, *, clock: Clock, margin: float = 0.0) -> BaseRateLimiter:
        limiter: BaseRateLimiter
        if request.param == "local":
            limiter = LocalRateLimiter(rate, margin=margin, clock=clock)
        elif request.param == "file":
            limiter = FileRateLimiter(tmp_path / "limit.json", rate, margin=margin, clock=clock)
        else:
            limiter = RedisRateLimiter(
                redis.Redis.from_url(REDIS_URL),
                name=f"test-{uuid.uuid4()}",
                rate=rate,
                margin=margin,
                clock=clock,
            )
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        limiter.reset()


def grant(limiter: BaseRateLimiter, ticket: str, lane: Lane = INTERACTIVE, client: str = "A"):
    """Ask once; a request let go is on the wire at once (the limiter told so)."""
    wait = limiter.try_acquire(ticket=ticket, lane=lane, client=client)
    if wait is None:
        limiter.sent(ticket)
    return wait


# --- 1. the window counts sends ------------------------------------------------------------------


def test_window_counts_sends_not_round_trips(make_limiter):
    clock = Clock(1000.0)
    limiter = make_limiter(3, clock=clock, margin=0.03)
    assert [grant(limiter, f"r{n}") for n in range(3)] == [None, None, None]
    # Three requests sent, none answered yet: the fourth waits for the first send to leave the
    # window of one second plus the margin, not for any answer.
    clock.now = 1000.9
    assert grant(limiter, "r3") == pytest.approx(0.13)
    clock.now = 1001.02  # a plain one-second window would allow it; the margin does not
    assert grant(limiter, "r3") == pytest.approx(0.01)
    clock.now = 1001.04
    assert grant(limiter, "r3") is None
    assert grant(limiter, "r4") is None
    assert grant(limiter, "r5") is None
    assert grant(limiter, "r6") is not None  # three sends at 1001.04 fill the window again


def test_a_request_counts_from_when_it_left_not_from_when_it_was_let_go(make_limiter):
    clock = Clock(1000.0)
    limiter = make_limiter(1, clock=clock)
    assert limiter.try_acquire(ticket="slow") is None  # let go; its process is busy elsewhere
    clock.now = 1001.5
    # Not yet written: it still holds its slot, however long it takes (ask again soon: it is
    # usually a matter of a millisecond).
    assert limiter.try_acquire(ticket="next") == pytest.approx(PENDING_POLL)
    limiter.sent("slow")  # on the wire at 1001.5: counted from then
    clock.now = 1002.4
    assert grant(limiter, "next") is not None
    clock.now = 1002.51
    assert grant(limiter, "next") is None


def test_a_request_never_reported_sent_frees_its_slot_in_the_end(make_limiter):
    clock = Clock(1000.0)
    limiter = make_limiter(1, clock=clock)
    assert limiter.try_acquire(ticket="lost") is None  # its process died before the write
    clock.now = 1009.0
    assert grant(limiter, "next") is not None
    clock.now = 1000.0 + PENDING_HOLD + 0.01
    assert grant(limiter, "next") is None


def test_a_long_wait_is_asked_again_at_least_every_quarter_second(make_limiter):
    clock = Clock(1000.0)
    limiter = make_limiter(2, clock=clock)
    assert grant(limiter, "a") is None and grant(limiter, "b") is None
    # The waiter's heartbeat: it must be seen at least this often to keep its place.
    assert grant(limiter, "c") == pytest.approx(MAX_SLEEP)


def test_window_for_fractional_rates():
    assert Window.for_rate(10, 0.03) == Window(limit=10, seconds=pytest.approx(1.03))
    assert Window.for_rate(2.5, 0.0) == Window(limit=2, seconds=pytest.approx(0.8))
    assert Window.for_rate(0.5, 0.0) == Window(limit=1, seconds=pytest.approx(2.0))
    with pytest.raises(ValueError):
        Window.for_rate(0, 0.0)


# --- 3. lanes and fair share ---------------------------------------------------------------------


def test_interactive_waiter_is_served_before_queued_bulk(make_limiter):
    clock = Clock(1000.0)
    limiter = make_limiter(2, clock=clock)
    assert grant(limiter, "bulk-1", BULK) is None
    clock.now = 1000.5
    assert grant(limiter, "bulk-2", BULK) is None
    # The window is full; two more bulk requests of client A queue, then B's interactive one.
    clock.now = 1000.6
    assert grant(limiter, "bulk-3", BULK) is not None
    clock.now = 1000.65
    assert grant(limiter, "bulk-4", BULK) is not None
    clock.now = 1000.7
    assert grant(limiter, "click", INTERACTIVE, client="B") is not None
    # One slot frees at 1001.0: bulk-3 asks first and has waited longest, but the person goes
    # first.
    clock.now = 1001.01
    assert grant(limiter, "bulk-3", BULK) is not None
    assert grant(limiter, "bulk-4", BULK) is not None
    assert grant(limiter, "click", INTERACTIVE, client="B") is None
    # The next slot (at 1001.5) is bulk-3's, in the order they came.
    clock.now = 1001.51
    assert grant(limiter, "bulk-4", BULK) is not None
    assert grant(limiter, "bulk-3", BULK) is None


def test_bulk_of_one_client_takes_turns_with_another_client(make_limiter):
    clock = Clock(1000.0)
    limiter = make_limiter(1, clock=clock)
    assert grant(limiter, "a-0", BULK, client="A") is None
    for n in range(1, 4):  # client A's other workers queue
        assert grant(limiter, f"a-{n}", BULK, client="A") is not None
    clock.now = 1000.2
    assert grant(limiter, "c-1", BULK, client="C") is not None
    served = []
    for second in range(1, 5):
        clock.now = 1000.0 + second + 0.01
        for ticket, client in (("a-1", "A"), ("a-2", "A"), ("a-3", "A"), ("c-1", "C")):
            if ticket not in served and grant(limiter, ticket, BULK, client=client) is None:
                served.append(ticket)
    # C has waited the least but was never served: it goes before A's second request.
    assert served == ["c-1", "a-1", "a-2", "a-3"]


def test_free_slots_go_to_as_many_waiters_at_once(make_limiter):
    clock = Clock(1000.0)
    limiter = make_limiter(2, clock=clock)
    assert grant(limiter, "s1") is None and grant(limiter, "s2") is None
    assert grant(limiter, "click", INTERACTIVE, client="B") is not None
    assert grant(limiter, "bulk", BULK) is not None
    # Both slots free at once: the bulk waiter need not wait for the one ahead to ask first.
    clock.now = 1001.01
    assert grant(limiter, "bulk", BULK) is None
    assert grant(limiter, "click", INTERACTIVE, client="B") is None


def test_a_waiter_that_vanished_does_not_hold_the_queue(make_limiter):
    clock = Clock(1000.0)
    limiter = make_limiter(1, clock=clock)
    assert grant(limiter, "sent") is None
    assert grant(limiter, "gone") is not None  # first in the queue, then its process dies
    clock.now = 1000.5
    assert grant(limiter, "next") is not None
    clock.now = 1001.01
    assert grant(limiter, "next") is not None  # "gone" still holds its place
    clock.now = 1000.0 + WAITER_STALE + 0.01
    assert grant(limiter, "next") is None


def test_a_cancelled_waiter_leaves_the_queue(make_limiter):
    clock = Clock(1000.0)
    limiter = make_limiter(1, clock=clock)
    assert grant(limiter, "sent") is None
    assert grant(limiter, "impatient") is not None
    assert grant(limiter, "next", BULK) is not None
    limiter.cancel("impatient")
    clock.now = 1001.01
    assert grant(limiter, "next", BULK) is None


def test_a_429_holds_everybody(make_limiter):
    clock = Clock(1000.0)
    limiter = make_limiter(10, clock=clock)
    limiter.penalize(2.0)
    assert grant(limiter, "x") == pytest.approx(MAX_SLEEP)
    assert limiter.status().blocked_for == pytest.approx(2.0)
    clock.now = 1002.01
    assert grant(limiter, "x") is None


def test_status_tells_how_long_the_queue_ahead_is(make_limiter):
    clock = Clock(1000.0)
    limiter = make_limiter(2, clock=clock)
    empty = limiter.status()
    assert (empty.waiting, empty.in_window, empty.wait_estimate(BULK)) == (0, 0, 0)
    assert grant(limiter, "s1", BULK) is None and grant(limiter, "s2", BULK) is None
    for ticket, client in (("a", "A"), ("b", "A"), ("c", "C")):
        assert grant(limiter, ticket, BULK, client=client) is not None
    assert grant(limiter, "i", INTERACTIVE, client="D") is not None
    status = limiter.status()
    assert (status.waiting_interactive, status.waiting_bulk, status.bulk_clients) == (1, 3, 2)
    assert status.in_window == 2
    assert status.backend == limiter.backend
    # A new bulk request finds four ahead and a full window: five sends of half a second each.
    assert status.wait_estimate(BULK) == pytest.approx(2.5)
    assert status.wait_estimate(INTERACTIVE) == pytest.approx(1.0)


# --- 2. shared across processes without Redis ----------------------------------------------------


def _take_slots(path: str, attempts: int, start, results) -> None:
    limiter = FileRateLimiter(path, 5, margin=0.03, clock=Clock(5000.0))
    start.wait(timeout=60)
    granted = 0
    for n in range(attempts):
        if limiter.try_acquire(ticket=f"{os.getpid()}-{n}", client=str(os.getpid())) is None:
            granted += 1
    # Leave the queue the way a caller that gives up does.
    for n in range(attempts):
        limiter.cancel(f"{os.getpid()}-{n}")
    results.put(granted)


def test_file_limiter_is_one_window_for_every_process(tmp_path):
    path = str(tmp_path / "shared.json")
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(4)
    results = ctx.Queue()
    processes = [ctx.Process(target=_take_slots, args=(path, 10, start, results)) for _ in range(4)]
    for process in processes:
        process.start()
    granted = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    # 40 attempts within one (frozen) second from four processes: five slots in all.
    assert sum(granted) == 5
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]


def test_without_redis_the_limiter_is_the_machines_file(settings, tmp_path):
    settings.REDIS_URL = ""
    settings.POWEROFFICE_RATE_LIMIT_DIR = str(tmp_path / "limits")
    limiter = default_rate_limiter("sub-key-file", rate=10)
    assert isinstance(limiter, FileRateLimiter)
    assert limiter.path == tmp_path / "limits" / f"{key_fingerprint('sub-key-file')}.json"
    assert limiter.window.seconds == pytest.approx(1 + settings.POWEROFFICE_RATE_LIMIT_MARGIN)
    po = PowerOfficeClient("some-client-key", subscription_key="sub-key-file", rate_limit=10)
    assert po.rate_limiter is limiter
    assert rate_limit_queue().backend == "file"


def test_file_limiter_paces_this_process_when_the_file_cannot_be_written(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    limiter = FileRateLimiter(blocker / "limit.json", 1, margin=0.0, clock=Clock())
    assert grant(limiter, "a") is None
    assert grant(limiter, "b") is not None


def test_with_redis_the_limiter_is_redis_keyed_by_a_hash(settings, tmp_path):
    settings.REDIS_URL = REDIS_URL
    settings.POWEROFFICE_RATE_LIMIT_DIR = str(tmp_path)
    shared = default_rate_limiter("sub-key-abc", rate=10)
    assert isinstance(shared, RedisRateLimiter)
    assert "sub-key-abc" not in shared.key
    assert key_fingerprint("sub-key-abc") in shared.key
    assert default_rate_limiter("sub-key-abc", rate=10) is shared
    po = PowerOfficeClient("some-client-key", subscription_key="sub-key-abc", rate_limit=10)
    assert po.rate_limiter is shared


def test_redis_limiter_falls_back_to_the_machines_file_when_redis_is_down(tmp_path):
    limiter = get_rate_limiter(
        f"sub-{uuid.uuid4()}", rate=1, redis_url="redis://127.0.0.1:1/0", directory=tmp_path
    )
    assert isinstance(limiter, RedisRateLimiter)
    limiter.sent(limiter.acquire())  # nothing listens on port 1: the machine's file takes over
    assert limiter.try_acquire(ticket="next") is not None  # the file's window holds the send
    assert list(Path(tmp_path).glob("*.json"))


# --- no 429 at PowerOffice's side ----------------------------------------------------------------


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_no_429_from_the_sandbox_under_a_bounded_concurrent_burst(
    backend, sandbox, sandbox_settings, tmp_path
):
    # Three client keys, two threads each, one subscription key, PowerOffice's 10 requests/s.
    # A larger margin than the default stands in for a loaded test machine's scheduling delays.
    sandbox.config(rate_limit=10)
    name = f"test-{uuid.uuid4()}"
    limiter: BaseRateLimiter
    if backend == "file":
        limiter = FileRateLimiter(tmp_path / f"{name}.json", 10, margin=0.1)
    else:
        limiter = RedisRateLimiter(redis.Redis.from_url(REDIS_URL), name=name, rate=10, margin=0.1)
    infos = [sandbox.create_client(f"Klient {n} AS", seed=f"{name}-{n}") for n in "123"]
    keys = [info["client_key"] for info in infos]
    clients = [PowerOfficeClient(k, rate_limiter=limiter, max_429_retries=0) for k in keys]
    failures: list[Exception] = []

    def work(po: PowerOfficeClient) -> None:
        try:
            for _ in range(4):
                po.list_departments()
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(po,)) for po in clients for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        limiter.reset()
    assert failures == []
    statuses = [e["status"] for e in sandbox.requests_log()]
    assert len(statuses) == 3 * (8 + 1)  # eight calls and one token per client key
    assert 429 not in statuses
