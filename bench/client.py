"""Benchmark: the PowerOffice client's own cost per call, and four processes sharing one limit.

    REDIS_URL=redis://127.0.0.1:6379/<n> .venv/bin/python bench/client.py [--seconds 10]

Starts the PowerOffice sandbox in this process on a free port of 127.0.0.1, then:

1. Overhead. Sandbox without latency or rate limit; the same GET /Departments sent through a bare
   ``requests.Session`` (same token, same headers) and through ``PowerOfficeClient``, with an
   in-process limiter and with the Redis limiter set far above any real limit. The difference is
   what the client itself costs per call (limiter, token lookup in the cache, stats, logging,
   parsing).
2. Shared limit. Sandbox with PowerOffice's limit (10 requests/s per subscription key); four worker
   processes, each with its own client key and the same subscription key, call as fast as they
   can through the Redis limiter. Measured from the sandbox's own request log over a steady
   window: requests per second as a share of the limit (target >= 95 %) and 429s received
   (target 0).

Prints JSON. Never fails on time; stays on 127.0.0.1; bounded (about 30 s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import logging
import multiprocessing as mp
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bitnet.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")  # a development tool: the development settings
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

import requests  # noqa: E402

from poweroffice.client.client import PowerOfficeClient  # noqa: E402
from poweroffice.client.ratelimit import LocalRateLimiter, RedisRateLimiter  # noqa: E402

RATE_LIMIT = 10
WORKERS = 4


def redis_url() -> str:
    from django.conf import settings

    return os.environ.get("REDIS_URL") or settings.REDIS_URL or "redis://127.0.0.1:6379/0"


HOOK_HEADERS: dict[str, str] = {}  # the sandbox's hook token, once it runs


def hook(url: str, method: str, path: str, **kwargs):
    kwargs["headers"] = {**HOOK_HEADERS, **kwargs.get("headers", {})}
    response = requests.request(method, f"{url}/_sandbox/{path}", timeout=30, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


def new_client(url: str, name: str, subscription_key: str) -> dict:
    return hook(
        url,
        "POST",
        "clients",
        json={"name": name, "subscription_key": subscription_key, "seed": f"bench-{uuid.uuid4()}"},
    )


# --- part 1: the client's own cost ----------------------------------------------------------------


def timed(call, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        call()
    return time.perf_counter() - started


def overhead(url: str, calls: int) -> dict:
    hook(url, "POST", "config", json={"rate_limit": 0, "latency_ms": 0})
    subscription_key = f"bench-overhead-{uuid.uuid4()}"
    info = new_client(url, "Overhead AS", subscription_key)
    common = {
        "application_key": info["application_key"],
        "subscription_key": subscription_key,
        "api_url": url + "/v2",
        "token_url": url + "/OAuth/Token",
    }
    local = PowerOfficeClient(
        info["client_key"], rate_limiter=LocalRateLimiter(1_000_000), **common
    )
    shared = PowerOfficeClient(
        info["client_key"],
        rate_limiter=RedisRateLimiter(
            __import__("redis").Redis.from_url(redis_url()),
            name=f"bench-{uuid.uuid4()}",
            rate=1_000_000,
        ),
        **common,
    )
    local.list_departments()  # token, connection
    shared.list_departments()
    token = local.transport.token()
    raw = requests.Session()
    headers = {
        "Authorization": f"Bearer {token}",
        "Ocp-Apim-Subscription-Key": subscription_key,
        "Accept": "application/json",
    }

    def bare() -> None:
        response = raw.get(
            url + "/v2/Departments",
            params={"PageNumber": 1, "PageSize": 5000},
            headers=headers,
            timeout=30,
        )
        response.raise_for_status()
        response.json()

    bare()
    results = {"raw": 0.0, "client_local_limiter": 0.0, "client_redis_limiter": 0.0}
    block = max(1, calls // 5)
    for _ in range(5):  # interleaved, so that drift hits all three alike
        results["raw"] += timed(bare, block)
        results["client_local_limiter"] += timed(local.list_departments, block)
        results["client_redis_limiter"] += timed(shared.list_departments, block)
    total = block * 5
    per_call = {k: v / total for k, v in results.items()}
    shared.rate_limiter.reset()
    return {
        "endpoint": "GET /v2/Departments (4 rows)",
        "calls_each": total,
        "calls_per_second": {k: round(1 / v, 1) for k, v in per_call.items()},
        "ms_per_call": {k: round(v * 1000, 3) for k, v in per_call.items()},
        "client_overhead_ms_per_call": {
            "local_limiter": round((per_call["client_local_limiter"] - per_call["raw"]) * 1000, 3),
            "redis_limiter": round((per_call["client_redis_limiter"] - per_call["raw"]) * 1000, 3),
        },
    }


# --- part 2: four processes, one limit ------------------------------------------------------------


def worker(url, client_key, application_key, subscription_key, barrier, start_at, stop_at, queue):
    logging.disable(logging.WARNING)
    po = PowerOfficeClient(
        client_key,
        application_key=application_key,
        subscription_key=subscription_key,
        api_url=url + "/v2",
        token_url=url + "/OAuth/Token",
        rate_limit=RATE_LIMIT,
    )
    kind = type(po.rate_limiter).__name__
    barrier.wait()
    while not start_at.value or time.time() < start_at.value:
        time.sleep(0.001)
    errors = 0
    while time.time() < stop_at.value:
        try:
            po.list_departments()
        except Exception:
            errors += 1
    queue.put({"limiter": kind, "errors": errors, **po.stats.as_dict()})


def shared_limit(url: str, seconds: float) -> dict:
    hook(url, "POST", "config", json={"rate_limit": RATE_LIMIT, "latency_ms": 0})
    hook(url, "DELETE", "requests")
    subscription_key = f"bench-shared-{uuid.uuid4()}"
    infos = [new_client(url, f"Byrå {n} AS", subscription_key) for n in range(WORKERS)]
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WORKERS + 1)
    start_at = ctx.Value("d", 0.0)
    stop_at = ctx.Value("d", 0.0)
    queue = ctx.Queue()
    processes = [
        ctx.Process(
            target=worker,
            args=(
                url,
                info["client_key"],
                info["application_key"],
                subscription_key,
                barrier,
                start_at,
                stop_at,
                queue,
            ),
        )
        for info in infos
    ]
    for process in processes:
        process.start()
    barrier.wait(timeout=60)
    begin = time.time() + 0.3
    stop_at.value = begin + seconds + 2
    start_at.value = begin
    results = [queue.get(timeout=seconds + 60) for _ in processes]
    for process in processes:
        process.join(timeout=10)

    log = hook(url, "GET", "requests")
    ours = [e for e in log if e["client_id"] in {i["client_id"] for i in infos}]
    # Steady state: skip the first second (four token requests, processes lining up) and the
    # last one (processes stopping).
    window_start = begin + 1
    window_end = window_start + seconds
    in_window = [
        e
        for e in ours
        if window_start <= dt.datetime.fromisoformat(e["time"]).timestamp() < window_end
        and e["status"] != 429
    ]
    achieved = len(in_window) / seconds
    # How evenly the requests reached PowerOffice: the shortest time between a request and the
    # tenth after it (PowerOffice refuses the 11th inside one second), and how far arrivals
    # strayed from an even schedule.
    arrivals = sorted(
        dt.datetime.fromisoformat(e["time"]).timestamp() for e in ours if e["status"] != 429
    )
    spans = [b - a for a, b in zip(arrivals, arrivals[RATE_LIMIT:], strict=False)]
    gaps = sorted(b - a for a, b in itertools.pairwise(arrivals))
    return {
        "processes": WORKERS,
        "limiter": sorted({r["limiter"] for r in results}),
        "sandbox_limit_per_second": RATE_LIMIT,
        "window_seconds": seconds,
        "requests_per_second": round(achieved, 2),
        "share_of_limit": round(achieved / RATE_LIMIT, 3),
        "http_429_received": sum(1 for e in ours if e["status"] == 429),
        "shortest_span_of_11_requests_s": round(min(spans), 3) if spans else None,
        "gap_between_requests_ms": {
            "min": round(gaps[0] * 1000, 1),
            "median": round(gaps[len(gaps) // 2] * 1000, 1),
            "p99": round(gaps[int(len(gaps) * 0.99)] * 1000, 1),
        }
        if gaps
        else None,
        "requests_total": len(ours),
        "client_stats": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="steady window, part 2")
    parser.add_argument("--calls", type=int, default=500, help="calls per variant, part 1")
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    from poweroffice.sandbox.server import start_sandbox

    sandbox = start_sandbox(host="127.0.0.1", port=0, rate_limit=0)
    HOOK_HEADERS.update(sandbox.hook_headers)
    try:
        started = time.monotonic()
        result = {
            "redis_url_db": redis_url().rsplit("/", 1)[-1],
            "overhead": overhead(sandbox.url, args.calls),
            "shared_limit": shared_limit(sandbox.url, args.seconds),
        }
        result["seconds"] = round(time.monotonic() - started, 1)
    finally:
        sandbox.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
