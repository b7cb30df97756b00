"""Money rules: VAT per line rounded to øre once, KID (MOD10) and organisation numbers (MOD11),
and money written the Norwegian way (``kr``)."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TypedDict

ORE = Decimal("0.01")
HUNDRED = Decimal(100)


class MoneyDigits(TypedDict):
    """The size of a money ``DecimalField`` (``**MONEY`` in the models): typed, so that mypy
    checks the keyword arguments it spreads into."""

    max_digits: int
    decimal_places: int


def round_ore(amount: Decimal) -> Decimal:
    """Round to øre, half up (Norwegian practice). The only rounding step for money."""
    return amount.quantize(ORE, rounding=ROUND_HALF_UP)


def kr(amount: Decimal) -> str:
    """Norwegian money for plain text (messages, command output): 1 234,50."""
    text = f"{amount:,.2f}"
    return text.replace(",", " ").replace(".", ",")


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    vat: Decimal
    gross: Decimal


def line_amounts(*, quantity: Decimal, unit_price: Decimal, vat_rate: Decimal) -> LineAmounts:
    """Amounts of one invoice line. ``vat_rate`` is in percent (25 for 25 %).

    Net and VAT are each rounded once, from exact products, so no rounding error is carried
    from one into the other; gross is their sum and needs no rounding of its own.
    """
    exact_net = quantity * unit_price
    net = round_ore(exact_net)
    vat = round_ore(exact_net * vat_rate / HUNDRED)
    return LineAmounts(net=net, vat=vat, gross=net + vat)


@dataclass(frozen=True)
class VatTotal:
    code: str
    rate: Decimal
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def totals_per_vat_code(lines: Iterable[tuple[str, Decimal, LineAmounts]]) -> list[VatTotal]:
    """Sum line amounts per (VAT code, rate); the sums need no further rounding."""
    acc: dict[tuple[str, Decimal], list[Decimal]] = {}
    for code, rate, amounts in lines:
        net_vat = acc.setdefault((code, rate), [Decimal("0.00"), Decimal("0.00")])
        net_vat[0] += amounts.net
        net_vat[1] += amounts.vat
    return [
        VatTotal(code=code, rate=rate, net=net, vat=vat)
        for (code, rate), (net, vat) in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][1]))
    ]


def mod10_check_digit(digits: str) -> str:
    """The MOD10 (Luhn) check digit used for Norwegian KID numbers."""
    if not digits.isdigit():
        raise ValueError("KID-grunnlaget kan bare inneholde sifre.")
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def quantity_shown(quantity: Decimal) -> Decimal:
    """A quantity without trailing zeros (2.500 -> 2.5, 150.000 -> 150), for display."""
    if quantity == quantity.to_integral_value():
        return quantity.quantize(Decimal(1))
    return quantity.normalize()


def kid_for(*, customer_number: int, invoice_number: int) -> str:
    """KID: customer number (6 digits) + invoice number (7 digits) + MOD10 check digit."""
    base = f"{customer_number:06d}{invoice_number:07d}"
    return base + mod10_check_digit(base)


def is_valid_kid(kid: str) -> bool:
    return len(kid) >= 2 and kid.isdigit() and mod10_check_digit(kid[:-1]) == kid[-1]


_ORG_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def is_valid_org_number(value: str) -> bool:
    """A Norwegian organisation number: 9 digits, the last a MOD11 check digit."""
    if len(value) != 9 or not value.isdigit():
        return False
    remainder = sum(int(d) * w for d, w in zip(value[:8], _ORG_WEIGHTS, strict=True)) % 11
    check = 11 - remainder
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(value[8])
