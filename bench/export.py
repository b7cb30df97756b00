"""Benchmark: exporting a batch of invoices to PowerOffice (the sandbox), with and without the PDF.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        .venv/bin/python bench/export.py [--invoices 1000]

Starts the PowerOffice sandbox as a separate process on a free port of 127.0.0.1 with 50 ms of
latency on every answer and PowerOffice's limit of 10 requests per second, creates its own agency
(100 customers, 30 articles, N invoices of 2-5 lines with VAT codes 3, 5, 6, 31 and 33), connects
it to a fresh sandbox client, and then:

1. Warm-up: creates the 30 products and 100 customers in PowerOffice (what the first exports of a
   new client do), so the batches below measure the steady state.
2. Without PDF: half of the invoices in two runs (a small one and a large one, to show that SQL
   queries per invoice do not grow with the batch).
3. With PDF ("Send med fakturaspesifikasjon"): the other half, one run.

Reports requests per exported invoice (targets: at most 1.05 without PDF, 2.05 with), invoices per
second against the bound the rate limit sets (limit / requests per invoice), 429s received
(target 0), milliseconds per PDF, and SQL queries per exported invoice. Prints JSON; never fails
on time. The bench agency is deleted afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bitnet.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")  # a development tool: the development settings
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection as db_connection  # noqa: E402
from django.db import transaction  # noqa: E402

from accounting import standard_chart  # noqa: E402
from accounting.customers.services import customer_create  # noqa: E402
from accounting.invoices.services import LineInput, invoice_create  # noqa: E402
from accounting.models import (  # noqa: E402
    Account,
    Article,
    Customer,
    CustomerKind,
    ExportStatus,
    Invoice,
    VatCode,
)
from accounting.pdf import invoice_specification_pdf  # noqa: E402
from bitnet.models import Agency, Office, Role, Subgroup, User  # noqa: E402
from poweroffice.datadeling.connection import (  # noqa: E402
    connection_for_subgroup,
    connection_store_client_key,
)
from poweroffice.invoices.batch import invoices_export  # noqa: E402
from poweroffice.invoices.customers import customer_ensure  # noqa: E402
from poweroffice.invoices.export import export_cache_for  # noqa: E402
from poweroffice.invoices.products import product_ensure  # noqa: E402
from poweroffice.models import AttemptTrigger, Connection  # noqa: E402

VAT = [(vat.code, vat.rate) for vat in standard_chart.vat_codes(*standard_chart.SALES_VAT_CODES)]
ACCOUNTS = [
    (row.number, row.bitnet_vat_code)
    for row in standard_chart.accounts(*standard_chart.SALES_ACCOUNTS)
]
UNITS = ["stk", "stk", "stk", "pers", "tur", "km", "døgn"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sandbox:
    def __init__(self, *, latency_ms: int, rate_limit: float) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers = {
            "Content-Type": "application/json",
            "X-Sandbox-Token": secrets.token_hex(16),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "poweroffice_sandbox",
                "--port",
                str(self.port),
                "--latency-ms",
                str(latency_ms),
                "--rate-limit",
                str(rate_limit),
                "--quiet",
                "--hook-token",
                self.headers["X-Sandbox-Token"],
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                health = requests.get(
                    self.url + "/_sandbox/health", headers=self.headers, timeout=1
                )
                if health.ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.2)

    def hook(self, method: str, path: str, **kwargs):
        kwargs["headers"] = {**self.headers, **kwargs.get("headers", {})}
        response = requests.request(method, f"{self.url}/_sandbox/{path}", timeout=60, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def count(self, **filters) -> int:
        return len(self.hook("GET", "requests", params=filters))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class QueryCounter:
    """Counts SQL statements (no cap, unlike connection.queries)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        self._cm = db_connection.execute_wrapper(self)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)


