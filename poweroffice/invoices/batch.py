"""Exporting many invoices in one run: "Eksporter alle" in the background, the command line,
the sweeper and bursts of automatic exports all go through :func:`invoices_export` (SPEC Part A,
item 8, and "Running and scale").

One run keeps one reference-data cache per subgroup, reads what it will need in bulk up front
(most of it kept from earlier runs, see refcache.py), exports several invoices at once so that
the rate limit stays busy at PowerOffice's latency, renders the specification PDFs ahead in
several processes (pdfs.py), and stops asking PowerOffice when it is down (the rest is left for
the sweeper).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounting.models import ExportStatus, Invoice
from bitnet.models import User
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.errors import PowerOfficeError
from poweroffice.client.ratelimit import Lane
from poweroffice.datadeling.connection import connection_client
from poweroffice.datadeling.identity import KIND as CLIENT_CHANGED
from poweroffice.datadeling.identity import ClientMismatch, invoices_hold
from poweroffice.datadeling.selectors import connections_of
from poweroffice.invoices.export import (
    CLAIMABLE,
    ExportResult,
    export_cache_for,
    invoice_export,
)
from poweroffice.invoices.pdfs import PdfPipeline
from poweroffice.invoices.reference import ExportCache, ExportProblem
from poweroffice.invoices.threads import DbThreadPool
from poweroffice.messages import TRANSIENT_MESSAGE, Context, error_message
from poweroffice.models import AttemptTrigger, ExportBatch

logger = logging.getLogger(__name__)

# After this many transient failures in a row, a run stops asking PowerOffice (it is down or
# throttling hard); the rest of the run is left for the sweeper.
TRANSIENT_STREAK_LIMIT = 3


@dataclass
class ExportSummary:
    exported: list[ExportResult] = field(default_factory=list)
    failed: list[ExportResult] = field(default_factory=list)
    skipped: list[ExportResult] = field(default_factory=list)
    requests: int = 0

    def add(self, result: ExportResult) -> None:
        if result.outcome == "exported":
            self.exported.append(result)
        elif result.outcome in ("failed", "held"):
            self.failed.append(result)
        else:
            self.skipped.append(result)

    def merge(self, other: ExportSummary) -> None:
        self.exported += other.exported
        self.failed += other.failed
        self.skipped += other.skipped
        self.requests += other.requests

    @property
    def total(self) -> int:
        return len(self.exported) + len(self.failed) + len(self.skipped)


# --- one subgroup's invoices --------------------------------------------------------------------


def _start_run(cache: ExportCache, invoice_ids: list[int], *, threads: int) -> None:
    """Read the reference data one subgroup's invoices need and start rendering their PDFs."""
    try:
        cache.prefetch_invoices(invoice_ids)
    except PowerOfficeError as exc:
        # Not fatal: each invoice asks again for what it lacks and records a failure.
        logger.info("Prefetch for subgroup %s failed: %s", cache.subgroup_id, type(exc).__name__)
    if cache.connection.include_specification:
        cache.pdfs = PdfPipeline.start(invoice_ids, ahead=threads)


def _threads(invoice_ids: list[int]) -> int:
    """How many invoices of a run are exported at once: enough to keep the rate limit busy at
    PowerOffice's latency. None inside a transaction (a thread would not see its rows), and
    none for a single invoice: it runs in the calling thread."""
    if len(invoice_ids) < 2 or transaction.get_connection().in_atomic_block:
        return 0
    return max(0, min(int(settings.POWEROFFICE_EXPORT_THREADS), len(invoice_ids)))


