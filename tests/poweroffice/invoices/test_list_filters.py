"""Økonomi > Ikke eksporterte fakturaer: search, filters (subgroup, office, reason, dates),
sortable columns, paging that keeps them, and "Last ned" as CSV and XLSX."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from accounting.invoices.services import LineInput, invoice_create
from accounting.models import ExportStatus, Invoice
from poweroffice.models import Connection
from tests.factories import CustomerFactory, OfficeFactory, SubgroupFactory
from tests.fixtures.accounting import DAY

URL = "/okonomi/ikke-eksporterte/"


@pytest.fixture
def listed(finance_a, office_a, customer_a, catalogue):
    """60 invoices of a subgroup using PowerOffice, over two offices; every third failed."""
    Connection.objects.create(subgroup=office_a.subgroup, enabled=True)
    other_office = OfficeFactory(subgroup=office_a.subgroup, agency=office_a.agency, name="Ullern")
    other = CustomerFactory(subgroup=office_a.subgroup, number=10600, name="Per Persen")
    made = []
    for i in range(60):
        made.append(
            invoice_create(
                created_by=finance_a,
                office=office_a if i % 2 == 0 else other_office,
                customer=customer_a if i % 2 == 0 else other,
                lines=[LineInput(article=catalogue["blomster"], quantity=Decimal(1 + i % 4))],
                invoice_date=DAY + dt.timedelta(days=i),
                deceased_name=f"Avdød Nummer{i}",
            )
        )
    failed = [inv.pk for inv in made[::3]]
    Invoice.objects.filter(pk__in=failed).update(
        export_status=ExportStatus.FAILED, export_error="Kunden mangler i PowerOffice."
    )
    return {"invoices": made, "office": other_office}


def _numbers(response):
    return [row["invoice"].number for row in response.context["rows"]]


def test_search_by_number_customer_and_deceased(client, finance_a, listed):
    client.force_login(finance_a)
    invoices = listed["invoices"]
    assert _numbers(client.get(URL, {"q": str(invoices[7].number)})) == [invoices[7].number]
    assert _numbers(client.get(URL, {"q": "nummer42"})) == [invoices[42].number]
    assert len(_numbers(client.get(URL, {"q": "per persen"}))) == 30


def test_filters_reason_office_and_dates(client, finance_a, listed):
    client.force_login(finance_a)
    failed = client.get(URL, {"reason": "feilet"})
    assert failed.context["page_obj"].paginator.count == 20
    assert all(r["invoice"].export_status == "failed" for r in failed.context["rows"])
    never = client.get(URL, {"reason": "ikke-forsokt", "office": listed["office"].pk})
    assert never.context["page_obj"].paginator.count == 20  # odd, not a multiple of 3
    period = client.get(URL, {"date_from": "2026-03-02", "date_to": "2026-03-11"})
    assert period.context["page_obj"].paginator.count == 10


def test_a_foreign_subgroup_filters_nothing_and_says_so(client, finance_a, listed, admin_b):
    foreign = SubgroupFactory(agency=admin_b.agency)
    client.force_login(finance_a)
    response = client.get(URL, {"subgroup": foreign.pk})
    assert response.context["form"].errors["subgroup"]
    assert response.context["page_obj"].paginator.count == 60


def test_sort_and_paging_keep_the_filter(client, finance_a, listed):
    client.force_login(finance_a)
    response = client.get(URL, {"q": "avdød", "sort": "-nummer"})
    numbers = _numbers(response)
    assert numbers == sorted(numbers, reverse=True) and len(numbers) == 50
    html = response.content.decode()
    assert 'href="?q=avd%C3%B8d&amp;sort=-nummer&amp;page=2">Neste' in html
    assert 'aria-sort="descending"><a href="?q=avd%C3%B8d&amp;sort=nummer">Nr.' in html
    page_two = client.get(URL, {"q": "avdød", "sort": "-nummer", "page": "2"})
    assert _numbers(page_two) == sorted(_numbers(page_two), reverse=True)
    assert len(_numbers(page_two)) == 10 and max(_numbers(page_two)) < min(numbers)
    # The red eye and "Eksporter" come back to the same filtered, sorted page.
    assert 'name="next" value="/okonomi/ikke-eksporterte/?q=avd%C3%B8d&amp;sort=-nummer"' in html


def test_downloads_follow_the_filter(client, finance_a, listed):
    client.force_login(finance_a)
    response = client.get(URL, {"reason": "feilet", "sort": "nummer", "last_ned": "csv"})
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 21
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Årsak"] == "Eksporten feilet"
    assert first["Forklaring"] == "Kunden mangler i PowerOffice."
    assert first["Beløp inkl. mva"] == "1562,50"

    response = client.get(URL, {"reason": "feilet", "last_ned": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content))["Ikke eksporterte"]
    assert sheet.max_row == 21
    assert sheet["A1"].value == "Nr." and isinstance(sheet["A2"].value, int)
