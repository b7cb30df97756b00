"""python manage.py poweroffice_check --subgroup N [--post-test-voucher]: «Test tilkoblingen» from
the command line.

Says whether the subgroup's key works, which PowerOffice client it opens, and whether the
client has the modules and the integration the privileges the subgroup's options need. With
``--post-test-voucher`` (PowerOffice's demo environment or the sandbox only, never production)
it then posts a small outgoing invoice voucher and reverses it. Exits with an error when
something is missing.
"""

from django.core.management.base import BaseCommand, CommandError

from poweroffice.datadeling.connection_check import connection_check
from poweroffice.datadeling.selectors import connection_get
from poweroffice.datadeling.trial_voucher import (
    PRODUCTION_REFUSED,
    trial_voucher_allowed,
    trial_voucher_run,
)


class Command(BaseCommand):
    help = (
        "Tester PowerOffice-tilkoblingen for en undergruppe (nøkkel, klient, moduler, rettigheter)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--subgroup", type=int, required=True, help="undergruppens id")
        parser.add_argument(
            "--post-test-voucher",
            action="store_true",
            help=(
                "bokfør et prøvebilag på kr 1 og reverser det (bare i PowerOffice sitt "
                "demomiljø eller sandkassen)"
            ),
        )

    def handle(self, *args, **options) -> None:
        trial = options["post_test_voucher"]
        if trial and not trial_voucher_allowed():
            raise CommandError(PRODUCTION_REFUSED)  # before any request is sent
        connection = connection_get(subgroup_id=options["subgroup"])
        if connection is None:
            raise CommandError(
                f"Undergruppe {options['subgroup']} har ingen PowerOffice-tilkobling. Legg inn "
                "klientnøkkelen under Administrasjon > Datadeling."
            )
        report = connection_check(connection=connection)
        if trial:
            if report.ok:
                trial_voucher_run(connection=connection, report=report)
            else:
                report.add(False, "Prøvebilaget ble ikke sendt: rett feilene over først.")
        for line in report.lines:
            self.stdout.write(("OK    " if line.ok else "FEIL  ") + line.message)
        if not report.ok:
            raise CommandError(f"Tilkoblingen for {connection.subgroup.name} har mangler.")
        self.stdout.write(f"Tilkoblingen for {connection.subgroup.name} er i orden.")
