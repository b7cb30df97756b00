"""The rate limiters (local and Redis) and the settings the client reads."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
import redis

from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.ratelimit import (
    LocalRateLimiter,
    RedisRateLimiter,
    get_rate_limiter,
    key_fingerprint,
)
from tests.poweroffice.client.support import REDIS_URL, new_client

# --- rate limiter --------------------------------------------------------------------------------


def test_every_request_token_included_goes_through_the_limiter(po, fast_sandbox):
    po.list_departments()
    po.list_vat_codes()
    fast_sandbox.faults(action="close", count=1, path="^/Departments$")
    po.list_departments()
    assert po.rate_limiter.acquired == po.rate_limiter.released == po.stats.requests == 5
    assert len(fast_sandbox.requests_log()) == 5


def test_local_limiter_holds_a_slot_until_the_answer_and_one_second_after():
    now = [100.0]  # a frozen clock
    limiter = LocalRateLimiter(3, clock=lambda: now[0])
    tickets = [limiter.try_acquire()[0] for _ in range(3)]
    assert None not in tickets
    # Three requests in flight: nobody knows when they arrive, so nobody else may go.
    assert limiter.try_acquire() == (None, 0.01)
    now[0] = 100.2
    limiter.release(tickets[0])  # answered at 100.2: it arrived at 100.2 at the latest
    assert limiter.try_acquire() == (None, pytest.approx(1.0))
    now[0] = 101.2
    assert limiter.try_acquire()[0] is not None
    assert limiter.try_acquire() == (None, 0.01)


def test_local_limiter_is_thread_safe():
    limiter = LocalRateLimiter(5, clock=lambda: 100.0)
    granted = []
    lock = threading.Lock()

    def take():
        for _ in range(20):
            ticket, _ = limiter.try_acquire()
            if ticket is not None:
                with lock:
                    granted.append(ticket)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(granted) == [1, 2, 3, 4, 5]


def test_local_limiter_penalty_holds_everyone():
    now = [0.0]
    limiter = LocalRateLimiter(10, clock=lambda: now[0])
    limiter.penalize(2.0)
    assert limiter.try_acquire() == (None, 2.0)
    now[0] = 2.0
    assert limiter.try_acquire()[0] is not None


def test_redis_limiter_is_one_log_for_all_processes():
    name = f"test-{uuid.uuid4()}"
    # Two connections stand for two worker processes.
    first = RedisRateLimiter(redis.Redis.from_url(REDIS_URL), name=name, rate=3)
    second = RedisRateLimiter(redis.Redis.from_url(REDIS_URL), name=name, rate=3)
    try:
        tickets = [first.try_acquire()[0], second.try_acquire()[0], first.try_acquire()[0]]
        assert None not in tickets
        assert second.try_acquire() == (None, 0.01)  # all three in flight
        first.release(tickets[0])
        ticket, wait = second.try_acquire()
        assert ticket is None
        assert 0.5 < wait <= 1.0  # one second after that answer, less the time since
        second.penalize(3.0)
        ticket, wait = first.try_acquire()
        assert ticket is None
        assert 2.5 < wait <= 3.0
    finally:
        first.reset()


def test_limiter_follows_redis_url_setting_and_is_keyed_by_a_hash(settings):
    settings.REDIS_URL = REDIS_URL
    shared = get_rate_limiter("sub-key-abc", rate=10, redis_url=REDIS_URL)
    assert isinstance(shared, RedisRateLimiter)
    assert "sub-key-abc" not in shared.key
    assert shared.key.endswith(key_fingerprint("sub-key-abc"))
    assert get_rate_limiter("sub-key-abc", rate=10, redis_url=REDIS_URL) is shared
    assert isinstance(get_rate_limiter("sub-key-abc", rate=10, redis_url=None), LocalRateLimiter)

    po = PowerOfficeClient("some-client-key", subscription_key="sub-key-abc", rate_limit=10)
    assert po.rate_limiter is shared
    settings.REDIS_URL = ""
    os_redis = os.environ.pop("REDIS_URL", None)
    try:
        local = PowerOfficeClient("some-client-key", subscription_key="sub-key-abc", rate_limit=10)
        assert isinstance(local.rate_limiter, LocalRateLimiter)
    finally:
        if os_redis is not None:
            os.environ["REDIS_URL"] = os_redis


def test_redis_limiter_survives_redis_outage():
    limiter = RedisRateLimiter(
        redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2),
        name="unreachable",
        rate=1,
    )
    ticket = limiter.acquire()  # falls back to pacing this process
    assert limiter.try_acquire() == (None, 0.01)
    limiter.release(ticket)
    assert limiter.try_acquire()[0] is None


def test_clients_sharing_the_redis_limiter_stay_under_the_limit(sandbox, po_settings):
    # Three client keys in three threads, one subscription key, PowerOffice's 10 requests/s.
    sandbox.config(rate_limit=10)
    limiter = RedisRateLimiter(
        redis.Redis.from_url(REDIS_URL), name=f"test-{uuid.uuid4()}", rate=10
    )
    keys = [new_client(sandbox, f"Klient {n} AS")["client_key"] for n in range(3)]
    clients = [PowerOfficeClient(k, rate_limiter=limiter) for k in keys]
    failures = []

    def work(po):
        try:
            for _ in range(7):
                po.list_departments()
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(po,)) for po in clients]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        limiter.reset()
    assert failures == []
    statuses = [e["status"] for e in sandbox.requests_log()]
    assert len(statuses) == 3 * 8  # 7 calls and one token each
    assert 429 not in statuses
    assert sum(po.stats.rate_limited_429 for po in clients) == 0


def test_settings_defaults_apply_without_arguments(settings, sandbox_settings):
    settings.POWEROFFICE_TIMEOUT = 12.5
    settings.POWEROFFICE_RATE_LIMIT = 7
    po = PowerOfficeClient("abc-1234")
    assert po.api_url == sandbox_settings.POWEROFFICE_API_URL
    assert po.token_url == sandbox_settings.POWEROFFICE_TOKEN_URL
    assert po.timeout == 12.5
    assert po.rate_limiter.rate == 7
    # The defaults live in one place, bitnet/settings.py.
    from bitnet import settings as project_settings

    assert project_settings.POWEROFFICE_RATE_LIMIT == 10.0
