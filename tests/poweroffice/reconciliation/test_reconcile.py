"""Reconciling a month against the sandbox over real HTTP: a clean month, and each kind of
difference found exactly, to the øre."""

import datetime as dt
from decimal import Decimal

import pytest

from accounting.invoices.services import credit_note_create
from accounting.models import PaymentStatus
from poweroffice.invoices.export import invoice_export
from poweroffice.models import AttemptTrigger, Reconciliation
from poweroffice.payments.services import payments_sync
from poweroffice.reconciliation.services import reconcile
from tests.fixtures.export import make_credit_note, make_invoice

pytestmark = pytest.mark.django_db

MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
APRIL_9 = dt.date(2026, 4, 9)


def _export(*invoices):
    for invoice in invoices:
        result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL)
        assert result.ok, result


def _run(world):
    return reconcile(subgroup=world.subgroup, period_from=MARCH[0], period_to=MARCH[1])


def _kinds(run):
    return sorted((d["kind"], d["invoice_no"], d["what"]) for d in run.differences)


def test_clean_month_reconciles(export_world):
    world = export_world
    first = make_invoice(world)
    second = make_invoice(world, [("servering", "12.5"), ("krans", "1")], customer="person")
    credited = make_invoice(world, [("transport", "2")])
    _export(first, second, credited)
    credit = make_credit_note(world, credited)
    _export(credit)
    make_invoice(world, invoice_date=dt.date(2026, 4, 2))  # another month: not in March

    run = _run(world)

    assert run.state == Reconciliation.State.RECONCILED, run.differences
    assert run.differences == []
    summary = run.summary
    assert summary["reconciled"] is True
    assert summary["invoices"] == {"bitnet": 4, "poweroffice": 4, "matched": 4}
    gross = first.gross_total + second.gross_total
    assert Decimal(summary["totals"]["bitnet"]["gross"]) == gross
    assert summary["totals"]["poweroffice"] == summary["totals"]["bitnet"]
    assert {row["vat_code"] for row in summary["totals"]["by_vat_code"]} >= {"3", "5"}
    assert summary["payments"]["bitnet"]["credited"] == 1
    assert summary["payments"]["poweroffice"] == summary["payments"]["bitnet"]


def test_never_exported_and_deleted_and_reversed_are_missing(export_world):
    world = export_world
    deleted = make_invoice(world)
    reversed_ = make_invoice(world, [("krans", "2")])
    kept = make_invoice(world, [("minnebok", "1")])
    _export(deleted, reversed_, kept)
    never = make_invoice(world, [("honorar", "1")])
    world.sandbox.delete_voucher(world.client_key, deleted.number)
    world.sandbox.reverse(world.client_key, reversed_.number)

    run = _run(world)

    assert run.state == Reconciliation.State.DIFFERENCES
    missing = {d["invoice_no"]: d for d in run.differences if d["kind"] == "missing"}
    assert set(missing) == {deleted.number, reversed_.number, never.number}
    assert missing[never.number]["what"] == "Faktura: Aldri eksportert"
    assert "Ikke eksporterte fakturaer" in missing[never.number]["action"]
    assert missing[deleted.number]["what"] == "Faktura: Eksportert, men finnes ikke i PowerOffice"
    assert missing[reversed_.number]["what"] == "Faktura: Reversert i PowerOffice"
    assert Decimal(missing[reversed_.number]["difference"]) == Decimal("4125.00")  # 2 x 1650 + mva
    # The totals differ by exactly those three invoices, and name them.
    totals = [d for d in run.differences if d["kind"] == "totals"]
    explained = {n for d in totals for n in d["invoices"]}
    assert explained == {deleted.number, reversed_.number, never.number}
    difference = sum(Decimal(d["difference"]) for d in totals)
    assert difference == deleted.gross_total + reversed_.gross_total + never.gross_total
    assert run.summary["by_kind"]["missing"] == 3
    assert kept.number not in {d["invoice_no"] for d in run.differences}


def test_amount_changed_in_poweroffice_is_found_to_the_ore(export_world):
    world = export_world
    invoice = make_invoice(world, [("kiste", "1")])  # 18400 + 25 % = 23000.00
    other = make_invoice(world, [("honorar", "1")])
    _export(invoice, other)
    world.sandbox.change_amount(world.client_key, invoice.number, "22999.99")

    run = _run(world)

    assert _kinds(run) == [
        ("different", invoice.number, "Beløp"),
        ("payment", invoice.number, "Utestående"),
        ("totals", None, "Konto 3000, MVA-kode 3"),
    ]
    amount = next(d for d in run.differences if d["kind"] == "different")
    assert amount["difference"] == "0.01"
    assert amount["bitnet"] == "23 000,00" and amount["poweroffice"] == "22 999,99"
    totals = next(d for d in run.differences if d["kind"] == "totals")
    assert totals["difference"] == "0.01"
    assert totals["invoices"] == [invoice.number]
    by_vat = {row["vat_code"]: row for row in run.summary["totals"]["by_vat_code"]}
    # 22999.99 incl. 25 %: VAT 4600.00, net 18399.99
    assert by_vat["3"]["poweroffice"]["net"] == "18399.99"
    assert by_vat["3"]["difference"] == {"net": "0.01", "vat": "0.00", "gross": "0.01"}


