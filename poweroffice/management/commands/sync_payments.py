"""python manage.py sync_payments [--full] [--subgroup ID]: the payment check, now.

Prints one line per subgroup (checked, changed, requests, error) and exits non-zero when any
subgroup failed.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bitnet.models import Subgroup
from poweroffice.payments.selectors import payments_connected_subgroups
from poweroffice.payments.services import payments_sync


class Command(BaseCommand):
    help = "Check exported invoices for payments in PowerOffice Go (incremental, or --full)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--full",
            action="store_true",
            help="Full reconciliation of every exported, unpaid invoice (not only changes).",
        )
        parser.add_argument(
            "--subgroup", type=int, metavar="ID", help="Only this subgroup (its id)."
        )

    def handle(
        self, *args: Any, full: bool = False, subgroup: int | None = None, **options: Any
    ) -> None:
        if subgroup is not None:
            subgroups = list(Subgroup.objects.filter(pk=subgroup).select_related("agency"))
            if not subgroups:
                raise CommandError(f"Subgroup {subgroup} does not exist.")
        else:
            subgroups = list(payments_connected_subgroups())
        if not subgroups:
            self.stdout.write("No subgroup is connected to PowerOffice: nothing to check.")
            return
        failed = 0
        for sg in subgroups:
            run = payments_sync(subgroup=sg, full=full)
            if run.success is False:
                failed += 1
                outcome = self.style.ERROR(f"FAILED: {run.error}")
            elif run.success is None:
                outcome = self.style.WARNING(f"SKIPPED: {run.error}")
            else:
                outcome = self.style.SUCCESS("ok") + (f" ({run.error})" if run.error else "")
            self.stdout.write(
                f"{sg.agency.name} / {sg.name} (id {sg.pk}), {run.get_mode_display().lower()}: "
                f"checked {run.checked}, changed {run.changed}, requests {run.requests}, "
                f"errors {1 if run.success is False else 0} - {outcome}"
            )
        self.stdout.write(f"{len(subgroups)} subgroup(s), {failed} failed.")
        if failed:
            # CommandError: "manage.py" prints it and exits with returncode; call_command raises.
            raise CommandError(f"{failed} of {len(subgroups)} subgroup(s) failed.", returncode=1)
