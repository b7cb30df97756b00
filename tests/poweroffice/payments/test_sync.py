"""The payment check against the PowerOffice sandbox over real HTTP."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounting.models import Invoice, InvoiceKind, PaymentStatus
from poweroffice.messages import SUBSCRIPTION_KEY_MESSAGE
from poweroffice.models import Connection, PaymentSyncRun
from poweroffice.payments.services import payments_sync, payments_sync_all
from tests.factories import SubgroupFactory
from tests.fixtures.payments import PowerOfficeClientSetup, exported_invoice

D = Decimal
pytestmark = pytest.mark.django_db


def sandbox_time(po, invoice) -> dt.datetime:
    record = po.sandbox.find(po.client_key, "outgoinginvoices", InvoiceNo=invoice.number)
    return parse_datetime(str(record["BalanceLastChangedDateTimeOffset"]))


def test_first_run_is_a_full_reconciliation_and_starts_the_watermark(po, subgroup_a):
    a = po.new_exported("1250.00")
    b = po.new_exported("800.00")
    po.pay(a, "1250.00")
    po.sandbox.clear_requests()

    run = payments_sync(subgroup=subgroup_a)

    assert run.success is True, run.error
    assert run.mode == PaymentSyncRun.Mode.FULL
    # Both are checked; only the paid one changed (the other is still unpaid in full).
    assert (run.checked, run.changed) == (2, 1)
    # One query for all open invoices, by number ranges; never one per invoice.
    calls = po.outgoing_invoice_requests()
    assert [c["query"] for c in calls] == [
        {"invoiceNos": f"{a.number}-{b.number}", "PageNumber": "1", "PageSize": "5000"}
    ]
    # Everything PowerOffice received for the client (a token too, unless one was cached).
    assert run.requests == len(po.sandbox.requests_log(client_id=po.client_id)) == 1
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.payment_status, a.balance) == (PaymentStatus.PAID, D("0.00"))
    assert a.balance_changed_at == sandbox_time(po, a)
    assert (b.payment_status, b.balance) == (PaymentStatus.UNPAID, D("800.00"))
    assert b.payment_checked_at is not None
    connection = Connection.objects.get(subgroup=subgroup_a)
    assert connection.payments_watermark == run.started_at  # margin 0 in these tests
    assert connection.payments_full_sync_at == run.started_at
    assert (run.watermark_before, run.watermark_after) == (None, connection.payments_watermark)


def test_incremental_run_records_partial_and_full_payments_and_settled_credit_notes(po, subgroup_a):
    paid = po.new_exported("1250.00")
    partly = po.new_exported("1000.00")
    untouched = po.new_exported("400.00")
    credit_base = po.new_exported("500.00")
    credit = po.new_exported("-500.00", kind=InvoiceKind.CREDIT_NOTE, credited=credit_base)
    first = payments_sync(subgroup=subgroup_a)
    assert first.success and first.mode == PaymentSyncRun.Mode.FULL
    watermark = Connection.objects.get(subgroup=subgroup_a).payments_watermark

    po.pay(paid, "1000.00")
    po.pay(paid, "250.00")
    po.pay(partly, "333.33")
    po.pay(credit, "-500.00")  # the credit note is settled against the invoice
    po.sandbox.clear_requests()

    run = payments_sync(subgroup=subgroup_a)

    assert run.success is True, run.error
    assert run.mode == PaymentSyncRun.Mode.INCREMENTAL
    assert (run.checked, run.changed) == (3, 3)
    calls = po.outgoing_invoice_requests()
    assert len(calls) == 1
    sent = parse_datetime(calls[0]["query"]["balanceLastChangedDateTimeOffsetGreaterThan"])
    assert sent == watermark
    assert set(calls[0]["query"]) == {
        "balanceLastChangedDateTimeOffsetGreaterThan",
        "PageNumber",
        "PageSize",
    }
    for invoice in (paid, partly, untouched, credit):
        invoice.refresh_from_db()
    assert (paid.payment_status, paid.balance) == (PaymentStatus.PAID, D("0.00"))
    assert (partly.payment_status, partly.balance) == (PaymentStatus.PARTLY_PAID, D("666.67"))
    assert partly.balance_changed_at == sandbox_time(po, partly)
    assert (credit.payment_status, credit.balance) == (PaymentStatus.PAID, D("0.00"))
    assert (untouched.payment_status, untouched.balance) == (PaymentStatus.UNPAID, D("400.00"))
    # Confirmed unchanged by this run, though PowerOffice did not send it.
    assert untouched.payment_checked_at >= run.started_at
    connection = Connection.objects.get(subgroup=subgroup_a)
    newest = max(sandbox_time(po, i) for i in (paid, partly, credit))
    assert connection.payments_watermark == newest
    assert run.watermark_after == newest and run.watermark_before == watermark

    # Nothing changed since: one empty answer (204), nothing written, the watermark stays.
    again = payments_sync(subgroup=subgroup_a)
    assert again.success and (again.checked, again.changed) == (0, 0)
    assert Connection.objects.get(subgroup=subgroup_a).payments_watermark == newest


def test_reversal_is_recorded(po, subgroup_a):
    invoice = po.new_exported("2500.00")
    payments_sync(subgroup=subgroup_a)
    po.reverse(invoice)

    run = payments_sync(subgroup=subgroup_a)

    assert run.success and run.changed == 1
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.REVERSED
    assert invoice.balance == D("0.00")


def test_reexported_invoice_is_not_confused_with_its_reversed_voucher(po, subgroup_a):
    """A reversal frees the invoice number: the new voucher has it too; we follow our voucher."""
    invoice = po.new_exported("900.00")
    po.reverse(invoice)
    invoice = po.export(invoice)  # exported again: a new voucher id, same number
    run = payments_sync(subgroup=subgroup_a, full=True)
    assert run.success
    invoice.refresh_from_db()
    assert (invoice.payment_status, invoice.balance) == (PaymentStatus.UNPAID, D("900.00"))


def test_failure_while_paging_keeps_the_watermark_and_the_next_run_catches_up(
    po, subgroup_a, sandbox_settings
):
    invoices = [po.new_exported("100.00") for _ in range(5)]
    first = payments_sync(subgroup=subgroup_a)
    assert first.success
    watermark = Connection.objects.get(subgroup=subgroup_a).payments_watermark
    for invoice in invoices:
        po.pay(invoice, "100.00")

    sandbox_settings.POWEROFFICE_PAYMENTS_PAGE_SIZE = 2
    sandbox_settings.POWEROFFICE_MAX_ATTEMPTS = 1  # no retry: the 503 reaches the service
    po.sandbox.faults(status=503, path="^/OutgoingInvoices$", nth=2)
    po.sandbox.clear_requests()

    failed = payments_sync(subgroup=subgroup_a)

    assert failed.success is False
    assert "PowerOffice svarte ikke (HTTP 503)" in failed.error
    assert [c["query"]["PageNumber"] for c in po.outgoing_invoice_requests()] == ["1", "2"]
    assert [c["status"] for c in po.outgoing_invoice_requests()] == [200, 503]
    # Page 1 is kept (correct observations), the watermark is not moved.
    assert failed.checked == 2
    assert Connection.objects.get(subgroup=subgroup_a).payments_watermark == watermark
    assert (failed.watermark_before, failed.watermark_after) == (watermark, watermark)
    statuses = list(
        Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list(
            "payment_status", flat=True
        )
    )
    assert statuses.count(PaymentStatus.PAID) == 2

    caught_up = payments_sync(subgroup=subgroup_a)

    assert caught_up.success is True
    assert caught_up.checked == 5  # the same window again, in three pages
    assert caught_up.changed == 3
    for invoice in invoices:
        invoice.refresh_from_db()
        assert (invoice.payment_status, invoice.balance) == (PaymentStatus.PAID, D("0.00"))
    assert Connection.objects.get(subgroup=subgroup_a).payments_watermark == max(
        sandbox_time(po, i) for i in invoices
    )


def test_safety_margin_keeps_a_window_behind_the_run(po, subgroup_a, sandbox_settings):
    sandbox_settings.POWEROFFICE_PAYMENTS_SAFETY_MARGIN = 600
    invoice = po.new_exported("100.00")
    payments_sync(subgroup=subgroup_a)
    po.pay(invoice, "40.00")
    run = payments_sync(subgroup=subgroup_a)
    assert run.success and run.changed == 1
    # The change is younger than the margin: the watermark stops ten minutes before the run.
    watermark = Connection.objects.get(subgroup=subgroup_a).payments_watermark
    assert watermark == run.started_at - dt.timedelta(seconds=600)
    # So the next run reads it again, and leaves it as it is.
    again = payments_sync(subgroup=subgroup_a)
    assert (again.checked, again.changed) == (1, 0)
    invoice.refresh_from_db()
    assert (invoice.payment_status, invoice.balance) == (PaymentStatus.PARTLY_PAID, D("60.00"))


def test_full_reconciliation_heals_what_an_incremental_run_missed(po, subgroup_a):
    a = po.new_exported("100.00")
    b = po.new_exported("200.00")
    payments_sync(subgroup=subgroup_a)
    po.pay(b, "200.00")
    # Pretend an incremental run had already moved past b's payment without seeing it.
    later = timezone.now() + dt.timedelta(minutes=1)
    Connection.objects.filter(subgroup=subgroup_a).update(payments_watermark=later)
    assert payments_sync(subgroup=subgroup_a).changed == 0
    b.refresh_from_db()
    assert b.payment_status == PaymentStatus.UNPAID

    run = payments_sync(subgroup=subgroup_a, full=True)

    assert run.success and run.mode == PaymentSyncRun.Mode.FULL
    assert (run.checked, run.changed) == (2, 1)
    b.refresh_from_db()
    assert b.payment_status == PaymentStatus.PAID
    # A later full run does not move the watermark (it reads open invoices only).
    assert Connection.objects.get(subgroup=subgroup_a).payments_watermark == later
    assert a.pk  # a stays unpaid
    a.refresh_from_db()
    assert a.payment_status == PaymentStatus.UNPAID


def test_full_reconciliation_reports_invoices_poweroffice_does_not_know(po, subgroup_a):
    po.new_exported("100.00")
    ghost = exported_invoice(subgroup_a, gross="50.00", payment_status=PaymentStatus.UNPAID)
    run = payments_sync(subgroup=subgroup_a, full=True)
    assert run.success is True
    assert run.error == f"1 eksporterte fakturaer finnes ikke i PowerOffice: {ghost.number}."


def test_one_failing_subgroup_does_not_stop_the_others(po, sandbox, subgroup_a):
    revoked = SubgroupFactory(agency=subgroup_a.agency, name="Hansen Bærum")
    revoked_po = PowerOfficeClientSetup(sandbox, revoked)
    invoice = po.new_exported("100.00")
    revoked_po.new_exported("100.00")
    sandbox.delete_client(revoked_po.client_key)  # the client key is gone in PowerOffice
    no_access = SubgroupFactory(agency=subgroup_a.agency, name="Hansen Asker")
    forbidden_po = PowerOfficeClientSetup(sandbox, no_access)
    forbidden_po.new_exported("100.00")
    sandbox.patch_client(
        forbidden_po.client_key, remove_privileges=["OutgoingInvoice", "OutgoingInvoice_Full"]
    )
    SubgroupFactory(agency=subgroup_a.agency, name="Uten PowerOffice")  # not connected: left out

    runs = payments_sync_all()

    by_subgroup = {r.subgroup_id: r for r in runs}
    assert set(by_subgroup) == {subgroup_a.pk, revoked.pk, no_access.pk}
    assert by_subgroup[subgroup_a.pk].success is True
    assert by_subgroup[revoked.pk].success is False
    assert (
        by_subgroup[revoked.pk].error
        == "Klientnøkkelen er ugyldig – legg inn en ny under Datadeling."
    )
    assert by_subgroup[no_access.pk].success is False
    assert "mangler tilgang til utgående fakturaer" in by_subgroup[no_access.pk].error
    invoice.refresh_from_db()
    assert invoice.payment_checked_at is not None
    assert Connection.objects.get(subgroup=revoked).payments_watermark is None


def test_subgroup_switched_off_or_without_key_fails_with_a_reason(po, subgroup_a):
    Connection.objects.filter(subgroup=subgroup_a).update(enabled=False)
    run = payments_sync(subgroup=subgroup_a)
    assert run.success is False
    assert "ikke slått på under Datadeling" in run.error
    Connection.objects.filter(subgroup=subgroup_a).update(enabled=True, client_key_encrypted="")
    run = payments_sync(subgroup=subgroup_a)
    assert run.error == "Undergruppen har ingen klientnøkkel – legg den inn under Datadeling."
    assert run.requests == 0


def test_unreadable_stored_key_fails_with_a_reason(po, subgroup_a):
    Connection.objects.filter(subgroup=subgroup_a).update(client_key_encrypted="gAAAAA-garbage")
    run = payments_sync(subgroup=subgroup_a)
    assert run.success is False
    assert run.error.startswith("Den lagrede klientnøkkelen kan ikke leses")


def test_a_wrong_subscription_key_is_bitnets_configuration_not_the_client_key(
    po, sandbox_settings, subgroup_a
):
    po.new_exported("100.00")
    sandbox_settings.POWEROFFICE_SUBSCRIPTION_KEY = "not-bitnets-subscription-key"

    run = payments_sync(subgroup=subgroup_a)

    assert run.success is False
    assert run.error == SUBSCRIPTION_KEY_MESSAGE
    assert "Klientnøkkelen er ugyldig" not in run.error
