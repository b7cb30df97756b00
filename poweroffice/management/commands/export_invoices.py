"""python manage.py export_invoices [--subgroup ID] [--invoice N]: the same export as
"Eksporter alle", from the command line, with a summary."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounting.models import ExportStatus, Invoice
from poweroffice.invoices.batch import ExportSummary, invoices_export
from poweroffice.invoices.export import CLAIMABLE
from poweroffice.models import AttemptTrigger


class Command(BaseCommand):
    help = "Eksporterer ikke eksporterte fakturaer til PowerOffice og skriver et sammendrag."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subgroup", type=int, help="Bare denne undergruppen (id).")
        parser.add_argument(
            "--invoice", type=int, help="Bare fakturaen med dette nummeret (fakturanummer)."
        )
        parser.add_argument(
            "--include-hidden",
            action="store_true",
            help="Ta også med fakturaer som er skjult fra listen.",
        )

    def handle(
        self,
        *args: Any,
        subgroup: int | None = None,
        invoice: int | None = None,
        include_hidden: bool = False,
        **options: Any,
    ) -> None:
        invoices = Invoice.objects.filter(
            subgroup__poweroffice_connection__enabled=True, export_status__in=CLAIMABLE
        )
        if subgroup is not None:
            invoices = invoices.filter(subgroup_id=subgroup)
        if invoice is not None:
            pk = self._invoice_pk(number=invoice, subgroup=subgroup)
            if pk is None:
                self.stdout.write(f"Faktura {invoice} er allerede eksportert.")
                return
            invoices = invoices.filter(pk=pk)
        elif not include_hidden:
            invoices = invoices.filter(export_hidden=False)
        ids = list(invoices.order_by("subgroup_id", "number").values_list("pk", flat=True))
        if not ids:
            self.stdout.write("Ingen fakturaer å eksportere.")
            return
        self.stdout.write(f"Eksporterer {len(ids)} fakturaer …")
        summary = invoices_export(invoice_ids=ids, trigger=AttemptTrigger.COMMAND)
        self._report(summary)
        if summary.failed:
            raise SystemExit(1)

    def _invoice_pk(self, *, number: int, subgroup: int | None) -> int | None:
        """The id of invoice ``number``; None when it is exported already."""
        matches = Invoice.objects.filter(number=number)
        if subgroup is not None:
            matches = matches.filter(subgroup_id=subgroup)
        found = list(matches.values_list("pk", "subgroup_id", "export_status"))
        if not found:
            raise CommandError(f"Fant ingen faktura med nummer {number}.")
        if len(found) > 1:
            raise CommandError(
                f"Fakturanummer {number} finnes i flere undergrupper; angi --subgroup."
            )
        pk, _, status = found[0]
        return None if status == ExportStatus.EXPORTED else pk

    def _report(self, summary: ExportSummary) -> None:
        self.stdout.write(self.style.SUCCESS(f"Eksportert: {len(summary.exported)}"))
        if summary.failed:
            self.stdout.write(self.style.ERROR(f"Feilet: {len(summary.failed)}"))
            for result in summary.failed:
                self.stdout.write(f"  Faktura {result.number}: {result.message}")
        else:
            self.stdout.write("Feilet: 0")
        self.stdout.write(f"Hoppet over: {len(summary.skipped)}")
        for result in summary.skipped:
            self.stdout.write(f"  {result.message}")
        self.stdout.write(f"Kall til PowerOffice: {summary.requests}")
