"""python manage.py payroll_export --from YYYY-MM-DD --to YYYY-MM-DD [--subgroup ID]

Exports every delivered, not yet exported driving log in the range to PowerOffice Go payroll,
per subgroup, exactly as Lønn > Lønnseksport > Lag ny does. The guide's validations run first for
every subgroup; if any stops, nothing is exported, the messages are printed and the command exits
non-zero.

First, an export of those subgroups whose run died half-way (a killed run of this command, a
lost worker) is brought to an end, resumed or rolled back (poweroffice/salary/recovery.py), and
the command says what happened; logbooks held by an export are named with it, never skipped
without a word.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounting.money import kr
from bitnet.models import Subgroup
from payroll.models import PayrollExportLineState, PayrollExportStatus
from poweroffice.models import Connection
from poweroffice.salary.checks import payroll_export_check
from poweroffice.salary.create import payroll_export_create
from poweroffice.salary.problems import PayrollExportBlocked, Problem
from poweroffice.salary.recovery import BY_COMMAND, Recovery, payroll_exports_recover
from poweroffice.salary.run import payroll_export_run
from poweroffice.salary.selectors import (
    drivinglogs_exportable,
    payroll_exports_holding,
    payroll_exports_in_progress,
)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Ugyldig dato {value!r}: bruk ÅÅÅÅ-MM-DD.") from None


def _last(note: str) -> str:
    """The newest paragraph of an export's recovery note."""
    return note.rsplit("\n\n", 1)[-1]


