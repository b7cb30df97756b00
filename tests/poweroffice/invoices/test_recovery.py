"""Exactly once: concurrent and repeated exports, automatic export, batches, the sweeper and the
command line. Nothing is lost, nothing is booked twice."""

import datetime as dt
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounting.models import ExportStatus, Invoice
from poweroffice.invoices.batch import export_batch_create, export_batch_run, invoices_export
from poweroffice.invoices.export import invoice_export
from poweroffice.invoices.sweep import export_sweep
from poweroffice.models import AttemptTrigger, ExportAttempt, ExportBatch
from tests.fixtures.export import make_invoice

LONG_AGO = dt.timedelta(hours=1)


@pytest.mark.django_db(transaction=True)
def test_double_click_and_concurrent_exports_make_one_voucher(export_world):
    world = export_world
    invoice = make_invoice(world)
    barrier = threading.Barrier(4)
    results = []

    def click():
        barrier.wait()
        try:
            results.append(invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.outcome for r in results) == ["exported", "skipped", "skipped", "skipped"]
    assert len(world.vouchers()) == 1
    assert len(world.posted()) == 1
    assert ExportAttempt.objects.filter(invoice=invoice).count() == 1
    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.EXPORTED


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second_customer", ["estate", "person"])
def test_two_exports_creating_the_same_new_customer_and_product_at_once(
    export_world, read_lag, second_customer
):
    """Two processes (the worker and export_invoices, say) export two invoices of the same new
    customer and articles at the same moment. Neither sees the other's customer or product
    (reads lag), both create it, and PowerOffice refuses the second as "already in use": that
    means it exists, so both invoices are exported, with one customer and one product each.
    With two customers, the race is on the products alone."""
    world = export_world
    world.sandbox.config(read_lag_ms=1500)
    invoices = [
        make_invoice(world, [("kiste", "1"), ("krans", "2")], customer=customer)
        for customer in ("estate", second_customer)
    ]
    barrier = threading.Barrier(2)
    results = []

    def export(invoice_id):
        barrier.wait()
        try:
            results.append(invoice_export(invoice_id=invoice_id, trigger=AttemptTrigger.MANUAL))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=export, args=(i.pk,)) for i in invoices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [r.outcome for r in results] == ["exported", "exported"], [r.message for r in results]
    assert len(world.vouchers()) == 2
    numbers = sorted({world.customers[c].number for c in ("estate", second_customer)})
    assert sorted(c["Number"] for c in world.sandbox.data(world.client_key, "customers")) == numbers
    products = world.sandbox.data(world.client_key, "products")
    assert sorted(p["Code"] for p in products) == sorted(
        f"B-{world.articles[key].pk}" for key in ("kiste", "krans")
    )
    # They did meet: a second create was refused as already in use, and then found.
    customer_posts = sorted(r["status"] for r in world.posted("Customers"))
    product_posts = sorted(r["status"] for r in world.posted("Products"))
    if second_customer == "estate":
        assert customer_posts == [201, 400]
    else:
        assert customer_posts == [201, 201] and product_posts.count(400) >= 1
    assert product_posts.count(200) == 2
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.export_status == ExportStatus.EXPORTED


@pytest.mark.django_db
def test_automatic_export_when_an_invoice_is_committed(
    export_world, celery_eager, django_capture_on_commit_callbacks
):
    world = export_world
    world.set_options(auto_export=True, include_specification=True)

    with django_capture_on_commit_callbacks(execute=True):
        invoice = make_invoice(world)

    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.EXPORTED, invoice.export_error
    [attempt] = ExportAttempt.objects.filter(invoice=invoice)
    assert attempt.trigger == AttemptTrigger.AUTOMATIC
    assert len(world.vouchers()) == 1
    assert len(world.posted("VoucherDocumentation", method="PUT")) == 1


@pytest.mark.django_db
def test_no_automatic_export_when_switched_off(
    export_world, celery_eager, django_capture_on_commit_callbacks
):
    world = export_world
    with django_capture_on_commit_callbacks(execute=True):
        invoice = make_invoice(world)
    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.NOT_EXPORTED
    assert world.sandbox.requests_log(path="OutgoingInvoiceJournals") == []


