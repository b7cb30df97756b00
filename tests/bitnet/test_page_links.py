"""Every link on every page works once ids pass 1,000.

With USE_THOUSAND_SEPARATOR a number printed raw into a link reads "123 456" (with a
non-breaking space): the link is a 404, or a filter silently matches nothing. Here every table's
ids start high, and each table at its own offset, so a link that carries the wrong kind of id
is a 404 too. The test walks every page a person can reach from the home page by links, and
checks each link, form target and id-like attribute on the way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, deque
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import AutoField, BigAutoField
from django.utils import timezone

from accounting.invoices.services import LineInput, credit_note_create, invoice_create
from accounting.models import ExportStatus
from payroll.models import (
    MileageRate,
    PayrollExport,
    PayrollExportLine,
    PayrollExportLog,
    PayrollExportStatus,
    WageCodeMapping,
)
from poweroffice.models import (
    AttemptOutcome,
    AttemptTrigger,
    Connection,
    Department,
    ExportAttempt,
    ExportBatch,
    PaymentSyncRun,
)
from tests.factories import (
    AccountFactory,
    ArticleFactory,
    CustomerFactory,
    DrivingLogFactory,
    TripFactory,
    VatCodeFactory,
)

FIRST_ID = 123_456
# A number grouped the Norwegian way: digits around a (non-breaking or thin) space.
GROUPED = re.compile(r"\d[\xa0\u202f ]\d{3}")
SKIP_PREFIXES = ("/django-admin/", "/static/", "/logg-ut/")
MAX_PAGES = 400
MAX_VARIANTS_PER_PATH = 6


def _start_ids_high() -> None:
    """Every table's next id is above FIRST_ID, each table at an offset of its own."""
    models = [
        m
        for m in apps.get_models()
        if isinstance(m._meta.pk, AutoField | BigAutoField) and not m._meta.proxy
    ]
    with connection.cursor() as cursor:
        for index, model in enumerate(sorted(models, key=lambda m: m._meta.db_table)):
            table = model._meta.db_table
            start = FIRST_ID + index * 1_000
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), %s, false)",
                    [connection.ops.quote_name(table), model._meta.pk.column, start],
                )
            else:
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
                cursor.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, start]
                )


@pytest.fixture
def high_ids(db):
    _start_ids_high()


@pytest.fixture
def world(high_ids, personas, subgroup_a, office_a):
    """One row of every kind a page links to, all with ids above 100,000."""
    agency = subgroup_a.agency
    finance = personas["finance_a"]
    driver = personas["user_a"]
    driver.employee_number = 1234
    driver.save(update_fields=["employee_number"])
    vat = VatCodeFactory(agency=agency, code="3", rate=Decimal("25"))
    account = AccountFactory(agency=agency, number=3000, vat_code=vat)
    article = ArticleFactory(agency=agency, vat_code=vat, account=account)
    customer = CustomerFactory(subgroup=subgroup_a, agency=agency, number=12345)
    invoices = [
        invoice_create(
            created_by=finance,
            office=office_a,
            customer=customer,
            lines=[LineInput(article=article, quantity=Decimal("2.5"))],
            invoice_date=dt.date(2026, 11, day),
        )
        for day in (2, 3)
    ]
    credit_note_create(created_by=finance, invoice=invoices[0], invoice_date=dt.date(2026, 11, 4))
    Connection.objects.create(subgroup=subgroup_a, enabled=True, payroll_enabled=True)
    Department.objects.create(subgroup=subgroup_a, external_id=4711, code="1", name="Oslo")
    failed = invoices[1]
    failed.export_status = ExportStatus.FAILED
    failed.export_error = "Kunden mangler."
    failed.save(update_fields=["export_status", "export_error"])
    ExportAttempt.objects.create(
        invoice=failed,
        trigger=AttemptTrigger.MANUAL,
        outcome=AttemptOutcome.FAILED,
        error="Kunden mangler.",
        finished_at=timezone.now(),
        user=finance,
    )
    ExportBatch.objects.create(
        agency=agency,
        created_by=finance,
        status=ExportBatch.Status.DONE,
        invoice_ids=[failed.pk],
        total=1,
        failed=1,
        finished_at=timezone.now(),
    )
    PaymentSyncRun.objects.create(
        subgroup=subgroup_a, mode=PaymentSyncRun.Mode.INCREMENTAL, finished_at=timezone.now()
    )
    for year, rate in ((2025, "5.00"), (2026, "5.30")):
        MileageRate.objects.get_or_create(
            year=year,
            defaults={"rate_per_km": Decimal(rate), "passenger_rate_per_km": Decimal("1.00")},
        )
    WageCodeMapping.objects.create(subgroup=subgroup_a, kind="mileage", pay_item_code="7100")
    log = DrivingLogFactory(driver=driver, agency=agency, status="submitted")
    TripFactory(log=log)
    exported_log = DrivingLogFactory(
        driver=driver,
        agency=agency,
        status="exported",
        period_start=dt.date(2026, 4, 1),
        period_end=dt.date(2026, 4, 30),
    )
    TripFactory(log=exported_log)
    export = PayrollExport.objects.create(
        agency=agency,
        subgroup=subgroup_a,
        created_by=personas["payroll_a"],
        date_from=dt.date(2026, 4, 1),
        date_to=dt.date(2026, 4, 30),
        status=PayrollExportStatus.EXPORTED,
        lines_total=1,
        lines_created=1,
    )
    PayrollExportLog.objects.create(export=export, log=exported_log)
    PayrollExportLine.objects.create(
        export=export,
        employee=driver,
        employee_number=1234,
        kind="mileage",
        pay_item_code="7100",
        pay_item_id="0f0e0d0c-0000-0000-0000-000000000001",
        year=2026,
        quantity=Decimal("42.00"),
        rate=Decimal("5.30"),
        amount=Decimal("222.60"),
        external_import_reference="bitnet-test-line-1",
        po_salary_line_id=987654,
        state="created",
    )
    return {"invoice": invoices[0], "log": log, "export": export}


