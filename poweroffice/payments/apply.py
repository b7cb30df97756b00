"""Recording what PowerOffice Go says about our invoices' balances: one page of
``OutgoingInvoiceDto`` rows at a time, on the exported invoices they match.

An invoice is only overwritten by an observation with a newer ``BalanceLastChangedDateTimeOffset``
(compare-and-set under a row lock), so pages and runs may apply in any order with the same end
state; services.py (the runs) relies on that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q

from accounting.models import ExportStatus, Invoice, InvoiceKind, PaymentStatus
from accounting.money import ORE
from poweroffice.client.values import parse_decimal, parse_timestamp

BULK_BATCH = 2000  # rows per UPDATE statement (5 parameters each)
PAYMENT_FIELDS = ["payment_status", "balance", "balance_changed_at", "payment_checked_at"]

Row = dict[str, Any]  # PowerOffice's OutgoingInvoiceDto
State = tuple[str, Decimal | None, dt.datetime | None]


# --- reading PowerOffice's answer -----------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One ``OutgoingInvoiceDto`` as far as the payment check cares."""

    voucher_id: str
    invoice_no: int | None
    balance: Decimal | None
    changed_at: dt.datetime | None
    is_reversed: bool


def observation_from_row(row: Row) -> Observation:
    number = row.get("InvoiceNo")
    try:
        invoice_no = int(number) if number is not None else None
    except (TypeError, ValueError):
        invoice_no = None
    return Observation(
        voucher_id=str(row.get("Id") or "").lower(),
        invoice_no=invoice_no,
        balance=parse_decimal(row.get("Balance"), quantum=ORE),
        changed_at=parse_timestamp(row.get("BalanceLastChangedDateTimeOffset")),
        is_reversed=bool(row.get("IsReversed")),
    )


def payment_status_for(
    *,
    balance: Decimal | None,
    total: Decimal,
    is_reversed: bool,
    credited: Decimal = Decimal(0),
    credit_open: Decimal = Decimal(0),
) -> str:
    """Paid (Balance 0), partly paid (0 < Balance < total), unpaid, or reversed.

    Credit notes carry negative amounts: a credit note of -500 with Balance -200 is partly settled,
    with Balance 0 settled ("paid"). A balance of the opposite sign to the total (overpaid, or a
    credit note settled by more than its amount) leaves nothing to pay: paid.
    """
    if is_reversed:
        return PaymentStatus.REVERSED
    if balance is None:
        return PaymentStatus.UNKNOWN
    if credited and total:
        return _credited_status(
            balance=balance, total=total, credited=credited, credit_open=credit_open
        )
    if balance == 0:
        return PaymentStatus.PAID
    if total == 0:
        return PaymentStatus.UNPAID
    if (balance > 0) != (total > 0):
        return PaymentStatus.PAID
    if abs(balance) < abs(total):
        return PaymentStatus.PARTLY_PAID
    return PaymentStatus.UNPAID


def _credited_status(
    *, balance: Decimal, total: Decimal, credited: Decimal, credit_open: Decimal
) -> str:
    """An invoice our credit notes (``credited``, their amount) settle in whole or in part.

    PowerOffice matches a credit note with its invoice at once, so Balance 0 alone does not say
    "paid": fully credited is "Kreditert"; credited in part with the rest paid is "Betalt" (the
    credited part stays on the invoice page); credited in part with the rest open is
    "Delvis kreditert".

    What is left to pay is the invoice's balance plus what its credit notes still have open
    (``credit_open``, zero or negative): a credit note PowerOffice did not match (one that does
    not cancel the invoice out) stays open beside it, and the customer pays the difference.
    """
    if abs(credited) >= abs(total):
        return PaymentStatus.CREDITED
    left = balance + credit_open
    if left == 0 or (left > 0) != (total > 0):
        return PaymentStatus.PAID
    return PaymentStatus.PARTLY_CREDITED


# --- applying observations -----------------------------------------------------------------------


@dataclass
class ApplyResult:
    checked: int = 0
    changed: int = 0
    matched_ids: set[int] = field(default_factory=set)


