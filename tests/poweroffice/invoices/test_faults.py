"""Export failures in words a finance person understands, and PowerOffice's faults survived:
5xx, 429, a timeout after the voucher was created, token expiry in the middle of a batch.

Reads lag writes here as they do in PowerOffice (the ``read_lag`` fixture): a look-up right
after a create must allow for it."""

import time

import pytest

from accounting.models import ExportStatus
from poweroffice.datadeling.departments import departments_sync
from poweroffice.invoices.batch import invoices_export
from poweroffice.invoices.export import invoice_export
from poweroffice.messages import AUTH_MESSAGE, TRANSIENT_MESSAGE
from poweroffice.models import AttemptOutcome, AttemptTrigger, ExportAttempt
from tests.fixtures.export import make_invoice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("read_lag")]


def _fail(world, invoice):
    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL)
    invoice.refresh_from_db()
    attempt = ExportAttempt.objects.filter(invoice=invoice).first()
    assert result.outcome == "failed"
    assert invoice.export_status == ExportStatus.FAILED
    assert invoice.export_error == result.message == attempt.error
    assert attempt.outcome == AttemptOutcome.FAILED
    # Never a key or a token in what staff can read.
    assert world.client_key not in result.message
    assert world.client_key[-8:] not in result.message
    return result, attempt


def test_missing_account_is_named(export_world):
    world = export_world
    world.sandbox.remove(world.client_key, "accounts", world.account_id(3020))
    invoice = make_invoice(world, [("kiste", "1"), ("krans", "1")])

    result, attempt = _fail(world, invoice)

    assert result.message.startswith("Konto 3020 finnes ikke i PowerOffice.")
    assert attempt.error_kind == "account_missing" and not attempt.retryable
    assert world.posted() == [] and world.posted("Products") == []  # nothing written


def test_missing_vat_code_is_named(export_world):
    world = export_world
    for vat in world.sandbox.data(world.client_key, "vatcodes"):
        if vat["Code"] == "33":
            world.sandbox.remove(world.client_key, "vatcodes", vat["Id"])
    invoice = make_invoice(world, [("transport", "1")])

    result, attempt = _fail(world, invoice)

    assert result.message == "MVA-kode 33 mangler i PowerOffice."
    assert attempt.error_kind == "vat_missing"


def test_vat_rate_difference_is_named(export_world):
    world = export_world
    world.sandbox.update(world.client_key, "vatcodes", world.vat_id("31"), Rate=0.14)
    invoice = make_invoice(world, [("servering", "10")])

    result, _ = _fail(world, invoice)

    assert result.message.startswith("MVA-kode 31 har sats 15 % i Bitnet, men 14 % i PowerOffice.")


def test_inactive_account_and_vat_locked_account(export_world):
    world = export_world
    world.sandbox.update(world.client_key, "accounts", world.account_id(3100), IsActive=False)
    invoice = make_invoice(world, [("minnebok", "1")])
    result, _ = _fail(world, invoice)
    assert result.message.startswith("Konto 3100 er deaktivert i PowerOffice.")

    world.sandbox.update(world.client_key, "accounts", world.account_id(3100), IsActive=True)
    world.sandbox.update(
        world.client_key, "accounts", world.account_id(3100), VatCodeId=world.vat_id("6")
    )
    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL)
    assert result.message.startswith(
        "Konto 3100 er låst til MVA-kode 6 i PowerOffice, men linjen «Minnebok» har MVA-kode 5."
    )


def test_unknown_employee_number_is_named(export_world):
    world = export_world
    world.set_options(include_employee_number=True)
    world.user.employee_number = 77
    world.user.save()
    invoice = make_invoice(world)

    result, attempt = _fail(world, invoice)

    assert result.message.startswith("Ansattnr 77 (Ola Hansen) finnes ikke i PowerOffice.")
    assert attempt.error_kind == "employee_missing"


def test_unknown_department_is_named(export_world):
    world = export_world
    world.set_options(include_department=True)
    departments_sync(connection=world.connection)
    world.office.external_department_code = "9"
    world.office.save()
    invoice = make_invoice(world)

    result, _ = _fail(world, invoice)

    assert result.message.startswith("Avdeling 9 finnes ikke i PowerOffice.")


def test_invoice_number_taken_by_another_voucher(export_world):
    world = export_world
    invoice = make_invoice(world)
    world.sandbox.seed(
        world.client_key, "outgoinginvoices", InvoiceNo=invoice.number, TotalAmount=100.0
    )

    result, attempt = _fail(world, invoice)

    assert result.message.startswith(
        f"Fakturanummer {invoice.number} er allerede brukt av et annet bilag i PowerOffice"
    )
    assert attempt.error_kind == "invoice_number_taken"
    assert world.vouchers() == []


