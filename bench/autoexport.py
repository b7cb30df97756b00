"""Benchmark: invoices created one at a time, as finance staff do, exported automatically by a real
Celery worker on Redis; and the same while another PowerOffice client exports thousands in bulk.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        .venv/bin/python bench/autoexport.py [--lone 30] [--gap 2] [--bulk 2000] [--latency-ms 150]

Starts the sandbox (bench/export.py's) with the given latency and PowerOffice's 10 requests/s,
one interactive and one bulk worker (the queues of bitnet/settings.py), and two bench agencies
with a PowerOffice client each. Customers and products exist in PowerOffice beforehand (the
steady state). Then:

1. Lone automatic export: client B's invoices are created one at a time through
   ``invoice_create``, ``--gap`` seconds apart, without and with the PDF. Reports requests per
   invoice as the sandbox counted them (targets: at most 1.2 without PDF, 2.2 with) and the time
   from commit to the invoice's voucher in PowerOffice (median target at most 1 s at 150 ms).
2. Fairness: client A's "Eksporter alle" of ``--bulk`` invoices runs on the bulk worker while B's
   invoices keep coming one at a time; reports B's commit-to-voucher p50/p95 (target p95 within
   5 s) and A's throughput meanwhile.

Needs REDIS_URL (the worker's broker). Prints JSON; never fails on time. The bench agencies are
deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import export as batch_bench
from django.conf import settings
from django.utils import timezone

from accounting.invoices.services import LineInput, invoice_create
from accounting.models import ExportStatus, Invoice
from bitnet.celery import app as celery_app
from bitnet.models import Office, User
from poweroffice.chart.services import prerequisites_check
from poweroffice.datadeling.connection import (
    connection_for_subgroup,
    connection_store_client_key,
)
from poweroffice.invoices.batch import export_batch_create
from poweroffice.models import Connection

ROOT = batch_bench.ROOT


def connect(sandbox, subgroup, name: str, articles, customers) -> Connection:
    # A name of its own: the sandbox derives a client's id from its name, and a client belongs
    # to one subgroup only (an earlier run's agency may still hold "Benk A AS").
    unique = f"{name} {secrets.token_hex(3)}"
    key = sandbox.hook("POST", "clients", json={"name": unique})["client_key"]
    connection = connection_for_subgroup(subgroup)
    verified = connection_store_client_key(connection=connection, client_key=key)
    assert verified.ok, verified.message
    Connection.objects.filter(pk=connection.pk).update(enabled=True, auto_export=True)
    connection.refresh_from_db()
    prerequisites_check(connection=connection)  # automatic export waits for the checklist
    connection.refresh_from_db()
    assert connection.prerequisites_ok, connection.prerequisites
    batch_bench.warm_up(connection, articles, customers)
    return connection


def start_worker(queue: str, concurrency: int, env: dict) -> subprocess.Popen:
    log = open(ROOT / "var" / f"bench-worker-{queue}.log", "w")  # noqa: SIM115
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bitnet",
            "worker",
            "-Q",
            queue,
            "-n",
            f"bench-{queue}@%h",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_workers(names: set[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = celery_app.control.ping(timeout=0.5) or []
        seen = {name.split("@")[0] for reply in replies for name in reply}
        if names <= seen:
            return
    raise RuntimeError(f"workers {names} did not start; see var/bench-worker-*.log")


def lone_invoices(world, count: int, gap: float, rng: random.Random, sandbox) -> dict:
    """Creates ``count`` invoices one at a time and waits for each one's export."""
    user, office, customers, articles = world
    before = sandbox.count()
    before_429 = sandbox.count(status="429")
    latencies = []
    unexported = 0
    for i in range(count):
        picked = rng.sample(articles, rng.randint(2, 4))
        committed = time.monotonic()
        invoice = invoice_create(
            created_by=user,
            office=office,
            customer=customers[i % len(customers)],
            lines=[LineInput(article=a, quantity=Decimal(rng.randint(1, 3))) for a in picked],
            invoice_date=timezone.localdate(),
        )
        deadline = committed + 60
        while time.monotonic() < deadline:
            status = Invoice.objects.filter(pk=invoice.pk).values_list("export_status", flat=True)
            if status[0] == ExportStatus.EXPORTED:
                latencies.append(time.monotonic() - committed)
                break
            time.sleep(0.02)
        else:
            unexported += 1
        time.sleep(max(0.0, gap - (time.monotonic() - committed)))
    time.sleep(1)  # a PDF upload still under way is counted too
    requests = sandbox.count() - before
    return {
        "invoices": count,
        "not_exported_within_60s": unexported,
        "requests": requests,
        "requests_per_invoice": round(requests / count, 3),
        "commit_to_exported_seconds": _summary(latencies),
        "http_429": sandbox.count(status="429") - before_429,
    }


