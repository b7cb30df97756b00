"""The one table of Norwegian VAT codes and the chart of accounts of a funeral agency, with the
names PowerOffice Go gives them.

Plain data with no imports of our apps: the demo (bitnet/demo.py), the test fixtures
(tests/fixtures/), the benchmarks (bench/) and the sandbox's seeded client
(poweroffice/sandbox/seed.py) all read it, so our side and the PowerOffice side cannot drift apart
and "Valider kontoplan" is clean against a freshly seeded sandbox client.

Rates are per cent, as on our VatCode rows; PowerOffice holds the fraction (25 % is 0.25).
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class StandardVatCode:
    """A SAF-T VAT code as PowerOffice Go lists it."""

    code: str
    name: str
    rate: Decimal  # per cent
    description: str  # PowerOffice's group: "Utgående mva", "Inngående mva" or "Ingen mva"
    direction: str  # "sales" (outgoing or no VAT on sales), "purchase" (input VAT) or "none"
    is_active: bool = True
    valid_from: str = "2017-01-01"
    valid_to: str | None = None  # set only on a rate that no longer applies


@dataclass(frozen=True)
class StandardAccount:
    """An account of the chart (NS 4102) with its settings in PowerOffice Go."""

    number: int
    name: str
    kind: str  # PowerOffice's GeneralLedgerAccountType: Asset, Liability, Income, Expense
    vat_code: str  # "0" (ingen mva-behandling) on balance, salary and travel accounts
    is_vat_code_locked: bool = False
    is_active: bool = True
    is_department_required: bool = False

    @property
    def bitnet_vat_code(self) -> str | None:
        """The account's VAT code on our side: none where PowerOffice has "0"."""
        return None if self.vat_code == "0" else self.vat_code


_NO_VAT, _INPUT, _OUTPUT = "Ingen mva", "Inngående mva", "Utgående mva"
_SALES, _PURCHASE, _NONE = "sales", "purchase", "none"
_D = Decimal

VAT_CODES: tuple[StandardVatCode, ...] = (
    StandardVatCode("0", "Ingen mva-behandling (anskaffelser)", _D("0.00"), _NO_VAT, _NONE),
    StandardVatCode("1", "Inngående mva, høy sats", _D("25.00"), _INPUT, _PURCHASE),
    StandardVatCode("3", "Utgående mva, høy sats", _D("25.00"), _OUTPUT, _SALES),
    StandardVatCode("5", "Ingen utgående mva (nullsats)", _D("0.00"), _OUTPUT, _SALES),
    StandardVatCode("6", "Omsetning utenfor merverdiavgiftsloven", _D("0.00"), _NO_VAT, _SALES),
    StandardVatCode("7", "Ingen mva-behandling (inntekter)", _D("0.00"), _NO_VAT, _SALES),
    StandardVatCode("11", "Inngående mva, middels sats", _D("15.00"), _INPUT, _PURCHASE),
    StandardVatCode("12", "Inngående mva, råfisk", _D("11.11"), _INPUT, _PURCHASE),
    StandardVatCode(
        "13", "Inngående mva, lav sats", _D("12.00"), _INPUT, _PURCHASE, valid_from="2018-01-01"
    ),
    StandardVatCode("14", "Fradrag innførselsmva, høy sats", _D("25.00"), _INPUT, _PURCHASE),
    StandardVatCode("15", "Fradrag innførselsmva, middels sats", _D("15.00"), _INPUT, _PURCHASE),
    StandardVatCode("31", "Utgående mva, middels sats", _D("15.00"), _OUTPUT, _SALES),
    StandardVatCode("32", "Utgående mva, råfisk", _D("11.11"), _OUTPUT, _SALES),
    StandardVatCode(
        "33", "Utgående mva, lav sats", _D("12.00"), _OUTPUT, _SALES, valid_from="2018-01-01"
    ),
    StandardVatCode(
        "51", "Innenlands omsetning med omvendt avgiftsplikt", _D("0.00"), _OUTPUT, _SALES
    ),
    StandardVatCode("52", "Utførsel av varer og tjenester", _D("0.00"), _OUTPUT, _SALES),
    # The temporary low rate of 2020-2021: expired, PowerOffice lists it only with
    # includeExpired=true.
    StandardVatCode(
        "33",
        "Utgående mva, lav sats (midlertidig)",
        _D("6.00"),
        _OUTPUT,
        _SALES,
        valid_from="2020-04-01",
        valid_to="2021-09-30",
    ),
    StandardVatCode(
        "81",
        "Innførsel av varer med fradrag, høy sats",
        _D("25.00"),
        _INPUT,
        _PURCHASE,
        is_active=False,
    ),
)