def build(n_invoices: int, n_customers: int, n_articles: int, rng: random.Random):
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S%f")
    agency = Agency.objects.create(name=f"Benk Begravelsesbyrå {stamp}")
    subgroup = Subgroup.objects.create(
        agency=agency, name="Benk Oslo", bank_account="12345678903", customer_series_end=19999
    )
    office = Office.objects.create(
        agency=agency,
        subgroup=subgroup,
        name="Majorstuen",
        address="Kirkeveien 64",
        postal_code="0368",
        city="Oslo",
    )
    user = User.objects.create(
        username=f"benk-{stamp}",
        agency=agency,
        office=office,
        role=Role.FINANCE,
        first_name="Kari",
        last_name="Nordmann",
        employee_number=1,
    )
    vat = {
        code: VatCode.objects.create(
            agency=agency, code=code, rate=Decimal(rate), name=f"MVA {code}"
        )
        for code, rate in VAT
    }
    accounts = [
        Account.objects.create(
            agency=agency, number=number, name=f"Salg {number}", vat_code=vat[code]
        )
        for number, code in ACCOUNTS
    ]
    articles = [
        Article.objects.create(
            agency=agency,
            name=f"Vare {i + 1}",
            unit=UNITS[i % len(UNITS)],
            price=Decimal(rng.randrange(50, 20000)) + Decimal(rng.randrange(0, 100)) / 100,
            account=accounts[i % len(accounts)],
            vat_code=accounts[i % len(accounts)].vat_code,
        )
        for i in range(n_articles)
    ]
    customers = []
    for i in range(n_customers):
        kind = CustomerKind.ESTATE if i % 3 == 0 else CustomerKind.PERSON
        customers.append(
            customer_create(
                subgroup=subgroup,
                kind=kind,
                name="" if kind == CustomerKind.ESTATE else f"Ola Hansen {i}",
                deceased_name=f"Per Olsen {i}" if kind == CustomerKind.ESTATE else "",
                address=f"Storgata {i + 1}",
                postal_code="0155",
                city="Oslo",
            )
        )
    invoices = []
    day = dt.date(2026, 1, 2)
    for i in range(n_invoices):
        picked = rng.sample(articles, rng.randint(2, 5))
        invoices.append(
            invoice_create(
                created_by=user,
                office=office,
                customer=customers[i % n_customers],
                lines=[LineInput(article=a, quantity=Decimal(rng.randint(1, 4))) for a in picked],
                invoice_date=day + dt.timedelta(days=i % 300),
            ).pk
        )
    return agency, subgroup, articles, customers, invoices


def cleanup(agency: Agency) -> None:
    """Delete the bench agency, in the order its protected foreign keys allow."""
    with transaction.atomic():
        Invoice.objects.filter(agency=agency).delete()
        for model in (Customer, Article, Account, VatCode, User, Office):
            model.objects.filter(agency=agency).delete()
        agency.delete()


def warm_up(connection: Connection, articles: list, customers: list) -> int:
    """Creates the products and customers in PowerOffice, as a new client's first exports do,
    so that what follows measures the steady state. Returns the requests it took."""
    cache = export_cache_for(connection)
    cache.prefetch(
        product_codes=[f"B-{a.pk}" for a in articles],
        customer_numbers=[c.number for c in customers],
    )
    for article in articles:
        product_ensure(cache=cache, article=article)
    for customer in customers:
        customer_ensure(cache=cache, customer=customer)
    requests_made = cache.client.stats.requests
    cache.client.close()
    return requests_made