def _is_newer(obs: Observation, invoice: Invoice) -> bool:
    """Compare-and-set rule: only a newer balance timestamp overwrites what we hold, so
    observations may be applied in any order (pages, overlapping runs) with the same end state."""
    if invoice.payment_status == PaymentStatus.UNKNOWN:
        return True  # nothing observed yet
    current = invoice.balance_changed_at
    if obs.changed_at is None or current is None:
        # Without both timestamps there is no order to respect; a stamped state beats none.
        return current is None
    if obs.changed_at > current:
        return True
    # Same timestamp: the same state, unless a reversal did not move the timestamp. A reversal is
    # final, so it wins a tie.
    return (
        obs.changed_at == current
        and obs.is_reversed
        and invoice.payment_status != PaymentStatus.REVERSED
    )


def _state(invoice: Invoice) -> State:
    return (invoice.payment_status, invoice.balance, invoice.balance_changed_at)


def _payment_changed(before: State, invoice: Invoice) -> bool:
    """Whether a payment (or reversal) changed the invoice's status or balance ("Endret" on
    Betalingssjekk). The first look at an invoice still unpaid in full records PowerOffice's
    timestamp, but nothing was paid: that is not a change."""
    if (invoice.payment_status, invoice.balance) == before[:2]:
        return False
    first_look = before[0] == PaymentStatus.UNKNOWN
    still_unpaid = (
        invoice.payment_status == PaymentStatus.UNPAID and invoice.balance == invoice.gross_total
    )
    return not (first_look and still_unpaid)


def _match(
    obs: Observation, by_voucher: dict[str, Invoice], by_number: dict[int, Invoice]
) -> Invoice | None:
    """Our invoice the observation is about, or None (made in PowerOffice, or another voucher)."""
    invoice = by_voucher.get(obs.voucher_id) if obs.voucher_id else None
    if invoice is None and obs.invoice_no is not None:
        candidate = by_number.get(obs.invoice_no)
        # A number alone matches only an invoice whose voucher id we do not know; another
        # voucher with our number is an earlier, reversed one (reversal frees the number).
        if candidate is not None and not candidate.external_voucher_id:
            invoice = candidate
    return invoice


@dataclass
class CreditNote:
    id: int
    amount: Decimal  # positive: what it credits
    balance: Decimal | None  # what PowerOffice has open on it (zero or negative), as last seen


def _credit_notes(invoice_ids: list[int]) -> dict[int, list[CreditNote]]:
    """Our exported credit notes of each invoice (one query)."""
    rows = (
        Invoice.objects.filter(
            kind=InvoiceKind.CREDIT_NOTE,
            credited_invoice_id__in=invoice_ids,
            export_status=ExportStatus.EXPORTED,
        )
        .exclude(payment_status=PaymentStatus.REVERSED)
        .values_list("credited_invoice_id", "id", "gross_total", "balance")
    )
    notes: dict[int, list[CreditNote]] = {}
    for invoice_id, note_id, total, balance in rows:
        notes.setdefault(invoice_id, []).append(CreditNote(note_id, abs(total), balance))
    return notes


def _credit_state(notes: list[CreditNote], seen: dict[int, Invoice]) -> tuple[Decimal, Decimal]:
    """(credited, still open on the credit notes), with this page's balances where it has them."""
    credited = sum((n.amount for n in notes), Decimal(0))
    still_open = Decimal(0)
    for note in notes:
        balance = seen[note.id].balance if note.id in seen else note.balance
        if balance is not None and balance < 0:
            still_open += balance
    return credited, still_open


def _observe(invoice: Invoice, obs: Observation, checked_at: dt.datetime) -> None:
    if _is_newer(obs, invoice):
        status = payment_status_for(
            balance=obs.balance, total=invoice.gross_total, is_reversed=obs.is_reversed
        )
        if status != PaymentStatus.UNKNOWN:
            invoice.payment_status = status
            invoice.balance = obs.balance
            invoice.balance_changed_at = obs.changed_at
    invoice.payment_checked_at = checked_at


def _credited_again(invoice: Invoice, notes: list[CreditNote], seen: dict[int, Invoice]) -> None:
    """The status of an invoice with credit notes, from its balance and theirs."""
    if invoice.balance is None or invoice.payment_status in (
        PaymentStatus.UNKNOWN,
        PaymentStatus.REVERSED,
    ):
        return
    credited, still_open = _credit_state(notes, seen)
    invoice.payment_status = payment_status_for(
        balance=invoice.balance,
        total=invoice.gross_total,
        is_reversed=False,
        credited=credited,
        credit_open=still_open,
    )


