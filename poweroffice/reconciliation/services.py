"""Running a reconciliation: read PowerOffice for the period, compare, save the result.

Requests are bounded by pages, not by invoices: PowerOffice's outgoing invoices of the period
in pages (``fromDate``/``toDate``, ``onlyCreatedByCurrentIntegration``), Bitnet's invoices missing
from that period looked up by number ranges (a date changed in PowerOffice), and the postings of
our vouchers by voucher number ranges (``/AccountTransactions``). Bitnet is read in a fixed number
of queries (selectors). A failure is saved on the result with its reason, never raised.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bitnet.models import Subgroup, User
from poweroffice.alerts.hooks import reconciliation_alert
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.errors import PowerOfficeError
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected, connection_client
from poweroffice.datadeling.selectors import connection_get
from poweroffice.messages import Context, error_message
from poweroffice.models import Reconciliation
from poweroffice.payments.services import invoice_number_filters
from poweroffice.reconciliation import compare
from poweroffice.reconciliation.selectors import (
    reconciliation_invoices,
    reconciliation_later_credit_notes,
    reconciliation_line_sums,
    reconciliation_numbers_held,
)

logger = logging.getLogger(__name__)

NOT_CONNECTED = (
    "Undergruppen er ikke koblet til PowerOffice. Slå på «PowerOffice som regnskapssystem» og "
    "legg inn klientnøkkelen under Administrasjon > Datadeling."
)


def _page_size() -> int:
    return int(settings.POWEROFFICE_RECONCILIATION_PAGE_SIZE)


def reconciliation_start(
    *, subgroup: Subgroup, period_from: dt.date, period_to: dt.date, run_by: User | None
) -> Reconciliation:
    """A new result row, running; :func:`reconciliation_run` fills it in."""
    if period_to < period_from:
        raise ValueError("period_to is before period_from")
    return Reconciliation.objects.create(
        subgroup=subgroup,
        period_from=period_from,
        period_to=period_to,
        run_by=run_by,
        progress="Venter på å starte",
    )


def _progress(run: Reconciliation, text: str, client: PowerOfficeClient | None = None) -> None:
    run.progress = text
    Reconciliation.objects.filter(pk=run.pk).update(
        progress=text, requests=client.stats.requests if client else 0
    )


def _invoice_no(row: dict[str, Any]) -> int | None:
    value = row.get("InvoiceNo")
    return int(value) if value is not None else None


def _read_poweroffice(
    *,
    run: Reconciliation,
    client: PowerOfficeClient,
    bitnet: list[compare.BitnetInvoice],
    also: Iterable[int] = (),
) -> tuple[dict[int, dict[str, Any]], set[int], dict[int, dict[str, Any]], dict[int, int]]:
    """PowerOffice's invoices of the period (booked and reversed), Bitnet's missing numbers
    (and the numbers ``also`` asks for) found outside the period, and which invoice each of our
    vouchers is."""
    booked: dict[int, dict[str, Any]] = {}
    reversed_nos: set[int] = set()
    invoice_of_voucher: dict[int, int] = {}

    def keep(rows: Iterable[dict[str, Any]], into: dict[int, dict[str, Any]]) -> None:
        for row in rows:
            number = _invoice_no(row)
            if number is None:
                continue
            if row.get("VoucherNo") is not None:
                invoice_of_voucher[int(row["VoucherNo"])] = number
            if row.get("IsReversed"):
                reversed_nos.add(number)
            else:
                into[number] = row

    _progress(run, "Henter fakturaer fra PowerOffice", client)
    keep(
        client.iter_outgoing_invoices(
            from_date=run.period_from,
            to_date=run.period_to,
            only_created_by_current_integration=True,
            page_size=_page_size(),
        ),
        booked,
    )
    missing = {i.number for i in bitnet if i.number not in booked and i.number not in reversed_nos}
    missing |= set(also)
    elsewhere: dict[int, dict[str, Any]] = {}
    for numbers in invoice_number_filters(missing):
        rows = client.iter_outgoing_invoices(
            invoice_nos=numbers, only_created_by_current_integration=True, page_size=_page_size()
        )
        keep((r for r in rows if _invoice_no(r) in missing), elsewhere)
    return booked, reversed_nos, elsewhere, invoice_of_voucher


def _read_postings(
    *, run: Reconciliation, client: PowerOfficeClient, voucher_nos: Iterable[int]
) -> list[dict[str, Any]]:
    """The revenue postings (a VAT code, not the customer's entry) of our vouchers in the period
    that still count: a reversed voucher's postings and its reversal's cancel out, so both are
    left out (the reversal has a voucher number of its own, outside our ranges)."""
    _progress(run, "Henter posteringer fra PowerOffice", client)
    ours = set(voucher_nos)
    postings: list[dict[str, Any]] = []
    for numbers in invoice_number_filters(ours):
        for row in client.iter_account_transactions(
            from_date=run.period_from,
            to_date=run.period_to,
            voucher_nos=numbers,
            page_size=_page_size(),
        ):
            voucher = row.get("VoucherNo")
            if voucher is None or int(voucher) not in ours:
                continue  # a voucher of someone else inside a merged range, or a reversal
            if row.get("IsReversed"):
                continue  # it and its reversal voucher sum to nothing
            if row.get("IsNoteMainEntry") or row.get("CustomerAccountNo") is not None:
                continue
            if row.get("VatCode") in (None, "") or row.get("AccountNo") is None:
                continue
            postings.append(row)
    return postings


def _compare(*, run: Reconciliation, client: PowerOfficeClient) -> compare.Result:
    bitnet = reconciliation_invoices(
        subgroup_id=run.subgroup_id, period_from=run.period_from, period_to=run.period_to
    )
    later_notes = reconciliation_later_credit_notes(
        subgroup_id=run.subgroup_id, period_from=run.period_from, period_to=run.period_to
    )
    booked, reversed_nos, elsewhere, invoice_of_voucher = _read_poweroffice(
        run=run, client=client, bitnet=bitnet, also=(n.number for n in later_notes)
    )
    ours = {i.number for i in bitnet}
    held = reconciliation_numbers_held(
        subgroup_id=run.subgroup_id, numbers=[n for n in booked if n not in ours]
    )
    period_vouchers = {v for v, n in invoice_of_voucher.items() if n in booked or n in ours}
    postings = _read_postings(run=run, client=client, voucher_nos=period_vouchers)
    _progress(run, "Sammenligner", client)
    result = compare.Result()
    matched = compare.compare_invoices(
        result=result,
        bitnet=bitnet,
        poweroffice=booked,
        reversed_nos=reversed_nos,
        elsewhere=elsewhere,
        outside_period=held,
    )
    compare.compare_totals(
        result=result,
        bitnet_lines=reconciliation_line_sums(
            subgroup_id=run.subgroup_id, period_from=run.period_from, period_to=run.period_to
        ),
        postings=postings,
        invoice_of_voucher=invoice_of_voucher,
    )
    compare.compare_payments(
        result=result, bitnet=[*bitnet, *later_notes], poweroffice={**booked, **elsewhere}
    )
    compare.summarise(
        result=result, bitnet_count=len(bitnet), poweroffice_count=len(booked), matched=matched
    )
    return result


def reconciliation_run(*, run: Reconciliation) -> Reconciliation:
    """Carry out a started reconciliation and save its result; failures end up on the row."""
    if run.finished_at is not None:
        return run
    client: PowerOfficeClient | None = None
    try:
        connection = connection_get(subgroup_id=run.subgroup_id)
        if connection is None or not connection.enabled:
            raise NotConnected(NOT_CONNECTED)
        client = connection_client(connection)
        with client:
            result = _compare(run=run, client=client)
    except Exception as exc:
        _record_failure(run=run, error=exc)
    else:
        run.summary = result.summary
        run.differences = result.differences
        run.state = (
            Reconciliation.State.RECONCILED
            if not result.differences
            else Reconciliation.State.DIFFERENCES
        )
        run.progress = ""
        run.error = ""
    run.requests = client.stats.requests if client is not None else 0
    run.summary = {**run.summary, "requests": run.requests}
    run.finished_at = timezone.now()
    run.save()
    if run.state == Reconciliation.State.DIFFERENCES and run.run_by_id is None:
        reconciliation_alert(run)  # the monthly run: nobody is looking at the page
    return run


def _record_failure(*, run: Reconciliation, error: Exception) -> None:
    if isinstance(error, NotConnected):
        message = NOT_CONNECTED
    else:
        message = error_message(error, context=Context.PAYMENT_CHECK)
    if isinstance(error, (PowerOfficeError, NotConnected, SecretUnreadable)):
        logger.warning("Reconciliation %s failed: %s", run.pk, error)
    else:
        logger.exception("Reconciliation %s crashed", run.pk)
    run.state = Reconciliation.State.FAILED
    run.error = message
    run.progress = ""


def reconcile(
    *, subgroup: Subgroup, period_from: dt.date, period_to: dt.date, run_by: User | None = None
) -> Reconciliation:
    """Start and run one reconciliation at once; always leaves a saved result."""
    run = reconciliation_start(
        subgroup=subgroup, period_from=period_from, period_to=period_to, run_by=run_by
    )
    return reconciliation_run(run=run)


def last_month(today: dt.date) -> tuple[dt.date, dt.date]:
    """The month before ``today``'s: (first day, last day)."""
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


def reconciliation_enqueue(*, run: Reconciliation) -> None:
    """Run it in the background once the row is committed."""
    from poweroffice.reconciliation.tasks import reconciliation_run_task

    def send() -> None:
        try:
            reconciliation_run_task.delay(run.pk)
        except Exception:
            logger.exception("Could not enqueue reconciliation %s", run.pk)
            Reconciliation.objects.filter(pk=run.pk, finished_at__isnull=True).update(
                finished_at=timezone.now(),
                state=Reconciliation.State.FAILED,
                progress="",
                error="Kunne ikke starte avstemmingen: oppgavekøen svarer ikke. Prøv igjen.",
            )

    transaction.on_commit(send)