@pytest.mark.django_db
def test_failed_prerequisites_hold_automatic_export_back(
    export_world, celery_eager, django_capture_on_commit_callbacks
):
    world = export_world
    world.set_options(
        auto_export=True,
        prerequisites_ok=False,
        prerequisites=[
            {
                "key": "vat_codes",
                "title": "MVA-koder",
                "status": "error",
                "message": "MVA-kode 33 har feil sats.",
            },
            {"key": "chart", "title": "Kontoplan", "status": "ok", "message": "OK"},
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        invoice = make_invoice(world)

    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.HELD
    assert "holdt tilbake" in invoice.export_error
    assert "mva-koder" in invoice.export_error.lower()
    assert world.sandbox.requests_log(path="OutgoingInvoiceJournals") == []

    # Fixed: the sweeper releases and exports it.
    world.set_options(prerequisites_ok=True, prerequisites=[])
    Invoice.objects.filter(pk=invoice.pk).update(created_at=timezone.now() - LONG_AGO)
    summary = export_sweep()
    invoice.refresh_from_db()
    assert summary.released == 1
    assert invoice.export_status == ExportStatus.EXPORTED


@pytest.mark.django_db
def test_broker_down_leaves_the_invoice_pending_for_the_sweeper(
    export_world, django_capture_on_commit_callbacks, monkeypatch
):
    world = export_world
    world.set_options(auto_export=True)
    from poweroffice.invoices import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks.export_pending, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = make_invoice(world)
    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.PENDING

    assert export_sweep().pending == 0  # too young: its task may still come
    Invoice.objects.filter(pk=invoice.pk).update(
        created_at=timezone.now() - LONG_AGO, export_claimed_at=timezone.now() - LONG_AGO
    )
    summary = export_sweep()

    assert summary.pending == 1
    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.EXPORTED
    assert ExportAttempt.objects.get(invoice=invoice).trigger == AttemptTrigger.SWEEPER


@pytest.mark.django_db
def test_stale_claim_is_recovered_by_asking_poweroffice_first(export_world):
    world = export_world
    invoice = make_invoice(world)
    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.AUTOMATIC).ok
    # As if the worker was killed right after PowerOffice booked the voucher.
    Invoice.objects.filter(pk=invoice.pk).update(
        export_status=ExportStatus.EXPORTING,
        export_claimed_at=timezone.now() - LONG_AGO,
        external_voucher_id="",
        exported_at=None,
    )
    world.sandbox.clear_requests()

    summary = export_sweep()

    assert summary.recovered == 1
    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.EXPORTED
    assert invoice.external_voucher_id == world.vouchers()[0]["Id"]
    assert len(world.vouchers()) == 1
    assert world.posted() == []  # found by InvoiceNo + reference, not sent again
    assert world.sandbox.requests_log(path="OutgoingInvoices$")


@pytest.mark.django_db
def test_stale_claim_that_never_reached_poweroffice_is_exported(export_world):
    world = export_world
    invoice = make_invoice(world)
    Invoice.objects.filter(pk=invoice.pk).update(
        export_status=ExportStatus.EXPORTING, export_claimed_at=timezone.now() - LONG_AGO
    )
    assert export_sweep().recovered == 1
    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.EXPORTED
    assert len(world.vouchers()) == 1


@pytest.mark.django_db
def test_sweeper_retries_transient_failures_up_to_a_cap(export_world, settings):
    world = export_world
    settings.POWEROFFICE_BACKOFF_BASE = 0.05
    invoice = make_invoice(world)
    world.sandbox.faults(status=503, count=1000, path="VatCodes")
    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.AUTOMATIC).retryable
    Invoice.objects.filter(pk=invoice.pk).update(
        export_claimed_at=timezone.now() - LONG_AGO, export_attempts=5
    )
    assert export_sweep(max_attempts=5).retried == 0  # at the cap: waits for a person

    Invoice.objects.filter(pk=invoice.pk).update(export_attempts=1)
    world.sandbox.clear_faults()
    assert export_sweep(max_attempts=5).retried == 1
    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.EXPORTED


@pytest.mark.django_db
def test_sweeper_leaves_permanent_failures_alone(export_world):
    world = export_world
    world.sandbox.remove(world.client_key, "accounts", world.account_id(3020))
    invoice = make_invoice(world, [("krans", "1")])
    invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.AUTOMATIC)
    Invoice.objects.filter(pk=invoice.pk).update(export_claimed_at=timezone.now() - LONG_AGO)

    summary = export_sweep()

    assert summary.retried == 0
    assert ExportAttempt.objects.filter(invoice=invoice).count() == 1


