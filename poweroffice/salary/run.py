"""Running an export: its salary lines are created in PowerOffice Go (``POST /SalaryLines``),
all or nothing.

Each created line's PowerOffice id is committed as soon as PowerOffice answers, so that whatever
happens next, a rollback knows what to delete, and the run beats after every line. Every line
carries a deterministic ExternalImportReference, so a run that died half-way can be resumed
(poweroffice/salary/recovery.py) without creating a line twice: it adopts the lines PowerOffice
created whose id we never heard.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounting.money import kr
from payroll.models import (
    DrivingLog,
    DrivingLogStatus,
    PayrollExport,
    PayrollExportLine,
    PayrollExportLineState,
    PayrollExportStatus,
)
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.errors import PowerOfficeError, TransientError
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected
from poweroffice.datadeling.identity import ClientMismatch, client_identity_confirm
from poweroffice.datadeling.selectors import connection_get
from poweroffice.messages import Context, error_message
from poweroffice.salary.bookkeeping import (
    export_claim,
    export_client,
    export_heartbeat,
    export_note,
    export_release_logs,
    requests_counted,
)
from poweroffice.salary.processing import AMOUNT, QUANTITY, RATE, salary_line_fields
from poweroffice.salary.rollback import payroll_export_rollback

logger = logging.getLogger(__name__)


def _line_body(line: PayrollExportLine) -> dict[str, Any]:
    """SalaryLinePostDto. Distance lines have a quantity (km, passenger-km) and the trip year's
    rate per km; expense lines (toll, parking, ferry) an amount. Of Quantity, Rate and Amount
    (as we rounded it), the line carries what its pay item's processing type takes
    (``processing.salary_line_fields``)."""
    values = {QUANTITY: line.quantity, RATE: line.rate, AMOUNT: line.amount}
    body: dict[str, Any] = {
        "EmployeeId": line.po_employee_id,
        "PayItemId": line.pay_item_id,
    }
    for name in (QUANTITY, RATE, AMOUNT):
        if name in salary_line_fields(line.processing_type):
            body[name] = values[name]
    body["Comment"] = line.comment
    body["ExternalImportReference"] = line.external_import_reference
    return body


def _create_line(client: PowerOfficeClient, line: PayrollExportLine) -> dict[str, Any]:
    # Our reference already in use (an earlier run created this very line and died before it
    # could store the id) means the line exists: the client adopts it rather than fail.
    return client.create_salary_line(_line_body(line))


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", ")")) else f"{text}."


def _failure_reason(line: PayrollExportLine, position: int, total: int, error: Exception) -> str:
    what = (
        f"Lønnslinje {position} av {total} ({line.employee}, ansattnr. {line.employee_number}, "
        f"lønnsart {line.pay_item_code}, kr {kr(line.amount)})"
    )
    detail = error_message(error, context=Context.SALARY_LINE)
    if isinstance(error, TransientError):
        return f"{what} kunne ikke opprettes: PowerOffice Go svarte ikke ({detail})."
    if isinstance(error, PowerOfficeError):
        return f"{what} ble avvist av PowerOffice Go: {_sentence(detail)}"
    return f"{what} kunne ikke opprettes: {type(error).__name__}."


def _finish_without_lines(export: PayrollExport, reason: str) -> PayrollExport:
    with transaction.atomic():
        export.status = PayrollExportStatus.FAILED
        export.error = reason
        export.finished_at = timezone.now()
        export.save(update_fields=["status", "error", "finished_at"])
        export_release_logs(export)
    return export


def _fail_and_roll_back(
    export: PayrollExport,
    client: PowerOfficeClient,
    token: uuid.UUID,
    failure: tuple[PayrollExportLine, int, int, Exception],
) -> None:
    line, position, total, error = failure
    reason = _failure_reason(line, position, total, error)
    # The export says it is rolling back before anything else, so that a run that dies from
    # here on is finished as a rollback, not resumed.
    if not PayrollExport.objects.filter(pk=export.pk, run_token=token).update(
        status=PayrollExportStatus.ROLLING_BACK, error=reason, heartbeat_at=timezone.now()
    ):
        logger.warning("Payroll export %s was taken over; this run stops", export.pk)
        return
    export.status = PayrollExportStatus.ROLLING_BACK
    export.error = reason
    line.state = PayrollExportLineState.FAILED
    line.error = error_message(error, context=Context.SALARY_LINE)
    if isinstance(error, TransientError) and not error.never_left:
        # A timeout can hide a success: if PowerOffice has the line after all, delete it too.
        try:
            # Patiently: a line created a moment ago may not be readable yet.
            found = client.look_patiently(
                lambda: client.find_salary_line(
                    external_import_reference=line.external_import_reference
                )
            )
        except PowerOfficeError:
            found = None
        if found is not None:
            line.po_salary_line_id = int(found["Id"])
            line.state = PayrollExportLineState.CREATED
    line.save(update_fields=["state", "error", "po_salary_line_id"])
    payroll_export_rollback(export=export, client=client, token=token)


def export_lines_create(export: PayrollExport, client: PowerOfficeClient, token: uuid.UUID) -> None:
    """Create the pending lines in order; on the first failure, roll everything back.

    ``token`` is the run's claim: when a beat finds it gone (the run was taken to have died and
    another took over), this run stops where it is.
    """
    lines = list(export.lines.select_related("employee").order_by("position", "id"))
    total = len(lines)
    for position, line in enumerate(lines, start=1):
        if line.state != PayrollExportLineState.PENDING:
            continue
        try:
            created = _create_line(client, line)
        except Exception as exc:
            logger.warning("Payroll export %s: line %s failed: %s", export.pk, line.pk, exc)
            _fail_and_roll_back(export, client, token, (line, position, total, exc))
            return
        line.po_salary_line_id = int(created["Id"])
        line.state = PayrollExportLineState.CREATED
        line.error = ""
        line.save(update_fields=["po_salary_line_id", "state", "error"])
        if not export_heartbeat(export.pk, token, lines_created=F("lines_created") + 1):
            logger.warning("Payroll export %s was taken over; this run stops", export.pk)
            return
    with transaction.atomic():
        finished = PayrollExport.objects.filter(pk=export.pk, run_token=token).update(
            status=PayrollExportStatus.EXPORTED,
            error="",
            finished_at=timezone.now(),
            lines_created=export.lines.filter(state=PayrollExportLineState.CREATED).count(),
        )
        if not finished:
            return
        DrivingLog.objects.filter(export_claims__export=export, export_claims__active=True).update(
            status=DrivingLogStatus.EXPORTED
        )
    logger.info("Payroll export %s exported: %s lines", export.pk, total)


def payroll_export_run(
    *, export_id: int, client: PowerOfficeClient | None = None, note: str = ""
) -> PayrollExport:
    """Create the export's salary lines in PowerOffice Go, all or nothing.

    Claims the export (draft -> running); an export already running, or finished, is left alone
    (a run that died is resumed by ``recovery.payroll_export_recover``). Each line's id is
    committed as soon as PowerOffice answers. On the first failure every line already created
    is deleted again (``payroll_export_rollback``). Before the first line, the key is checked
    to still open the subgroup's own PowerOffice client (``datadeling.identity``): when it opens
    another, nothing is sent and the export fails with the reason. ``note`` goes on the export
    once it is claimed (a draft started late by the recovery says so).
    """
    token = export_claim(
        export_id=export_id,
        waiting=PayrollExportStatus.DRAFT,
        working=PayrollExportStatus.RUNNING,
        stamp_start=True,
    )
    export = PayrollExport.objects.select_related("subgroup").get(pk=export_id)
    if token is None:
        return export  # someone else runs it, or it has finished
    if note:
        export_note(export_id, note)
    own = client is None
    try:
        if client is None:
            client = export_client(export)
    except (NotConnected, SecretUnreadable) as exc:
        return _finish_without_lines(export, str(exc))
    with requests_counted(export, client, close=own):
        connection = connection_get(subgroup_id=export.subgroup_id)
        try:
            if connection is not None:
                client_identity_confirm(connection=connection, client=client)
        except ClientMismatch as mismatch:
            return _finish_without_lines(export, str(mismatch))
        except PowerOfficeError as exc:
            return _finish_without_lines(
                export,
                "PowerOffice Go kunne ikke bekrefte klienten bak klientnøkkelen: "
                + error_message(exc, context=Context.KEY_CHECK)
                + " Ingenting er sendt.",
            )
        export_lines_create(export, client, token)
    export.refresh_from_db()
    return export