class Command(BaseCommand):
    help = (
        "Eksporter kjørebøker i en periode til lønn i PowerOffice Go (alle eller én undergruppe)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="date_from", required=True, help="Fra dato, ÅÅÅÅ-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="Til dato, ÅÅÅÅ-MM-DD")
        parser.add_argument("--subgroup", type=int, help="Bare denne undergruppen (id)")

    def handle(self, *args: Any, **options: Any) -> None:
        date_from, date_to = _date(options["date_from"]), _date(options["date_to"])
        if date_from > date_to:
            raise CommandError("Til dato kan ikke være før fra dato.")
        subgroups = self._subgroups(options["subgroup"])
        failed = not self._recover(subgroups)
        plans, stopped = self._plan(subgroups, date_from, date_to)
        if stopped:
            raise CommandError("Eksporten er stoppet: rett feilene over og kjør på nytt.")
        for subgroup, log_ids in plans:
            if not self._export(subgroup, log_ids, date_from, date_to):
                failed = True
        if failed:
            raise CommandError("Eksporten feilet for minst én undergruppe.")

    def _subgroups(self, subgroup_id: int | None) -> list[Subgroup]:
        subgroups = Subgroup.objects.select_related("agency").order_by("agency__name", "name")
        if subgroup_id is not None:
            chosen = list(subgroups.filter(pk=subgroup_id))
            if not chosen:
                raise CommandError(f"Fant ingen undergruppe med id {subgroup_id}.")
            return chosen
        enabled = set(
            Connection.objects.filter(payroll_enabled=True).values_list("subgroup_id", flat=True)
        )
        return [s for s in subgroups if s.pk in enabled]

    def _recover(self, subgroups: list[Subgroup]) -> bool:
        """Bring the exports whose run died to an end, and say so; name the ones still running.
        False when one of them did not end exported."""
        ok = True
        for result in payroll_exports_recover(
            by=BY_COMMAND, subgroup_ids=[s.pk for s in subgroups]
        ):
            ok = self._recovered(result) and ok
        for subgroup in subgroups:
            for export in payroll_exports_in_progress(subgroup=subgroup):
                beat = export.heartbeat_at or export.created_at
                self.stdout.write(
                    f"{subgroup.name}: lønnseksport {export.pk} er i gang "
                    f"(«{export.get_status_display()}», siste livstegn "
                    f"{timezone.localtime(beat):%d.%m.%Y kl. %H:%M:%S}); kjørebøkene i den tas "
                    "ikke med nå."
                )
        return ok

    def _recovered(self, result: Recovery) -> bool:
        export = result.export
        name = export.subgroup.name
        if result.taken_over and export.recovery_note:
            self.stdout.write(f"{name}: lønnseksport {export.pk}: {_last(export.recovery_note)}")
        if result.exported:
            self.stdout.write(self.style.SUCCESS(f"{name}: {result.message}"))
            return True
        self.stderr.write(f"{name}: {result.message}")
        if export.error and export.error not in result.message:
            self.stderr.write(f"  {export.error}")
        return False

    def _held(self, subgroup: Subgroup, date_from: dt.date, date_to: dt.date) -> str:
        """Which exports hold logbooks of the range already (empty when none)."""
        held = payroll_exports_holding(subgroup=subgroup, date_from=date_from, date_to=date_to)
        return "; ".join(
            f"{n} {'kjørebok' if n == 1 else 'kjørebøker'} i perioden er allerede med i "
            f"lønnseksport {export.pk} ({export.get_status_display().lower()})"
            for export, n in held
        )

    def _stopped(self, subgroup: Subgroup, problems: Iterable[Problem]) -> None:
        self.stderr.write(f"{subgroup.name}: eksporten er stoppet.")
        for problem in problems:
            self.stderr.write(f"  - {problem.as_text()}")

    def _plan(
        self, subgroups: list[Subgroup], date_from: dt.date, date_to: dt.date
    ) -> tuple[list[tuple[Subgroup, list[int]]], bool]:
        """The guide's validations for every subgroup first: (what to export, any stopped)."""
        plans = []
        stopped = False
        for subgroup in subgroups:
            log_ids = list(
                drivinglogs_exportable(
                    subgroup=subgroup, date_from=date_from, date_to=date_to
                ).values_list("pk", flat=True)
            )
            held = self._held(subgroup, date_from, date_to)
            if not log_ids:
                self.stdout.write(
                    f"{subgroup.name}: ingen kjørebøker å eksportere"
                    + (f" ({held})." if held else ".")
                )
                continue
            if held:
                self.stdout.write(f"{subgroup.name}: {held[0].upper()}{held[1:]}.")
            check = payroll_export_check(subgroup=subgroup, log_ids=log_ids)
            if check.problems:
                stopped = True
                self._stopped(subgroup, check.problems)
                continue
            plans.append((subgroup, log_ids))
            self.stdout.write(
                f"{subgroup.name}: {len(log_ids)} kjørebøker, {len(check.computation.lines)} "
                f"lønnslinjer, kr {kr(check.computation.amount_total)}."
            )
        return plans, stopped

    def _export(
        self, subgroup: Subgroup, log_ids: list[int], date_from: dt.date, date_to: dt.date
    ) -> bool:
        """Create and run one subgroup's export; True when it is exported."""
        try:
            export = payroll_export_create(
                subgroup=subgroup,
                log_ids=log_ids,
                date_from=date_from,
                date_to=date_to,
                user=None,
            )
        except PayrollExportBlocked as blocked:
            self._stopped(subgroup, blocked.problems)
            return False
        export = payroll_export_run(export_id=export.pk)
        if export.status == PayrollExportStatus.EXPORTED:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{subgroup.name}: lønnseksport {export.pk} eksportert, "
                    f"{export.lines_total} lønnslinjer, kr {kr(export.amount_total)}."
                )
            )
            return True
        self.stderr.write(
            f"{subgroup.name}: lønnseksport {export.pk} "
            f"{export.get_status_display().lower()}. {export.error}"
        )
        stuck = export.lines.filter(state=PayrollExportLineState.DELETE_FAILED)
        for line in stuck.select_related("employee"):
            self.stderr.write(
                f"  - ligger fortsatt i PowerOffice Go: {line.employee} (ansattnr. "
                f"{line.employee_number}), lønnsart {line.pay_item_code}, "
                f"kr {kr(line.amount)}: {line.error}"
            )
        return False
