"""A run exports several invoices at once (the rate limit stays busy at PowerOffice's latency),
and never sends one invoice's requests out of order: its voucher is booked before its PDF is
uploaded, and a credit note goes after the invoice it credits. Read from the sandbox's log."""

import datetime as dt

import pytest

from accounting.models import ExportStatus, Invoice
from poweroffice.invoices.batch import invoices_export
from poweroffice.models import AttemptTrigger, ExportAttempt
from tests.fixtures.export import make_credit_note, make_invoice

pytestmark = pytest.mark.django_db(transaction=True)

VOUCHERS = "/Vouchers/OutgoingInvoiceJournals"


def _interval(entry: dict) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.fromisoformat(entry["time"])
    return start, start + dt.timedelta(milliseconds=entry["duration_ms"])


def _most_at_once(entries: list[dict]) -> int:
    edges = []
    for entry in entries:
        start, end = _interval(entry)
        edges += [(start, 1), (end, -1)]
    level = most = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        level += step
        most = max(most, level)
    return most


def test_a_run_sends_several_invoices_at_once_each_voucher_before_its_pdf(export_world, settings):
    world = export_world
    settings.POWEROFFICE_EXPORT_THREADS = 4
    world.set_options(include_specification=True)
    # Products and customer exist already: each invoice costs its voucher and its PDF.
    warm = make_invoice(world)
    assert invoices_export(invoice_ids=[warm.pk], trigger=AttemptTrigger.BATCH).exported
    invoices = [make_invoice(world) for _ in range(9)]
    credit = make_credit_note(world, invoices[0])
    world.sandbox.config(latency_ms=80)
    world.sandbox.clear_requests()

    # The credit note first in the list: the run still books it after its invoice.
    ids = [credit.pk] + [invoice.pk for invoice in invoices]
    summary = invoices_export(invoice_ids=ids, trigger=AttemptTrigger.BATCH)

    assert len(summary.exported) == 10, [r.message for r in summary.failed]
    log = [
        r
        for r in world.sandbox.requests_log()
        if r["client_name"] == world.client_name and r["route"] != "/OAuth/Token"
    ]
    posts = {r["response"]["Id"]: r for r in log if r["route"] == VOUCHERS and r["status"] == 201}
    uploads = [r for r in log if r["route"] == "/VoucherDocumentation"]
    assert len(posts) == 10 and len(uploads) == 10
    assert {u["query"]["id"] for u in uploads} == set(posts)
    for upload in uploads:
        _, booked = _interval(posts[upload["query"]["id"]])
        uploaded, _ = _interval(upload)
        assert booked <= uploaded  # the voucher's answer came before its PDF left
    # Several invoices were in flight at once.
    assert _most_at_once(log) >= 2
    # The credit note was booked after its invoice, and matched at once.
    by_number = {int(r["body"]["InvoiceNo"]): r for r in posts.values()}
    _, original_booked = _interval(by_number[invoices[0].number])
    credit_sent, _ = _interval(by_number[credit.number])
    assert original_booked <= credit_sent
    for invoice in Invoice.objects.filter(pk__in=ids):
        assert invoice.export_status == ExportStatus.EXPORTED
        assert ExportAttempt.objects.filter(invoice=invoice).count() == 1
    # Every attempt counts its own requests: the voucher and the PDF.
    counted = ExportAttempt.objects.filter(invoice_id__in=ids).values_list("requests", flat=True)
    assert set(counted) == {2}
