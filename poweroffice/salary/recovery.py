"""Recovering an export whose run died half-way (a worker or a command killed, a machine lost).

A run beats after every salary line (poweroffice/salary/bookkeeping.py). An export that should
be worked on (draft, running, rolling back) and whose heartbeat is older than
``settings.PAYROLL_EXPORT_STALE_AFTER`` is taken over, by the sweeper every five minutes
(poweroffice/salary/tasks.py), by ``payroll_export`` run again, by a redelivered task, or by
"Gjenoppta nå" on the export's page:

- the lines PowerOffice created whose id we never stored (the run died while PowerOffice
  answered) are looked up by their ExternalImportReference and adopted;
- a running export is resumed from where it stopped: all its lines end up in PowerOffice Go,
  or, should one fail now, none (the usual rollback); a run that had already failed a line is
  rolled back;
- a rollback that stopped is finished; a draft whose start was lost is started.

What happened is written on the export (``recovery_note``), for its page and the command.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.utils import timezone

from payroll.models import PayrollExport, PayrollExportLineState, PayrollExportStatus
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.errors import PowerOfficeError
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected
from poweroffice.messages import Context, error_message
from poweroffice.salary.bookkeeping import (
    export_client,
    export_note,
    export_take_over,
    requests_counted,
)
from poweroffice.salary.rollback import payroll_export_rollback
from poweroffice.salary.run import export_lines_create, payroll_export_run
from poweroffice.salary.selectors import export_is_stale, stale_filter

logger = logging.getLogger(__name__)

# Who took an interrupted export over, as the note names them.
BY_SWEEPER = "den automatiske kontrollen"
BY_COMMAND = "kommandolinjen (payroll_export)"
BY_TASK = "bakgrunnsjobben"

_Status = PayrollExportStatus
_State = PayrollExportLineState


@dataclass
class Recovery:
    """The outcome of one attempt to recover an export."""

    export: PayrollExport
    taken_over: bool
    message: str

    @property
    def exported(self) -> bool:
        return self.export.status == _Status.EXPORTED


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "ukjent"
    return timezone.localtime(moment).strftime("%d.%m.%Y kl. %H:%M:%S")


def _lines(n: int) -> str:
    return f"{n} lønnslinje" if n == 1 else f"{n} lønnslinjer"


def _adopt(export: PayrollExport, client: PowerOfficeClient) -> int:
    """Store the ids of lines PowerOffice has but we never heard of (the run died while
    PowerOffice answered). One pass over GET /SalaryLines; raises PowerOfficeError."""
    orphans = list(
        export.lines.filter(
            po_salary_line_id__isnull=True, state__in=[_State.PENDING, _State.FAILED]
        )
    )
    if not orphans:
        return 0
    found = client.find_salary_lines(
        references=[line.external_import_reference for line in orphans]
    )
    adopted = 0
    for line in orphans:
        remote = found.get(line.external_import_reference)
        if remote is None:
            continue
        line.po_salary_line_id = int(remote["Id"])
        line.state = _State.CREATED
        line.error = ""
        line.save(update_fields=["po_salary_line_id", "state", "error"])
        adopted += 1
    PayrollExport.objects.filter(pk=export.pk).update(
        lines_created=export.lines.filter(state=_State.CREATED).count()
    )
    return adopted


def _interruption(export: PayrollExport, *, adopted: int, by: str, rolls_back: bool) -> str:
    """What stopped and what is done about it, in Norwegian."""
    beat = _when(export.heartbeat_at)
    now = _when(timezone.now())
    created = export.lines.filter(state=_State.CREATED).count()
    found = (
        f" {_lines(adopted).capitalize()} som PowerOffice Go hadde opprettet uten at id-en ble "
        "lagret, ble funnet igjen på ExternalImportReference."
        if adopted
        else ""
    )
    if export.status == _Status.ROLLING_BACK:
        return (
            f"Tilbakerullingen stoppet uten å bli ferdig (siste livstegn {beat}); "
            f"{_lines(export.lines_deleted)} var slettet. Fullført {now} av {by}.{found}"
        )
    stopped = (
        f"Eksporten stoppet uten å bli ferdig etter {created - adopted} av "
        f"{_lines(export.lines_total)} (siste livstegn {beat})."
    )
    if rolls_back:
        return (
            f"{stopped} En lønnslinje hadde allerede feilet, så eksporten ble rullet tilbake "
            f"{now} av {by}.{found}"
        )
    return f"{stopped} Gjenopptatt {now} av {by}.{found}"


def recovery_outcome(export: PayrollExport) -> str:
    """Where an export ended, in one Norwegian sentence (for the command and the messages)."""
    total = _lines(export.lines_total)
    if export.status == _Status.EXPORTED:
        return f"Lønnseksport {export.pk} er eksportert: alle {total} ligger i PowerOffice Go."
    if export.status == _Status.ROLLED_BACK:
        return (
            f"Lønnseksport {export.pk} er rullet tilbake: ingen av de {total} ligger i "
            f"PowerOffice Go. {export.error}"
        ).strip()
    if export.status == _Status.FAILED:
        return (
            f"Lønnseksport {export.pk} feilet: ingen lønnslinjer ligger i PowerOffice Go. "
            f"{export.error}"
        ).strip()
    if export.status == _Status.ROLLBACK_INCOMPLETE:
        left = export.lines.filter(state=_State.DELETE_FAILED).count()
        return (
            f"Lønnseksport {export.pk}: tilbakerullingen er ufullstendig, {_lines(left)} ligger "
            "fortsatt i PowerOffice Go og kunne ikke slettes."
        )
    return (
        f"Lønnseksport {export.pk} er i gang («{export.get_status_display()}», siste livstegn "
        f"{_when(export.heartbeat_at or export.created_at)})."
    )


def _give_back(export: PayrollExport, token: uuid.UUID, reason: str) -> None:
    """Recovery could not proceed now: leave the export as it was (stale, so the next sweep
    tries again), with the reason on a running export (a rollback keeps its failure's)."""
    mine = PayrollExport.objects.filter(pk=export.pk, run_token=token)
    mine.filter(status=_Status.RUNNING).update(error=reason)
    mine.update(heartbeat_at=export.heartbeat_at, run_token=None)


def _proceed(export: PayrollExport, client: PowerOfficeClient, token: uuid.UUID, by: str) -> None:
    """Adopt, note, then resume or roll back (under the claim ``token``)."""
    try:
        adopted = _adopt(export, client)
    except PowerOfficeError as exc:
        detail = error_message(exc, context=Context.EXPORT)
        reason = (
            "Eksporten stoppet uten å bli ferdig og kunne ikke gjenopptas nå: PowerOffice Go "
            f"svarte ikke på oppslaget av lønnslinjene ({detail}). Det prøves igjen automatisk."
        )
        logger.warning("Payroll export %s: recovery look-up failed: %s", export.pk, exc)
        _give_back(export, token, reason)
        return
    failed_before = export.lines.filter(state=_State.FAILED).exists()
    rolls_back = export.status == _Status.ROLLING_BACK or failed_before
    export_note(export.pk, _interruption(export, adopted=adopted, by=by, rolls_back=rolls_back))
    if rolls_back:
        if export.status != _Status.ROLLING_BACK:
            PayrollExport.objects.filter(pk=export.pk, run_token=token).update(
                status=_Status.ROLLING_BACK
            )
            export.status = _Status.ROLLING_BACK
        payroll_export_rollback(export=export, client=client, token=token)
    else:
        export_lines_create(export, client, token)


def payroll_export_recover(
    *, export_id: int, by: str, client: PowerOfficeClient | None = None
) -> Recovery:
    """Take over an export whose run died, and bring it to an end: all of its lines in
    PowerOffice Go, or none. An export whose run is alive, or that has finished, is left alone
    (``taken_over`` False, and the message says why)."""
    export = PayrollExport.objects.select_related("subgroup").get(pk=export_id)
    if not export_is_stale(export):
        return Recovery(export, False, recovery_outcome(export))
    if export.status == _Status.DRAFT:
        note = (
            f"Eksporten ble opprettet {_when(export.created_at)}, men aldri startet. "
            f"Startet {_when(timezone.now())} av {by}."
        )
        export = payroll_export_run(export_id=export_id, client=client, note=note)
        return Recovery(export, note in export.recovery_note, recovery_outcome(export))
    token = export_take_over(export_id=export_id, status=export.status)
    if token is None:
        export.refresh_from_db()
        return Recovery(export, False, recovery_outcome(export))
    own = client is None
    try:
        if client is None:
            client = export_client(export)
    except (NotConnected, SecretUnreadable) as exc:
        _give_back(export, token, f"Eksporten stoppet og kan ikke gjenopptas: {exc}")
        export.refresh_from_db()
        return Recovery(export, False, f"Lønnseksport {export.pk} kan ikke gjenopptas: {exc}")
    with requests_counted(export, client, close=own):
        _proceed(export, client, token, by)
    export.refresh_from_db()
    if export.run_token is None:  # given back: PowerOffice could not be asked
        return Recovery(export, False, f"Lønnseksport {export.pk} kan ikke gjenopptas nå.")
    return Recovery(export, True, recovery_outcome(export))


def payroll_export_proceed(*, export_id: int, by: str) -> PayrollExport:
    """Run a draft export, or recover one whose run died (a redelivered task)."""
    export = payroll_export_run(export_id=export_id)
    if export.status != _Status.DRAFT and export_is_stale(export):
        export = payroll_export_recover(export_id=export_id, by=by).export
    return export


def payroll_exports_recover(
    *, by: str, subgroup_ids: list[int] | None = None, limit: int = 50
) -> list[Recovery]:
    """Recover every export whose run died (of these subgroups), oldest first."""
    stale = PayrollExport.objects.filter(stale_filter())
    if subgroup_ids is not None:
        stale = stale.filter(subgroup_id__in=subgroup_ids)
    ids = list(stale.order_by("created_at", "id").values_list("pk", flat=True)[:limit])
    results = []
    for export_id in ids:
        try:
            results.append(payroll_export_recover(export_id=export_id, by=by))
        except Exception:
            # One export's trouble must not keep the others half-done; it stays stale and
            # is tried again on the next sweep.
            logger.exception("Payroll export %s: recovery failed", export_id)
    return results
