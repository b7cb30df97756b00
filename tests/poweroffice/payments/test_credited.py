"""Credited invoices in the payment check, against the PowerOffice sandbox over real HTTP:
PowerOffice matches a credit note with its invoice at once, so Balance 0 is not a payment."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accounting.models import ExportStatus, InvoiceKind, PaymentStatus
from poweroffice.invoices.export import invoice_export
from poweroffice.models import AttemptTrigger
from poweroffice.payments.services import payments_sync
from tests.fixtures.export import make_credit_note, make_invoice

D = Decimal
pytestmark = pytest.mark.django_db


def _balance(po, invoice) -> D:
    record = po.sandbox.find(po.client_key, "outgoinginvoices", InvoiceNo=invoice.number)
    return D(str(record["Balance"]))


def test_exported_full_credit_note_makes_the_invoice_credited_not_paid(export_world):
    world = export_world
    invoice = make_invoice(world, [("kiste", "1"), ("minnebok", "1")])
    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    credit = make_credit_note(world, invoice)
    assert invoice_export(invoice_id=credit.pk, trigger=AttemptTrigger.MANUAL).ok

    run = payments_sync(subgroup=world.subgroup)

    assert run.success, run.error
    invoice.refresh_from_db()
    credit.refresh_from_db()
    assert credit.export_status == ExportStatus.EXPORTED
    assert (invoice.payment_status, invoice.balance) == (PaymentStatus.CREDITED, D("0.00"))
    assert invoice.get_payment_status_display() == "Kreditert"
    assert invoice.payment_status != PaymentStatus.PAID


def test_partial_credit_note_leaves_the_invoice_partly_credited(po, subgroup_a):
    invoice = po.new_exported("1250.00", matching=True)
    credit = po.new_exported(
        "-500.00", matching=True, kind=InvoiceKind.CREDIT_NOTE, credited=invoice
    )
    # PowerOffice matched the two at once: the invoice's balance dropped by the credit.
    assert _balance(po, invoice) == D("750.00") and _balance(po, credit) == D("0.00")

    run = payments_sync(subgroup=subgroup_a)

    assert run.success, run.error
    invoice.refresh_from_db()
    credit.refresh_from_db()
    assert (invoice.payment_status, invoice.balance) == (
        PaymentStatus.PARTLY_CREDITED,
        D("750.00"),
    )
    assert invoice.get_payment_status_display() == "Delvis kreditert"
    assert credit.balance == D("0.00")


def test_partial_credit_with_the_rest_paid_is_paid(po, subgroup_a):
    invoice = po.new_exported("1250.00", matching=True)
    po.new_exported("-500.00", matching=True, kind=InvoiceKind.CREDIT_NOTE, credited=invoice)
    first = payments_sync(subgroup=subgroup_a)
    assert first.success, first.error
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PARTLY_CREDITED

    po.pay(invoice, "750.00")  # the customer pays what the credit note left open
    run = payments_sync(subgroup=subgroup_a)

    assert run.success, run.error
    invoice.refresh_from_db()
    assert (invoice.payment_status, invoice.balance) == (PaymentStatus.PAID, D("0.00"))
    assert invoice.get_payment_status_display() == "Betalt"


# --- what the pages show --------------------------------------------------------------------------


def _invoice_page(client, user, invoice) -> str:
    client.force_login(user)
    response = client.get(reverse("accounting:invoice_detail", args=[invoice.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_invoice_page_shows_the_credited_part_of_a_partly_credited_then_paid_invoice(
    po, subgroup_a, client, admin_a
):
    invoice = po.new_exported("1250.00", matching=True)
    credit = po.new_exported(
        "-500.00", matching=True, kind=InvoiceKind.CREDIT_NOTE, credited=invoice
    )
    assert payments_sync(subgroup=subgroup_a).success
    credit_link = reverse("accounting:invoice_detail", args=[credit.pk])

    page = _invoice_page(client, admin_a, invoice)
    assert "Delvis kreditert" in page
    assert re.search(r"<dt>Kreditert</dt><dd[^>]*>kr 500,00", page)
    assert f'href="{credit_link}">kreditnota {credit.number}</a>' in page

    po.pay(invoice, "750.00")
    assert payments_sync(subgroup=subgroup_a).success
    page = _invoice_page(client, admin_a, invoice)
    assert ">Betalt</span>" in page
    assert re.search(r"<dt>Kreditert</dt><dd[^>]*>kr 500,00", page)
    assert f'href="{credit_link}">kreditnota {credit.number}</a>' in page


def test_invoice_page_without_credit_shows_no_credited_amount(po, subgroup_a, client, admin_a):
    invoice = po.new_exported("1250.00", matching=True)
    po.pay(invoice, "1250.00")
    assert payments_sync(subgroup=subgroup_a).success
    page = _invoice_page(client, admin_a, invoice)
    assert ">Betalt</span>" in page and "<dt>Kreditert</dt>" not in page


def test_betalingssjekk_counts_invoices_by_status_with_the_credited_ones(
    po, subgroup_a, client, admin_a
):
    credited = po.new_exported("1250.00", matching=True)
    po.new_exported("-1250.00", matching=True, kind=InvoiceKind.CREDIT_NOTE, credited=credited)
    partly = po.new_exported("1000.00", matching=True)
    po.new_exported("-400.00", matching=True, kind=InvoiceKind.CREDIT_NOTE, credited=partly)
    po.new_exported("800.00", matching=True)
    assert payments_sync(subgroup=subgroup_a).success

    client.force_login(admin_a)
    page = client.get("/administrasjon/betalingssjekk/").content.decode()

    counts = dict(re.findall(r'data-status="(\w+)">[^:<]+: <strong>(\d+)</strong>', page))
    # The two settled credit notes are "Betalt"; the invoices they credit are not.
    assert counts == {"paid": "2", "credited": "1", "partly_credited": "1", "unpaid": "1"}
    assert "Kreditert: <strong>1</strong>" in page
    assert "Delvis kreditert: <strong>1</strong>" in page


# --- when PowerOffice matches only entries that cancel out ---------------------------------------
# The contract's "opposite amount" may mean exactly opposite: then a partial credit note stays
# open beside its invoice, and what is left to pay is the sum of both balances.


@pytest.fixture
def exact(po):
    po.sandbox.config(credit_matching="exact")
    return po


def test_exact_matching_partial_credit_stays_open_and_the_invoice_is_partly_credited(
    exact, subgroup_a
):
    invoice = exact.new_exported("1250.00", matching=True)
    credit = exact.new_exported(
        "-500.00", matching=True, kind=InvoiceKind.CREDIT_NOTE, credited=invoice
    )
    assert _balance(exact, invoice) == D("1250.00") and _balance(exact, credit) == D("-500.00")

    assert payments_sync(subgroup=subgroup_a).success

    invoice.refresh_from_db()
    assert (invoice.payment_status, invoice.balance) == (
        PaymentStatus.PARTLY_CREDITED,
        D("1250.00"),
    )


def test_exact_matching_partial_credit_with_the_rest_paid_is_paid(exact, subgroup_a):
    invoice = exact.new_exported("1250.00", matching=True)
    exact.new_exported("-500.00", matching=True, kind=InvoiceKind.CREDIT_NOTE, credited=invoice)
    assert payments_sync(subgroup=subgroup_a).success

    exact.pay(invoice, "750.00")  # the customer pays what the credit note left to pay
    run = payments_sync(subgroup=subgroup_a)

    assert run.success, run.error
    invoice.refresh_from_db()
    # PowerOffice still shows 500 open on the invoice and -500 on the credit note: nothing to pay.
    assert (invoice.payment_status, invoice.balance) == (PaymentStatus.PAID, D("500.00"))


def test_exact_matching_credit_and_payment_seen_in_one_check_is_paid(exact, subgroup_a):
    invoice = exact.new_exported("1250.00", matching=True)
    exact.new_exported("-500.00", matching=True, kind=InvoiceKind.CREDIT_NOTE, credited=invoice)
    exact.pay(invoice, "750.00")  # before the first payment check sees either

    assert payments_sync(subgroup=subgroup_a).success

    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID


def test_exact_matching_full_credit_is_credited(exact, subgroup_a):
    invoice = exact.new_exported("1250.00", matching=True)
    credit = exact.new_exported(
        "-1250.00", matching=True, kind=InvoiceKind.CREDIT_NOTE, credited=invoice
    )
    assert _balance(exact, invoice) == D("0.00") == _balance(exact, credit)

    assert payments_sync(subgroup=subgroup_a).success

    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.CREDITED
