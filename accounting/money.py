"""Money rules: VAT per line rounded to øre once, the KID (MOD10, by python-stdnum's Luhn),
and money written the Norwegian way (``kr``). Organisation and bank account numbers are
bitnet/identifiers.py."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TypedDict

from stdnum import luhn

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


def vat_code_sort_key(code: str) -> tuple[int, int, str]:
    """VAT codes in numeric order (3, 5, 6, 31, 33), not as text (3, 31, 33, 5, 6)."""
    return (0, int(code), "") if code.isdigit() else (1, 0, code)


def totals_per_vat_code(lines: Iterable[tuple[str, Decimal, LineAmounts]]) -> list[VatTotal]:
    """Sum line amounts per (VAT code, rate), in numeric code order; the sums need no further
    rounding."""
    acc: dict[tuple[str, Decimal], list[Decimal]] = {}
    for code, rate, amounts in lines:
        net_vat = acc.setdefault((code, rate), [Decimal("0.00"), Decimal("0.00")])
        net_vat[0] += amounts.net
        net_vat[1] += amounts.vat
    return [
        VatTotal(code=code, rate=rate, net=net, vat=vat)
        for (code, rate), (net, vat) in sorted(
            acc.items(), key=lambda kv: (vat_code_sort_key(kv[0][0]), kv[0][1])
        )
    ]


def quantity_shown(quantity: Decimal) -> Decimal:
    """A quantity without trailing zeros (2.500 -> 2.5, 150.000 -> 150), for display."""
    if quantity == quantity.to_integral_value():
        return quantity.quantize(Decimal(1))
    return quantity.normalize()


def kid_for(*, customer_number: int, invoice_number: int) -> str:
    """KID: customer number (6 digits) + invoice number (7 digits) + MOD10 check digit."""
    base = f"{customer_number:06d}{invoice_number:07d}"
    return base + str(luhn.calc_check_digit(base))


def is_valid_kid(kid: str) -> bool:
    """A KID of digits whose last is its MOD10 (Luhn) check digit."""
    return len(kid) >= 2 and kid.isdigit() and bool(luhn.is_valid(kid))
