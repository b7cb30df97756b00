"""python manage.py reconcile --subgroup N --from YYYY-MM-DD --to YYYY-MM-DD [--json]

Reconciles one subgroup's invoices of the period against PowerOffice Go, exactly as Økonomi >
Avstemming does, saves the result and prints a summary (or the saved result as JSON). Exit
status: 0 reconciled, 1 differences (or PowerOffice could not be read), 2 bad input.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounting.money import kr
from bitnet.models import Subgroup
from poweroffice.models import Reconciliation
from poweroffice.reconciliation.compare import KIND_LABELS
from poweroffice.reconciliation.services import reconcile


def _bad(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _date(value: str | None, name: str) -> dt.date:
    if not value:
        raise _bad(f"{name} mangler: bruk ÅÅÅÅ-MM-DD.")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _bad(f"Ugyldig dato {value!r} for {name}: bruk ÅÅÅÅ-MM-DD.") from None


class Command(BaseCommand):
    help = "Avstem en undergruppes fakturaer i en periode mot PowerOffice Go."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subgroup", help="Undergruppens id")
        parser.add_argument("--from", dest="date_from", help="Fra dato, ÅÅÅÅ-MM-DD")
        parser.add_argument("--to", dest="date_to", help="Til dato, ÅÅÅÅ-MM-DD")
        parser.add_argument("--json", action="store_true", help="Skriv resultatet som JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        subgroup = self._subgroup(options["subgroup"])
        date_from = _date(options["date_from"], "--from")
        date_to = _date(options["date_to"], "--to")
        if date_to < date_from:
            raise _bad("Til dato (--to) kan ikke være før fra dato (--from).")
        run = reconcile(subgroup=subgroup, period_from=date_from, period_to=date_to)
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(run), ensure_ascii=False, indent=2))
        else:
            self._print(run)
        if run.state == Reconciliation.State.FAILED:
            raise CommandError(f"Avstemmingen feilet: {run.error}", returncode=1)
        if run.state != Reconciliation.State.RECONCILED:
            raise CommandError(f"Ikke avstemt: {len(run.differences)} avvik.", returncode=1)

    def _subgroup(self, value: str | None) -> Subgroup:
        if not value:
            raise _bad("--subgroup mangler: oppgi undergruppens id.")
        if not value.isdigit():
            raise _bad(f"Ugyldig undergruppe {value!r}: oppgi undergruppens id (et tall).")
        subgroup = Subgroup.objects.filter(pk=int(value)).first()
        if subgroup is None:
            raise _bad(f"Undergruppe {value} finnes ikke.")
        return subgroup

    def _print(self, run: Reconciliation) -> None:
        s = run.summary
        out = self.stdout
        out.write(
            f"Avstemming {run.subgroup.name} {run.period_from:%d.%m.%Y}–{run.period_to:%d.%m.%Y}"
        )
        if run.state == Reconciliation.State.FAILED:
            return
        invoices = s.get("invoices", {})
        out.write(
            f"Fakturaer: {invoices.get('bitnet', 0)} i Bitnet, {invoices.get('poweroffice', 0)} i "
            f"PowerOffice, {invoices.get('matched', 0)} like"
        )
        totals = s.get("totals", {})
        for side, label in (("bitnet", "Bitnet"), ("poweroffice", "PowerOffice")):
            t = totals.get(side, {})
            out.write(
                f"{label}: netto {kr(_d(t, 'net'))}, mva {kr(_d(t, 'vat'))}, "
                f"brutto {kr(_d(t, 'gross'))}"
            )
        out.write(f"Forespørsler til PowerOffice: {run.requests}")
        if run.state == Reconciliation.State.RECONCILED:
            out.write("Avstemt: ingen avvik.")
            return
        for kind, count in s.get("by_kind", {}).items():
            if count:
                out.write(f"{KIND_LABELS[kind]}: {count}")
        for d in run.differences:
            number = d["invoice_no"] or ", ".join(str(n) for n in d["invoices"])
            out.write(
                f"  {number or '-'} {d['what']}: Bitnet {d['bitnet']}, PowerOffice "
                f"{d['poweroffice']}. {d['action']}"
            )


def _d(values: dict[str, str], key: str) -> Any:
    from decimal import Decimal

    return Decimal(values.get(key) or "0")


def _as_json(run: Reconciliation) -> dict[str, Any]:
    return {
        "id": run.pk,
        "subgroup": run.subgroup_id,
        "from": run.period_from.isoformat(),
        "to": run.period_to.isoformat(),
        "state": run.state,
        "error": run.error,
        "summary": run.summary,
        "differences": run.differences,
    }
