"""Benchmark: the PowerOffice client's own cost per call.

    REDIS_URL=redis://127.0.0.1:6379/<n> .venv/bin/python bench/client.py [--calls 500]

Starts the PowerOffice sandbox in this process on a free port of 127.0.0.1, without latency or
rate limit, and sends the same GET /Departments through a bare ``requests.Session`` (same token,
same headers) and through ``PowerOfficeClient`` with each rate limiter backend (in-process, the
machine's file, Redis) set far above any real limit. The difference is what the client itself
costs per call (limiter, token lookup in the cache, stats, logging, parsing). How the limiter
shares PowerOffice's limit between processes is ``bench/ratelimit.py``.

Prints JSON. Never fails on time; stays on 127.0.0.1; bounded (a few seconds).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
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
from poweroffice.client.ratelimit import (  # noqa: E402
    FileRateLimiter,
    LocalRateLimiter,
    RedisRateLimiter,
)


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
    machine = PowerOfficeClient(
        info["client_key"],
        rate_limiter=FileRateLimiter(
            os.path.join(tempfile.mkdtemp(prefix="bench-client-"), "limit.json"),
            1_000_000,
            margin=0.0,
        ),
        **common,
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
    machine.list_departments()
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
    results = {
        "raw": 0.0,
        "client_local_limiter": 0.0,
        "client_file_limiter": 0.0,
        "client_redis_limiter": 0.0,
    }
    block = max(1, calls // 5)
    for _ in range(5):  # interleaved, so that drift hits all alike
        results["raw"] += timed(bare, block)
        results["client_local_limiter"] += timed(local.list_departments, block)
        results["client_file_limiter"] += timed(machine.list_departments, block)
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
            name: round((per_call[f"client_{name}"] - per_call["raw"]) * 1000, 3)
            for name in ("local_limiter", "file_limiter", "redis_limiter")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500, help="calls per variant")
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
        }
        result["seconds"] = round(time.monotonic() - started, 1)
    finally:
        sandbox.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