class _Links(HTMLParser):
    """The links of a page, and every attribute that carries an id."""

    ID_ATTRIBUTES = ("href", "action", "id", "for", "formaction")

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.grouped: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        for name, value in attrs:
            if not value:
                continue
            carries_id = (
                name in self.ID_ATTRIBUTES
                or name.startswith("data-")
                or (name == "value" and (tag == "option" or values.get("type") in _ID_INPUTS))
            )
            if carries_id and GROUPED.search(value):
                self.grouped.append(f"<{tag} {name}={value!r}>")


_ID_INPUTS = {"hidden", "checkbox", "radio"}


def _crawl(client, start: str = "/") -> tuple[dict[str, int], list[str]]:
    """Breadth-first over the GET links of the site; returns status per URL and problems."""
    seen: dict[str, int] = {}
    variants: Counter[str] = Counter()
    problems: list[str] = []
    queue = deque([start])
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        seen[url] = response.status_code
        if response.status_code not in (200, 302):
            problems.append(f"{url} -> {response.status_code}")
            continue
        if response.status_code == 302 or "text/html" not in response["Content-Type"]:
            continue
        parser = _Links()
        parser.feed(response.content.decode())
        problems.extend(f"{url}: {attr}" for attr in parser.grouped)
        for href in parser.links:
            target = urljoin(url, href)
            parts = urlsplit(target)
            if href.startswith(("#", "mailto:", "tel:")) or parts.path.startswith(SKIP_PREFIXES):
                continue
            if parts.netloc and parts.hostname != "testserver":
                continue  # the sandbox page and other sites are not ours to walk
            if GROUPED.search(href) or "%C2%A0" in href.upper():
                problems.append(f"{url}: grouped number in link {href!r}")
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if local in seen:
                continue
            if parts.query:
                if variants[parts.path] >= MAX_VARIANTS_PER_PATH:
                    continue
                variants[parts.path] += 1
            queue.append(local)
    return seen, problems


@pytest.mark.parametrize("persona", ["admin_a", "finance_a", "payroll_a", "user_a"])
def test_every_link_works_with_high_ids(client, personas, world, persona):
    client.force_login(personas[persona])
    seen, problems = _crawl(client)
    assert not problems, "\n".join(problems)
    # The walk reached the pages of the rows above, not only the menus.
    invoice, log, export = world["invoice"], world["log"], world["export"]
    expected = {
        "admin_a": [f"/okonomi/fakturaer/{invoice.pk}/", f"/lonn/lonnseksport/{export.pk}/"],
        "finance_a": [f"/okonomi/fakturaer/{invoice.pk}/", "/okonomi/ikke-eksporterte/"],
        "payroll_a": [f"/lonn/kjoreboker/{log.pk}/", f"/lonn/lonnseksport/{export.pk}/"],
        "user_a": [f"/lonn/kjoreboker/{log.pk}/"],
    }[persona]
    for path in expected:
        assert seen.get(path) == 200, (path, sorted(seen))
    assert all(pk > 100_000 for pk in (invoice.pk, log.pk, export.pk))


def test_years_and_invoice_numbers_are_not_grouped(client, personas, world):
    client.force_login(personas["payroll_a"])
    rates = client.get("/lonn/lonnskoder/").content.decode()
    assert "<td>2026</td>" in rates and "2\xa0026" not in rates

    from accounting.pdf import invoice_specification_html

    invoice = world["invoice"]
    html = invoice_specification_html(invoice=invoice)
    assert f"<title>Fakturaspesifikasjon {invoice.number}</title>" in html
    assert not GROUPED.search(html.split("</title>")[0])
