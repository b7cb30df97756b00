"""Money rules: VAT per line rounded to øre once, totals per VAT code, KID and MOD11."""

from decimal import Decimal

import pytest

from accounting.money import (
    LineAmounts,
    is_valid_kid,
    kid_for,
    line_amounts,
    round_ore,
    totals_per_vat_code,
)

D = Decimal


@pytest.mark.parametrize(
    ("quantity", "price", "rate", "net", "vat", "gross"),
    [
        (D("1"), D("9200.00"), D("25"), D("9200.00"), D("2300.00"), D("11500.00")),
        (D("3"), D("33.33"), D("25"), D("99.99"), D("25.00"), D("124.99")),  # 24.9975 -> 25.00
        (D("1"), D("0.02"), D("25"), D("0.02"), D("0.01"), D("0.03")),  # 0.005 rounds half up
        (D("1.5"), D("185.00"), D("15"), D("277.50"), D("41.63"), D("319.13")),  # 41.625
        (D("2"), D("1600.00"), D("12"), D("3200.00"), D("384.00"), D("3584.00")),
        (D("1"), D("3900.00"), D("0"), D("3900.00"), D("0.00"), D("3900.00")),  # code 6
        (D("0.333"), D("10.00"), D("25"), D("3.33"), D("0.83"), D("4.16")),  # 3.33 / 0.8325
        (D("-1"), D("9200.00"), D("25"), D("-9200.00"), D("-2300.00"), D("-11500.00")),
        (D("-3"), D("33.33"), D("25"), D("-99.99"), D("-25.00"), D("-124.99")),  # symmetric
    ],
)
def test_line_amounts(quantity, price, rate, net, vat, gross):
    amounts = line_amounts(quantity=quantity, unit_price=price, vat_rate=rate)
    assert (amounts.net, amounts.vat, amounts.gross) == (net, vat, gross)
    assert amounts.net + amounts.vat == amounts.gross


def test_vat_is_rounded_once_from_the_exact_amount():
    # 0.5 × 0.03 = 0.015 exactly. VAT of the exact amount is 0.00375 -> 0.00. Rounding the net
    # first (0.02) and then taking 25 % (0.005 -> 0.01) would round twice and give 0.01.
    amounts = line_amounts(quantity=D("0.5"), unit_price=D("0.03"), vat_rate=D("25"))
    assert amounts.net == D("0.02")
    assert amounts.vat == D("0.00")


def test_round_ore_half_up():
    assert round_ore(D("0.005")) == D("0.01")
    assert round_ore(D("0.0049")) == D("0.00")
    assert round_ore(D("-0.005")) == D("-0.01")


def test_totals_per_vat_code_mixed_funeral_invoice():
    lines = [
        ("3", D("25"), line_amounts(quantity=D(1), unit_price=D("9200"), vat_rate=D("25"))),
        ("3", D("25"), line_amounts(quantity=D(1), unit_price=D("1350"), vat_rate=D("25"))),
        ("5", D("0"), line_amounts(quantity=D(1), unit_price=D("390"), vat_rate=D("0"))),
        ("6", D("0"), line_amounts(quantity=D(1), unit_price=D("6500"), vat_rate=D("0"))),
        ("6", D("0"), line_amounts(quantity=D(1), unit_price=D("2990"), vat_rate=D("0"))),
    ]
    totals = totals_per_vat_code(lines)
    assert [(t.code, t.net, t.vat, t.gross) for t in totals] == [
        ("3", D("10550.00"), D("2637.50"), D("13187.50")),
        ("5", D("390.00"), D("0.00"), D("390.00")),
        ("6", D("9490.00"), D("0.00"), D("9490.00")),
    ]
    # The invoice total is the sum of the lines, with no second rounding.
    assert sum(t.gross for t in totals) == sum(a.gross for _, _, a in lines)


def test_kid_mod10():
    # MOD10 (Luhn): the check digit of 0100230100045 is 6.
    kid = kid_for(customer_number=10023, invoice_number=100045)
    assert kid == "01002301000456"
    assert len(kid) == 14
    assert is_valid_kid(kid)
    assert is_valid_kid("79927398713")  # the classic Luhn example
    tampered = kid[:-2] + str((int(kid[-2]) + 1) % 10) + kid[-1]
    assert not is_valid_kid(tampered)
    assert not is_valid_kid("12a4")
    assert not is_valid_kid("7")


def test_vat_totals_in_numeric_code_order():
    zero = LineAmounts(net=D("1.00"), vat=D("0.00"), gross=D("1.00"))
    codes = ["33", "5", "3", "31", "6"]
    totals = totals_per_vat_code((code, D("0"), zero) for code in codes)
    assert [t.code for t in totals] == ["3", "5", "6", "31", "33"]