@pytest.mark.django_db
def test_batch_exports_everything_with_about_one_request_per_invoice(export_world):
    world = export_world
    first = [make_invoice(world, customer="person") for _ in range(2)]
    invoices_export(
        invoice_ids=[i.pk for i in first], trigger=AttemptTrigger.BATCH
    )  # products exist
    invoices = [make_invoice(world, customer="person") for _ in range(8)]
    world.sandbox.clear_requests()

    batch = export_batch_create(
        agency_id=world.subgroup.agency_id, user=world.user, invoice_ids=[i.pk for i in invoices]
    )
    assert set(
        Invoice.objects.filter(pk__in=batch.invoice_ids).values_list("export_status", flat=True)
    ) == {ExportStatus.PENDING}
    summary = export_batch_run(batch_id=batch.pk)

    batch.refresh_from_db()
    assert batch.status == ExportBatch.Status.DONE
    assert (batch.total, batch.exported, batch.failed, batch.skipped) == (8, 8, 0, 0)
    assert len(summary.exported) == 8
    assert len(world.vouchers()) == 10
    api_calls = [r for r in world.sandbox.requests_log() if r["route"] != "/OAuth/Token"]
    # VAT codes, accounts, products, customers, employees: one each; then one voucher each.
    assert len(api_calls) <= 8 + 5
    assert export_batch_run(batch_id=batch.pk) is None  # a redelivered task does nothing


@pytest.mark.django_db
def test_sql_queries_per_invoice_do_not_grow_with_the_batch(export_world):
    world = export_world
    warm = [make_invoice(world) for _ in range(2)]
    invoices_export(invoice_ids=[i.pk for i in warm], trigger=AttemptTrigger.BATCH)
    counts = []
    for size in (2, 4, 8):
        batch = [make_invoice(world) for _ in range(size)]
        with CaptureQueriesContext(db_connection) as queries:
            summary = invoices_export(
                invoice_ids=[i.pk for i in batch], trigger=AttemptTrigger.BATCH
            )
        assert len(summary.exported) == size
        counts.append(len(queries))

    per_invoice = (counts[1] - counts[0]) / 2
    assert (counts[2] - counts[1]) / 4 == per_invoice  # linear: no query grows with the batch
    assert per_invoice <= 8
    assert counts[0] - 2 * per_invoice <= 8  # the fixed part of a run


@pytest.mark.django_db
def test_export_invoices_command(export_world):
    world = export_world
    good = make_invoice(world)
    world.sandbox.remove(world.client_key, "accounts", world.account_id(3020))
    bad = make_invoice(world, [("krans", "1")])
    out = StringIO()

    with pytest.raises(SystemExit):
        call_command("export_invoices", "--subgroup", str(world.subgroup.pk), stdout=out)

    text = out.getvalue()
    assert "Eksportert: 1" in text
    assert "Feilet: 1" in text
    assert f"Faktura {bad.number}: Konto 3020 finnes ikke i PowerOffice." in text
    good.refresh_from_db()
    assert good.export_status == ExportStatus.EXPORTED

    out = StringIO()
    call_command("export_invoices", "--invoice", str(good.number), stdout=out)
    assert "allerede eksportert" in out.getvalue()
    assert len(world.vouchers()) == 1
    trigger = ExportAttempt.objects.filter(invoice=good).get().trigger
    assert trigger == AttemptTrigger.COMMAND


@pytest.mark.django_db(transaction=True)
def test_a_process_dying_between_claim_and_attempt_leaves_the_invoice_unclaimed(
    export_world, monkeypatch
):
    # The claim and the attempt that records it are one transaction: a process that dies in
    # between (here: the attempt's INSERT fails) leaves the invoice as it was, never a claim
    # with no attempt that says what became of it.
    world = export_world
    invoice = make_invoice(world)
    status_before = invoice.export_status

    def dies(**kwargs):
        raise SystemExit("killed")

    monkeypatch.setattr(ExportAttempt.objects, "create", dies)
    with pytest.raises(SystemExit):
        invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.BATCH)
    monkeypatch.undo()

    invoice.refresh_from_db()
    assert invoice.export_status == status_before != ExportStatus.EXPORTING
    assert invoice.export_attempts == 0 and invoice.export_claimed_at is None
    assert world.vouchers() == []
    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.BATCH)
    assert result.outcome == "exported"
    assert list(
        ExportAttempt.objects.filter(invoice=invoice).values_list("outcome", flat=True)
    ) == ["success"]
