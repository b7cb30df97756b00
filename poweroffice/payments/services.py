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
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounting.models import PaymentStatus
from bitnet.models import Subgroup
from poweroffice.alerts.hooks import payment_check_alert
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.errors import PowerOfficeError
from poweroffice.client.ratelimit import Lane
from poweroffice.client.values import parse_timestamp
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected, connection_client
from poweroffice.messages import Context, error_message
from poweroffice.models import Connection, PaymentSyncRun
from poweroffice.payments.apply import Row, payments_apply
from poweroffice.payments.selectors import (
    STALE_AFTER,
    payments_connected_subgroups,
    payments_open_invoices,
)

logger = logging.getLogger(__name__)

# Full reconciliation: invoice numbers are sent as ranges ("100001-100480,100502"); ranges closer
# than this are merged (a few extra rows beat a long query string), and one query string holds at
# most this many characters (URLs stay far below common 8 KB limits).
INVOICE_NO_GAP = 50
INVOICE_NOS_MAX_CHARS = 1800

SKIPPED_MESSAGE = "Hoppet over: en betalingssjekk for undergruppen pågår allerede."
STALE_MESSAGE = "Avbrutt: kjøringen ble aldri fullført (arbeidsprosessen stoppet)."


def _page_size() -> int:
    return int(settings.POWEROFFICE_PAYMENTS_PAGE_SIZE)


def _safety_margin() -> dt.timedelta:
    return dt.timedelta(seconds=float(settings.POWEROFFICE_PAYMENTS_SAFETY_MARGIN))


# --- claiming a run ------------------------------------------------------------------------------


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


# --- running -------------------------------------------------------------------------------------


def _pages(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    """Group a paginated iterator back into its pages, so each page is applied before the next
    one is requested (the client asks for page n+1 only when page n has been consumed)."""
    page: list[Row] = []
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
    *, run: PaymentSyncRun, rows: Iterator[Row], progress: _Progress, client: PowerOfficeClient
) -> None:
    for page in _pages(rows, _page_size()):
        for row in page:
            stamp = parse_timestamp(row.get("BalanceLastChangedDateTimeOffset"))
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


def _run_incremental(
    *,
    run: PaymentSyncRun,
    client: PowerOfficeClient,
    watermark: dt.datetime | None,
    progress: _Progress,
) -> None:
    rows = client.iter_outgoing_invoices(balance_changed_after=watermark, page_size=_page_size())
    _apply_pages(run=run, rows=rows, progress=progress, client=client)


def _run_full(*, run: PaymentSyncRun, client: PowerOfficeClient, progress: _Progress) -> list[int]:
    """Read every open exported invoice by invoice number ranges; returns the numbers PowerOffice
    did not know (not found: never booked there, or deleted)."""
    wanted = dict(payments_open_invoices(subgroup_id=run.subgroup_id).values_list("id", "number"))
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
        client = connection_client(connection, lane=Lane.BULK)  # nobody waits on it
        with client:
            if run.mode == PaymentSyncRun.Mode.FULL:
                note = _missing_note(_run_full(run=run, client=client, progress=progress))
            else:
                _run_incremental(run=run, client=client, watermark=watermark, progress=progress)
    except Exception as exc:
        _record_failure(run=run, connection=connection, error=exc)
    else:
        run.success = True
        run.error = note
        run.watermark_after = _advance_watermark(
            connection=connection, run=run, started=started, max_seen=progress.max_seen
        )
        if run.mode == PaymentSyncRun.Mode.INCREMENTAL:
            # Every open invoice we hold a state for is confirmed unchanged up to the watermark.
            payments_open_invoices(subgroup_id=run.subgroup_id).exclude(
                payment_status=PaymentStatus.UNKNOWN
            ).exclude(pk__in=progress.matched_ids).update(payment_checked_at=timezone.now())
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


def _record_failure(*, run: PaymentSyncRun, connection: Connection, error: Exception) -> None:
    """The run failed: why, for the subgroup's administrators; the watermark stays."""
    if not connection.enabled:
        message = "PowerOffice som regnskapssystem er ikke slått på under Datadeling."
    else:
        message = error_message(error, context=Context.PAYMENT_CHECK)
    if isinstance(error, (PowerOfficeError, NotConnected, SecretUnreadable)):
        logger.warning("Payment check failed for subgroup %s: %s", run.subgroup_id, error)
    else:
        logger.exception("Payment check crashed for subgroup %s", run.subgroup_id)
    run.success = False
    run.error = message
    run.watermark_after = connection.payments_watermark
    payment_check_alert(run)


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
    new: dt.datetime | None
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
