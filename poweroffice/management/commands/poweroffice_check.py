"""python manage.py poweroffice_check --subgroup N: «Test tilkoblingen» from the command line.

Says whether the subgroup's key works, which PowerOffice client it opens, and whether the
client has the modules and the integration the privileges the subgroup's options need. Exits
with an error when something is missing.
"""

from django.core.management.base import BaseCommand, CommandError

from poweroffice.datadeling.connection_check import connection_check
from poweroffice.datadeling.selectors import connection_get


class Command(BaseCommand):
    help = (
        "Tester PowerOffice-tilkoblingen for en undergruppe (nøkkel, klient, moduler, rettigheter)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--subgroup", type=int, required=True, help="undergruppens id")

    def handle(self, *args, **options) -> None:
        connection = connection_get(subgroup_id=options["subgroup"])
        if connection is None:
            raise CommandError(
                f"Undergruppe {options['subgroup']} har ingen PowerOffice-tilkobling. Legg inn "
                "klientnøkkelen under Administrasjon > Datadeling."
            )
        report = connection_check(connection=connection)
        for line in report.lines:
            self.stdout.write(("OK    " if line.ok else "FEIL  ") + line.message)
        if not report.ok:
            raise CommandError(f"Tilkoblingen for {connection.subgroup.name} har mangler.")
        self.stdout.write(f"Tilkoblingen for {connection.subgroup.name} er i orden.")
