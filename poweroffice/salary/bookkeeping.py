"""The export row's bookkeeping, shared by the run, the rollback and the recovery: claiming an
export for one worker, its heartbeat, the PowerOffice requests it made, and releasing its
logbooks.

A claim is a conditional UPDATE of the export's status (zero rows: someone else has it) that
writes a fresh ``run_token``. While it works, the run beats (``heartbeat_at``) after every
salary line it creates or deletes, through an UPDATE that also checks the token: a run whose
heartbeat stopped for ``settings.PAYROLL_EXPORT_STALE_AFTER`` seconds is taken to have died, and
the recovery (poweroffice/salary/recovery.py) takes it over with a token of its own; should the
first run wake up after all, its next beat finds the token changed and it stops.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import F
from django.utils import timezone

from payroll.models import PayrollExport, PayrollExportLog
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.ratelimit import Lane
from poweroffice.datadeling.connection import NotConnected, connection_client
from poweroffice.datadeling.selectors import connection_get
from poweroffice.salary.selectors import stale_filter


def export_claim(
    *, export_id: int, waiting: str, working: str, stamp_start: bool = False
) -> uuid.UUID | None:
    """Take the export: ``waiting`` -> ``working``. Returns the run's token, or None when
    someone else has it or it is not ``waiting`` any more."""
    now = timezone.now()
    token = uuid.uuid4()
    started = {"started_at": now} if stamp_start else {}
    claimed = PayrollExport.objects.filter(pk=export_id, status=waiting).update(
        status=working, heartbeat_at=now, run_token=token, **started
    )
    return token if claimed else None


def export_take_over(*, export_id: int, status: str) -> uuid.UUID | None:
    """Take over an export in ``status`` whose run stopped beating. Returns the new token, or
    None when its run is alive (or someone else took it over first)."""
    now = timezone.now()
    token = uuid.uuid4()
    claimed = PayrollExport.objects.filter(stale_filter(now), pk=export_id, status=status).update(
        heartbeat_at=now, run_token=token
    )
    return token if claimed else None


def export_note(export_id: int, text: str) -> None:
    """Add a paragraph to the export's recovery note (kept across interruptions)."""
    current = PayrollExport.objects.filter(pk=export_id).values_list("recovery_note", flat=True)
    note = current.get()
    PayrollExport.objects.filter(pk=export_id).update(
        recovery_note=f"{note}\n\n{text}" if note else text
    )


def export_heartbeat(export_id: int, token: uuid.UUID | None = None, **updates: Any) -> bool:
    """The worker is alive (and, with ``updates``, has progressed). False when the export is no
    longer this run's (``token``): another run took it over."""
    rows = PayrollExport.objects.filter(pk=export_id)
    if token is not None:
        rows = rows.filter(run_token=token)
    return bool(rows.update(heartbeat_at=timezone.now(), **updates))


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
