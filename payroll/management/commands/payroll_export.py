"""python manage.py payroll_export --from YYYY-MM-DD --to YYYY-MM-DD [--subgroup ID]

Exports every delivered, not yet exported driving log in the range to PowerOffice Go payroll,
per subgroup, exactly as Lønn > Lønnseksport > Lag ny does. The guide's validations run first for
every subgroup; if any stops, nothing is exported, the messages are printed and the command exits
non-zero.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from bitnet.models import Subgroup
from payroll import reimbursements as selectors
from poweroffice.salary import services
from payroll.models import PayrollExportStatus
from poweroffice.models import Connection


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Ugyldig dato {value!r}: bruk ÅÅÅÅ-MM-DD.") from None


class Command(BaseCommand):
    help = (
        "Eksporter kjørebøker i en periode til lønn i PowerOffice Go (alle eller én undergruppe)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", required=True, help="Fra dato, ÅÅÅÅ-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="Til dato, ÅÅÅÅ-MM-DD")
        parser.add_argument("--subgroup", type=int, help="Bare denne undergruppen (id)")

    def handle(self, *args, **options):
        date_from, date_to = _date(options["date_from"]), _date(options["date_to"])
        if date_from > date_to:
            raise CommandError("Til dato kan ikke være før fra dato.")
        subgroups = Subgroup.objects.select_related("agency").order_by("agency__name", "name")
        if options["subgroup"] is not None:
            subgroups = list(subgroups.filter(pk=options["subgroup"]))
            if not subgroups:
                raise CommandError(f"Fant ingen undergruppe med id {options['subgroup']}.")
        else:
            enabled = set(
                Connection.objects.filter(payroll_enabled=True).values_list(
                    "subgroup_id", flat=True
                )
            )
            subgroups = [s for s in subgroups if s.pk in enabled]

        plans = []
        stopped = False
        for subgroup in subgroups:
            log_ids = list(
                selectors.drivinglogs_exportable(
                    subgroup=subgroup, date_from=date_from, date_to=date_to
                ).values_list("pk", flat=True)
            )
            if not log_ids:
                self.stdout.write(f"{subgroup.name}: ingen kjørebøker å eksportere.")
                continue
            check = services.payroll_export_check(subgroup=subgroup, log_ids=log_ids)
            if check.problems:
                stopped = True
                self.stderr.write(f"{subgroup.name}: eksporten er stoppet.")
                for problem in check.problems:
                    self.stderr.write(f"  - {problem.as_text()}")
                continue
            plans.append((subgroup, log_ids, check))
            self.stdout.write(
                f"{subgroup.name}: {len(log_ids)} kjørebøker, {len(check.computation.lines)} "
                f"lønnslinjer, kr {services.kr(check.computation.amount_total)}."
            )
        if stopped:
            raise CommandError("Eksporten er stoppet: rett feilene over og kjør på nytt.")

        failed = False
        for subgroup, log_ids, _check in plans:
            try:
                export = services.payroll_export_create(
                    subgroup=subgroup,
                    log_ids=log_ids,
                    date_from=date_from,
                    date_to=date_to,
                    user=None,
                )
            except services.PayrollExportBlocked as blocked:
                failed = True
                self.stderr.write(f"{subgroup.name}: eksporten er stoppet.")
                for problem in blocked.problems:
                    self.stderr.write(f"  - {problem.as_text()}")
                continue
            export = services.payroll_export_run(export_id=export.pk)
            if export.status == PayrollExportStatus.EXPORTED:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{subgroup.name}: lønnseksport {export.pk} eksportert, "
                        f"{export.lines_total} lønnslinjer, kr {services.kr(export.amount_total)}."
                    )
                )
                continue
            failed = True
            self.stderr.write(
                f"{subgroup.name}: lønnseksport {export.pk} "
                f"{export.get_status_display().lower()}. {export.error}"
            )
            for line in export.lines.filter(state="delete_failed").select_related("employee"):
                self.stderr.write(
                    f"  - ligger fortsatt i PowerOffice Go: {line.employee} (ansattnr. "
                    f"{line.employee_number}), lønnsart {line.pay_item_code}, "
                    f"kr {services.kr(line.amount)}: {line.error}"
                )
        if failed:
            raise CommandError("Eksporten feilet for minst én undergruppe.")