_A = StandardAccount
_ASSET, _LIABILITY, _INCOME, _EXPENSE = "Asset", "Liability", "Income", "Expense"

ACCOUNTS: tuple[StandardAccount, ...] = (
    _A(1500, "Kundefordringer", _ASSET, "0", is_vat_code_locked=True),
    _A(1920, "Bank", _ASSET, "0", is_vat_code_locked=True),
    _A(2400, "Leverandørgjeld", _LIABILITY, "0", is_vat_code_locked=True),
    _A(2700, "Utgående merverdiavgift, høy sats", _LIABILITY, "0", is_vat_code_locked=True),
    _A(2710, "Inngående merverdiavgift, høy sats", _LIABILITY, "0", is_vat_code_locked=True),
    _A(2740, "Oppgjørskonto merverdiavgift", _LIABILITY, "0", is_vat_code_locked=True),
    _A(2780, "Påløpt arbeidsgiveravgift", _LIABILITY, "0", is_vat_code_locked=True),
    _A(2930, "Skyldig lønn", _LIABILITY, "0", is_vat_code_locked=True),
    _A(3000, "Salgsinntekt, avgiftspliktig", _INCOME, "3", is_vat_code_locked=True),
    _A(
        3010,
        "Salgsinntekt, avgiftspliktig (utgått)",
        _INCOME,
        "3",
        is_vat_code_locked=True,
        is_active=False,
    ),
    _A(3020, "Salgsinntekt, avgiftspliktig, kister og urner", _INCOME, "3"),
    _A(3030, "Salgsinntekt, avgiftspliktig, middels sats", _INCOME, "31", is_vat_code_locked=True),
    _A(
        3040,
        "Salgsinntekt, avgiftspliktig, lav sats (transport)",
        _INCOME,
        "33",
        is_vat_code_locked=True,
    ),
    _A(3100, "Salgsinntekt, avgiftsfri", _INCOME, "5", is_vat_code_locked=True),
    _A(3200, "Salgsinntekt, utenfor avgiftsområdet", _INCOME, "6", is_vat_code_locked=True),
    _A(3210, "Viderefakturerte utlegg (kirkegård, annonser)", _INCOME, "6"),
    _A(3900, "Annen driftsrelatert inntekt", _INCOME, "3", is_department_required=True),
    _A(4300, "Innkjøp av varer for videresalg", _EXPENSE, "1"),
    _A(5000, "Lønn til ansatte", _EXPENSE, "0"),
    _A(5400, "Arbeidsgiveravgift", _EXPENSE, "0"),
    _A(6300, "Leie lokale", _EXPENSE, "0"),
    _A(6540, "Inventar", _EXPENSE, "1"),
    _A(6800, "Kontorrekvisita", _EXPENSE, "1"),
    _A(7100, "Bilgodtgjørelse, oppgavepliktig", _EXPENSE, "0", is_vat_code_locked=True),
    _A(7130, "Reisekostnad, oppgavepliktig", _EXPENSE, "0"),
    _A(7140, "Reisekostnad, ikke oppgavepliktig", _EXPENSE, "0"),
    _A(7770, "Bank- og kortgebyrer", _EXPENSE, "0"),
    _A(8050, "Annen renteinntekt", _INCOME, "0"),
)

# What a funeral invoice uses; it typically mixes 3, 5 and 6 on one invoice.
SALES_VAT_CODES: tuple[str, ...] = ("3", "5", "6", "31", "33")
SALES_ACCOUNTS: tuple[int, ...] = (3000, 3020, 3030, 3040, 3100, 3200)


def vat_code(code: str) -> StandardVatCode:
    """The VAT code that applies today (not an expired rate of the same code)."""
    return next(vat for vat in VAT_CODES if vat.code == code and vat.valid_to is None)


def vat_codes(*codes: str) -> list[StandardVatCode]:
    """The VAT codes that apply today, in the order given."""
    return [vat_code(code) for code in codes]


def account(number: int) -> StandardAccount:
    return next(row for row in ACCOUNTS if row.number == number)


def accounts(*numbers: int) -> list[StandardAccount]:
    """The accounts, in the order given."""
    return [account(number) for number in numbers]
