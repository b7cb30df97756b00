"""Benchmark: the PowerOffice rate limiter, shared by processes, and its fair share.

    REDIS_URL=redis://127.0.0.1:6379/<n> .venv/bin/python bench/ratelimit.py [--seconds 10]

Starts the PowerOffice sandbox in this process on a free port of 127.0.0.1 with PowerOffice's
limit (10 requests/s per subscription key, counted as requests arrive), then runs worker
processes that share one subscription key, each with a client key of its own:

1. Throughput. Four processes call ``GET /Departments`` one after the other as fast as they can,
   at 150 ms and at 50 ms of sandbox latency, through the Redis backend and through the file
   backend (no Redis: what ``bin/run`` uses). Figures from the sandbox's own log of arrivals over
   a steady window: requests per second as a share of the limit (target >= 95 %), 429s (target 0),
   and the shortest time in which 11 requests arrived (PowerOffice refuses the 11th inside one
   second). One more run adds up to 20 ms of random network delay on the way there (the jitter
   the margin is for).
2. Fair share. Client A runs bulk work in four processes (as many requests as it can); client B
   sends single interactive requests, one every 0.3-0.7 s, from a fifth process. Reported: how
   long B's requests waited for the limiter (p50, p95, max; target p95 <= 5 s), A's throughput,
   429s. Then the same with B in the bulk lane too: the per-client round-robin alone.

Prints JSON. Never fails on time; stays on 127.0.0.1; bounded (about two minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bitnet.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402

from poweroffice.client.client import PowerOfficeClient  # noqa: E402
from poweroffice.client.ratelimit import Lane, get_rate_limiter  # noqa: E402

RATE_LIMIT = 10
FLOODERS = 4


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or settings.REDIS_URL or "redis://127.0.0.1:6379/0"


def hook(url: str, method: str, path: str, **kwargs):
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


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- one worker process ---------------------------------------------------------------------------


class Stamped:
    """The shared limiter, noting when each of this process's requests was let go and when it
    was reported on the wire."""

    def __init__(self, limiter):
        self.limiter = limiter
        self.rate = limiter.rate
        self.backend = limiter.backend
        self.granted: list[float] = []
        self.sent_at: list[float] = []

    def acquire(self, *, lane=Lane.INTERACTIVE, client=""):
        ticket = self.limiter.acquire(lane=lane, client=client)
        self.granted.append(time.time())
        return ticket

    def sent(self, ticket):
        self.sent_at.append(time.time())
        self.limiter.sent(ticket)

    def penalize(self, seconds):
        self.limiter.penalize(seconds)

    def status(self):
        return self.limiter.status()


def worker(url, role, limiter_options, barrier, start_at, stop_at, queue):
    logging.disable(logging.WARNING)
    limiter = Stamped(get_rate_limiter(role["subscription_key"], **limiter_options))
    po = PowerOfficeClient(
        role["client_key"],
        application_key=role["application_key"],
        subscription_key=role["subscription_key"],
        api_url=url + "/v2",
        token_url=url + "/OAuth/Token",
        rate_limiter=limiter,
        lane=role["lane"],
        max_429_retries=0,
    )
    po.list_departments()  # the token and the connection, before the clock starts
    barrier.wait()
    while not start_at.value or time.time() < start_at.value:
        time.sleep(0.001)
    waits: list[float] = []
    errors = 0
    while time.time() < stop_at.value:
        if role["single"]:
            time.sleep(random.uniform(0.3, 0.7))
        before = po.stats.rate_limit_wait
        try:
            po.list_departments()
        except Exception:
            errors += 1
        waits.append(po.stats.rate_limit_wait - before)
    queue.put(
        {
            "name": role["name"],
            "limiter": limiter.backend,
            "errors": errors,
            "waits": waits,
            "requests": po.stats.requests,
            "client_id": role["client_id"],
            "granted": limiter.granted,
            "sent_at": limiter.sent_at,
            "http_429": po.stats.rate_limited_429,
        }
    )


def run(url: str, roles: list[dict], *, backend: str, seconds: float) -> tuple[list[dict], float]:
    """Start one process per role, let them work for ``seconds`` (plus a second either side)."""
    folder = tempfile.mkdtemp(prefix="bench-ratelimit-")
    limiter_options = {
        "rate": RATE_LIMIT,
        "margin": float(settings.POWEROFFICE_RATE_LIMIT_MARGIN),
        "redis_url": redis_url() if backend == "redis" else None,
        "directory": folder,
    }
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(roles) + 1)
    start_at = ctx.Value("d", 0.0)
    stop_at = ctx.Value("d", 0.0)
    queue = ctx.Queue()
    processes = [
        ctx.Process(
            target=worker, args=(url, role, limiter_options, barrier, start_at, stop_at, queue)
        )
        for role in roles
    ]
    for process in processes:
        process.start()
    barrier.wait(timeout=120)
    begin = time.time() + 0.3
    stop_at.value = begin + seconds + 2
    start_at.value = begin
    results = [queue.get(timeout=seconds + 60) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    return results, begin


def arrivals(url: str, client_ids: set[str]) -> list[tuple[float, int]]:
    log = hook(url, "GET", "requests")
    return sorted(
        (dt.datetime.fromisoformat(e.get("arrived") or e["time"]).timestamp(), e["status"])
        for e in log
        if e["client_id"] in client_ids
    )


def _delays(pairs: list[tuple[float, float]]) -> dict:
    delays = [b - a for a, b in pairs]
    if not delays:
        return {}
    low = min(delays)
    return {
        "p50_ms": round(statistics.median(delays) * 1000, 1),
        "p99_ms": round((percentile(delays, 0.99) or 0) * 1000, 1),
        "spread_max_ms": round((max(delays) - low) * 1000, 1),
    }


def delays(url: str, results: list[dict]) -> dict:
    """Per request (one process per client key, requests one after the other: the n-th grant is
    the n-th arrival): from the limiter's grant to the report that it was written (our own CPU,
    which the limiter waits out), and from that report to the arrival at the sandbox (what the
    margin must cover: here the loopback plus any jitter the sandbox adds)."""
    log = hook(url, "GET", "requests")
    granted_to_sent: list[tuple[float, float]] = []
    sent_to_arrival: list[tuple[float, float]] = []
    for result in results:
        times = sorted(
            dt.datetime.fromisoformat(e.get("arrived") or e["time"]).timestamp()
            for e in log
            if e["client_id"] == result["client_id"]
        )
        if len(times) == len(result["granted"]) == len(result["sent_at"]):
            granted_to_sent += list(zip(result["granted"], result["sent_at"], strict=True))
            sent_to_arrival += list(zip(result["sent_at"], times, strict=True))
    return {"grant_to_sent": _delays(granted_to_sent), "sent_to_arrival": _delays(sent_to_arrival)}


def window_figures(seen: list[tuple[float, int]], begin: float, seconds: float) -> dict:
    # Steady state: skip the first second (processes lining up) and the last one (stopping).
    start, end = begin + 1, begin + 1 + seconds
    ok = [t for t, status in seen if status != 429]
    steady = [t for t in ok if start <= t < end]
    spans = [b - a for a, b in zip(ok, ok[RATE_LIMIT:], strict=False)]
    # The sustained rate: N requests per the mean time N requests took to arrive, over the
    # window (a plain count per window is off by up to a full burst at either end).
    steady_spans = [b - a for a, b in zip(steady, steady[RATE_LIMIT:], strict=False)]
    achieved = RATE_LIMIT / statistics.fmean(steady_spans) if steady_spans else 0.0
    return {
        "requests_per_second": round(achieved, 2),
        "share_of_limit": round(achieved / RATE_LIMIT, 3),
        "http_429_received": sum(1 for _, status in seen if status == 429),
        "shortest_span_of_11_arrivals_s": round(min(spans), 3) if spans else None,
    }


# --- 1. throughput --------------------------------------------------------------------------------


def throughput(
    url: str, *, backend: str, latency_ms: int, seconds: float, jitter_ms: int = 0
) -> dict:
    hook(
        url,
        "POST",
        "config",
        json={"rate_limit": RATE_LIMIT, "latency_ms": latency_ms, "latency_jitter_ms": jitter_ms},
    )
    hook(url, "DELETE", "requests")
    subscription_key = f"bench-throughput-{uuid.uuid4()}"
    infos = [new_client(url, f"Byrå {n} AS", subscription_key) for n in range(FLOODERS)]
    roles = [
        {**info, "name": f"p{n}", "lane": Lane.BULK, "single": False}
        for n, info in enumerate(infos)
    ]
    results, begin = run(url, roles, backend=backend, seconds=seconds)
    seen = arrivals(url, {i["client_id"] for i in infos})
    return {
        "backend": backend,
        "processes": FLOODERS,
        "latency_ms": latency_ms,
        "jitter_ms": jitter_ms,
        "window_seconds": seconds,
        **window_figures(seen, begin, seconds),
        "delays": delays(url, results),
        "limiter": sorted({r["limiter"] for r in results}),
        "errors": sum(r["errors"] for r in results),
    }


# --- 2. fair share --------------------------------------------------------------------------------


def fairness(url: str, *, backend: str, seconds: float, b_lane: Lane) -> dict:
    hook(url, "POST", "config", json={"rate_limit": RATE_LIMIT, "latency_ms": 150})
    hook(url, "DELETE", "requests")
    subscription_key = f"bench-fair-{uuid.uuid4()}"
    a = new_client(url, "Stor Byrå AS", subscription_key)
    b = new_client(url, "Lite Byrå AS", subscription_key)
    roles = [{**a, "name": "A", "lane": Lane.BULK, "single": False} for _ in range(FLOODERS)] + [
        {**b, "name": "B", "lane": b_lane, "single": True}
    ]
    results, begin = run(url, roles, backend=backend, seconds=seconds)
    seen = arrivals(url, {a["client_id"], b["client_id"]})
    waits = [w for r in results if r["name"] == "B" for w in r["waits"]]
    a_seen = [(t, s) for t, s in arrivals(url, {a["client_id"]})]
    return {
        "backend": backend,
        "latency_ms": 150,
        "a_bulk_processes": FLOODERS,
        "b_lane": str(b_lane),
        "b_requests": len(waits),
        "b_wait_s": {
            "p50": round(statistics.median(waits), 3) if waits else None,
            "p95": round(percentile(waits, 0.95) or 0, 3),
            "max": round(max(waits), 3) if waits else None,
        },
        "a_requests_per_second": window_figures(a_seen, begin, seconds)["requests_per_second"],
        "all": window_figures(seen, begin, seconds),
        "errors": sum(r["errors"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="steady window of each run")
    parser.add_argument("--backends", default="redis,file", help="comma list: redis, file")
    parser.add_argument("--latencies", default="150,50", help="comma list, ms (throughput)")
    parser.add_argument("--only", choices=("throughput", "fairness"), help="one part only")
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    from poweroffice.sandbox.server import start_sandbox

    sandbox = start_sandbox(host="127.0.0.1", port=0, rate_limit=RATE_LIMIT)
    seconds = args.seconds
    backends = [b for b in args.backends.split(",") if b]
    latencies = [int(v) for v in args.latencies.split(",") if v]
    result: dict = {
        "rate_limit": RATE_LIMIT,
        "margin_s": float(settings.POWEROFFICE_RATE_LIMIT_MARGIN),
        "redis_url_db": redis_url().rsplit("/", 1)[-1],
    }
    try:
        started = time.monotonic()
        if args.only != "fairness":
            result["throughput"] = [
                throughput(sandbox.url, backend=backend, latency_ms=latency, seconds=seconds)
                for latency in latencies
                for backend in backends
            ] + [
                throughput(
                    sandbox.url, backend=backends[0], latency_ms=150, seconds=seconds, jitter_ms=20
                )
            ]
        if args.only != "throughput":
            result["fairness"] = [
                fairness(sandbox.url, backend=backend, seconds=seconds, b_lane=Lane.INTERACTIVE)
                for backend in backends
            ] + [fairness(sandbox.url, backend=backends[0], seconds=seconds, b_lane=Lane.BULK)]
        result["seconds"] = round(time.monotonic() - started, 1)
    finally:
        sandbox.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
