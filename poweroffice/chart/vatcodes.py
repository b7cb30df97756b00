"""PowerOffice's VAT codes as the chart check and the invoice export read them.

A code can have several entries in ``/VatCodes``, one per validity period (``ValidFrom`` /
``ValidTo``, either may be empty); accounts refer to theirs by ``VatCodeId``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from poweroffice.chart.findings import text
from poweroffice.client.values import parse_date, parse_int


def vat_code_valid_on(vat: dict[str, Any], day: dt.date) -> bool:
    """Whether a ``/VatCodes`` entry is valid on ``day`` (both ends inclusive; an empty or
    unreadable end is open)."""
    valid_from = parse_date(vat.get("ValidFrom"))
    valid_to = parse_date(vat.get("ValidTo"))
    return (valid_from is None or valid_from <= day) and (valid_to is None or day <= valid_to)


def vat_code_text(value: Any) -> str:
    """A VAT code as text; none and "0" (no VAT treatment) count as the same."""
    code = text(value)
    return "" if code in ("", "0") else code


def _valid_from(entry: dict[str, Any]) -> dt.date:
    return parse_date(entry.get("ValidFrom")) or dt.date.min


class VatIndex:
    """PowerOffice's VAT codes by code (a code may have several entries, one per validity period)
    and by id (accounts refer to theirs by ``VatCodeId``)."""

    def __init__(self, vat_codes: list[dict[str, Any]]) -> None:
        self.by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.by_id: dict[int, dict[str, Any]] = {}
        for entry in vat_codes:
            if not isinstance(entry, dict):
                continue
            code = text(entry.get("Code"))
            if code:
                self.by_code[code].append(entry)
            entry_id = parse_int(entry.get("Id"))
            if entry_id is not None:
                self.by_id[entry_id] = entry

    def code_of_account(self, account: dict[str, Any]) -> str:
        """The account's VAT code: ``VatCode`` when PowerOffice fills it, else via ``VatCodeId``."""
        code = text(account.get("VatCode"))
        if code:
            return code
        entry = self.by_id.get(parse_int(account.get("VatCodeId")) or -1)
        return text(entry.get("Code")) if entry else ""

    def current(self, code: str, today: dt.date) -> tuple[dict[str, Any] | None, str]:
        """The entry of ``code`` valid today, and a state: "ok", "missing", "expired" or "future".

        Among entries valid today an active one wins; without one valid today, the latest entry
        says why (expired, or not valid yet).
        """
        entries = self.by_code.get(code) or []
        if not entries:
            return None, "missing"
        valid = [e for e in entries if vat_code_valid_on(e, today)]
        if valid:
            valid.sort(key=lambda e: (e.get("IsActive") is not False, _valid_from(e)))
            return valid[-1], "ok"
        entries = sorted(entries, key=_valid_from)
        upcoming = [e for e in entries if _valid_from(e) > today]
        if upcoming:
            return upcoming[0], "future"
        return entries[-1], "expired"
