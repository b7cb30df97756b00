"""Lønnseksport, "Eksporter": a new export (status draft) that claims its logbooks and stores
its salary lines, then is started: a small one runs in the request, a large one in a task.

A logbook is exported once: it is claimed under row locks, and by the unique constraint on
active claims should two requests race anyway. The same submission token returns the export it
already made (a double POST of the wizard).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction

from bitnet.models import Subgroup, User
from payroll.models import (
    DrivingLog,
    PayrollExport,
    PayrollExportLine,
    PayrollExportLog,
    PayrollExportStatus,
)
from poweroffice.client.client import PowerOfficeClient
from poweroffice.salary.checks import Employee, payroll_export_check
from poweroffice.salary.problems import PayrollExportBlocked, Problem, export_link
from poweroffice.salary.run import payroll_export_run
from poweroffice.salary.selectors import (
    EXPORTABLE_STATUSES,
    Computation,
    LineDraft,
    salary_lines_compute,
    wage_code_mappings,
)
from poweroffice.salary.tasks import payroll_export_task

logger = logging.getLogger(__name__)


def external_import_reference(*, export_id: int, line: LineDraft) -> str:
    """bitnet-pay-<export>-<employee no>-<pay item code>-<year>: one per salary line."""
    code = "".join(ch if ch.isalnum() else "_" for ch in line.code)
    reference = f"bitnet-pay-{export_id}-{line.employee_number}-{code}-{line.year}"
    return f"{reference}-{line.suffix}" if line.suffix else reference


def _claimed_problem(claim: PayrollExportLog) -> Problem:
    log = claim.log
    return Problem(
        "claimed",
        f"Kjøreboken til {log.driver} for {log.period_start:%d.%m.%Y}–{log.period_end:%d.%m.%Y} "
        f"er allerede med i lønnseksport {claim.export_id}.",
        export_link(claim.export_id),
        f"Lønnseksport {claim.export_id}",
    )


def _refuse_unavailable(logs: list[DrivingLog], log_ids: list[int]) -> None:
    """Under the locks: every chosen logbook still exists, is free and is delivered."""
    if len(logs) != len(log_ids):
        raise PayrollExportBlocked(
            [Problem("claimed", "Noen av kjørebøkene finnes ikke lenger. Søk på nytt.")]
        )
    claims = list(
        PayrollExportLog.objects.filter(log__in=logs, active=True).select_related("log__driver")
    )
    if claims:
        raise PayrollExportBlocked([_claimed_problem(c) for c in claims])
    not_delivered = [log for log in logs if log.status not in EXPORTABLE_STATUSES]
    if not_delivered:
        raise PayrollExportBlocked(
            [
                Problem(
                    "status",
                    f"Kjøreboken til {log.driver} for {log.period_start:%d.%m.%Y}–"
                    f"{log.period_end:%d.%m.%Y} er {log.get_status_display().lower()} "
                    "og kan ikke eksporteres.",
                )
                for log in not_delivered
            ]
        )


def _line_rows(
    export: PayrollExport, computation: Computation, employees: dict[int, Employee]
) -> list[PayrollExportLine]:
    rows = []
    for position, line in enumerate(computation.lines, start=1):
        number = line.employee_number
        employee = employees.get(number or 0)
        if number is None or employee is None or not line.pay_item_id:
            # Changed between the check and the lock: let the user search again.
            raise PayrollExportBlocked(
                [Problem("changed", "Utvalget ble endret under kontrollen. Søk på nytt.")]
            )
        rows.append(
            PayrollExportLine(
                export=export,
                employee=line.employee,
                employee_number=number,
                po_employee_id=employee["Id"],
                kind=",".join(line.kinds),
                pay_item_code=line.code,
                pay_item_id=line.pay_item_id,
                processing_type=line.processing_type,
                year=line.year,
                quantity=line.quantity,
                rate=line.rate,
                amount=line.amount,
                comment=line.comment,
                external_import_reference=external_import_reference(export_id=export.pk, line=line),
                position=position,
            )
        )
    return rows


def _blocked_by_race(log_ids: list[int]) -> PayrollExportBlocked:
    """Another request claimed a logbook between our check and our insert."""
    claims = PayrollExportLog.objects.filter(log_id__in=log_ids, active=True).select_related(
        "log__driver"
    )
    return PayrollExportBlocked(
        [_claimed_problem(c) for c in claims]
        or [Problem("claimed", "Kjørebøkene ble nettopp eksportert av noen andre.")]
    )


def payroll_export_create(
    *,
    subgroup: Subgroup,
    log_ids: Iterable[int],
    date_from: dt.date,
    date_to: dt.date,
    user: User | None,
    submission_token: uuid.UUID | str | None = None,
    client: PowerOfficeClient | None = None,
) -> PayrollExport:
    """Validate, claim the logbooks and store the salary lines of a new export (status draft).

    The same ``submission_token`` returns the export it already made (a double POST of the
    wizard). A logbook already in an active export is refused: under row locks, and by the
    unique constraint on active claims should two requests race anyway.
    """
    log_ids = sorted({int(i) for i in log_ids})
    token = uuid.UUID(str(submission_token)) if submission_token else None
    if token is not None:
        existing = PayrollExport.objects.filter(submission_token=token, agency=subgroup.agency)
        if existing.exists():
            return existing.get()
    if not log_ids:
        raise PayrollExportBlocked([Problem("empty", "Velg minst én kjørebok.")])

    check = payroll_export_check(subgroup=subgroup, log_ids=log_ids, client=client)
    if not check.ok:
        raise PayrollExportBlocked(check.problems)

    try:
        with transaction.atomic():
            logs = list(
                DrivingLog.objects.select_for_update(of=("self",))
                .filter(
                    pk__in=log_ids,
                    agency_id=subgroup.agency_id,
                    driver__office__subgroup=subgroup,
                )
                .order_by("pk")
            )
            if token is not None:
                same = PayrollExport.objects.filter(submission_token=token).first()
                if same is not None:
                    return same
            _refuse_unavailable(logs, log_ids)
            # Recomputed under the locks, so the lines are exactly the claimed logbooks' trips.
            computation = salary_lines_compute(
                log_ids=log_ids, mappings=wage_code_mappings(subgroup=subgroup)
            )
            if not computation.lines:
                raise PayrollExportBlocked(
                    [Problem("empty", "De valgte kjørebøkene har ingen turer å eksportere.")]
                )
            export = PayrollExport.objects.create(
                agency_id=subgroup.agency_id,
                subgroup=subgroup,
                created_by=user,
                date_from=date_from,
                date_to=date_to,
                submission_token=token,
                lines_total=len(computation.lines),
                amount_total=computation.amount_total,
                requests=check.requests,
            )
            PayrollExportLog.objects.bulk_create(
                [PayrollExportLog(export=export, log=log) for log in logs]
            )
            PayrollExportLine.objects.bulk_create(_line_rows(export, computation, check.employees))
    except IntegrityError:
        if token is not None:
            same = PayrollExport.objects.filter(submission_token=token).first()
            if same is not None:
                return same
        raise _blocked_by_race(log_ids) from None
    logger.info("Payroll export %s created: %s lines", export.pk, export.lines_total)
    return export


def payroll_export_start(*, export: PayrollExport) -> bool:
    """Run a small export now; enqueue a large one (after commit). True when it ran here.

    "Small" is at most ``settings.PAYROLL_EXPORT_INLINE_MAX_LINES`` salary lines.
    """
    if export.status != PayrollExportStatus.DRAFT:
        return False
    if export.lines_total <= settings.PAYROLL_EXPORT_INLINE_MAX_LINES:
        payroll_export_run(export_id=export.pk)
        return True
    transaction.on_commit(lambda: payroll_export_task.delay(export.pk))
    return False