class _SubgroupRun:
    """One subgroup's invoices, several at a time (each invoice's requests in order in one
    thread: its voucher before its PDF). A credit note whose invoice is in the same run starts
    only when that invoice is done, so PowerOffice can match the two at once. After a streak of
    transient failures the rest is left waiting for the sweeper (PowerOffice is down)."""

    def __init__(
        self,
        invoice_ids: list[int],
        *,
        cache: ExportCache | None,
        threads: int,
        report: Callable[[ExportResult], None],
        export: Callable[[int, ExportCache | None], ExportResult],
    ) -> None:
        self.cache = cache
        self.report = report
        self.export = export
        waiting = dict(
            Invoice.objects.filter(
                pk__in=invoice_ids, credited_invoice_id__in=invoice_ids
            ).values_list("pk", "credited_invoice_id")
        )
        self.after: dict[int, list[int]] = defaultdict(list)
        for credit_id, original_id in waiting.items():
            self.after[original_id].append(credit_id)
        self.queue = deque(pk for pk in invoice_ids if pk not in waiting)
        self.pool = DbThreadPool(threads, name="export")
        self.local = threading.local()
        self.clients: list[PowerOfficeClient] = []
        self.submitted = 0
        self.streak = 0

    def _thread_cache(self) -> ExportCache | None:
        """Each thread sends through its own client (its own connection and request count)."""
        if self.cache is None or self.pool.size == 0:
            return self.cache
        cache = getattr(self.local, "cache", None)
        if cache is None:
            client = connection_client(self.cache.connection, lane=self.cache.client.lane)
            self.clients.append(client)
            cache = self.local.cache = self.cache.for_thread(client)
        return cache

    def _one(self, invoice_id: int) -> ExportResult:
        return self.export(invoice_id, self._thread_cache())

    def run(self) -> None:
        in_flight: set[Future[ExportResult]] = set()
        try:
            while self.queue or in_flight:
                while self.queue and len(in_flight) < max(1, self.pool.size) and not self.stopped:
                    if self.cache is not None and self.cache.pdfs:
                        self.cache.pdfs.advance(self.submitted)
                    self.submitted += 1
                    in_flight.add(self.pool.submit(self._one, self.queue.popleft()))
                if not in_flight:
                    break
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    self._done(future.result())
        finally:
            self.pool.shutdown()
        self._leave_rest()

    @property
    def stopped(self) -> bool:
        return self.streak >= TRANSIENT_STREAK_LIMIT

    def _done(self, result: ExportResult) -> None:
        self.report(result)
        self.streak = self.streak + 1 if result.error_kind == "transient" else 0
        # The credit notes of this invoice go next (they fail on their own if it failed).
        self.queue.extendleft(reversed(self.after.pop(result.invoice_id, [])))

    def _leave_rest(self) -> None:
        rest = list(self.queue) + [pk for ids in self.after.values() for pk in ids]
        for rest_id in rest:
            result = ExportResult(rest_id, "skipped", message=TRANSIENT_MESSAGE)
            result.error_kind = "transient"
            self.report(result)

    def requests(self) -> int:
        return sum(client.stats.requests for client in self.clients)

    def close(self) -> None:
        for client in self.clients:
            client.close()


def _export_subgroup(
    invoice_ids: list[int],
    *,
    cache: ExportCache | None,
    summary: ExportSummary,
    trigger: str,
    user: User | None,
    on_result: Callable[[ExportResult], None] | None,
    stale_before: dt.datetime | None,
) -> None:
    """Export one subgroup's invoices, several at a time."""

    def report(result: ExportResult) -> None:
        summary.add(result)
        if on_result:
            on_result(result)

    def export(invoice_id: int, thread_cache: ExportCache | None) -> ExportResult:
        return invoice_export(
            invoice_id=invoice_id,
            trigger=trigger,
            user=user,
            cache=thread_cache,
            stale_before=stale_before,
        )

    threads = _threads(invoice_ids)
    if cache is not None:
        _start_run(cache, invoice_ids, threads=threads)
    run = _SubgroupRun(invoice_ids, cache=cache, threads=threads, report=report, export=export)
    try:
        run.run()
    finally:
        summary.requests += run.requests()
        run.close()


def _hold_all(
    invoice_ids: list[int],
    *,
    reason: str,
    summary: ExportSummary,
    on_result: Callable[[ExportResult], None] | None,
) -> None:
    invoices_hold(invoice_ids=invoice_ids, reason=reason)
    for invoice_id in invoice_ids:
        result = ExportResult(invoice_id, "held", message=reason, error_kind=CLIENT_CHANGED)
        summary.add(result)
        if on_result:
            on_result(result)


