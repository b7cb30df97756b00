"""Benchmark: month-end reconciliation of 500 and 5,000 invoices against PowerOffice.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<name> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        .venv/bin/python bench/reconcile.py [--sizes 500,5000]

Creates a throwaway database (bench_reconcile_<name>), starts the PowerOffice sandbox in this
process on a free port, and per size seeds a subgroup's month of invoices (bulk_create) and the
same invoices booked in the sandbox (its data hook, called in-process), one of them with a
changed amount. Then runs one reconciliation and prints JSON: requests to PowerOffice (token
included), SQL queries, seconds, and the differences found. Never fails on time.
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
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402

DAY = dt.date(2026, 1, 15)


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def seed(*, invoices: int, sandbox, tag: str):
    import requests

    from accounting.models import (
        Account,
        Article,
        Customer,
        ExportStatus,
        Invoice,
        InvoiceLine,
        VatCode,
    )
    from bitnet.models import Agency, Office, Role, Subgroup, User
    from poweroffice.crypto import encrypt_secret
    from poweroffice.models import Connection
    from poweroffice.sandbox import hooks

    agency = Agency.objects.create(name=f"Bench {tag} AS")
    subgroup = Subgroup.objects.create(
        agency=agency, name=f"Bench {tag}", invoice_series_end=999999, next_invoice_number=100001
    )
    office = Office.objects.create(agency=agency, subgroup=subgroup, name="Sentrum")
    customer = Customer.objects.create(
        agency=agency, subgroup=subgroup, number=10001, kind="estate", name="Dødsbo etter Bench"
    )
    user = User.objects.create(username=f"bench{tag}", agency=agency, role=Role.FINANCE)
    vat = VatCode.objects.create(agency=agency, code="3", rate=Decimal("25"), name="Utgående")
    account = Account.objects.create(agency=agency, number=3000, name="Salg", vat_code=vat)
    article = Article.objects.create(
        agency=agency, name="Kiste", price=Decimal("1000"), account=account, vat_code=vat
    )

    http = requests.Session()
    http.trust_env = False
    client = http.post(f"{sandbox.url}/_sandbox/clients", json={"name": f"Bench {tag}"}).json()
    key = client["client_key"]
    Connection.objects.create(
        subgroup=subgroup,
        enabled=True,
        client_key_encrypted=encrypt_secret(key),
        client_key_last4=key[-4:],
    )
    app_key = settings.POWEROFFICE_APPLICATION_KEY
    path = f"/_sandbox/clients/{key}/data/outgoinginvoices"
    rows, lines = [], []
    for i in range(invoices):
        number = 100001 + i
        net = Decimal(1000 + i % 5000)
        vat_amount = net / 4
        gross = net + vat_amount
        booked = gross + Decimal("0.01") if i == invoices // 2 else gross  # one amount changed
        booked_vat = (booked / 5).quantize(Decimal("0.01"))
        answer = hooks.handle(
            sandbox.state,
            "POST",
            path,
            {},
            {
                "Id": str(uuid.UUID(int=number)),
                "InvoiceNo": number,
                "CustomerNo": customer.number,
                "Cid": f"{number}0",
                "VoucherDate": DAY.isoformat(),
                "TotalAmount": booked,
                "_created_by": app_key,
                "_lines": [
                    {
                        "AccountNo": 3000,
                        "VatCode": "3",
                        "VatRate": Decimal("0.25"),
                        "TotalAmount": booked,
                        "VatAmount": booked_vat,
                        "NetAmount": booked - booked_vat,
                        "NetPostedAmount": booked - booked_vat,
                    }
                ],
            },
        )
        assert answer.status == 201, answer.body
        invoice = Invoice(
            agency=agency,
            subgroup=subgroup,
            office=office,
            customer=customer,
            number=number,
            invoice_date=DAY,
            due_date=DAY + dt.timedelta(days=14),
            kid=f"{number}0",
            created_by=user,
            net_total=net,
            vat_total=vat_amount,
            gross_total=gross,
            export_status=ExportStatus.EXPORTED,
            balance=booked,
        )
        rows.append(invoice)
    Invoice.objects.bulk_create(rows, batch_size=2000)
    for invoice in rows:
        lines.append(
            InvoiceLine(
                invoice=invoice,
                position=1,
                article=article,
                description="Kiste",
                quantity=Decimal(1),
                unit="stk",
                unit_price=invoice.net_total,
                account=account,
                vat_code=vat,
                vat_rate=Decimal("25"),
                net_amount=invoice.net_total,
                vat_amount=invoice.vat_total,
                gross_amount=invoice.gross_total,
            )
        )
    InvoiceLine.objects.bulk_create(lines, batch_size=2000)
    return subgroup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,5000")
    args = parser.parse_args()

    from poweroffice.sandbox.server import start_sandbox

    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = f"bench_reconcile_{Path(str(db['NAME'])).name}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    sandbox = start_sandbox(port=0, rate_limit=10)
    settings.POWEROFFICE_API_URL = sandbox.api_url
    settings.POWEROFFICE_TOKEN_URL = sandbox.token_url
    results = []
    try:
        from poweroffice.reconciliation.services import reconcile

        for size in (int(s) for s in args.sizes.split(",")):
            subgroup = seed(invoices=size, sandbox=sandbox, tag=str(size))
            cache.clear()  # no cached token: count the token request too (worst case)
            sandbox.state.log.clear()
            counter = QueryCounter()
            started = time.perf_counter()
            with connection.execute_wrapper(counter):
                run = reconcile(
                    subgroup=subgroup,
                    period_from=DAY.replace(day=1),
                    period_to=dt.date(2026, 1, 31),
                )
            seconds = time.perf_counter() - started
            log = list(sandbox.state.log)
            results.append(
                {
                    "invoices": size,
                    "state": run.state,
                    "error": run.error,
                    "requests": run.requests,
                    "routes": [f"{e['route']} {e['status']}" for e in log],
                    "sql_queries": counter.count,
                    "seconds": round(seconds, 2),
                    "differences": run.summary.get("by_kind"),
                }
            )
        print(
            json.dumps(
                {
                    "benchmark": "reconcile",
                    "database": connection.vendor,
                    "runs": results,
                    "targets": {"requests": "bounded by pages", "sql": "constant"},
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
