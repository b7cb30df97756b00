"""Benchmark: "Valider kontoplan" and the prerequisites check on charts of 50, 500 and 6,000
accounts (6,000 is more than one page of PowerOffice's default page size of 5,000).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<name> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        .venv/bin/python bench/validate.py [--sizes 50,500,6000]

Creates a throwaway database (bench_validate_<name>) and starts the PowerOffice sandbox in this
process on a free port. For each size it seeds our chart (accounts, an article on every fourth
account) with bulk_create and the same chart in a fresh sandbox client through the sandbox's data
hook (called in-process), with mismatches of every kind sprinkled in (missing, inactive, other
name, other VAT code, VAT-locked refusals), then runs account_chart_validate and
prerequisites_check once each, without a cached token (worst case). Prints JSON: HTTP requests
(token included) and what they were, SQL queries, seconds, findings. The point: requests and
queries stay flat as the chart grows (paged list calls, never one request per account).
Never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
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


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def seed(*, size: int, sandbox) -> tuple:
    """Our chart and PowerOffice's, ``size`` accounts each (give or take the mismatches)."""
    from accounting import standard_chart
    from accounting.models import Account, Article, VatCode
    from bitnet.models import Agency, Subgroup
    from poweroffice.crypto import encrypt_secret
    from poweroffice.models import Connection
    from poweroffice.sandbox import hooks

    agency = Agency.objects.create(name=f"Benk {size} AS")
    subgroup = Subgroup.objects.create(agency=agency, name=f"Benk {size}")
    client = sandbox.state.create_client(name=f"Benk {size} AS", seed=f"bench-validate-{size}")
    key = client["client_key"]
    Connection.objects.create(
        subgroup=subgroup,
        enabled=True,
        client_key_encrypted=encrypt_secret(key),
        client_key_last4=key[-4:],
        client_id=client["client_id"],
    )
    vat = {
        code: VatCode.objects.create(agency=agency, code=code, rate=Decimal(rate), name=name)
        for code, rate, name in (
            (vat.code, vat.rate, vat.name)
            for vat in standard_chart.vat_codes(*standard_chart.SALES_VAT_CODES)
        )
    }
    po_vat_id = {
        record["Code"]: record["Id"]
        for record in client["data"]["vatcodes"].values()
        if not record.get("ValidTo")
    }
    codes = list(vat)
    accounts = []
    po_accounts = []
    for n in range(size):
        number = 10_000 + n  # clear of the seeded NS 4102 chart
        code = codes[n % len(codes)]
        name = f"Inntekt {n}"
        accounts.append(Account(agency=agency, number=number, name=name, vat_code=vat[code]))
        if n % 20 == 1:
            continue  # missing in PowerOffice
        po_accounts.append(
            {
                "AccountNo": number,
                "Name": f"Inntekt nr. {n}" if n % 10 == 2 else name,
                "GeneralLedgerAccountType": "Income",
                "IsActive": n % 50 != 3,
                "IsVatCodeLocked": n % 7 == 0,
                "VatCodeId": po_vat_id["3" if n % 25 == 4 else code],
            }
        )
    Account.objects.bulk_create(accounts, batch_size=1000)
    saved = list(
        Account.objects.filter(agency=agency).select_related("vat_code").order_by("number")
    )
    Article.objects.bulk_create(
        [
            Article(
                agency=agency,
                name=f"Vare {i}",
                price=Decimal("100.00"),
                account=account,
                # Every 13th article carries another VAT code than its (possibly locked) account.
                vat_code=vat["5"] if i % 13 == 0 else account.vat_code,
            )
            for i, account in enumerate(saved[::4])
        ],
        batch_size=1000,
    )
    for record in po_accounts:
        response = hooks.handle(
            sandbox.state, "POST", f"/_sandbox/clients/{key}/data/accounts", {}, record
        )
        assert response.status == 201, response.payload
    return subgroup, key, len(client["data"]["accounts"])


def measure(run, sandbox) -> dict:
    cache.clear()  # no cached token: count the token request too (worst case)
    # The clear also forgot our rate limiter's recent requests; let the sandbox's one-second
    # window pass too, so the figures are not those of a 429 the bench itself caused.
    time.sleep(1.1)
    sandbox.state.log.clear()
    counter = QueryCounter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        result = run()
    seconds = time.perf_counter() - started
    log = list(sandbox.state.log)
    return {
        "result": result,
        "requests": len(log),
        "calls": [
            {"route": e["route"], "status": e["status"], "page": e["query"].get("PageNumber")}
            for e in log
        ],
        "sql_queries": counter.count,
        "seconds": round(seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,500,6000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    from poweroffice.sandbox.server import start_sandbox

    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = f"bench_validate_{Path(str(db['NAME'])).name}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    # The sandbox keeps PowerOffice's rate limit; the client's limiter keeps under it.
    sandbox = start_sandbox(port=0, rate_limit=10)
    settings.POWEROFFICE_API_URL = sandbox.api_url
    settings.POWEROFFICE_TOKEN_URL = sandbox.token_url
    try:
        from poweroffice.chart.services import account_chart_validate, prerequisites_check
        from poweroffice.datadeling.selectors import connection_get

        runs = []
        for size in sizes:
            t0 = time.perf_counter()
            subgroup, _key, po_count = seed(size=size, sandbox=sandbox)
            seed_seconds = time.perf_counter() - t0

            def validate(subgroup=subgroup):
                validation = account_chart_validate(subgroup=subgroup)
                summary = validation.result.get("summary", {})
                return {
                    "error": validation.error,
                    "errors": summary.get("errors"),
                    "warnings": summary.get("warnings"),
                    "accounts_checked": summary.get("accounts_checked"),
                    "by_kind": _by_kind(validation.result),
                }

            def prerequisites(subgroup=subgroup):
                connection_row = connection_get(subgroup)
                checks = prerequisites_check(connection=connection_row)
                return {c["key"]: c["status"] for c in checks}

            chart = measure(validate, sandbox)
            prereq = measure(prerequisites, sandbox)
            runs.append(
                {
                    "accounts": size,
                    "poweroffice_accounts": po_count,
                    "seed_seconds": round(seed_seconds, 2),
                    "valider_kontoplan": chart,
                    "prerequisites_check": prereq,
                }
            )
        print(
            json.dumps(
                {
                    "benchmark": "validate",
                    "database": connection.vendor,
                    "runs": runs,
                    "summary": [
                        {
                            "accounts": r["accounts"],
                            "validate_requests": r["valider_kontoplan"]["requests"],
                            "validate_queries": r["valider_kontoplan"]["sql_queries"],
                            "validate_seconds": r["valider_kontoplan"]["seconds"],
                            "prerequisites_requests": r["prerequisites_check"]["requests"],
                            "prerequisites_queries": r["prerequisites_check"]["sql_queries"],
                            "prerequisites_seconds": r["prerequisites_check"]["seconds"],
                        }
                        for r in runs
                    ],
                    "targets": {
                        "requests": "token + 1 per 5,000 accounts + 1 for VAT codes",
                        "sql": "constant in the size of the chart",
                    },
                },
                indent=2,
                default=str,
            )
        )
    finally:
        sandbox.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _by_kind(result: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for group in result.get("groups", []):
        for finding in group["findings"]:
            counts[finding["kind"]] = counts.get(finding["kind"], 0) + 1
    return dict(sorted(counts.items()))


if __name__ == "__main__":
    main()
