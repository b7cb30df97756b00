"""The sweeper: nothing that should be exported is lost (SPEC Part A, item 8).

Celery beat runs :func:`export_sweep` every five minutes (poweroffice.invoices.tasks). It picks up
invoices whose export never ran or never finished: the broker was down, a worker was killed,
PowerOffice was down.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounting.models import ExportStatus, Invoice
from poweroffice.invoices.batch import ExportSummary, invoices_export
from poweroffice.models import AttemptTrigger, Connection, ExportAttempt, ExportBatch

logger = logging.getLogger(__name__)


@dataclass
class SweepSummary:
    recovered: int = 0  # stale EXPORTING claims taken over
    pending: int = 0  # PENDING invoices exported (their task never ran)
    retried: int = 0  # transient failures tried again
    released: int = 0  # HELD invoices released because the prerequisites now pass
    batches_requeued: int = 0
    results: ExportSummary = field(default_factory=ExportSummary)


def export_sweep(
    *,
    now: dt.datetime | None = None,
    pending_grace: float | None = None,
    claim_timeout: float | None = None,
    batch_stale: float | None = None,
    max_attempts: int | None = None,
    limit: int = 500,
) -> SweepSummary:
    """Pick up every invoice that should have been exported and was not.

    - EXPORTING claims older than ``claim_timeout`` (the worker was killed): PowerOffice is asked
      first whether the voucher got there; if not, the invoice is exported.
    - Batches whose heartbeat stopped are queued again.
    - HELD invoices of subgroups whose prerequisites no longer fail are released.
    - PENDING invoices older than ``pending_grace`` (the broker was down when they were created,
      or their task was lost) and FAILED ones with a transient error and fewer than
      ``max_attempts`` attempts are exported here.

    The defaults are the POWEROFFICE_EXPORT_* settings.
    """
    now = now or timezone.now()
    if pending_grace is None:
        pending_grace = settings.POWEROFFICE_EXPORT_PENDING_GRACE
    if claim_timeout is None:
        claim_timeout = settings.POWEROFFICE_EXPORT_CLAIM_TIMEOUT
    if batch_stale is None:
        batch_stale = settings.POWEROFFICE_EXPORT_BATCH_STALE
    if max_attempts is None:
        max_attempts = settings.POWEROFFICE_EXPORT_MAX_ATTEMPTS
    summary = SweepSummary()
    enabled = Connection.objects.filter(enabled=True).exclude(client_key_encrypted="")
    enabled_subgroups = list(enabled.values_list("subgroup_id", flat=True))

    # 1. Stale claims: check PowerOffice first (invoice_export with stale_before looks first).
    _recover_stale_claims(
        summary,
        stale_before=now - dt.timedelta(seconds=claim_timeout),
        subgroup_ids=enabled_subgroups,
        limit=limit,
    )
    # 2. Batches nobody is running any more.
    live_ids = _requeue_stale_batches(
        summary, now=now, stale_before=now - dt.timedelta(seconds=batch_stale)
    )
    # 3. Held invoices whose subgroup now passes its checks go back into the queue.
    summary.released = _release_held(enabled, now=now, pending_grace=pending_grace)
    # 4. Pending invoices whose task never came, and transient failures below the cap.
    old = now - dt.timedelta(seconds=pending_grace)
    pending_ids = [
        pk for pk in _pending_ids(enabled_subgroups, old=old, limit=limit) if pk not in live_ids
    ]
    retry_ids = [
        pk
        for pk in _retry_ids(enabled_subgroups, old=old, max_attempts=max_attempts, limit=limit)
        if pk not in live_ids
    ]
    if pending_ids or retry_ids:
        result = invoices_export(
            invoice_ids=pending_ids + retry_ids, trigger=AttemptTrigger.SWEEPER
        )
        summary.pending = len(pending_ids)
        summary.retried = len(retry_ids)
        summary.results.merge(result)
    return summary


def _recover_stale_claims(
    summary: SweepSummary, *, stale_before: dt.datetime, subgroup_ids: list[int], limit: int
) -> None:
    stale_ids = list(
        Invoice.objects.filter(
            export_status=ExportStatus.EXPORTING,
            export_claimed_at__lt=stale_before,
            subgroup_id__in=subgroup_ids,
        ).values_list("pk", flat=True)[:limit]
    )
    if stale_ids:
        result = invoices_export(
            invoice_ids=stale_ids, trigger=AttemptTrigger.SWEEPER, stale_before=stale_before
        )
        summary.recovered = len(result.exported) + len(result.failed)
        summary.results.merge(result)


def _requeue_stale_batches(
    summary: SweepSummary, *, now: dt.datetime, stale_before: dt.datetime
) -> set[int]:
    """Queue again the batches whose heartbeat stopped; return the ids of the invoices that a
    live (or requeued) batch takes care of."""
    live_ids: set[int] = set()
    for batch in ExportBatch.objects.filter(
        status__in=[ExportBatch.Status.QUEUED, ExportBatch.Status.RUNNING]
    ):
        last_sign = batch.heartbeat_at or batch.created_at
        if last_sign >= stale_before:
            live_ids.update(batch.invoice_ids)
            continue
        if _requeue_batch(batch, now=now):
            summary.batches_requeued += 1
            live_ids.update(batch.invoice_ids)
    return live_ids


def _requeue_batch(batch: ExportBatch, *, now: dt.datetime) -> bool:
    # Imported here: the task module imports this one.
    from poweroffice.invoices.tasks import export_batch

    ExportBatch.objects.filter(pk=batch.pk).update(
        status=ExportBatch.Status.QUEUED, heartbeat_at=now
    )
    try:
        export_batch.delay(batch.pk)
    except Exception:
        logger.warning("Could not queue export batch %s again", batch.pk, exc_info=True)
        # Leave it looking stale, so its invoices are swept directly below.
        ExportBatch.objects.filter(pk=batch.pk).update(heartbeat_at=batch.heartbeat_at)
        return False
    return True


def _release_held(enabled: QuerySet[Connection], *, now: dt.datetime, pending_grace: float) -> int:
    releasable = list(
        enabled.filter(auto_export=True)
        .exclude(prerequisites_ok=False)
        .values_list("subgroup_id", flat=True)
    )
    return Invoice.objects.filter(
        export_status=ExportStatus.HELD, subgroup_id__in=releasable, export_attempts=0
    ).update(
        export_status=ExportStatus.PENDING,
        export_error="",
        # Old enough for step 4 of the sweep to take them in this same run.
        export_claimed_at=now - dt.timedelta(seconds=pending_grace + 1),
    )


def _pending_ids(subgroup_ids: list[int], *, old: dt.datetime, limit: int) -> list[int]:
    return list(
        Invoice.objects.filter(
            export_status=ExportStatus.PENDING,
            subgroup_id__in=subgroup_ids,
            created_at__lt=old,
        )
        .exclude(export_claimed_at__gte=old)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def _retry_ids(
    subgroup_ids: list[int], *, old: dt.datetime, max_attempts: int, limit: int
) -> list[int]:
    """FAILED invoices whose last attempt failed in a way that retrying can help."""
    last_attempt = ExportAttempt.objects.filter(invoice=OuterRef("pk")).order_by(
        "-started_at", "-id"
    )
    return list(
        Invoice.objects.filter(
            export_status=ExportStatus.FAILED,
            subgroup_id__in=subgroup_ids,
            export_attempts__lt=max_attempts,
            export_claimed_at__lt=old,
        )
        .annotate(last_retryable=Subquery(last_attempt.values("retryable")[:1]))
        .filter(last_retryable=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
