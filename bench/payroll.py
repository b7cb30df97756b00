"""Benchmark: the payroll export of 300 drivers with a month of trips each.

    DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379/<n> \\
        .venv/bin/python bench/payroll.py [--drivers 300] [--trips 22] [--rate 10]

Starts the PowerOffice sandbox in this process on a free port of 127.0.0.1 (PowerOffice's limit of
10 requests/s per subscription key unless --rate says otherwise), gives it one employee per
driver, and creates in the database (which must be migrated) a fresh agency and subgroup whose
drivers each have an approved driving log for May 2026. Then, as Lønnseksport does:

1. "Søk": the logbooks in range with their sums, and the four validations; and the page
   itself (HTML bytes, queries, seconds), which holds one row per logbook whatever the trips.
2. "Eksporter": claim the logbooks and store the salary lines (payroll_export_create).
3. The run: create every salary line in PowerOffice Go (payroll_export_run).

For each step: SQL queries, PowerOffice requests (from the sandbox's own log) and seconds. The
search and the line computation are also measured with a quarter of the trips, to show that their
queries do not grow with the number of trips. The run is bound by the rate limit: about one
request per salary line, plus a token. Removes its rows at the end. Prints JSON; never fails on
time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bitnet.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")  # a development tool: the development settings
os.environ.setdefault("LOG_LEVEL", "WARNING")

import requests

from poweroffice.sandbox.server import start_sandbox

MAY = [dt.date(2026, 5, d) for d in range(1, 32)]


HOOK_HEADERS: dict[str, str] = {}  # the sandbox's hook token, once it runs


def hook(url: str, method: str, path: str, **kwargs):
    kwargs["headers"] = {**HOOK_HEADERS, **kwargs.get("headers", {})}
    response = requests.request(method, f"{url}/_sandbox/{path}", timeout=60, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", type=int, default=300)
    parser.add_argument("--trips", type=int, default=22, help="trips per driver in the month")
    parser.add_argument("--rate", type=float, default=10, help="sandbox requests/s per key")
    args = parser.parse_args()

    sandbox = start_sandbox(port=0, rate_limit=args.rate)
    HOOK_HEADERS.update(sandbox.hook_headers)
    os.environ["POWEROFFICE_API_URL"] = sandbox.api_url
    os.environ["POWEROFFICE_TOKEN_URL"] = sandbox.token_url
    os.environ["POWEROFFICE_RATE_LIMIT"] = str(args.rate)

    import django

    django.setup()
    result = run(sandbox.url, args)
    sandbox.stop()
    print(json.dumps(result, indent=2, ensure_ascii=False))


def run(url: str, args) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bitnet.models import Agency, Office, Role, Subgroup, User
    from payroll.models import DrivingLog, MileageRate, PayrollExport, Trip
    from payroll.reimbursements import drivinglog_summaries
    from poweroffice.datadeling.connection import (
        connection_for_subgroup,
        connection_store_client_key,
    )
    from poweroffice.salary.activation import payroll_integration_activate
    from poweroffice.salary.checks import payroll_export_check
    from poweroffice.salary.create import payroll_export_create
    from poweroffice.salary.demo import DEMO_WAGE_CODES
    from poweroffice.salary.run import payroll_export_run
    from poweroffice.salary.selectors import drivinglogs_exportable
    from poweroffice.salary.wagecodes import wage_codes_save

    tag = uuid.uuid4().hex[:8]
    rng = random.Random(20260531)
    for year, rate in ((2025, "5.00"), (2026, "5.30")):
        MileageRate.objects.get_or_create(
            year=year,
            defaults={"rate_per_km": Decimal(rate), "passenger_rate_per_km": Decimal("1.00")},
        )

    client = hook(url, "POST", "clients", json={"name": f"Bench lønn {tag}"})
    key = client["client_key"]
    for number in range(11, args.drivers + 1):  # 1-10 are seeded
        hook(
            url,
            "POST",
            f"clients/{key}/data/employees",
            json={"Number": number, "FirstName": "Sjåfør", "LastName": str(number)},
        )

    agency = Agency.objects.create(name=f"Bench lønn {tag}")
    subgroup = Subgroup.objects.create(agency=agency, name="Bench")
    office = Office.objects.create(agency=agency, subgroup=subgroup, name="Bench")
    connection_store_client_key(connection=connection_for_subgroup(subgroup), client_key=key)
    assert payroll_integration_activate(subgroup=subgroup).ok
    assert wage_codes_save(subgroup=subgroup, codes=dict(DEMO_WAGE_CODES)).ok

    users = User.objects.bulk_create(
        User(
            username=f"bench-{tag}-{n}",
            agency=agency,
            office=office,
            role=Role.USER,
            first_name="Sjåfør",
            last_name=str(n),
            employee_number=n,
        )
        for n in range(1, args.drivers + 1)
    )
    logs = DrivingLog.objects.bulk_create(
        DrivingLog(
            agency=agency,
            driver=u,
            period_start=MAY[0],
            period_end=MAY[-1],
            status="approved",
        )
        for u in users
    )

    def add_trips(count: int) -> int:
        trips = []
        for log in logs:
            for _ in range(count):
                trips.append(
                    Trip(
                        log=log,
                        date=rng.choice(MAY),
                        from_place="Majorstuen",
                        to_place="Ullevål sykehus",
                        purpose="Henting av avdøde",
                        km=Decimal(rng.randint(20, 900)) / 10,
                        passengers=rng.choice([0, 0, 0, 1, 2]),
                        toll=rng.choice([Decimal("0"), Decimal("0"), Decimal("44.00")]),
                        parking=rng.choice(
                            [Decimal("0"), Decimal("0"), Decimal("0"), Decimal("45.00")]
                        ),
                        ferry=Decimal("0"),
                        trailer=rng.random() < 0.05,
                    )
                )
        Trip.objects.bulk_create(trips, batch_size=5000)
        return len(trips)

    def requests_so_far() -> int:
        return len(hook(url, "GET", "requests", params={"client_id": client["client_id"]}))

    def search() -> dict:
        """What "Søk" does: the logbooks in range with their sums, and the validations."""
        started, sent = time.perf_counter(), requests_so_far()
        with CaptureQueriesContext(connection) as queries:
            found = list(
                drivinglogs_exportable(subgroup=subgroup, date_from=MAY[0], date_to=MAY[-1])
            )
            ids = [log.pk for log in found]
            drivinglog_summaries(log_ids=ids)
            check = payroll_export_check(subgroup=subgroup, log_ids=ids)
        assert check.ok, [p.message for p in check.problems]
        return {
            "logbooks": len(ids),
            "salary_lines": len(check.computation.lines),
            "sql_queries": len(queries.captured_queries),
            "poweroffice_requests": requests_so_far() - sent,
            "seconds": round(time.perf_counter() - started, 3),
            "ids": ids,
        }

    payroll_user = User.objects.create(
        username=f"bench-{tag}-lonn", agency=agency, office=office, role=Role.PAYROLL
    )

    def search_page() -> dict:
        """The "Søk" page as a browser gets it: HTML bytes, SQL queries and seconds."""
        from django.test import Client

        browser = Client(SERVER_NAME="localhost")
        browser.force_login(payroll_user)
        url = (
            f"/lonn/lonnseksport/ny/?subgroup={subgroup.pk}"
            f"&date_from={MAY[0]:%Y-%m-%d}&date_to={MAY[-1]:%Y-%m-%d}"
        )
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = browser.get(url)
        assert response.status_code == 200, response.status_code
        return {
            "html_bytes": len(response.content),
            "sql_queries": len(queries.captured_queries),
            "seconds": round(time.perf_counter() - started, 3),
        }

    figures: dict = {"drivers": args.drivers, "rate_limit_per_second": args.rate}
    try:
        quarter = max(1, args.trips // 4)
        figures["trips_small"] = add_trips(quarter)
        small = search()
        small_page = search_page()
        figures["trips"] = figures["trips_small"] + add_trips(args.trips - quarter)
        full = search()
        figures["search_page_with_quarter_of_trips"] = small_page
        figures["search_page"] = search_page()
        ids = full.pop("ids")
        small.pop("ids")
        figures["search_with_quarter_of_trips"] = small
        figures["search"] = full

        started, sent = time.perf_counter(), requests_so_far()
        with CaptureQueriesContext(connection) as queries:
            export = payroll_export_create(
                subgroup=subgroup, log_ids=ids, date_from=MAY[0], date_to=MAY[-1], user=None
            )
        figures["create"] = {
            "sql_queries": len(queries.captured_queries),
            "poweroffice_requests": requests_so_far() - sent,
            "seconds": round(time.perf_counter() - started, 3),
        }

        started, sent = time.perf_counter(), requests_so_far()
        with CaptureQueriesContext(connection) as queries:
            export = payroll_export_run(export_id=export.pk)
        seconds = time.perf_counter() - started
        sent = requests_so_far() - sent
        figures["run"] = {
            "status": export.status,
            "salary_lines": export.lines_total,
            "amount_total": str(export.amount_total),
            "poweroffice_requests": sent,
            "requests_beyond_lines": sent - export.lines_total,
            "sql_queries": len(queries.captured_queries),
            "sql_queries_per_line": round(len(queries.captured_queries) / export.lines_total, 2),
            "seconds": round(seconds, 2),
            "lines_per_second": round(export.lines_total / seconds, 2),
        }
        log = hook(url, "GET", "requests", params={"client_id": client["client_id"]})
        figures["http_429_received"] = sum(1 for r in log if r["status"] == 429)
        figures["salary_lines_in_poweroffice"] = len(
            hook(url, "GET", f"clients/{key}/data/salarylines")
        )
    finally:
        PayrollExport.objects.filter(agency=agency).delete()
        Trip.objects.filter(log__agency=agency).delete()
        DrivingLog.objects.filter(agency=agency).delete()
        User.objects.filter(agency=agency).delete()
        Office.objects.filter(agency=agency).delete()
        Subgroup.objects.filter(agency=agency).delete()
        agency.delete()
    return figures


if __name__ == "__main__":
    main()
