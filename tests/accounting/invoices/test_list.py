"""Økonomi > Fakturaer, the list: filters, sums over all pages, paging and a flat query count."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting.invoices.services import LineInput, invoice_create
from accounting.models import ExportStatus, Invoice, PaymentStatus
from tests.factories import CustomerFactory, OfficeFactory
from tests.fixtures.accounting import DAY


def _login(client, user):
    client.force_login(user)
    return client


# List: filters, sums, paging, query count


@pytest.fixture
def many_invoices(finance_a, office_a, customer_a, catalogue):
    """30 invoices over 30 days, alternating between two customers."""
    other = CustomerFactory(subgroup=office_a.subgroup, number=10600, name="Per Persen")
    invoices = []
    for i in range(30):
        invoices.append(
            invoice_create(
                created_by=finance_a,
                office=office_a,
                customer=customer_a if i % 2 == 0 else other,
                lines=[LineInput(article=catalogue["blomster"], quantity=Decimal(1))],
                invoice_date=DAY + dt.timedelta(days=i),
            )
        )
    return invoices


def _listed(client, query=""):
    response = client.get(f"/okonomi/fakturaer/{query}")
    assert response.status_code == 200
    return response, [inv.number for inv in response.context["page_obj"]]


def test_list_pages_25_per_page_and_sums_all(client, finance_a, many_invoices):
    _login(client, finance_a)
    response, numbers = _listed(client)
    assert len(numbers) == 25
    assert numbers[0] == 100030  # newest first
    totals = response.context["totals"]
    assert totals["count"] == 30
    assert totals["gross"] == Decimal("1562.50") * 30
    assert "Side 1 av 2" in response.content.decode()
    _, numbers = _listed(client, "?page=2")
    assert numbers == [100005, 100004, 100003, 100002, 100001]


def test_list_query_count_does_not_grow_with_page_size(
    client, finance_a, office_a, customer_a, catalogue, django_assert_max_num_queries
):
    _login(client, finance_a)

    def make(n):
        for _ in range(n):
            invoice_create(
                created_by=finance_a,
                office=office_a,
                customer=customer_a,
                lines=[LineInput(article=catalogue["kiste"], quantity=Decimal(1))],
                invoice_date=DAY,
            )

    make(2)
    with CaptureQueriesContext(connection) as few:
        client.get("/okonomi/fakturaer/")
    make(28)
    with CaptureQueriesContext(connection) as full:
        response = client.get("/okonomi/fakturaer/")
    assert len(response.context["page_obj"]) == 25
    assert len(full) == len(few)
    with django_assert_max_num_queries(12):
        client.get("/okonomi/fakturaer/?q=Kari&export_status=not_exported&page=1")


def test_list_filters(client, finance_a, agency_a, office_a, many_invoices):
    first, second = many_invoices[0], many_invoices[1]
    Invoice.objects.filter(pk=first.pk).update(
        export_status=ExportStatus.EXPORTED, payment_status=PaymentStatus.PAID, balance=0
    )
    Invoice.objects.filter(pk=second.pk).update(export_status=ExportStatus.FAILED)
    office2 = OfficeFactory(subgroup=office_a.subgroup, agency=agency_a, name="Bryn")
    Invoice.objects.filter(pk=many_invoices[2].pk).update(office=office2)
    _login(client, finance_a)

    assert _listed(client, "?q=100007")[1] == [100007]
    assert _listed(client, f"?q={first.kid}")[1] == [100001]
    assert len(_listed(client, "?q=Per+Persen")[1]) == 15
    assert _listed(client, "?q=persen&page=1")[0].context["totals"]["count"] == 15
    assert _listed(client, "?export_status=exported")[1] == [100001]
    assert _listed(client, "?export_status=failed")[1] == [100002]
    assert _listed(client, "?payment_status=paid")[1] == [100001]
    assert _listed(client, "?payment_status=unknown")[0].context["totals"]["count"] == 29
    assert _listed(client, f"?office={office2.pk}")[1] == [100003]
    assert _listed(client, f"?subgroup={office_a.subgroup_id}")[0].context["totals"]["count"] == 30
    assert _listed(client, "?kind=credit_note")[1] == []
    assert _listed(client, "?date_from=2026-03-05&date_to=2026-03-07")[1] == [
        100006,
        100005,
        100004,
    ]


def test_from_date_after_to_date_gives_error_and_changes_nothing(client, finance_a, many_invoices):
    _login(client, finance_a)
    response, numbers = _listed(client, "?date_from=2026-03-20&date_to=2026-03-05")
    assert "Fra dato kan ikke være etter til dato" in response.content.decode()
    assert "date_from" in response.context["form"].errors
    _, unfiltered = _listed(client)
    assert numbers == unfiltered
    assert response.context["totals"]["count"] == 30


def test_list_with_a_foreign_subgroup_filter_shows_error_not_their_data(
    client, finance_a, many_invoices, world_b
):
    _login(client, finance_a)
    response, numbers = _listed(client, f"?office={world_b['office'].pk}")
    assert "office" in response.context["form"].errors
    assert len(numbers) == 25


def test_list_shows_voucher_number_and_date_in_constant_queries(
    client, finance_a, office_a, customer_a, catalogue
):
    _login(client, finance_a)

    def make(n, start):
        for i in range(n):
            invoice = invoice_create(
                created_by=finance_a,
                office=office_a,
                customer=customer_a,
                lines=[LineInput(article=catalogue["kiste"], quantity=Decimal(1))],
                invoice_date=DAY,
            )
            Invoice.objects.filter(pk=invoice.pk).update(
                export_status=ExportStatus.EXPORTED,
                external_voucher_id=f"v{start + i}",
                voucher_no=50000 + start + i,
                voucher_date=dt.date(2026, 4, 1),
            )

    make(2, 0)
    with CaptureQueriesContext(connection) as few:
        client.get("/okonomi/fakturaer/")
    make(20, 2)
    with CaptureQueriesContext(connection) as many:
        html = client.get("/okonomi/fakturaer/").content.decode()
    assert len(many) == len(few)
    assert "Bilagsnr.<small" in html and "Bilagsdato</small></th>" in html
    assert "50021" in html and "01.04.2026" in html