def _summary(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 3),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
        "max": round(ordered[-1], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lone", type=int, default=30, help="lone invoices per phase")
    parser.add_argument("--gap", type=float, default=2.0, help="seconds between lone invoices")
    parser.add_argument("--bulk", type=int, default=2000, help="client A's bulk export, 0: none")
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--rate-limit", type=float, default=10)
    args = parser.parse_args()
    if not settings.REDIS_URL:
        sys.exit("REDIS_URL is needed: the worker's broker")
    rng = random.Random(9131)

    sandbox = batch_bench.Sandbox(latency_ms=args.latency_ms, rate_limit=args.rate_limit)
    overrides = {
        "POWEROFFICE_API_URL": sandbox.url + "/v2",
        "POWEROFFICE_TOKEN_URL": sandbox.url + "/OAuth/Token",
        "POWEROFFICE_SANDBOX_URL": sandbox.url,
        "POWEROFFICE_RATE_LIMIT": str(args.rate_limit),
    }
    for name, value in overrides.items():
        setattr(settings, name, float(value) if name.endswith("LIMIT") else value)
    env = {**os.environ, **overrides, "DJANGO_DEBUG": "true", "LOG_LEVEL": "WARNING"}
    (ROOT / "var").mkdir(exist_ok=True)
    agencies = []
    workers = []
    result: dict = {
        "latency_ms": args.latency_ms,
        "rate_limit": args.rate_limit,
        "gap_seconds": args.gap,
    }
    try:
        a_agency, a_subgroup, a_articles, a_customers, a_ids = batch_bench.build(
            args.bulk, 100, 30, rng
        )
        agencies.append(a_agency)
        b_agency, b_subgroup, b_articles, b_customers, _ = batch_bench.build(0, 20, 15, rng)
        agencies.append(b_agency)
        connect(sandbox, a_subgroup, "Benk A AS", a_articles, a_customers)
        b_connection = connect(sandbox, b_subgroup, "Benk B AS", b_articles, b_customers)
        b_user = User.objects.get(agency=b_agency)
        b_world = (b_user, Office.objects.get(agency=b_agency), b_customers, b_articles)

        celery_app.control.purge()
        workers.append(start_worker("interactive", 2, env))
        workers.append(start_worker("bulk", 1, env))
        wait_workers({"bench-interactive", "bench-bulk"})

        result["lone_without_pdf"] = lone_invoices(b_world, args.lone, args.gap, rng, sandbox)
        Connection.objects.filter(pk=b_connection.pk).update(include_specification=True)
        result["lone_with_pdf"] = lone_invoices(b_world, args.lone, args.gap, rng, sandbox)

        if args.bulk:
            batch = export_batch_create(
                agency_id=a_agency.pk, user=User.objects.get(agency=a_agency), invoice_ids=a_ids
            )
            started = time.monotonic()
            time.sleep(3)  # the batch is under way
            fair = lone_invoices(b_world, args.lone, args.gap, rng, sandbox)
            # The sandbox counted A's bulk requests too: B's own cost is measured above.
            for mixed in ("requests", "requests_per_invoice"):
                fair.pop(mixed)
            a_done = Invoice.objects.filter(
                pk__in=a_ids, export_status=ExportStatus.EXPORTED
            ).count()
            seconds = time.monotonic() - started
            result["fairness"] = {
                "bulk_invoices": args.bulk,
                "bulk_batch": batch.pk,
                "client_b_lone_with_pdf": fair,
                "client_a_exported_meanwhile": a_done,
                "client_a_invoices_per_second": round(a_done / seconds, 2),
            }
        result["targets"] = {
            "lone_requests_per_invoice_without_pdf_max": 1.2,
            "lone_requests_per_invoice_with_pdf_max": 2.2,
            "lone_commit_to_exported_median_max_seconds_at_150ms": 1.0,
            "fairness_client_b_p95_max_seconds": 5.0,
            "http_429": 0,
        }
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=10)  # a bulk batch still running is cut short
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        celery_app.control.purge()
        sandbox.stop()
        print(json.dumps(result, indent=2, ensure_ascii=False))
        for agency in agencies:
            batch_bench.cleanup(agency)


if __name__ == "__main__":
    main()
