"""The comparison itself: what Bitnet holds against what PowerOffice answered, as plain data.

No database and no HTTP here: the selectors read Bitnet, the service reads PowerOffice, and these
functions say what differs and what to do about it (Norwegian, for the accountant).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from accounting.models import ExportStatus
from accounting.money import kr

ZERO = Decimal("0.00")

KIND_LABELS = {
    "missing": "Mangler i PowerOffice",
    "extra": "I PowerOffice, ikke i Bitnet",
    "different": "Ulik i Bitnet og PowerOffice",
    "totals": "Ulike summer per MVA-kode og konto",
    "payment": "Ulik betalingsstatus",
}
KIND_ORDER = tuple(KIND_LABELS)

PAYMENT_LABELS = {
    "paid": "Betalt",
    "partly_paid": "Delvis betalt",
    "credited": "Kreditert",
    "partly_credited": "Delvis kreditert",
    "unpaid": "Ubetalt",
}


@dataclass(frozen=True)
class BitnetInvoice:
    """One Bitnet invoice or credit note of the period, with what the comparison needs."""

    number: int
    is_credit_note: bool
    customer_no: int
    invoice_date: dt.date
    kid: str
    gross: Decimal
    export_status: str
    balance: Decimal | None
    credited_total: Decimal = ZERO  # the credit notes against it (negative), any date
    credited_invoice_no: int | None = None


Key = tuple[int, str]  # (sales account number, VAT code)


@dataclass
class Amounts:
    net: Decimal = ZERO
    vat: Decimal = ZERO

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat

    def add(self, net: Decimal, vat: Decimal) -> None:
        self.net += net
        self.vat += vat

    def as_json(self) -> dict[str, str]:
        return {"net": str(self.net), "vat": str(self.vat), "gross": str(self.gross)}


@dataclass
class Result:
    differences: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        kind: str,
        *,
        invoice_no: int | None,
        what: str,
        bitnet: str,
        poweroffice: str,
        action: str,
        difference: Decimal | None = None,
        invoices: Iterable[int] = (),
    ) -> None:
        self.differences.append(
            {
                "kind": kind,
                "kind_label": KIND_LABELS[kind],
                "invoice_no": invoice_no,
                "what": what,
                "bitnet": bitnet,
                "poweroffice": poweroffice,
                "difference": "" if difference is None else str(difference),
                "invoices": sorted(set(invoices)),
                "action": action,
            }
        )


def _dec(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def _po_date(row: dict[str, Any]) -> dt.date | None:
    value = row.get("VoucherDate")
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def _what(invoice: BitnetInvoice) -> str:
    return "Kreditnota" if invoice.is_credit_note else "Faktura"


# --- invoices one by one ------------------------------------------------------------------------


def compare_invoices(
    *,
    result: Result,
    bitnet: list[BitnetInvoice],
    poweroffice: dict[int, dict[str, Any]],
    reversed_nos: set[int],
    elsewhere: dict[int, dict[str, Any]],
    outside_period: set[int],
) -> int:
    """Every Bitnet invoice of the period against PowerOffice's; returns how many matched.

    ``poweroffice``: PowerOffice's booked (not reversed) invoices of the period by number;
    ``reversed_nos``: numbers reversed there; ``elsewhere``: Bitnet's missing numbers found in
    PowerOffice dated outside the period; ``outside_period``: PowerOffice's numbers of the period
    that Bitnet holds dated outside it.
    """
    matched = 0
    ours = {invoice.number for invoice in bitnet}
    for invoice in bitnet:
        row = poweroffice.get(invoice.number) or elsewhere.get(invoice.number)
        if row is None:
            _missing(result, invoice, reversed_in_po=invoice.number in reversed_nos)
        elif _compare_one(result, invoice, row):
            matched += 1
    for number, row in sorted(poweroffice.items()):
        if number in ours:
            continue
        if number in outside_period:
            result.add(
                "different",
                invoice_no=number,
                what="Fakturadato",
                bitnet="utenfor perioden",
                poweroffice=str(_po_date(row)),
                action="Datoen er endret i PowerOffice. Rett bilagsdatoen i PowerOffice så den "
                "er lik fakturadatoen i Bitnet.",
            )
            continue
        result.add(
            "extra",
            invoice_no=number,
            what="Bilag uten faktura i Bitnet",
            bitnet="finnes ikke",
            poweroffice=f"{kr(_dec(row.get('TotalAmount')))} (bilag {row.get('VoucherNo')})",
            difference=-_dec(row.get("TotalAmount")),
            action="Bilaget er laget av Bitnet-integrasjonen under et nummer Bitnet ikke har. "
            "Finn ut hvor det kommer fra, og reverser det i PowerOffice om det er feil.",
        )
    return matched


def _missing(result: Result, invoice: BitnetInvoice, *, reversed_in_po: bool) -> None:
    amount = kr(invoice.gross)
    if invoice.export_status != ExportStatus.EXPORTED:
        what, action = (
            "Aldri eksportert",
            "Eksporter den under Økonomi > Ikke eksporterte fakturaer.",
        )
    elif reversed_in_po:
        what, action = (
            "Reversert i PowerOffice",
            "Bilaget er reversert i PowerOffice. Bokfør det på nytt (eksporter igjen), eller "
            "krediter fakturaen i Bitnet om den ikke skal gjelde.",
        )
    else:
        what, action = (
            "Eksportert, men finnes ikke i PowerOffice",
            "Bilaget er slettet i PowerOffice. Eksporter fakturaen på nytt.",
        )
    result.add(
        "missing",
        invoice_no=invoice.number,
        what=f"{_what(invoice)}: {what}",
        bitnet=amount,
        poweroffice="finnes ikke",
        difference=invoice.gross,
        action=action,
    )


def _compare_one(result: Result, invoice: BitnetInvoice, row: dict[str, Any]) -> bool:
    same = True
    po_amount = _dec(row.get("TotalAmount"))
    if po_amount != invoice.gross:
        same = False
        result.add(
            "different",
            invoice_no=invoice.number,
            what="Beløp",
            bitnet=kr(invoice.gross),
            poweroffice=kr(po_amount),
            difference=invoice.gross - po_amount,
            action="Beløpet er endret i PowerOffice. Reverser bilaget der og eksporter "
            "fakturaen på nytt, eller krediter og fakturer på nytt i Bitnet.",
        )
    po_customer = row.get("CustomerNo")
    if po_customer is not None and int(po_customer) != invoice.customer_no:
        same = False
        result.add(
            "different",
            invoice_no=invoice.number,
            what="Kunde",
            bitnet=str(invoice.customer_no),
            poweroffice=str(po_customer),
            action="Bilaget er ført på en annen kunde i PowerOffice. Flytt det til riktig "
            "kunde der.",
        )
    po_date = _po_date(row)
    if po_date != invoice.invoice_date:
        same = False
        result.add(
            "different",
            invoice_no=invoice.number,
            what="Fakturadato",
            bitnet=str(invoice.invoice_date),
            poweroffice=str(po_date),
            action="Rett bilagsdatoen i PowerOffice så den er lik fakturadatoen i Bitnet.",
        )
    po_kid = row.get("Cid") or ""
    if po_kid != (invoice.kid or ""):
        same = False
        result.add(
            "different",
            invoice_no=invoice.number,
            what="KID",
            bitnet=invoice.kid or "ingen",
            poweroffice=po_kid or "ingen",
            action="KID er endret i PowerOffice. Rett den der, ellers kobles ikke "
            "innbetalingene til fakturaen.",
        )
    return same


# --- totals per VAT code and sales account ------------------------------------------------------


def _po_amounts(
    postings: Iterable[dict[str, Any]], invoice_of_voucher: dict[int, int]
) -> tuple[dict[Key, Amounts], dict[Key, dict[int, Amounts]]]:
    totals: dict[Key, Amounts] = defaultdict(Amounts)
    per_invoice: dict[Key, dict[int, Amounts]] = defaultdict(lambda: defaultdict(Amounts))
    for row in postings:
        key = (int(row["AccountNo"]), str(row["VatCode"]))
        # Sales are credits: PowerOffice posts them negative.
        net, vat = -_dec(row.get("Amount")), -_dec(row.get("VatAmount"))
        totals[key].add(net, vat)
        voucher = row.get("ReversedVoucherNo") or row.get("VoucherNo")
        number = invoice_of_voucher.get(int(voucher)) if voucher is not None else None
        if number is not None:
            per_invoice[key][number].add(net, vat)
    return totals, per_invoice


def compare_totals(
    *,
    result: Result,
    bitnet_lines: list[tuple[int, int, str, Decimal, Decimal]],
    postings: list[dict[str, Any]],
    invoice_of_voucher: dict[int, int],
) -> None:
    """Net, VAT and gross per (sales account, VAT code); ``bitnet_lines`` are (invoice number,
    account, VAT code, net, VAT) sums, ``postings`` PowerOffice's revenue postings."""
    ours: dict[Key, Amounts] = defaultdict(Amounts)
    ours_per_invoice: dict[Key, dict[int, Amounts]] = defaultdict(lambda: defaultdict(Amounts))
    for number, account, code, net, vat in bitnet_lines:
        ours[(account, code)].add(net, vat)
        ours_per_invoice[(account, code)][number].add(net, vat)
    theirs, theirs_per_invoice = _po_amounts(postings, invoice_of_voucher)
    rows = []
    for key in sorted(set(ours) | set(theirs)):
        a, b = ours.get(key, Amounts()), theirs.get(key, Amounts())
        rows.append({"account": key[0], "vat_code": key[1], "bitnet": a, "poweroffice": b})
        if (a.net, a.vat) == (b.net, b.vat):
            continue
        mine, other = ours_per_invoice.get(key, {}), theirs_per_invoice.get(key, {})
        explaining = [
            n
            for n in set(mine) | set(other)
            if (mine.get(n, Amounts()).net, mine.get(n, Amounts()).vat)
            != (other.get(n, Amounts()).net, other.get(n, Amounts()).vat)
        ]
        result.add(
            "totals",
            invoice_no=None,
            what=f"Konto {key[0]}, MVA-kode {key[1]}",
            bitnet=f"netto {kr(a.net)}, mva {kr(a.vat)}, brutto {kr(a.gross)}",
            poweroffice=f"netto {kr(b.net)}, mva {kr(b.vat)}, brutto {kr(b.gross)}",
            difference=a.gross - b.gross,
            invoices=explaining,
            action="Forklares av fakturaene som er listet; rett dem, så stemmer MVA-oppgaven.",
        )
    result.summary["totals"] = _totals_summary(rows)


