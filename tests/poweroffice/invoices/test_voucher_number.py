"""The invoice knows its voucher: PowerOffice's voucher number and date are kept on export, also
when the voucher is only found by a lookup, and each attempt says who or what started it."""

import datetime as dt

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from accounting.models import Invoice
from poweroffice.invoices.batch import invoices_export
from poweroffice.invoices.export import invoice_export
from poweroffice.models import AttemptTrigger, ExportAttempt
from tests.fixtures.export import make_invoice

pytestmark = pytest.mark.django_db


def _booked(world, invoice):
    return next(
        v
        for v in world.sandbox.data(world.client_key, "outgoinginvoices")
        if v["InvoiceNo"] == invoice.number
    )


def test_export_keeps_the_voucher_number_and_date(export_world):
    world = export_world
    invoice = make_invoice(world)

    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL, user=world.user).ok

    booked = _booked(world, invoice)
    invoice.refresh_from_db()
    assert booked["VoucherNo"] is not None
    assert invoice.voucher_no == int(booked["VoucherNo"])
    assert invoice.voucher_date == dt.date.fromisoformat(str(booked["VoucherDate"])[:10])
    attempt = ExportAttempt.objects.get(invoice=invoice)
    assert attempt.started_by == f"Startet av: {world.user.get_full_name() or world.user}"


def test_ambiguous_create_fills_the_number_from_the_lookup(export_world, settings):
    world = export_world
    settings.POWEROFFICE_BACKOFF_BASE = 0.05
    invoice = make_invoice(world)
    world.sandbox.faults(status=500, when="after", method="POST", path="OutgoingInvoiceJournals")

    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.AUTOMATIC).ok

    invoice.refresh_from_db()
    assert invoice.voucher_no == int(_booked(world, invoice)["VoucherNo"])
    assert invoice.voucher_date is not None


def test_a_kept_voucher_without_number_gets_it_on_the_next_attempt(export_world):
    world = export_world
    world.set_options(include_specification=True)
    invoice = make_invoice(world)
    # The voucher got there but its documentation did not: the next attempt only uploads.
    world.sandbox.faults(status=400, count=1, method="PUT", path="VoucherDocumentation")
    assert not invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    Invoice.objects.filter(pk=invoice.pk).update(voucher_no=None, voucher_date=None)
    world.sandbox.clear_faults()

    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.SWEEPER).ok

    invoice.refresh_from_db()
    assert invoice.voucher_no == int(_booked(world, invoice)["VoucherNo"])
    assert len(world.vouchers()) == 1


def test_batch_keeps_each_number_in_constant_queries(export_world):
    world = export_world
    first = [make_invoice(world) for _ in range(2)]
    with CaptureQueriesContext(db_connection) as few:
        invoices_export(invoice_ids=[i.pk for i in first], trigger=AttemptTrigger.COMMAND)
    more = [make_invoice(world) for _ in range(6)]
    with CaptureQueriesContext(db_connection) as many:
        invoices_export(invoice_ids=[i.pk for i in more], trigger=AttemptTrigger.COMMAND)

    numbers = {i.voucher_no for i in Invoice.objects.filter(pk__in=[i.pk for i in first + more])}
    assert None not in numbers and len(numbers) == 8
    assert len(many) / 6 <= len(few) / 2 + 1
    labels = {a.started_by for a in ExportAttempt.objects.filter(invoice__in=more)}
    assert labels == {"Kommando export_invoices"}


@pytest.mark.parametrize(
    ("trigger", "label"),
    [
        (AttemptTrigger.AUTOMATIC, "Automatisk ved lagring"),
        (AttemptTrigger.SWEEPER, "Nattlig gjenforsøk"),
        (AttemptTrigger.COMMAND, "Kommando export_invoices"),
    ],
)
def test_attempt_says_what_started_it(export_world, trigger, label):
    invoice = make_invoice(export_world)
    invoice_export(invoice_id=invoice.pk, trigger=trigger)
    assert ExportAttempt.objects.get(invoice=invoice).started_by == label
