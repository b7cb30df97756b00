"""Økonomi > Fakturaer: search by the deceased, sortable columns, paging that keeps the filters,
and "Last ned" as CSV for Norwegian Excel and as XLSX."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from accounting.invoices.services import LineInput, invoice_create
from tests.factories import CustomerFactory
from tests.fixtures.accounting import DAY

URL = "/okonomi/fakturaer/"


@pytest.fixture
def invoices(finance_a, office_a, customer_a, catalogue):
    """30 invoices: alternating customers, one with a formula-like deceased name."""
    other = CustomerFactory(subgroup=office_a.subgroup, number=10600, name="Per Persen")
    made = []
    for i in range(30):
        made.append(
            invoice_create(
                created_by=finance_a,
                office=office_a,
                customer=customer_a if i % 2 == 0 else other,
                lines=[LineInput(article=catalogue["blomster"], quantity=Decimal("1.5"))],
                invoice_date=DAY + dt.timedelta(days=i),
                deceased_name='=HYPERLINK("http://x")' if i == 3 else f"Avdød Nummer{i}",
            )
        )
    return made


def _numbers(response):
    return [inv.number for inv in response.context["page_obj"]]


def test_search_finds_the_deceased(client, finance_a, invoices):
    client.force_login(finance_a)
    response = client.get(URL, {"q": "nummer17"})
    assert _numbers(response) == [invoices[17].number]


def test_columns_sort_both_ways_and_paging_keeps_filter_and_order(client, finance_a, invoices):
    client.force_login(finance_a)
    ascending = client.get(URL, {"sort": "nummer"})
    assert _numbers(ascending)[:3] == [100001, 100002, 100003]
    html = ascending.content.decode()
    assert 'aria-sort="ascending"><a href="?sort=-nummer">Nr.' in html
    descending = client.get(URL, {"sort": "-belop"})
    assert (
        descending.context["page_obj"][0].gross_total
        >= descending.context["page_obj"][1].gross_total
    )

    filtered = client.get(URL, {"q": "avdød", "sort": "nummer"})
    assert filtered.context["totals"]["count"] == 29  # all but the formula-like name
    html = filtered.content.decode()
    assert '<a class="btn btn-sm" href="?q=avd%C3%B8d&amp;sort=nummer&amp;page=2">Neste' in html
    page_two = client.get(URL, {"q": "avdød", "sort": "nummer", "page": "2"})
    assert _numbers(page_two) == [100027, 100028, 100029, 100030]

    # A sort header keeps the filter and goes back to page one.
    assert 'href="?q=avd%C3%B8d&amp;sort=kunde">Kunde' in html


def test_unknown_sort_falls_back_to_newest_first(client, finance_a, invoices):
    client.force_login(finance_a)
    assert _numbers(client.get(URL, {"sort": "; drop table"}))[0] == 100030


def test_csv_opens_right_in_norwegian_excel(client, finance_a, invoices):
    client.force_login(finance_a)
    response = client.get(URL, {"q": "Per Persen", "sort": "nummer", "last_ned": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="fakturaer-')
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:6] == ["Nr.", "Type", "Fakturadato", "Forfallsdato", "Kundenr.", "Kunde"]
    assert len(rows) == 1 + 15  # the filter applies, every page
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Nr."] == "100002"
    assert first["Fakturadato"] == "03.03.2026"
    assert first["Beløp inkl. mva"] == "2343,75"  # decimal comma, no grouping
    assert first["Kunde"] == "Per Persen"
    assert first["Avdøde"] == "Avdød Nummer1"
    assert first["Saldo"] == ""
    # A cell that would run as a formula is neutralised.
    formula = next(r for r in rows if r[0] == "100004")
    assert dict(zip(rows[0], formula, strict=True))["Avdøde"] == '\'=HYPERLINK("http://x")'


def test_xlsx_has_typed_cells(client, finance_a, invoices):
    client.force_login(finance_a)
    response = client.get(URL, {"sort": "nummer", "last_ned": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["Fakturaer"]
    header = [c.value for c in sheet[1]]
    values = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert values["Nr."] == 100001
    assert values["Fakturadato"].date() == DAY
    assert values["Beløp inkl. mva"] == pytest.approx(2343.75)
    assert sheet.max_row == 31
    fourth = dict(zip(header, [c for c in sheet[5]], strict=True))
    assert fourth["Avdøde"].data_type == "s"  # text, never a formula
    assert fourth["Avdøde"].value == '\'=HYPERLINK("http://x")'


def test_downloads_carry_the_voucher_number_and_date(client, finance_a, invoices):
    from accounting.models import Invoice

    Invoice.objects.filter(pk=invoices[1].pk).update(
        voucher_no=40777, voucher_date=dt.date(2026, 3, 4)
    )
    client.force_login(finance_a)
    response = client.get(URL, {"q": "Per Persen", "sort": "nummer", "last_ned": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Bilagsnr."] == "40777"
    assert first["Bilagsdato"] == "04.03.2026"
    assert dict(zip(rows[0], rows[2], strict=True))["Bilagsnr."] == ""

    response = client.get(URL, {"q": "Per Persen", "sort": "nummer", "last_ned": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    row = [c.value for c in sheet[2]]
    assert row[header.index("Bilagsnr.")] == 40777
    assert row[header.index("Bilagsdato")].date() == dt.date(2026, 3, 4)
