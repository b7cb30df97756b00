"""The payment check: balances and payment status of exported invoices (SPEC Part A item 9).

Every night each connected subgroup asks PowerOffice Go which of its outgoing invoices had their
balance changed since the last successful run (``GET /OutgoingInvoices?
balanceLastChangedDateTimeOffsetGreaterThan=<watermark>``, paged), and records balance and status
on ``accounting.Invoice``. Once a week a full reconciliation reads every exported, open invoice by
``invoiceNos`` ranges and heals anything an incremental run could have missed. Never one request
per invoice.

Watermark (``Connection.payments_watermark``), moved only when a run succeeds::

    new = max(old, min(max BalanceLastChangedDateTimeOffset seen, run start - safety margin))

- ``max seen`` is PowerOffice's own clock, so a clock of ours running ahead can never push the
  watermark past PowerOffice's present.
- ``run start - margin`` (our clock) keeps a window behind us: a change PowerOffice stamped just
  before or during our run but committed (made visible) a little later, or stamped by a clock a
  little behind ours, has a timestamp after the new watermark and is read again next time.
- Changes during the run are stamped after ``run start - margin``, so they are read next time.
- Nothing seen: the watermark stays where it is (re-asking an empty window costs one 204).
- Reading a change twice is harmless: an invoice is only overwritten by an observation with a
  newer ``BalanceLastChangedDateTimeOffset`` (compare-and-set under a row lock), so runs and
  pages may apply in any order.
- A failure half way (page 2 of 3) keeps what pages 1..n-1 wrote (they are correct observations)
  but leaves the watermark, so the next run asks for the same window again and catches up.
- The first run of a subgroup (no watermark) is a full reconciliation; it starts the watermark at
  ``run start - margin``. Later full runs do not move it: they only read open invoices, so they
  cannot vouch for changes to invoices we already hold as paid.

One run at a time per subgroup: a run is claimed under ``select_for_update`` of the subgroup's
Connection row (a run row with ``finished_at`` empty is the claim); a second run finds the claim
and is recorded as skipped, doing no work. A claim older than ``STALE_AFTER`` (a worker killed
mid-run) is closed as failed so it cannot block the schedule for ever.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounting.models import ExportStatus, Invoice, PaymentStatus
from bitnet.models import Agency, Subgroup
from poweroffice.client.client import PowerOfficeClient
from poweroffice.crypto import SecretUnreadable
from poweroffice.client.errors import (
    AuthenticationError,
    ForbiddenError,
    InvalidClientError,
    PowerOfficeError,
    RateLimitedError,
    TransientError,
)
from poweroffice.models import Connection, PaymentSyncRun
from poweroffice.datadeling.connection import NotConnected, connection_client

logger = logging.getLogger(__name__)

ØRE = Decimal("0.01")
DEFAULT_PAGE_SIZE = 5000  # PowerOffice's own default page size
DEFAULT_SAFETY_MARGIN = dt.timedelta(minutes=10)
STALE_AFTER = dt.timedelta(hours=1)
# Full reconciliation: invoice numbers are sent as ranges ("100001-100480,100502"); ranges closer
# than this are merged (a few extra rows beat a long query string), and one query string holds at
# most this many characters (URLs stay far below common 8 KB limits).
INVOICE_NO_GAP = 50
INVOICE_NOS_MAX_CHARS = 1800
BULK_BATCH = 2000  # rows per UPDATE statement (5 parameters each)

# What "unpaid" means on our side: not yet observed, unpaid or partly paid.
OPEN_STATUSES = (PaymentStatus.UNKNOWN, PaymentStatus.UNPAID, PaymentStatus.PARTLY_PAID)
FINAL_STATUSES = (PaymentStatus.PAID, PaymentStatus.REVERSED)
SKIPPED_MESSAGE = "Hoppet over: en betalingssjekk for undergruppen pågår allerede."
STALE_MESSAGE = "Avbrutt: kjøringen ble aldri fullført (arbeidsprosessen stoppet)."
PAYMENT_FIELDS = ["payment_status", "balance", "balance_changed_at", "payment_checked_at"]


def _page_size() -> int:
    return int(getattr(settings, "POWEROFFICE_PAYMENTS_PAGE_SIZE", DEFAULT_PAGE_SIZE))


def _safety_margin() -> dt.timedelta:
    seconds = getattr(settings, "POWEROFFICE_PAYMENTS_SAFETY_MARGIN", None)
    return DEFAULT_SAFETY_MARGIN if seconds is None else dt.timedelta(seconds=float(seconds))


# --- reading PowerOffice's answer -----------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One ``OutgoingInvoiceDto`` as far as the payment check cares."""

    voucher_id: str
    invoice_no: int | None
    balance: Decimal | None
    changed_at: dt.datetime | None
    is_reversed: bool


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        # str() first: 1234.5 as a float must become Decimal("1234.50"), not its binary expansion.
        return Decimal(str(value)).quantize(ØRE, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return None


def _timestamp(value: Any) -> dt.datetime | None:
    """PowerOffice sends 100 ns precision; we keep microseconds (truncated, never rounded up, so a
    watermark taken from it can only make the next exclusive query re-read, never skip)."""
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return parsed


def observation_from_row(row: dict) -> Observation:
    number = row.get("InvoiceNo")
    try:
        invoice_no = int(number) if number is not None else None
    except (TypeError, ValueError):
        invoice_no = None
    return Observation(
        voucher_id=str(row.get("Id") or "").lower(),
        invoice_no=invoice_no,
        balance=_decimal(row.get("Balance")),
        changed_at=_timestamp(row.get("BalanceLastChangedDateTimeOffset")),
        is_reversed=bool(row.get("IsReversed")),
    )


def payment_status_for(*, balance: Decimal | None, total: Decimal, is_reversed: bool) -> str:
    """Paid (Balance 0), partly paid (0 < Balance < total), unpaid, or reversed.

    Credit notes carry negative amounts: a credit note of -500 with Balance -200 is partly settled,
    with Balance 0 settled ("paid"). A balance of the opposite sign to the total (overpaid, or a
    credit note settled by more than its amount) leaves nothing to pay: paid.
    """
    if is_reversed:
        return PaymentStatus.REVERSED
    if balance is None:
        return PaymentStatus.UNKNOWN
    if balance == 0:
        return PaymentStatus.PAID
    if total == 0:
        return PaymentStatus.UNPAID
    if (balance > 0) != (total > 0):
        return PaymentStatus.PAID
    if abs(balance) < abs(total):
        return PaymentStatus.PARTLY_PAID
    return PaymentStatus.UNPAID


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


def _state(invoice: Invoice) -> tuple:
    return (invoice.payment_status, invoice.balance, invoice.balance_changed_at)


def payments_apply(
    *, subgroup_id: int, rows: Iterable[dict], checked_at: dt.datetime
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
        touched: dict[int, Invoice] = {}
        before: dict[int, tuple] = {}
        for obs in observations:
            invoice = by_voucher.get(obs.voucher_id) if obs.voucher_id else None
            if invoice is None and obs.invoice_no is not None:
                candidate = by_number.get(obs.invoice_no)
                # A number alone matches only an invoice whose voucher id we do not know; another
                # voucher with our number is an earlier, reversed one (reversal frees the number).
                if candidate is not None and not candidate.external_voucher_id:
                    invoice = candidate
            if invoice is None:
                continue  # not one of ours (made in PowerOffice, or another voucher)
            if invoice.pk not in touched:
                touched[invoice.pk] = invoice
                before[invoice.pk] = _state(invoice)
            if _is_newer(obs, invoice):
                status = payment_status_for(
                    balance=obs.balance, total=invoice.gross_total, is_reversed=obs.is_reversed
                )
                if status != PaymentStatus.UNKNOWN:
                    invoice.payment_status = status
                    invoice.balance = obs.balance
                    invoice.balance_changed_at = obs.changed_at
            invoice.payment_checked_at = checked_at
        changed = [i for pk, i in touched.items() if _state(i) != before[pk]]
        unchanged = [pk for pk, i in touched.items() if _state(i) == before[pk]]
        if unchanged:
            Invoice.objects.filter(pk__in=unchanged).update(payment_checked_at=checked_at)
        if changed:
            _write_payment_state(changed)
    result.checked = len(touched)
    result.changed = len(changed)
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
    column = {name: qn(Invoice._meta.get_field(name).column) for name in PAYMENT_FIELDS}
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


# --- claiming a run ------------------------------------------------------------------------------


def payments_connected_subgroups() -> QuerySet[Subgroup]:
    """Subgroups whose Datadeling is on and hold a client key."""
    return (
        Subgroup.objects.filter(
            poweroffice_connection__enabled=True,
            poweroffice_connection__client_key_encrypted__gt="",
        )
        .select_related("agency")
        .order_by("agency_id", "id")
    )


def _close_stale_runs(*, subgroup: Subgroup, now: dt.datetime) -> None:
    PaymentSyncRun.objects.filter(
        subgroup=subgroup, finished_at__isnull=True, started_at__lt=now - STALE_AFTER
    ).update(finished_at=now, success=False, error=STALE_MESSAGE)


def payments_claim(*, subgroup: Subgroup, full: bool = False) -> PaymentSyncRun | None:
    """Claim the subgroup's payment check: a new run row, or None when one is already running.

    The claim is made under a row lock on the subgroup's Connection, so two claimers are
    serialised: the second one waits, then sees the first one's unfinished run and backs off.
    """
    now = timezone.now()
    with transaction.atomic():
        connection, _ = Connection.objects.get_or_create(subgroup=subgroup)
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        _close_stale_runs(subgroup=subgroup, now=now)
        if PaymentSyncRun.objects.filter(subgroup=subgroup, finished_at__isnull=True).exists():
            return None
        mode = PaymentSyncRun.Mode.FULL if full else PaymentSyncRun.Mode.INCREMENTAL
        return PaymentSyncRun.objects.create(
            subgroup=subgroup, mode=mode, watermark_before=connection.payments_watermark
        )


def payments_is_running(*, subgroup: Subgroup) -> bool:
    return PaymentSyncRun.objects.filter(
        subgroup=subgroup,
        finished_at__isnull=True,
        started_at__gte=timezone.now() - STALE_AFTER,
    ).exists()


# --- running -------------------------------------------------------------------------------------


def payments_error_message(error: BaseException) -> str:
    """Why a subgroup's check failed, in Norwegian, for its administrators (never a key)."""
    if isinstance(error, NotConnected):
        return "Undergruppen har ingen klientnøkkel – legg den inn under Datadeling."
    if isinstance(error, SecretUnreadable):
        return (
            "Den lagrede klientnøkkelen kan ikke leses (krypteringsnøkkelen er byttet) – legg "
            "inn klientnøkkelen på nytt under Datadeling."
        )
    if isinstance(error, InvalidClientError):
        return "Klientnøkkelen er ugyldig – legg inn en ny under Datadeling."
    if isinstance(error, AuthenticationError):
        return (
            "PowerOffice avviste innloggingen – klientnøkkelen kan være trukket tilbake. "
            "Legg inn en ny under Datadeling."
        )
    if isinstance(error, ForbiddenError):
        return (
            "Integrasjonen mangler tilgang til utgående fakturaer i PowerOffice. Gi utvidelsen "
            "rettigheten OutgoingInvoice under Innstillinger > Utvidelser i PowerOffice."
        )
    if isinstance(error, RateLimitedError):
        return (
            "PowerOffice tok imot for mange forespørsler og ba oss vente. Betalingene hentes "
            "ved neste kjøring."
        )
    if isinstance(error, TransientError):
        what = f"HTTP {error.status}" if error.status else (error.title or "ingen kontakt")
        return (
            f"PowerOffice svarte ikke ({what}). Ingen endringer går tapt: de hentes ved neste "
            "kjøring."
        )
    if isinstance(error, PowerOfficeError):
        reason = error.detail or error.title or f"HTTP {error.status}"
        return f"PowerOffice avviste forespørselen: {reason}"
    return f"Uventet feil under betalingssjekken ({type(error).__name__})."


def _pages(rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    """Group a paginated iterator back into its pages, so each page is applied before the next
    one is requested (the client asks for page n+1 only when page n has been consumed)."""
    page: list[dict] = []
    for row in rows:
        page.append(row)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def invoice_number_filters(
    numbers: Iterable[int], *, gap: int = INVOICE_NO_GAP, max_chars: int = INVOICE_NOS_MAX_CHARS
) -> list[str]:
    """``invoiceNos`` filter values covering ``numbers``: ranges ("100001-100480"), runs closer than
    ``gap`` merged, split so that no value is longer than ``max_chars``."""
    ranges: list[list[int]] = []
    for number in sorted(set(numbers)):
        if ranges and number - ranges[-1][1] <= gap:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    filters: list[str] = []
    current: list[str] = []
    length = 0
    for low, high in ranges:
        part = str(low) if low == high else f"{low}-{high}"
        if current and length + 1 + len(part) > max_chars:
            filters.append(",".join(current))
            current, length = [], 0
        current.append(part)
        length += len(part) + (1 if length else 0)
    if current:
        filters.append(",".join(current))
    return filters


@dataclass
class _Progress:
    checked: int = 0
    changed: int = 0
    max_seen: dt.datetime | None = None
    matched_ids: set[int] = field(default_factory=set)


def _apply_pages(
    *, run: PaymentSyncRun, rows: Iterator[dict], progress: _Progress, client: PowerOfficeClient
) -> None:
    for page in _pages(rows, _page_size()):
        for row in page:
            stamp = _timestamp(row.get("BalanceLastChangedDateTimeOffset"))
            if stamp and (progress.max_seen is None or stamp > progress.max_seen):
                progress.max_seen = stamp
        result = payments_apply(subgroup_id=run.subgroup_id, rows=page, checked_at=timezone.now())
        progress.checked += result.checked
        progress.changed += result.changed
        progress.matched_ids |= result.matched_ids
        # Visible progress for the page, also if a later page fails.
        PaymentSyncRun.objects.filter(pk=run.pk).update(
            checked=progress.checked, changed=progress.changed, requests=client.stats.requests
        )


def _open_invoices(subgroup_id: int) -> QuerySet[Invoice]:
    return Invoice.objects.filter(
        subgroup_id=subgroup_id,
        export_status=ExportStatus.EXPORTED,
        payment_status__in=OPEN_STATUSES,
    )


def _run_incremental(
    *, run: PaymentSyncRun, client: PowerOfficeClient, watermark: dt.datetime, progress: _Progress
) -> None:
    rows = client.iter_outgoing_invoices(balance_changed_after=watermark, page_size=_page_size())
    _apply_pages(run=run, rows=rows, progress=progress, client=client)


def _run_full(*, run: PaymentSyncRun, client: PowerOfficeClient, progress: _Progress) -> list[int]:
    """Read every open exported invoice by invoice number ranges; returns the numbers PowerOffice
    did not know (not found: never booked there, or deleted)."""
    wanted = dict(_open_invoices(run.subgroup_id).values_list("id", "number"))
    for numbers in invoice_number_filters(wanted.values()):
        rows = client.iter_outgoing_invoices(invoice_nos=numbers, page_size=_page_size())
        _apply_pages(run=run, rows=rows, progress=progress, client=client)
    return sorted(number for pk, number in wanted.items() if pk not in progress.matched_ids)


def payments_run(*, run: PaymentSyncRun) -> PaymentSyncRun:
    """Carry out a claimed run. Never raises for PowerOffice's or the connection's failures: they
    end up on the run (``success=False``, ``error``) and the watermark stays."""
    if run.finished_at is not None:
        return run  # closed meanwhile (stale, or redelivered after it finished)
    started = timezone.now()
    clock = time.monotonic()
    connection, _ = Connection.objects.get_or_create(subgroup_id=run.subgroup_id)
    watermark = connection.payments_watermark
    if run.mode == PaymentSyncRun.Mode.INCREMENTAL and watermark is None:
        # No watermark yet: nothing tells us what changed, so read everything once.
        run.mode = PaymentSyncRun.Mode.FULL
    run.started_at = started
    run.watermark_before = watermark
    run.save(update_fields=["started_at", "mode", "watermark_before"])
    progress = _Progress()
    client: PowerOfficeClient | None = None
    note = ""
    try:
        if not connection.enabled:
            raise NotConnected("PowerOffice som regnskapssystem is off")
        client = connection_client(connection)
        with client:
            if run.mode == PaymentSyncRun.Mode.FULL:
                note = _missing_note(_run_full(run=run, client=client, progress=progress))
            else:
                rows = client.iter_outgoing_invoices(
                    balance_changed_after=watermark, page_size=_page_size()
                )
                _apply_pages(run=run, rows=rows, progress=progress, client=client)
    except Exception as exc:
        if not connection.enabled:
            message = "PowerOffice som regnskapssystem er ikke slått på under Datadeling."
        else:
            message = payments_error_message(exc)
        if isinstance(exc, (PowerOfficeError, NotConnected, SecretUnreadable)):
            logger.warning("Payment check failed for subgroup %s: %s", run.subgroup_id, exc)
        else:
            logger.exception("Payment check crashed for subgroup %s", run.subgroup_id)
        run.success = False
        run.error = message
        run.watermark_after = watermark
    else:
        run.success = True
        run.error = note
        run.watermark_after = _advance_watermark(
            connection=connection, run=run, started=started, max_seen=progress.max_seen
        )
        if run.mode == PaymentSyncRun.Mode.INCREMENTAL:
            # Every open invoice we hold a state for is confirmed unchanged up to the watermark.
            _open_invoices(run.subgroup_id).exclude(payment_status=PaymentStatus.UNKNOWN).exclude(
                pk__in=progress.matched_ids
            ).update(payment_checked_at=timezone.now())
    run.checked = progress.checked
    run.changed = progress.changed
    run.requests = client.stats.requests if client is not None else 0
    run.finished_at = timezone.now()
    run.save()
    logger.info(
        "Payment check %s for subgroup %s: success=%s checked=%d changed=%d requests=%d in %.2f s",
        run.mode,
        run.subgroup_id,
        run.success,
        run.checked,
        run.changed,
        run.requests,
        time.monotonic() - clock,
    )
    return run


def _missing_note(missing: list[int]) -> str:
    if not missing:
        return ""
    shown = ", ".join(str(n) for n in missing[:10])
    more = f" og {len(missing) - 10} til" if len(missing) > 10 else ""
    return f"{len(missing)} eksporterte fakturaer finnes ikke i PowerOffice: {shown}{more}."


def _advance_watermark(
    *,
    connection: Connection,
    run: PaymentSyncRun,
    started: dt.datetime,
    max_seen: dt.datetime | None,
) -> dt.datetime | None:
    """The new watermark (see the module docstring); written only if it moves forward."""
    old = connection.payments_watermark
    behind_us = started - _safety_margin()
    fields: dict[str, Any] = {}
    if run.mode == PaymentSyncRun.Mode.FULL:
        fields["payments_full_sync_at"] = started
        new = behind_us if old is None else old
    elif max_seen is None:
        new = old
    else:
        candidate = min(max_seen, behind_us)
        new = candidate if old is None else max(old, candidate)
    updates = Connection.objects.filter(pk=connection.pk)
    if new is not None and new != old:
        Connection.objects.filter(pk=connection.pk).filter(
            Q(payments_watermark__isnull=True) | Q(payments_watermark__lt=new)
        ).update(payments_watermark=new)  # monotone whatever order writers come in
    if fields:
        updates.update(**fields)
    return new


def payments_sync(*, subgroup: Subgroup, full: bool = False) -> PaymentSyncRun:
    """Check the subgroup's exported invoices for payments; always leaves a PaymentSyncRun.

    When a run for the subgroup is already going on, this one is recorded as skipped
    (``success`` empty, ``error`` says why) and does no work.
    """
    run = payments_claim(subgroup=subgroup, full=full)
    if run is None:
        now = timezone.now()
        return PaymentSyncRun.objects.create(
            subgroup=subgroup,
            mode=PaymentSyncRun.Mode.FULL if full else PaymentSyncRun.Mode.INCREMENTAL,
            finished_at=now,
            success=None,
            error=SKIPPED_MESSAGE,
        )
    return payments_run(run=run)


def payments_sync_all(*, full: bool = False) -> list[PaymentSyncRun]:
    """Every connected subgroup, one after the other; a failing one does not stop the others."""
    runs: list[PaymentSyncRun] = []
    for subgroup in payments_connected_subgroups():
        try:
            runs.append(payments_sync(subgroup=subgroup, full=full))
        except Exception:
            # payments_run records PowerOffice's failures itself; this is for the database.
            logger.exception("Payment check could not run for subgroup %s", subgroup.pk)
    return runs


# --- reads for the page --------------------------------------------------------------------------


@dataclass
class SubgroupPayments:
    subgroup: Subgroup
    connection: Connection | None
    runs: list[PaymentSyncRun]
    running: PaymentSyncRun | None
    last_failure: PaymentSyncRun | None

    @property
    def connected(self) -> bool:
        c = self.connection
        return bool(c and c.enabled and c.client_key_encrypted)


def payments_overview(*, agency: Agency, runs_per_subgroup: int = 10) -> list[SubgroupPayments]:
    """Per subgroup of the agency: its connection, last runs, a running one, the failure to show
    (the latest finished run, if it failed)."""
    subgroups = list(Subgroup.objects.filter(agency=agency).order_by("name"))
    connections = {
        c.subgroup_id: c for c in Connection.objects.filter(subgroup__in=[s.pk for s in subgroups])
    }
    stale_before = timezone.now() - STALE_AFTER
    items: list[SubgroupPayments] = []
    for subgroup in subgroups:
        runs = list(
            PaymentSyncRun.objects.filter(subgroup=subgroup).order_by("-started_at", "-id")[
                :runs_per_subgroup
            ]
        )
        running = next(
            (r for r in runs if r.finished_at is None and r.started_at >= stale_before), None
        )
        finished = [r for r in runs if r.finished_at is not None and r.success is not None]
        last_failure = finished[0] if finished and finished[0].success is False else None
        items.append(
            SubgroupPayments(
                subgroup=subgroup,
                connection=connections.get(subgroup.pk),
                runs=runs,
                running=running,
                last_failure=last_failure,
            )
        )
    # Connected subgroups first, then by name.
    return sorted(items, key=lambda i: (not i.connected, i.subgroup.name))