def payments_apply(
    *, subgroup_id: int, rows: Iterable[Row], checked_at: dt.datetime
) -> ApplyResult:
    """Record one page of ``OutgoingInvoiceDto`` rows on our exported invoices.

    A bounded number of queries whatever the page size: the matching invoices are read under
    ``select_for_update`` in id order (no deadlock between two writers) and written in the same
    transaction, so a concurrent writer can never slip between our compare and our set. Invoices
    whose state did not change get one plain UPDATE of ``payment_checked_at``; changed ones one
    UPDATE per ``BULK_BATCH`` rows.
    """
    observations = [observation_from_row(row) for row in rows if isinstance(row, dict)]
    result = ApplyResult()
    if not observations:
        return result
    voucher_ids = {o.voucher_id for o in observations if o.voucher_id}
    numbers = {o.invoice_no for o in observations if o.invoice_no is not None}
    # Oldest first: when a page holds an invoice twice, its newest observation is applied last.
    observations.sort(key=lambda o: o.changed_at or dt.datetime.min.replace(tzinfo=dt.UTC))
    with transaction.atomic():
        invoices = list(
            Invoice.objects.select_for_update(of=("self",))
            .filter(subgroup_id=subgroup_id, export_status=ExportStatus.EXPORTED)
            .filter(Q(external_voucher_id__in=voucher_ids) | Q(number__in=numbers))
            .only("id", "number", "gross_total", "external_voucher_id", *PAYMENT_FIELDS)
            .order_by("id")
        )
        by_voucher = {i.external_voucher_id.lower(): i for i in invoices if i.external_voucher_id}
        by_number = {i.number: i for i in invoices}
        credit_notes = _credit_notes([i.pk for i in invoices])
        touched: dict[int, Invoice] = {}
        before: dict[int, State] = {}
        for obs in observations:
            invoice = _match(obs, by_voucher, by_number)
            if invoice is None:
                continue
            if invoice.pk not in touched:
                touched[invoice.pk] = invoice
                before[invoice.pk] = _state(invoice)
            _observe(invoice, obs, checked_at)
        # Once the page is applied: an invoice and its credit notes may come in any order.
        for invoice in touched.values():
            if invoice.pk in credit_notes:
                _credited_again(invoice, credit_notes[invoice.pk], touched)
        changed = [i for pk, i in touched.items() if _state(i) != before[pk]]
        unchanged = [pk for pk, i in touched.items() if _state(i) == before[pk]]
        if unchanged:
            Invoice.objects.filter(pk__in=unchanged).update(payment_checked_at=checked_at)
        if changed:
            _write_payment_state(changed)
    result.checked = len(touched)
    result.changed = sum(1 for i in changed if _payment_changed(before[i.pk], i))
    result.matched_ids = set(touched)
    return result


def _write_payment_state(invoices: list[Invoice]) -> None:
    """Write the payment fields of many invoices in few statements.

    Django's bulk_update builds one CASE per field and row in Python, which takes seconds for a
    few thousand rows; on PostgreSQL one ``UPDATE ... FROM (VALUES ...)`` per batch does the same
    in milliseconds.
    """
    if db_connection.vendor != "postgresql":
        Invoice.objects.bulk_update(invoices, PAYMENT_FIELDS, batch_size=BULK_BATCH)
        return
    qn = db_connection.ops.quote_name
    columns = {f.name: f.column for f in Invoice._meta.concrete_fields if f.column}
    column = {name: qn(columns[name]) for name in PAYMENT_FIELDS}
    row_sql = "(%s::bigint, %s::varchar, %s::numeric, %s::timestamptz, %s::timestamptz)"
    with db_connection.cursor() as cursor:
        for start in range(0, len(invoices), BULK_BATCH):
            batch = invoices[start : start + BULK_BATCH]
            params: list[Any] = []
            for i in batch:
                params += [
                    i.pk,
                    i.payment_status,
                    i.balance,
                    i.balance_changed_at,
                    i.payment_checked_at,
                ]
            cursor.execute(
                f"UPDATE {qn(Invoice._meta.db_table)} AS i SET "
                f"{column['payment_status']} = v.status, {column['balance']} = v.balance, "
                f"{column['balance_changed_at']} = v.changed_at, "
                f"{column['payment_checked_at']} = v.checked_at "
                f"FROM (VALUES {', '.join([row_sql] * len(batch))}) "
                "AS v(id, status, balance, changed_at, checked_at) WHERE i.id = v.id",
                params,
            )
