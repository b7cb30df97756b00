"""What the chart check reports and how it words it.

A :class:`Finding` is one difference a person can act on ("Valider kontoplan" lists them). The
helpers below write numbers, rates, dates and lists the Norwegian way, so that every message of
the feature (the checklist's too) reads alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

OK = "ok"
ERROR = "error"
WARNING = "warning"
_SEVERITY_ORDER = {ERROR: 0, WARNING: 1, OK: 2}

PO_CHART = "Innstillinger > Kontoplan i PowerOffice"

# How many numbers a message lists before it says "og N til".
MAX_LISTED = 10

PERCENT = Decimal("0.01")


@dataclass
class Finding:
    """One difference a person can act on."""

    severity: str  # ERROR or WARNING
    kind: str  # machine-readable, e.g. "account_missing"
    subject: str  # "Konto 3020", "MVA-kode 33", "Varer på konto 3000"
    message: str  # what differs
    action: str  # what to change, and where
    bitnet: str = ""  # our side
    poweroffice: str = ""  # PowerOffice's side
    link: str = ""
    link_label: str = ""
    sort_key: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("sort_key")
        return data


def findings_sorted(findings: list[Finding]) -> list[dict[str, Any]]:
    """Errors first, then by account or code number: the order the page lists them in."""
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.sort_key, f.subject))
    return [f.as_dict() for f in findings]


# --- wording --------------------------------------------------------------------------------------


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def same_name(ours: str, theirs: str) -> bool:
    """Names compare without case and repeated spaces: that difference nobody needs to fix."""
    return " ".join(ours.split()).casefold() == " ".join(theirs.split()).casefold()


def percent(rate: Decimal) -> str:
    """25.00 -> "25 %", 11.11 -> "11,11 %" (Norwegian decimal comma)."""
    shown = f"{rate.quantize(PERCENT, rounding=ROUND_HALF_UP):f}".rstrip("0").rstrip(".")
    return f"{shown.replace('.', ',')} %"


def date_no(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def names(items: Iterable[str], limit: int = 5) -> str:
    """«A», «B» og «C» (og 4 til)."""
    items = list(items)
    shown = [f"«{name}»" for name in items[:limit]]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " og " + shown[-1]
    if len(items) > limit:
        listed = ", ".join(shown) + f" og {len(items) - limit} til"
    return listed


def numbers(values: list[int], limit: int = MAX_LISTED) -> str:
    shown = ", ".join(str(n) for n in values[:limit])
    if len(values) > limit:
        shown += f" … ({len(values)} i alt)"
    return shown


def number_range(low: int, high: int) -> str:
    return f"{low}–{high}"