def run(ids: list[int], sandbox: Sandbox, rate_limit: float) -> dict:
    before_429 = sandbox.count(status="429")
    with QueryCounter() as queries:
        started = time.monotonic()
        summary = invoices_export(invoice_ids=ids, trigger=AttemptTrigger.COMMAND)
        seconds = time.monotonic() - started
    exported = len(summary.exported)
    per_invoice = summary.requests / exported if exported else None
    return {
        "invoices": len(ids),
        "exported": exported,
        "failed": len(summary.failed),
        "failures": sorted({r.message for r in summary.failed})[:5],
        "requests": summary.requests,
        "requests_per_invoice": round(per_invoice, 4) if per_invoice else None,
        "seconds": round(seconds, 2),
        "invoices_per_second": round(exported / seconds, 2) if seconds else None,
        "bound_invoices_per_second": round(rate_limit / per_invoice, 2) if per_invoice else None,
        "share_of_bound": round((exported / seconds) / (rate_limit / per_invoice), 3)
        if per_invoice and seconds
        else None,
        "http_429": sandbox.count(status="429") - before_429,
        "sql_queries": queries.count,
        "sql_queries_per_invoice": round(queries.count / exported, 2) if exported else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--articles", type=int, default=30)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--rate-limit", type=float, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the bench agency")
    args = parser.parse_args()
    rng = random.Random(7720)

    sandbox = Sandbox(latency_ms=args.latency_ms, rate_limit=args.rate_limit)
    settings.POWEROFFICE_API_URL = sandbox.url + "/v2"
    settings.POWEROFFICE_TOKEN_URL = sandbox.url + "/OAuth/Token"
    settings.POWEROFFICE_SANDBOX_URL = sandbox.url
    settings.POWEROFFICE_RATE_LIMIT = args.rate_limit
    agency = None
    result: dict = {
        "invoices": args.invoices,
        "customers": args.customers,
        "articles": args.articles,
        "latency_ms": args.latency_ms,
        "rate_limit": args.rate_limit,
        "rate_limiter": "redis" if settings.REDIS_URL else "local",
    }
    try:
        started = time.monotonic()
        agency, subgroup, articles, customers, ids = build(
            args.invoices, args.customers, args.articles, rng
        )
        result["setup_seconds"] = round(time.monotonic() - started, 1)

        key = sandbox.hook("POST", "clients", json={"name": "Benk Oslo AS"})["client_key"]
        connection = connection_for_subgroup(subgroup)
        verified = connection_store_client_key(connection=connection, client_key=key)
        assert verified.ok, verified.message
        Connection.objects.filter(pk=connection.pk).update(enabled=True)
        connection.refresh_from_db()

        # 1. Warm-up: products and customers exist in PowerOffice from now on.
        result["warmup_requests"] = warm_up(connection, articles, customers)

        half = len(ids) // 2
        small = max(1, half // 10)
        # 2. Without PDF, a small and a large run.
        small_run = run(ids[:small], sandbox, args.rate_limit)
        large_run = run(ids[small:half], sandbox, args.rate_limit)
        total = {
            "invoices": small_run["invoices"] + large_run["invoices"],
            "exported": small_run["exported"] + large_run["exported"],
            "failed": small_run["failed"] + large_run["failed"],
            "requests": small_run["requests"] + large_run["requests"],
            "seconds": round(small_run["seconds"] + large_run["seconds"], 2),
            "http_429": small_run["http_429"] + large_run["http_429"],
        }
        total["requests_per_invoice"] = round(total["requests"] / total["exported"], 4)
        total["invoices_per_second"] = round(total["exported"] / total["seconds"], 2)
        total["bound_invoices_per_second"] = round(
            args.rate_limit / total["requests_per_invoice"], 2
        )
        total["share_of_bound"] = round(
            total["invoices_per_second"] / total["bound_invoices_per_second"], 3
        )
        result["without_pdf"] = {**total, "runs": {"small": small_run, "large": large_run}}

        # 3. With PDF.
        Connection.objects.filter(pk=connection.pk).update(include_specification=True)
        result["with_pdf"] = run(ids[half:], sandbox, args.rate_limit)

        # The PDF alone.
        sample = list(
            Invoice.objects.filter(pk__in=ids[half : half + 20]).select_related(
                "agency", "subgroup", "office", "customer", "credited_invoice"
            )
        )
        timings = []
        for invoice in sample:
            t0 = time.perf_counter()
            pdf = invoice_specification_pdf(invoice=invoice)
            timings.append((time.perf_counter() - t0) * 1000)
        result["pdf"] = {
            "samples": len(timings),
            "ms_mean": round(statistics.mean(timings), 1),
            "ms_max": round(max(timings), 1),
            "bytes": len(pdf),
        }
        result["sql_queries_note"] = (
            "counted on the exporting thread; with PDF the background renderer adds 2 reads "
            "per invoice (the invoice and its lines)"
        )
        result["sql_queries_per_invoice"] = {
            "small_batch": small_run["sql_queries_per_invoice"],
            "large_batch": large_run["sql_queries_per_invoice"],
            "marginal": round(
                (large_run["sql_queries"] - small_run["sql_queries"])
                / max(1, large_run["exported"] - small_run["exported"]),
                2,
            ),
        }
        result["vouchers_in_poweroffice"] = len(sandbox.hook("GET", f"clients/{key}/data/vouchers"))
        result["not_exported"] = (
            Invoice.objects.filter(pk__in=ids).exclude(export_status=ExportStatus.EXPORTED).count()
        )
        result["targets"] = {
            "requests_per_invoice_without_pdf_max": 1.05,
            "requests_per_invoice_with_pdf_max": 2.05,
            "http_429": 0,
        }
    finally:
        sandbox.stop()
        print(json.dumps(result, indent=2, ensure_ascii=False))
        if agency is not None and not args.keep:
            cleanup(agency)


if __name__ == "__main__":
    main()
