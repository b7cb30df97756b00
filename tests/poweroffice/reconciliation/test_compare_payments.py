"""compare_payments on plain data: credited invoices against PowerOffice's balances after it
matched their credit notes at once."""

import datetime as dt
from decimal import Decimal

import pytest

from poweroffice.reconciliation.compare import BitnetInvoice, Result, compare_payments

D = Decimal


def _invoice(number, gross, balance, *, credited="0.00", credits=None, date=dt.date(2026, 3, 2)):
    return BitnetInvoice(
        number=number,
        is_credit_note=credits is not None,
        customer_no=10001,
        invoice_date=date,
        kid="",
        gross=D(gross),
        export_status="exported",
        balance=None if balance is None else D(balance),
        credited_total=D(credited),
        credited_invoice_no=credits,
    )


def _row(balance):
    return {"Balance": float(balance)}


@pytest.mark.parametrize(
    ("ours", "note_ours", "theirs", "note_theirs", "status"),
    [
        # A full credit: PowerOffice's invoice at 0; Bitnet before and after the payment check.
        ("1250.00", "-1250.00", 0, 0, "credited"),
        ("0.00", "0.00", 0, 0, "credited"),
    ],
)
def test_full_credit_matched_in_poweroffice_is_no_difference(
    ours, note_ours, theirs, note_theirs, status
):
    invoice = _invoice(1001, "1250.00", ours, credited="-1250.00")
    note = _invoice(1002, "-1250.00", note_ours, credits=1001, date=dt.date(2026, 4, 9))
    result = Result()

    compare_payments(
        result=result,
        bitnet=[invoice, note],
        poweroffice={1001: _row(theirs), 1002: _row(note_theirs)},
    )

    assert result.differences == []
    assert result.summary["payments"]["bitnet"][status] == 1
    assert result.summary["payments"]["poweroffice"][status] == 1


def test_partial_credit_is_partly_credited_and_paid_once_the_rest_is_paid():
    invoice = _invoice(1001, "1250.00", "1250.00", credited="-500.00")
    note = _invoice(1002, "-500.00", "-500.00", credits=1001, date=dt.date(2026, 4, 9))
    result = Result()
    compare_payments(
        result=result, bitnet=[invoice, note], poweroffice={1001: _row(750), 1002: _row(0)}
    )
    assert result.differences == []
    assert result.summary["payments"]["poweroffice"]["partly_credited"] == 1
    assert result.summary["payments"]["bitnet"]["partly_credited"] == 1

    paid = _invoice(1001, "1250.00", "0.00", credited="-500.00")
    settled = _invoice(1002, "-500.00", "0.00", credits=1001, date=dt.date(2026, 4, 9))
    result = Result()
    compare_payments(
        result=result, bitnet=[paid, settled], poweroffice={1001: _row(0), 1002: _row(0)}
    )
    assert result.differences == []
    # Credited in part, the rest paid: "Betalt", as on the invoice page.
    assert result.summary["payments"]["poweroffice"]["paid"] == 1
    assert result.summary["payments"]["poweroffice"]["credited"] == 0


def test_payment_missing_in_bitnet_on_a_partly_credited_invoice_is_a_difference():
    invoice = _invoice(1001, "1250.00", "750.00", credited="-500.00")
    note = _invoice(1002, "-500.00", "0.00", credits=1001)
    result = Result()
    compare_payments(
        result=result, bitnet=[invoice, note], poweroffice={1001: _row(0), 1002: _row(0)}
    )
    [difference] = result.differences
    assert difference["bitnet"] == "Delvis kreditert (750,00)"
    assert difference["poweroffice"] == "Betalt (0,00)"
    assert difference["difference"] == "750.00"
