"""Exporting many invoices in one run: "Eksporter alle" in the background, the command line and
the sweeper all go through :func:`invoices_export` (SPEC Part A, item 8, and "Running and scale").

One run keeps one reference-data cache per subgroup, reads what it will need in bulk up front,
renders the specification PDFs a few invoices ahead, and stops asking PowerOffice when it is down
(the rest is left for the sweeper).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections as db_connections
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounting.models import ExportStatus, Invoice, InvoiceLine
from accounting.pdf import invoice_specification_pdf
from bitnet.models import User
from poweroffice.client.errors import PowerOfficeError
from poweroffice.client.ratelimit import Lane
from poweroffice.datadeling.selectors import connections_of
from poweroffice.invoices.export import (
    CLAIMABLE,
    ExportResult,
    export_cache_for,
    invoice_export,
)
from poweroffice.invoices.products import product_code
from poweroffice.invoices.reference import ExportCache, ExportProblem
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


# --- the specification PDFs ----------------------------------------------------------------------


class PdfPipeline:
    """Renders the specification PDFs of a run a few invoices ahead, in one background thread.

    WeasyPrint is CPU work and the export mostly waits on PowerOffice (latency and the rate
    limit), so rendering the next PDFs while this invoice's requests are in flight roughly halves
    the time of a batch with "Send med fakturaspesifikasjon". Invoices are immutable once
    created, so a PDF rendered before the claim is the same as one rendered after it.
    """

    DEPTH = 2

    def __init__(self, invoice_ids: list[int]) -> None:
        self.ids = invoice_ids
        self.futures: dict[int, Future[bytes]] = {}
        self.scheduled = 0
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-pdf")

    @classmethod
    def start(cls, invoice_ids: list[int]) -> PdfPipeline | None:
        # A thread has its own database connection: it cannot see rows of a transaction that
        # has not committed (as in a test wrapped in one), so inside one the PDF is made inline.
        if transaction.get_connection().in_atomic_block or len(invoice_ids) < 2:
            return None
        return cls(invoice_ids)

    @staticmethod
    def _render(invoice_id: int) -> bytes:
        invoice = Invoice.objects.select_related(
            "agency", "subgroup", "office", "customer", "credited_invoice"
        ).get(pk=invoice_id)
        return invoice_specification_pdf(invoice=invoice)

    def advance(self, position: int) -> None:
        """Make sure the PDFs of ``ids[position : position + DEPTH]`` are on their way."""
        while self.scheduled < min(len(self.ids), position + self.DEPTH):
            invoice_id = self.ids[self.scheduled]
            self.futures[invoice_id] = self.executor.submit(self._render, invoice_id)
            self.scheduled += 1

    def take(self, invoice: Invoice) -> bytes:
        future = self.futures.pop(invoice.pk, None)
        if future is not None:
            try:
                return future.result()
            except Exception:  # rendered again below, where a failure is recorded as usual
                logger.warning("Background PDF of invoice %s failed", invoice.pk, exc_info=True)
        return invoice_specification_pdf(invoice=invoice)

    def close(self) -> None:
        for future in self.futures.values():
            future.cancel()
        # The thread's database connection is closed by the thread itself.
        self.executor.submit(db_connections.close_all).result()
        self.executor.shutdown(wait=True)


# --- many invoices -------------------------------------------------------------------------------


def _prefetch(cache: ExportCache, invoice_ids: list[int]) -> None:
    """Read every id a list of invoices will need, in one request per kind."""
    lines = InvoiceLine.objects.filter(invoice_id__in=invoice_ids).values_list(
        "account__number", "article_id"
    )
    accounts: set[int] = set()
    articles: set[int] = set()
    for number, article_id in lines.distinct():
        accounts.add(number)
        articles.add(article_id)
    heads = Invoice.objects.filter(pk__in=invoice_ids).values_list(
        "customer__number", "created_by__employee_number"
    )
    customers: set[int] = set()
    employees: set[int] = set()
    for customer_number, employee_number in heads.distinct():
        customers.add(customer_number)
        if employee_number:
            employees.add(employee_number)
    cache.prefetch(
        account_numbers=accounts,
        product_codes=[product_code(a) for a in articles],
        customer_numbers=customers,
        employee_numbers=employees if cache.connection.include_employee_number else (),
    )


def _start_run(cache: ExportCache, invoice_ids: list[int]) -> None:
    """Read the reference data one subgroup's invoices need and start rendering their PDFs."""
    try:
        _prefetch(cache, invoice_ids)
    except PowerOfficeError as exc:
        # Not fatal: each invoice asks again for what it lacks and records a failure.
        logger.info("Prefetch for subgroup %s failed: %s", cache.subgroup_id, type(exc).__name__)
    if cache.connection.include_specification:
        cache.pdfs = PdfPipeline.start(invoice_ids)


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
    """Export one subgroup's invoices in order; after a streak of transient failures the rest
    is left waiting for the sweeper (PowerOffice is down)."""

    def report(result: ExportResult) -> None:
        summary.add(result)
        if on_result:
            on_result(result)

    streak = 0
    for position, invoice_id in enumerate(invoice_ids):
        if cache is not None and cache.pdfs:
            cache.pdfs.advance(position)
        result = invoice_export(
            invoice_id=invoice_id,
            trigger=trigger,
            user=user,
            cache=cache,
            stale_before=stale_before,
        )
        report(result)
        streak = streak + 1 if result.error_kind == "transient" else 0
        if streak >= TRANSIENT_STREAK_LIMIT and position + 1 < len(invoice_ids):
            for rest_id in invoice_ids[position + 1 :]:
                rest = ExportResult(rest_id, "skipped", message=TRANSIENT_MESSAGE)
                rest.error_kind = "transient"
                report(rest)
            return


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
        except ExportProblem:
            cache = None  # each invoice records the reason in its own attempt
        try:
            if cache is not None:
                _start_run(cache, subgroup_ids)
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
