"""Rolling an export back: every salary line of it that PowerOffice Go has is deleted again, so
that an export is all or nothing. A line PowerOffice will not delete (409: locked in a payroll
run) stays listed by name, and the export is "rollback incomplete" until "Prøv tilbakerulling
igjen" gets it deleted.
"""

from __future__ import annotations

import logging
import uuid
from typing import cast

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from payroll.models import PayrollExport, PayrollExportLineState, PayrollExportStatus
from poweroffice.alerts.hooks import payroll_rollback_alert
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.errors import NotFoundError, PowerOfficeError
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected
from poweroffice.messages import Context, error_message
from poweroffice.salary.bookkeeping import (
    export_claim,
    export_client,
    export_heartbeat,
    export_release_logs,
    requests_counted,
)

logger = logging.getLogger(__name__)


def _finish(export: PayrollExport, token: uuid.UUID | None) -> None:
    left = export.lines.filter(state=PayrollExportLineState.DELETE_FAILED).exists()
    with transaction.atomic():
        mine = PayrollExport.objects.select_for_update().filter(pk=export.pk)
        if token is not None:
            mine = mine.filter(run_token=token)
        if not mine.exists():
            logger.warning("Payroll export %s was taken over; this rollback stops", export.pk)
            return
        export.refresh_from_db()
        export.finished_at = timezone.now()
        if left:
            # The logbooks stay claimed: some of their lines are still in PowerOffice Go.
            export.status = PayrollExportStatus.ROLLBACK_INCOMPLETE
        else:
            created_any = export.lines.filter(state=PayrollExportLineState.DELETED).exists()
            export.status = (
                PayrollExportStatus.ROLLED_BACK if created_any else PayrollExportStatus.FAILED
            )
            export_release_logs(export)
        export.save(update_fields=["status", "finished_at"])
        if left:
            payroll_rollback_alert(export)


def payroll_export_rollback(
    *, export: PayrollExport, client: PowerOfficeClient, token: uuid.UUID | None = None
) -> None:
    """Delete every line of the export PowerOffice has. Lines that cannot be deleted (409:
    locked in a payroll run) stay listed by name: the export is "rollback incomplete".

    ``token`` is the run's claim: when a beat finds it gone, another run has taken over and this
    one stops."""
    lines = export.lines.filter(
        state__in=[PayrollExportLineState.CREATED, PayrollExportLineState.DELETE_FAILED],
        po_salary_line_id__isnull=False,
    ).order_by("-position", "-id")
    for line in lines:
        try:
            client.delete_salary_line(cast(int, line.po_salary_line_id))  # not null: see filter
        except NotFoundError:
            pass  # already gone: what we wanted
        except PowerOfficeError as exc:
            logger.warning("Payroll export %s: line %s not deleted: %s", export.pk, line.pk, exc)
            line.state = PayrollExportLineState.DELETE_FAILED
            line.error = error_message(exc, context=Context.SALARY_DELETE)
            line.save(update_fields=["state", "error"])
            if not export_heartbeat(export.pk, token):
                return
            continue
        line.state = PayrollExportLineState.DELETED
        line.error = ""
        line.save(update_fields=["state", "error"])
        if not export_heartbeat(export.pk, token, lines_deleted=F("lines_deleted") + 1):
            logger.warning("Payroll export %s was taken over; this rollback stops", export.pk)
            return
    _finish(export, token)


def payroll_export_rollback_retry(
    *, export_id: int, client: PowerOfficeClient | None = None
) -> PayrollExport:
    """ "Prøv tilbakerulling igjen": delete the lines that could not be deleted before.

    Raises NotConnected/SecretUnreadable (status unchanged) when there is no usable client key.
    """
    token = export_claim(
        export_id=export_id,
        waiting=PayrollExportStatus.ROLLBACK_INCOMPLETE,
        working=PayrollExportStatus.ROLLING_BACK,
    )
    export = PayrollExport.objects.select_related("subgroup").get(pk=export_id)
    if token is None:
        return export
    own = client is None
    try:
        if client is None:
            client = export_client(export)
    except (NotConnected, SecretUnreadable):
        PayrollExport.objects.filter(pk=export_id).update(
            status=PayrollExportStatus.ROLLBACK_INCOMPLETE
        )
        raise
    with requests_counted(export, client, close=own):
        payroll_export_rollback(export=export, client=client, token=token)
    export.refresh_from_db()
    return export
