"""Automatic export of new invoices (SPEC Part A, item 4), at the price of a batch.

A committed invoice (accounting.hooks.invoice_committed) is marked PENDING at once. Its export
runs a moment later (``POWEROFFICE_AUTO_EXPORT_DELAY`` seconds), together with every other
pending invoice of its subgroup: invoices that arrive close together are exported by one run
through the batch machinery (batch.py: reference data read once, several invoices at once, PDFs
rendered ahead), not by one task each.

- **One run per burst.** The first invoice of a burst sets a marker in Django's cache (an atomic
  ``add``, keyed by the PowerOffice client and the subgroup) and enqueues the run with a short
  countdown; invoices committed while the marker stands only become PENDING, and the run takes
  them too. The run removes the marker before it reads the pending invoices, so an invoice
  committed during the run enqueues the next one.
- **Never lost.** The marker expires after ``POWEROFFICE_EXPORT_PENDING_GRACE`` seconds, and an
  invoice still PENDING after that is exported by the sweeper (sweep.py): a lost task, a broker
  that was down or a worker that died cost time, never an invoice.
- **Never twice.** Every invoice is claimed atomically by the export (export.py), so a run that
  overlaps another run, a batch or the sweeper exports each invoice once.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounting.models import ExportStatus, Invoice
from poweroffice.chart.selectors import prerequisites_hold_reason
from poweroffice.datadeling.selectors import connection_get
from poweroffice.invoices.batch import ExportSummary, invoices_export
from poweroffice.invoices.refcache import client_scope
from poweroffice.models import AttemptTrigger, Connection, ExportBatch

logger = logging.getLogger(__name__)

HELD_DEFAULT = (
    "Holdt tilbake: forutsetningene for PowerOffice er ikke oppfylt. Se sjekklisten under "
    "Administrasjon > Datadeling."
)


def prerequisites_reason(connection: Connection) -> str:
    """Why a subgroup's automatic exports are held back, from the validation's last result."""
    reason = prerequisites_hold_reason(connection)
    if reason:
        return reason
    checks = connection.prerequisites if isinstance(connection.prerequisites, list) else []
    failed = [
        str(c.get("title") or c.get("message"))
        for c in checks
        if isinstance(c, dict) and c.get("status") == "error"
    ]
    if not failed:
        return HELD_DEFAULT
    return (
        "Automatisk eksport er holdt tilbake fordi forutsetningene for PowerOffice ikke er "
        f"oppfylt: {', '.join(failed).lower()}. Se Administrasjon > Datadeling."
    )


def invoice_queue_export(*, invoice_id: int) -> str:
    """React to a committed invoice (accounting.hooks.invoice_committed).

    If its subgroup exports automatically, mark it PENDING and make sure a run for the subgroup
    is on its way; if the subgroup's prerequisites are known to fail, hold it with the reason
    instead of producing a stream of failures. Returns the status given ("" when nothing was
    done).
    """
    row = (
        Invoice.objects.filter(pk=invoice_id, export_status=ExportStatus.NOT_EXPORTED)
        .values("subgroup_id")
        .first()
    )
    if row is None:
        return ""
    connection = connection_get(subgroup_id=row["subgroup_id"])
    if (
        connection is None
        or not connection.enabled
        or not connection.auto_export
        or not connection.has_client_key
    ):
        return ""
    if connection.prerequisites_ok is False:
        Invoice.objects.filter(pk=invoice_id, export_status=ExportStatus.NOT_EXPORTED).update(
            export_status=ExportStatus.HELD, export_error=prerequisites_reason(connection)
        )
        return ExportStatus.HELD
    updated = Invoice.objects.filter(pk=invoice_id, export_status=ExportStatus.NOT_EXPORTED).update(
        export_status=ExportStatus.PENDING, export_error="", export_claimed_at=timezone.now()
    )
    if updated:
        _schedule_run(connection)
    return ExportStatus.PENDING


def _marker(connection: Connection) -> str:
    return f"poweroffice:autoexport:{client_scope(connection) or '-'}:{connection.subgroup_id}"


def _schedule_run(connection: Connection) -> None:
    """Enqueue a run for the subgroup unless one is on its way already."""
    # Imported here: the task module imports this one.
    from poweroffice.invoices.tasks import export_pending

    marker = _marker(connection)
    subgroup_id = connection.subgroup_id

    def send() -> None:
        try:
            if not cache.add(marker, 1, timeout=int(settings.POWEROFFICE_EXPORT_PENDING_GRACE)):
                return  # a run is on its way and takes this invoice too
        except Exception:  # no shared cache: a run per invoice still exports it
            logger.warning("Automatic export marker unavailable", exc_info=True)
        try:
            export_pending.apply_async(
                (subgroup_id,), countdown=float(settings.POWEROFFICE_AUTO_EXPORT_DELAY)
            )
        except Exception:  # broker down: the invoice stays PENDING and the sweeper takes it
            logger.warning(
                "Could not enqueue the export of subgroup %s", subgroup_id, exc_info=True
            )
            _forget_marker(marker)

    transaction.on_commit(send)


def _forget_marker(marker: str) -> None:
    try:
        cache.delete(marker)
    except Exception:
        logger.warning("Automatic export marker unavailable", exc_info=True)


def _live_batch_ids(agency_id: int) -> set[int]:
    """Invoices that a queued or running "Eksporter alle" takes care of."""
    live: set[int] = set()
    for ids in ExportBatch.objects.filter(
        agency_id=agency_id, status__in=[ExportBatch.Status.QUEUED, ExportBatch.Status.RUNNING]
    ).values_list("invoice_ids", flat=True):
        live.update(int(pk) for pk in ids or [])
    return live


def pending_export_run(*, subgroup_id: int) -> ExportSummary:
    """Export every PENDING invoice of a subgroup in one run (the burst the marker gathered)."""
    connection = connection_get(subgroup_id=subgroup_id)
    if connection is None or not connection.enabled:
        return ExportSummary()
    # First the marker, then the invoices: one committed after this line schedules a new run.
    _forget_marker(_marker(connection))
    pending = list(
        Invoice.objects.filter(subgroup_id=subgroup_id, export_status=ExportStatus.PENDING)
        .order_by("number")
        .values_list("pk", flat=True)
    )
    live = _live_batch_ids(connection.subgroup.agency_id) if pending else set()
    ids = [pk for pk in pending if pk not in live]
    if not ids:
        return ExportSummary()
    return invoices_export(invoice_ids=ids, trigger=AttemptTrigger.AUTOMATIC)
