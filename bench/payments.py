"""Benchmark: the nightly payment check over 10,000 exported, unpaid invoices, 100 of them paid.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<name> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        .venv/bin/python bench/payments.py [--invoices 10000] [--changed 100]

Creates a throwaway database (bench_payments_<name>), starts the PowerOffice sandbox in this
process on a free port, seeds our invoices with bulk_create and the sandbox's outgoing invoices
through its data hook (called in-process: 10,000 records without 10,000 HTTP posts), registers
the payments through the sandbox's payment hook over HTTP, then runs one incremental check and
one full reconciliation. Prints JSON: requests per subgroup (token included), SQL queries,
seconds. Never fails on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bitnet.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")  # a development tool: the development settings
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402

SEED_TIME = dt.datetime(2026, 1, 15, 8, 0, tzinfo=dt.UTC)
WATERMARK = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0
        self.timings: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.timings.append((time.perf_counter() - started, sql[:90]))

    def slowest(self, n: int = 3) -> list[dict]:
        top = sorted(self.timings, reverse=True)[:n]
        return [{"seconds": round(t, 3), "sql": sql} for t, sql in top]


def seed(*, invoices: int, sandbox) -> tuple:
    import requests

    from accounting.models import Customer, ExportStatus, Invoice, PaymentStatus
    from bitnet.models import Agency, Office, Role, Subgroup, User
    from poweroffice.crypto import encrypt_secret
    from poweroffice.models import Connection
    from poweroffice.sandbox import hooks

    agency = Agency.objects.create(name="Bench Begravelsesbyrå AS")
    subgroup = Subgroup.objects.create(
        agency=agency, name="Bench Oslo", invoice_series_end=999999, next_invoice_number=100001
    )
    office = Office.objects.create(agency=agency, subgroup=subgroup, name="Sentrum")
    customer = Customer.objects.create(
        agency=agency, subgroup=subgroup, number=10001, kind="estate", name="Dødsbo etter Bench"
    )
    user = User.objects.create(username="bench", agency=agency, role=Role.FINANCE)

    http = requests.Session()
    http.trust_env = False
    http.headers.update(sandbox.hook_headers)
    client = http.post(f"{sandbox.url}/_sandbox/clients", json={"name": "Bench Oslo AS"}).json()
    key = client["client_key"]
    Connection.objects.create(
        subgroup=subgroup,
        enabled=True,
        client_key_encrypted=encrypt_secret(key),
        client_key_last4=key[-4:],
        payments_watermark=WATERMARK,
        payments_full_sync_at=WATERMARK,
    )

    rows = []
    path = f"/_sandbox/clients/{key}/data/outgoinginvoices"
    for i in range(invoices):
        number = 100001 + i
        voucher_id = str(uuid.UUID(int=number))
        gross = Decimal(1000 + i % 5000) + Decimal("0.50")
        stamp = (SEED_TIME + dt.timedelta(seconds=i)).isoformat()
        answer = hooks.handle(
            sandbox.state,
            "POST",
            path,
            {},
            {
                "Id": voucher_id,
                "InvoiceNo": number,
                "CustomerNo": customer.number,
                "VoucherDate": "2026-01-15",
                "TotalAmount": gross,
                "BalanceLastChangedDateTimeOffset": stamp,
            },
        )
        assert answer.status == 201, answer.body
        rows.append(
            Invoice(
                agency=agency,
                subgroup=subgroup,
                office=office,
                customer=customer,
                number=number,
                invoice_date=dt.date(2026, 1, 15),
                due_date=dt.date(2026, 1, 29),
                kid=f"{number}0",
                created_by=user,
                net_total=gross,
                gross_total=gross,
                export_status=ExportStatus.EXPORTED,
                exported_at=SEED_TIME,
                external_voucher_id=voucher_id,
                payment_status=PaymentStatus.UNPAID,
                balance=gross,
                balance_changed_at=SEED_TIME + dt.timedelta(seconds=i),
            )
        )
    Invoice.objects.bulk_create(rows, batch_size=2000)
    return subgroup, key, http, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=100)
    args = parser.parse_args()

    from poweroffice.sandbox.server import start_sandbox

    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = f"bench_payments_{Path(str(db['NAME'])).name}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    sandbox = start_sandbox(port=0, rate_limit=10)
    settings.POWEROFFICE_API_URL = sandbox.api_url
    settings.POWEROFFICE_TOKEN_URL = sandbox.token_url
    try:
        from accounting.models import Invoice, PaymentStatus
        from poweroffice.payments.services import payments_sync

        started = time.perf_counter()
        subgroup, key, http, rows = seed(invoices=args.invoices, sandbox=sandbox)
        seed_seconds = time.perf_counter() - started
        step = max(1, args.invoices // max(1, args.changed))
        changed = rows[::step][: args.changed]
        for n, invoice in enumerate(changed):
            amount = invoice.gross_total if n % 2 == 0 else Decimal("500.00")
            answer = http.post(
                f"{sandbox.url}/_sandbox/clients/{key}/payments",
                json={"invoice_no": invoice.number, "amount": str(amount)},
            )
            assert answer.status_code == 200, answer.text

        results = {}
        for mode, full in (("nightly_incremental", False), ("weekly_full", True)):
            cache.clear()  # no cached token: count the token request too (worst case)
            sandbox.state.log.clear()
            counter = QueryCounter()
            t0 = time.perf_counter()
            with connection.execute_wrapper(counter):
                run = payments_sync(subgroup=subgroup, full=full)
            seconds = time.perf_counter() - t0
            log = list(sandbox.state.log)
            results[mode] = {
                "success": run.success,
                "error": run.error,
                "checked": run.checked,
                "changed": run.changed,
                "requests_per_subgroup": run.requests,
                "requests": [
                    {"route": e["route"], "status": e["status"], "query": e["query"]} for e in log
                ],
                "sql_queries": counter.count,
                "sql_seconds": round(sum(t for t, _ in counter.timings), 3),
                "slowest_sql": counter.slowest(),
                "seconds": round(seconds, 3),
            }
        paid = Invoice.objects.filter(subgroup=subgroup, payment_status=PaymentStatus.PAID)
        partly = Invoice.objects.filter(subgroup=subgroup, payment_status=PaymentStatus.PARTLY_PAID)
        print(
            json.dumps(
                {
                    "benchmark": "payments",
                    "database": connection.vendor,
                    "exported_unpaid_invoices": args.invoices,
                    "changed_in_poweroffice": len(changed),
                    "seed_seconds": round(seed_seconds, 2),
                    **results,
                    "final": {"paid": paid.count(), "partly_paid": partly.count()},
                    "targets": {"requests_per_subgroup_nightly": "<= 3", "sql": "bounded"},
                },
                indent=2,
                default=str,
            )
        )
    finally:
        sandbox.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