def test_invoice_in_poweroffice_but_not_in_bitnet(export_world):
    world = export_world
    invoice = make_invoice(world)
    _export(invoice)
    # A voucher made by our integration under a number Bitnet does not have.
    record = world.sandbox.find(world.client_key, "outgoinginvoices", InvoiceNo=invoice.number)
    world.sandbox.update(world.client_key, "outgoinginvoices", record["Id"], InvoiceNo=990001)
    world.sandbox.update(world.client_key, "vouchers", record["Id"], InvoiceNo="990001")

    run = _run(world)

    kinds = {(d["kind"], d["invoice_no"]) for d in run.differences}
    assert ("extra", 990001) in kinds
    assert ("missing", invoice.number) in kinds
    extra = next(d for d in run.differences if d["kind"] == "extra")
    assert Decimal(extra["difference"]) == -invoice.gross_total


def test_payment_in_poweroffice_not_yet_in_bitnet(export_world):
    world = export_world
    invoice = make_invoice(world, [("honorar", "1")])  # 6500, no VAT
    _export(invoice)
    world.sandbox.pay(world.client_key, invoice.number, "100.01")

    run = _run(world)

    assert _kinds(run) == [("payment", invoice.number, "Utestående")]
    payment = run.differences[0]
    assert payment["bitnet"] == "Ubetalt (6 500,00)"
    assert payment["poweroffice"] == "Delvis betalt (6 399,99)"
    assert payment["difference"] == "100.01"
    assert "Betalingssjekk" in payment["action"]

    payments_sync(subgroup=world.subgroup)
    assert _run(world).state == Reconciliation.State.RECONCILED


def test_credit_note_not_exported_is_missing(export_world):
    world = export_world
    invoice = make_invoice(world, [("krans", "1")])
    _export(invoice)
    credit = make_credit_note(world, invoice)

    run = _run(world)

    missing = [d for d in run.differences if d["kind"] == "missing"]
    assert [(d["invoice_no"], d["what"]) for d in missing] == [
        (credit.number, "Kreditnota: Aldri eksportert")
    ]
    assert Decimal(missing[0]["difference"]) == -invoice.gross_total
    totals = [d for d in run.differences if d["kind"] == "totals"]
    assert sum(Decimal(d["difference"]) for d in totals) == credit.gross_total
    # Bitnet counts the invoice as credited; PowerOffice still has it open.
    payment = next(d for d in run.differences if d["kind"] == "payment")
    assert payment["invoice_no"] == invoice.number
    assert payment["poweroffice"] == "Ubetalt (2 062,50)"


def test_requests_are_bounded_by_pages(export_world, settings):
    world = export_world
    settings.POWEROFFICE_RECONCILIATION_PAGE_SIZE = 2
    invoices = [make_invoice(world, [("minnebok", "1")]) for _ in range(5)]
    _export(*invoices)
    world.sandbox.clear_requests()

    run = _run(world)

    assert run.state == Reconciliation.State.RECONCILED
    gets = [r["path"] for r in world.sandbox.requests_log(method="GET")]
    # 5 invoices in pages of 2: 3 pages. A VAT-free line and the receivable per voucher: 10
    # postings in pages of 2, the sixth page empty (204). Nothing per invoice.
    assert sum("OutgoingInvoices" in p for p in gets) == 3
    assert sum("AccountTransactions" in p for p in gets) == 6


def test_invoice_credited_after_the_month_is_no_payment_difference(export_world):
    """PowerOffice matched the credit note with its invoice at once (Balance 0) before the
    payment check saw it: Bitnet's invoice still shows the whole amount open, its credit note
    the credit, and together nothing is open on either side."""
    world = export_world
    invoice = make_invoice(world, [("krans", "1")])
    _export(invoice)
    credit = credit_note_create(created_by=world.user, invoice=invoice, invoice_date=APRIL_9)
    _export(credit)
    booked = world.sandbox.find(world.client_key, "outgoinginvoices", InvoiceNo=invoice.number)
    assert Decimal(str(booked["Balance"])) == 0

    run = _run(world)

    assert run.state == Reconciliation.State.RECONCILED, run.differences
    payments = run.summary["payments"]
    assert payments["bitnet"]["credited"] == payments["poweroffice"]["credited"] == 1
    assert payments["poweroffice"]["paid"] == 0

    payments_sync(subgroup=world.subgroup)
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.CREDITED
    assert _run(world).state == Reconciliation.State.RECONCILED
