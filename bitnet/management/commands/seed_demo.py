"""python manage.py seed_demo: the demo agency, connected to the local PowerOffice sandbox."""

from django.core.management.base import BaseCommand

from bitnet.demo import DEMO_PASSWORD, USERS, demo_seed
from poweroffice.demo import demo_connect
from poweroffice.salary.demo import demo_payroll


class Command(BaseCommand):
    help = "Lager demo-etaten med brukere, kontoplan, varer, kunder, fakturaer og kjørebøker."

    def add_arguments(self, parser):
        parser.add_argument("--invoices", type=int, default=200, help="Antall fakturaer (200).")
        parser.add_argument(
            "--no-poweroffice",
            action="store_true",
            help="Ikke koble demo-undergruppene til PowerOffice-sandkassen.",
        )

    def handle(self, *args, invoices: int, no_poweroffice: bool, **options):
        if invoices < 0:
            self.stderr.write("--invoices kan ikke være negativt.")
            raise SystemExit(2)
        summary = demo_seed(invoices=invoices)
        agency = summary.agency
        self.stdout.write(
            f"Demo-etat: {agency.name} ({summary.invoices_created} nye fakturaer, "
            f"{summary.logs_created} nye kjørebøker)."
        )
        if not no_poweroffice:
            self._connect(agency)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo-brukere (passord «{DEMO_PASSWORD}»):"))
        for spec in USERS[:4]:
            self.stdout.write(f"  {spec.username:<10} {spec.role}")

    def _connect(self, agency) -> None:
        """Connect the demo to the PowerOffice sandbox and set up payroll there."""
        for label, step in (("poweroffice.demo", demo_connect), ("payroll.demo", demo_payroll)):
            try:
                message = step(agency=agency)
            except Exception as exc:  # the sandbox may not be running: say so, keep the data
                self.stderr.write(
                    self.style.WARNING(
                        f"Kunne ikke sette opp PowerOffice-demoen ({label}): {exc}. "
                        "Start sandkassen (python manage.py poweroffice_sandbox) og kjør "
                        "seed_demo på nytt."
                    )
                )
                continue
            if message:
                self.stdout.write(str(message))
