"""The export row's bookkeeping, shared by the run and the rollback: claiming an export for one
worker, its heartbeat, the PowerOffice requests it made, and releasing its logbooks.

A claim is a conditional UPDATE of the export's status (zero rows: someone else has it). A
worker that died leaves its heartbeat behind: after ``STALE_AFTER`` another may resume the work.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.db.models import F
from django.utils import timezone

from payroll.models import PayrollExport, PayrollExportLog
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.ratelimit import Lane
from poweroffice.datadeling.connection import NotConnected, connection_client
from poweroffice.datadeling.selectors import connection_get

# A run whose heartbeat is older than this is taken to have died and may be resumed.
STALE_AFTER = timedelta(minutes=10)


def export_claim(*, export_id: int, waiting: str, working: str, stamp_start: bool = False) -> bool:
    """Take the export: ``waiting`` -> ``working``, or resume a ``working`` export whose
    heartbeat stopped. False when someone else has it, or it has finished."""
    now = timezone.now()
    started = {"started_at": now} if stamp_start else {}
    claimed = PayrollExport.objects.filter(pk=export_id, status=waiting).update(
        status=working, heartbeat_at=now, **started
    )
    if not claimed:
        claimed = PayrollExport.objects.filter(
            pk=export_id, status=working, heartbeat_at__lt=now - STALE_AFTER
        ).update(heartbeat_at=now)
    return bool(claimed)


def export_heartbeat(export_id: int, **updates: Any) -> None:
    """The worker is alive (and, with ``updates``, has progressed)."""
    PayrollExport.objects.filter(pk=export_id).update(heartbeat_at=timezone.now(), **updates)


def export_release_logs(export: PayrollExport) -> None:
    """The export's logbooks may be exported again (none of their lines is in PowerOffice)."""
    PayrollExportLog.objects.filter(export=export, active=True).update(active=False)


def export_client(export: PayrollExport) -> PowerOfficeClient:
    """A client for the export's subgroup, in the rate limiter's bulk lane (one request per
    salary line). Raises NotConnected or SecretUnreadable."""
    connection = connection_get(subgroup_id=export.subgroup_id)
    if connection is None:
        raise NotConnected(f"{export.subgroup.name} har ingen tilkobling til PowerOffice Go.")
    return connection_client(connection, lane=Lane.BULK)


@contextmanager
def requests_counted(
    export: PayrollExport, client: PowerOfficeClient, *, close: bool
) -> Iterator[PowerOfficeClient]:
    """Add the requests made inside to the export's count; close the client if it is ours."""
    before = client.stats.requests
    try:
        yield client
    finally:
        PayrollExport.objects.filter(pk=export.pk).update(
            requests=F("requests") + (client.stats.requests - before)
        )
        if close:
            client.close()