def test_revoked_client_key(export_world):
    world = export_world
    world.sandbox.delete_client(world.client_key)
    invoice = make_invoice(world)

    result, attempt = _fail(world, invoice)

    assert result.message == AUTH_MESSAGE
    assert attempt.error_kind == "auth" and not attempt.retryable


def test_poweroffice_down_is_transient_and_retryable(export_world, settings):
    world = export_world
    settings.POWEROFFICE_BACKOFF_BASE = 0.05
    invoice = make_invoice(world)
    world.sandbox.faults(status=503, count=100, path="VatCodes")

    result, attempt = _fail(world, invoice)

    assert result.message == TRANSIENT_MESSAGE
    assert attempt.error_kind == "transient" and attempt.retryable
    world.sandbox.clear_faults()
    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.SWEEPER).ok
    assert len(world.vouchers()) == 1


def test_5xx_on_the_voucher_post_is_retried_without_a_duplicate(export_world, settings):
    world = export_world
    settings.POWEROFFICE_BACKOFF_BASE = 0.05
    invoice = make_invoice(world)
    # PowerOffice books the voucher, then answers 500: an ambiguous failure.
    world.sandbox.faults(status=500, when="after", method="POST", path="OutgoingInvoiceJournals")

    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL)

    assert result.outcome == "exported", result.message
    assert len(world.vouchers()) == 1
    assert len(world.posted()) == 1  # looked up, never sent again
    invoice.refresh_from_db()
    assert invoice.external_voucher_id == world.vouchers()[0]["Id"]


def test_timeout_after_create_finds_the_voucher(export_world, settings):
    world = export_world
    settings.POWEROFFICE_TIMEOUT = 1.0
    settings.POWEROFFICE_BACKOFF_BASE = 0.05
    invoice = make_invoice(world)
    world.sandbox.faults(
        action="delay", delay_ms=2500, when="after", method="POST", path="OutgoingInvoiceJournals"
    )

    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL)

    assert result.outcome == "exported", result.message
    assert len(world.vouchers()) == 1
    # The delayed answer is logged once the sandbox has finished sleeping.
    deadline = time.monotonic() + 5
    while not world.posted() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(world.posted()) == 1


def test_429_is_waited_out(export_world):
    world = export_world
    invoice = make_invoice(world)
    world.sandbox.faults(rate_limit_burst=2)

    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL)

    assert result.outcome == "exported", result.message
    assert len(world.vouchers()) == 1
    assert len(world.sandbox.requests_log(status="429")) == 2


def test_token_expiry_in_the_middle_of_a_batch(export_world):
    world = export_world
    invoices = [make_invoice(world) for _ in range(6)]
    seen = []

    def expire_after_third(result):
        seen.append(result)
        if len(seen) == 3:
            world.sandbox.faults(expire_tokens=True)

    summary = invoices_export(
        invoice_ids=[i.pk for i in invoices],
        trigger=AttemptTrigger.BATCH,
        on_result=expire_after_third,
    )

    assert len(summary.exported) == 6 and not summary.failed
    assert len(world.vouchers()) == 6
    assert any(r["status"] == 401 for r in world.sandbox.requests_log())
    assert sorted(int(v["InvoiceNo"]) for v in world.vouchers()) == sorted(
        i.number for i in invoices
    )


def test_pdf_upload_failure_keeps_the_voucher_and_only_uploads_next_time(export_world, settings):
    world = export_world
    settings.POWEROFFICE_BACKOFF_BASE = 0.05
    world.set_options(include_specification=True)
    invoice = make_invoice(world)
    world.sandbox.faults(status=503, count=10, method="PUT", path="VoucherDocumentation")

    result, attempt = _fail(world, invoice)

    assert result.message == (
        "Bilaget er opprettet i PowerOffice, men fakturaspesifikasjonen ble ikke lastet opp: "
        + TRANSIENT_MESSAGE
    )
    assert attempt.retryable
    invoice.refresh_from_db()
    assert invoice.external_voucher_id == world.vouchers()[0]["Id"]
    world.sandbox.clear_faults()

    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.SWEEPER).ok
    assert len(world.vouchers()) == 1 and len(world.posted()) == 1
    assert [r["status"] for r in world.posted("VoucherDocumentation", method="PUT")][-1] == 204