def invoices_export(
    *,
    invoice_ids: Iterable[int],
    trigger: str,
    user: User | None = None,
    on_result: Callable[[ExportResult], None] | None = None,
    stale_before: dt.datetime | None = None,
) -> ExportSummary:
    """Export many invoices, one reference-data cache per subgroup for the whole run."""
    summary = ExportSummary()
    ids = list(dict.fromkeys(int(i) for i in invoice_ids))
    by_subgroup: dict[int, list[int]] = defaultdict(list)
    for pk, subgroup_id in (
        Invoice.objects.filter(pk__in=ids)
        .order_by("subgroup_id", "number")
        .values_list("pk", "subgroup_id")
    ):
        by_subgroup[subgroup_id].append(pk)
    connections = connections_of(subgroup_ids=by_subgroup.keys())
    for subgroup_id, subgroup_ids in by_subgroup.items():
        cache: ExportCache | None
        try:
            # Many invoices: the bulk lane, behind any single export waiting.
            cache = export_cache_for(connections.get(subgroup_id), lane=Lane.BULK)
        except ClientMismatch as mismatch:
            # The key opens another subgroup's client: nothing is sent, all of it waits.
            _hold_all(subgroup_ids, reason=mismatch.message, summary=summary, on_result=on_result)
            continue
        except ExportProblem:
            cache = None  # each invoice records the reason in its own attempt
        try:
            _export_subgroup(
                subgroup_ids,
                cache=cache,
                summary=summary,
                trigger=trigger,
                user=user,
                on_result=on_result,
                stale_before=stale_before,
            )
        finally:
            if cache is not None:
                if cache.pdfs:
                    cache.pdfs.close()
                summary.requests += cache.client.stats.requests
                cache.client.close()
    return summary


# --- "Eksporter alle" ----------------------------------------------------------------------------


def export_batch_create(
    *, agency_id: int, user: User | None, invoice_ids: list[int]
) -> ExportBatch:
    """A background "Eksporter alle": the invoices are marked PENDING and a task runs them."""
    with transaction.atomic():
        ids = list(
            Invoice.objects.filter(
                agency_id=agency_id, pk__in=invoice_ids, export_status__in=CLAIMABLE
            )
            .order_by("subgroup_id", "number")
            .values_list("pk", flat=True)
        )
        Invoice.objects.filter(pk__in=ids, export_status__in=CLAIMABLE).update(
            export_status=ExportStatus.PENDING, export_claimed_at=timezone.now()
        )
        batch = ExportBatch.objects.create(
            agency_id=agency_id, created_by=user, invoice_ids=ids, total=len(ids)
        )
        _enqueue_batch(batch.pk)
    return batch


def _enqueue_batch(batch_id: int) -> None:
    # Imported here: the task module imports this one.
    from poweroffice.invoices.tasks import export_batch

    def send() -> None:
        try:
            export_batch.delay(batch_id)
        except Exception:  # the sweeper notices a batch nobody runs
            logger.warning("Could not enqueue export batch %s", batch_id, exc_info=True)

    transaction.on_commit(send)


def _claim_batch(batch_id: int, *, stale_after: float) -> bool:
    """Claimed like an invoice: a queued batch, or a running one whose heartbeat stopped."""
    now = timezone.now()
    claimed = ExportBatch.objects.filter(pk=batch_id, status=ExportBatch.Status.QUEUED).update(
        status=ExportBatch.Status.RUNNING, heartbeat_at=now, exported=0, failed=0, skipped=0
    ) or ExportBatch.objects.filter(
        pk=batch_id,
        status=ExportBatch.Status.RUNNING,
        heartbeat_at__lt=now - dt.timedelta(seconds=stale_after),
    ).update(heartbeat_at=now, exported=0, failed=0, skipped=0)
    return bool(claimed)


def export_batch_run(*, batch_id: int, stale_after: float | None = None) -> ExportSummary | None:
    """Run a batch. A batch already running (with a live heartbeat) is left alone, so a
    redelivered task does nothing twice."""
    if not _claim_batch(
        batch_id, stale_after=stale_after or settings.POWEROFFICE_EXPORT_BATCH_STALE
    ):
        return None
    batch = ExportBatch.objects.get(pk=batch_id)

    def progress(result: ExportResult) -> None:
        if result.ok:
            column = "exported"
        elif result.outcome in ("failed", "held"):
            column = "failed"
        else:
            column = "skipped"
        ExportBatch.objects.filter(pk=batch_id).update(
            **{column: F(column) + 1}, heartbeat_at=timezone.now()
        )

    try:
        summary = invoices_export(
            invoice_ids=batch.invoice_ids,
            trigger=AttemptTrigger.BATCH,
            user=batch.created_by,
            on_result=progress,
        )
    except Exception as exc:
        logger.exception("Export batch %s failed", batch_id)
        ExportBatch.objects.filter(pk=batch_id).update(
            status=ExportBatch.Status.FAILED,
            finished_at=timezone.now(),
            error=error_message(exc, context=Context.EXPORT),
        )
        raise
    ExportBatch.objects.filter(pk=batch_id).update(
        status=ExportBatch.Status.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now()
    )
    return summary
