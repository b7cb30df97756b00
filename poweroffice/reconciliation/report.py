"""A saved reconciliation as the accountant takes it away: a CSV of the differences (for a
spreadsheet: semicolons, decimal comma, UTF-8 BOM, formula cells neutralised) and an A4 PDF
(WeasyPrint, as accounting/pdf.py renders)."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.template.loader import render_to_string

from accounting.money import kr
from poweroffice.models import Reconciliation

CSV_HEADER = (
    "Type",
    "Fakturanummer",
    "Gjelder",
    "Bitnet",
    "PowerOffice",
    "Differanse",
    "Forklares av fakturaer",
    "Hva du gjør",
)
# A cell a spreadsheet would read as a formula starts with one of these (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def nok(value: Any) -> str:
    """A stored amount ("1234.50") as Norwegian money ("1 234,50"); other text as it is."""
    if value in (None, ""):
        return ""
    try:
        return kr(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


_PLAIN_NUMBER = re.compile(r"-?\d[\d ]*(,\d+)?")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def reconciliation_csv(*, run: Reconciliation) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for d in run.differences:
        writer.writerow(
            [
                _cell(d["kind_label"]),
                _cell(d.get("invoice_no") or ""),
                _cell(d["what"]),
                _cell(d["bitnet"]),
                _cell(d["poweroffice"]),
                _cell(nok(d.get("difference"))),
                _cell(", ".join(str(n) for n in d.get("invoices") or [])),
                _cell(d["action"]),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def reconciliation_context(*, run: Reconciliation) -> dict[str, Any]:
    """What the page and the PDF show of a saved result: differences grouped by kind, and the
    totals tables with their amounts formatted."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for d in run.differences:
        groups.setdefault(d["kind_label"], []).append(
            {**d, "difference_shown": nok(d["difference"])}
        )
    totals = run.summary.get("totals") or {}

    def table(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return [
            {
                "key": row[key],
                "bitnet": {k: nok(v) for k, v in row["bitnet"].items()},
                "poweroffice": {k: nok(v) for k, v in row["poweroffice"].items()},
                "difference": {k: nok(v) for k, v in row["difference"].items()},
                "differs": any(Decimal(v) != 0 for v in row["difference"].values()),
            }
            for row in rows
        ]

    return {
        "run": run,
        "groups": list(groups.items()),
        "by_vat_code": table(totals.get("by_vat_code") or [], "vat_code"),
        "by_account": table(totals.get("by_account") or [], "account"),
        "total": {
            side: {k: nok(v) for k, v in (totals.get(side) or {}).items()}
            for side in ("bitnet", "poweroffice", "difference")
        },
        "payments": run.summary.get("payments") or {},
        "invoices": run.summary.get("invoices") or {},
    }


def reconciliation_pdf(*, run: Reconciliation) -> bytes:
    from weasyprint import HTML

    html = render_to_string("poweroffice/reconciliation/pdf.html", reconciliation_context(run=run))
    return bytes(HTML(string=html).write_pdf())