def _grouped(rows: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    groups: dict[Any, tuple[Amounts, Amounts]] = {}
    for row in rows:
        a, b = groups.setdefault(row[by], (Amounts(), Amounts()))
        a.add(row["bitnet"].net, row["bitnet"].vat)
        b.add(row["poweroffice"].net, row["poweroffice"].vat)
    return [
        {
            by: key,
            "bitnet": a.as_json(),
            "poweroffice": b.as_json(),
            "difference": Amounts(a.net - b.net, a.vat - b.vat).as_json(),
        }
        for key, (a, b) in sorted(groups.items(), key=lambda item: str(item[0]))
    ]


def _totals_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total_a, total_b = Amounts(), Amounts()
    for row in rows:
        total_a.add(row["bitnet"].net, row["bitnet"].vat)
        total_b.add(row["poweroffice"].net, row["poweroffice"].vat)
    return {
        "by_vat_code": _grouped(rows, "vat_code"),
        "by_account": _grouped(rows, "account"),
        "bitnet": total_a.as_json(),
        "poweroffice": total_b.as_json(),
        "difference": Amounts(total_a.net - total_b.net, total_a.vat - total_b.vat).as_json(),
    }


# --- payments -----------------------------------------------------------------------------------


def _status(*, gross: Decimal, balance: Decimal, credited: Decimal) -> str:
    """The payment check's labels (poweroffice/payments/apply.py): credited in full with
    nothing open is "Kreditert"; credited in part with the rest paid is "Betalt", with the
    rest open in part "Delvis kreditert"."""
    if balance == 0:
        return "credited" if credited and abs(credited) >= abs(gross) else "paid"
    if abs(balance) < abs(gross):
        return "partly_credited" if credited else "partly_paid"
    return "unpaid"


def _bitnet_balance(invoice: BitnetInvoice) -> Decimal:
    """What Bitnet holds as open: the payment check's (or the export's) balance, else the
    whole amount (never exported)."""
    return invoice.balance if invoice.balance is not None else invoice.gross


def compare_payments(
    *, result: Result, bitnet: list[BitnetInvoice], poweroffice: dict[int, dict[str, Any]]
) -> None:
    """Bitnet's paid / partly paid / credited / unpaid against PowerOffice's balances, for the
    invoices booked in PowerOffice.

    A credited invoice is compared together with its credit notes (``bitnet`` holds those dated
    after the period too): PowerOffice matches a credit note with its invoice at once (the
    invoice's balance drops by the credit, to 0 for a full one) or may leave both open with
    opposite balances; either way what is open is their sum, whether or not the payment check
    has seen the match yet.
    """
    counts: dict[str, dict[str, int]] = {
        side: dict.fromkeys(PAYMENT_LABELS, 0) for side in ("bitnet", "poweroffice")
    }
    notes: dict[int, list[BitnetInvoice]] = defaultdict(list)
    for item in bitnet:
        if item.is_credit_note and item.credited_invoice_no is not None:
            notes[item.credited_invoice_no].append(item)
    for invoice in bitnet:
        row = poweroffice.get(invoice.number)
        if row is None or invoice.is_credit_note:
            continue
        credited = invoice.credited_total
        ours = _bitnet_balance(invoice)
        theirs = _dec(row.get("Balance"))
        for note in notes.get(invoice.number, []):
            ours += _bitnet_balance(note)
            note_row = poweroffice.get(note.number)
            theirs += _dec(note_row.get("Balance")) if note_row else ZERO
        mine = _status(gross=invoice.gross, balance=ours, credited=credited)
        other = _status(gross=invoice.gross, balance=theirs, credited=credited)
        counts["bitnet"][mine] += 1
        counts["poweroffice"][other] += 1
        if ours != theirs:
            result.add(
                "payment",
                invoice_no=invoice.number,
                what="Utestående",
                bitnet=f"{PAYMENT_LABELS[mine]} ({kr(ours)})",
                poweroffice=f"{PAYMENT_LABELS[other]} ({kr(theirs)})",
                difference=ours - theirs,
                action="Kjør betalingssjekken (Administrasjon > Betalingssjekk) så Bitnet får "
                "med innbetalingene; stemmer det fortsatt ikke, se på innbetalingen i "
                "PowerOffice.",
            )
    result.summary["payments"] = counts


def summarise(*, result: Result, bitnet_count: int, poweroffice_count: int, matched: int) -> None:
    by_kind = {kind: 0 for kind in KIND_ORDER}
    for difference in result.differences:
        by_kind[difference["kind"]] += 1
    result.summary.update(
        invoices={"bitnet": bitnet_count, "poweroffice": poweroffice_count, "matched": matched},
        by_kind=by_kind,
        reconciled=not result.differences,
    )
    result.differences.sort(
        key=lambda d: (KIND_ORDER.index(d["kind"]), d["invoice_no"] or 0, d["what"])
    )
