"""Celery tasks for invoice export. Thin: they take ids, call one service, own the retry policy.

``acks_late`` is safe because every export claims its invoice atomically and carries a
deterministic ExternalImportReference (poweroffice/invoices/export.py): a task delivered twice
finds the invoice claimed or exported and does nothing.
"""

import random

from celery import Task, shared_task

from poweroffice.invoices.automatic import pending_export_run
from poweroffice.invoices.batch import export_batch_run
from poweroffice.invoices.export import invoice_export
from poweroffice.invoices.sweep import export_sweep
from poweroffice.models import AttemptTrigger

# Transient failures (PowerOffice down, throttled, timeouts) are retried with exponential backoff
# and jitter: 30 s, 1, 2, 4, 8 min. After that the sweeper keeps trying up to its own cap.
MAX_RETRIES = 5
BACKOFF_BASE = 30
BACKOFF_MAX = 15 * 60


def _countdown(retries: int) -> float:
    cap = min(BACKOFF_MAX, BACKOFF_BASE * 2**retries)
    return cap / 2 + random.uniform(0, cap / 2)


@shared_task(
    bind=True, acks_late=True, max_retries=MAX_RETRIES, name="poweroffice.tasks.export_invoice"
)
def export_invoice(self: Task, invoice_id: int, trigger: str = AttemptTrigger.AUTOMATIC) -> str:
    result = invoice_export(invoice_id=invoice_id, trigger=trigger)
    if result.retryable and self.request.retries < MAX_RETRIES:
        raise self.retry(countdown=_countdown(self.request.retries))
    return result.outcome


@shared_task(acks_late=True, name="poweroffice.tasks.export_pending")
def export_pending(subgroup_id: int) -> str:
    """The automatic export of a subgroup's pending invoices (automatic.py), in one run.
    Transient failures are tried again one by one with the backoff of export_invoice."""
    summary = pending_export_run(subgroup_id=subgroup_id)
    for result in summary.failed:
        if result.retryable:
            export_invoice.apply_async(
                (result.invoice_id, AttemptTrigger.AUTOMATIC), countdown=_countdown(0)
            )
    return f"{len(summary.exported)} exported, {len(summary.failed)} failed"


@shared_task(acks_late=True, name="poweroffice.tasks.export_batch")
def export_batch(batch_id: int) -> str:
    summary = export_batch_run(batch_id=batch_id)
    if summary is None:
        return "already running"
    return f"{len(summary.exported)} exported, {len(summary.failed)} failed"


@shared_task(name="poweroffice.tasks.export_sweeper")
def export_sweeper() -> str:
    summary = export_sweep()
    return (
        f"recovered {summary.recovered}, pending {summary.pending}, retried {summary.retried}, "
        f"released {summary.released}, batches {summary.batches_requeued}"
    )
