"""Our chart against PowerOffice's: "Valider kontoplan" (SPEC Part A item 2).

Plain functions over data fetched once per run (two paged list calls, never one request per
account), so their cost does not grow with the chart:

- every account of our chart against PowerOffice's general ledger accounts (exists, active, name,
  VAT code, VAT-locked accounts), and the accounts our articles use;
- each of our active VAT codes: exists and is valid today in PowerOffice, same rate (PowerOffice's
  ``Rate`` is a fraction, ours a percent).

Every finding says what differs, on which side, and what to change. Bad data on either side gives
a finding, never an exception.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from django.urls import reverse

from accounting.models import Account, Article, VatCode
from poweroffice.chart.findings import (
    ERROR,
    PERCENT,
    PO_CHART,
    WARNING,
    Finding,
    date_no,
    findings_sorted,
    names,
    percent,
    same_name,
    text,
)
from poweroffice.chart.selectors import OurChart
from poweroffice.chart.vatcodes import VatIndex, vat_code_text
from poweroffice.client.values import parse_date, parse_decimal, parse_int

# --- the chart of accounts ------------------------------------------------------------------------


@dataclass
class _Ours:
    """One of our accounts, with the articles that sell on it."""

    account: Account
    uses: list[Article]

    @property
    def number(self) -> int:
        return self.account.number

    @property
    def subject(self) -> str:
        return f"Konto {self.number}"

    @cached_property
    def vat(self) -> str:
        return self.account.vat_code.code if self.account.vat_code else ""

    @cached_property
    def shown(self) -> str:
        vat = f" (MVA-kode {self.vat})" if self.vat else " (ingen MVA-kode)"
        return f"{self.number} {self.account.name}{vat}"

    @cached_property
    def article_names(self) -> list[str]:
        return [a.name for a in self.uses]

    @property
    def used_by(self) -> str:
        if not self.uses:
            return ""
        return f" Kontoen er salgskonto på varene {names(self.article_names)}."

    @cached_property
    def edit(self) -> str:
        return reverse("accounting_admin:account_edit", args=[self.account.id])


@dataclass
class _Theirs:
    """The PowerOffice account we compare with."""

    entry: dict[str, Any]
    name: str
    vat: str
    locked: bool

    @classmethod
    def of(cls, entry: dict[str, Any], vat_index: VatIndex) -> _Theirs:
        return cls(
            entry=entry,
            name=text(entry.get("Name")),
            vat=vat_index.code_of_account(entry),
            locked=entry.get("IsVatCodeLocked") is True,
        )

    def shown(self, number: int) -> str:
        if self.vat:
            return f"{number} {self.name} (MVA-kode {self.vat}{', låst' if self.locked else ''})"
        return f"{number} {self.name} (ingen MVA-kode)"


def _by_number(po_accounts: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    by_number: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry in po_accounts:
        number = parse_int(entry.get("AccountNo")) if isinstance(entry, dict) else None
        if number is not None:
            by_number[number].append(entry)
    return by_number


def _account_finding(ours: _Ours, **fields: Any) -> Finding:
    fields.setdefault("subject", ours.subject)
    return Finding(sort_key=ours.number, **fields)


def _duplicate(ours: _Ours, entries: list[dict[str, Any]]) -> Finding:
    number = ours.number
    return _account_finding(
        ours,
        severity=WARNING,
        kind="account_duplicate",
        message=f"PowerOffice har {len(entries)} kontoer med nummer {number}.",
        action=f"Slå sammen eller deaktiver den overflødige kontoen under {PO_CHART}.",
        bitnet=ours.shown,
        poweroffice=", ".join(text(e.get("Name")) for e in entries),
    )


def _missing(ours: _Ours) -> Finding:
    number = ours.number
    if ours.uses:
        action = (
            f"Opprett konto {number} under {PO_CHART}, eller endre salgskonto på "
            f"varene {names(ours.article_names)} i Bitnet."
        )
    else:
        action = (
            f"Opprett konto {number} under {PO_CHART}, eller deaktiver den i Bitnet "
            "(Administrasjon > Kontoplan)."
        )
    return _account_finding(
        ours,
        severity=ERROR if ours.uses else WARNING,
        kind="article_account_missing" if ours.uses else "account_missing",
        message=f"Konto {number} finnes ikke i PowerOffice.{ours.used_by}",
        action=action,
        bitnet=ours.shown,
        poweroffice="Finnes ikke",
        link=ours.edit,
        link_label="Åpne kontoen",
    )


def _inactive(ours: _Ours, theirs: _Theirs) -> Finding:
    number = ours.number
    tail = (
        f"eller endre salgskonto på varene {names(ours.article_names)} i Bitnet"
        if ours.uses
        else "eller deaktiver den i Bitnet (Administrasjon > Kontoplan)"
    )
    return _account_finding(
        ours,
        severity=ERROR if ours.uses else WARNING,
        kind="account_inactive",
        message=f"Konto {number} er inaktiv i PowerOffice.{ours.used_by}",
        action=f"Aktiver konto {number} under {PO_CHART}, {tail}.",
        bitnet=ours.shown,
        poweroffice=f"{theirs.shown(number)}, inaktiv",
        link=ours.edit,
        link_label="Åpne kontoen",
    )


def _other_name(ours: _Ours, theirs: _Theirs) -> Finding:
    their_name = theirs.name
    return _account_finding(
        ours,
        severity=WARNING,
        kind="account_name",
        message=f"Konto {ours.number} har et annet navn i PowerOffice.",
        action=(
            f"Gi kontoen samme navn på begge sider: endre navnet i Bitnet til "
            f"«{their_name}», eller endre det under {PO_CHART}."
        )
        if their_name
        else f"Gi kontoen et navn under {PO_CHART}.",
        bitnet=ours.account.name,
        poweroffice=their_name or "(uten navn)",
        link=ours.edit,
        link_label="Endre navnet",
    )


def _vat_missing_here(ours: _Ours, theirs: _Theirs) -> Finding:
    their_vat, locked = theirs.vat, theirs.locked
    return _account_finding(
        ours,
        severity=WARNING,
        kind="account_vat_missing",
        message=(
            f"Konto {ours.number} har ingen MVA-kode i Bitnet; i PowerOffice har den "
            f"MVA-kode {their_vat}{' (låst)' if locked else ''}."
        ),
        action=f"Sett MVA-kode {their_vat} på kontoen i Bitnet.",
        bitnet="Ingen MVA-kode",
        poweroffice=f"MVA-kode {their_vat}{', låst' if locked else ''}",
        link=ours.edit,
        link_label="Sett MVA-kode",
    )


def _vat_locked(ours: _Ours, theirs: _Theirs) -> Finding:
    their_vat = theirs.vat
    return _account_finding(
        ours,
        severity=ERROR,
        kind="account_vat_locked",
        message=(
            f"Konto {ours.number} er låst til MVA-kode {their_vat} i PowerOffice og "
            f"avviser MVA-kode {ours.vat}, som kontoen har i Bitnet."
        ),
        action=(
            f"Endre MVA-koden på kontoen i Bitnet til {their_vat}, eller fjern "
            f"MVA-låsen (eller endre MVA-koden) på kontoen under {PO_CHART}."
        ),
        bitnet=f"MVA-kode {ours.vat}",
        poweroffice=f"MVA-kode {their_vat}, låst",
        link=ours.edit,
        link_label="Endre MVA-kode",
    )


def _vat_differs(ours: _Ours, theirs: _Theirs) -> Finding:
    their_vat = theirs.vat
    return _account_finding(
        ours,
        severity=WARNING,
        kind="account_vat_code",
        message=f"Konto {ours.number} har en annen MVA-kode i PowerOffice.",
        action=(
            f"Bruk samme MVA-kode på begge sider: {their_vat or 'ingen'} i "
            f"Bitnet, eller {ours.vat} under {PO_CHART}."
        ),
        bitnet=f"MVA-kode {ours.vat}",
        poweroffice=f"MVA-kode {their_vat}" if their_vat else "Ingen MVA-kode",
        link=ours.edit,
        link_label="Endre MVA-kode",
    )


def _account_vat(ours: _Ours, theirs: _Theirs) -> Finding | None:
    if vat_code_text(ours.vat) == vat_code_text(theirs.vat):
        return None
    if not ours.vat:
        return _vat_missing_here(ours, theirs)
    if theirs.locked and theirs.vat:
        return _vat_locked(ours, theirs)
    return _vat_differs(ours, theirs)


def _articles_refused(ours: _Ours, theirs: _Theirs) -> list[Finding]:
    """What an export actually sends: each article's own VAT code on its sales account. A
    VAT-locked account refuses any other code, so the voucher would be rejected."""
    if not (theirs.locked and theirs.vat and ours.uses):
        return []
    number, their_vat = ours.number, theirs.vat
    refused: dict[str, list[Article]] = defaultdict(list)
    for article in ours.uses:
        code = article.vat_code.code
        if vat_code_text(code) != vat_code_text(their_vat):
            refused[code].append(article)
    findings = []
    for code, articles in sorted(refused.items()):
        one = len(articles) == 1
        findings.append(
            _account_finding(
                ours,
                severity=ERROR,
                kind="article_vat_locked",
                subject=f"Varer på konto {number}",
                message=(
                    f"{'Varen' if one else 'Varene'} {names(a.name for a in articles)} har "
                    f"MVA-kode {code}, men konto {number} er låst til MVA-kode {their_vat} i "
                    "PowerOffice. Fakturalinjene vil bli avvist."
                ),
                action=(
                    f"Endre MVA-koden på varene til {their_vat} eller velg en annen "
                    f"salgskonto i Bitnet, eller fjern MVA-låsen på konto {number} under "
                    f"{PO_CHART}."
                ),
                bitnet=f"MVA-kode {code} på {len(articles)} {'vare' if one else 'varer'}",
                poweroffice=f"Konto {number} låst til MVA-kode {their_vat}",
                link=reverse("accounting_admin:article_edit", args=[articles[0].id]),
                link_label="Åpne varen" if one else "Åpne første vare",
            )
        )
    return findings


def _compare_account(
    ours: _Ours, entries: list[dict[str, Any]], vat_index: VatIndex
) -> tuple[list[Finding], list[Finding]]:
    """The findings of one of our accounts: (about the account, about its articles)."""
    findings: list[Finding] = []
    if len(entries) > 1:
        findings.append(_duplicate(ours, entries))
    if not entries:
        findings.append(_missing(ours))
        return findings, []
    # With duplicates, compare with the active one (the one PowerOffice lets us post to).
    entries.sort(key=lambda e: e.get("IsActive") is not False, reverse=True)
    theirs = _Theirs.of(entries[0], vat_index)
    if theirs.entry.get("IsActive") is False:
        findings.append(_inactive(ours, theirs))
    if not same_name(ours.account.name, theirs.name):
        findings.append(_other_name(ours, theirs))
    vat = _account_vat(ours, theirs)
    if vat is not None:
        findings.append(vat)
    return findings, _articles_refused(ours, theirs)


def compare_accounts(
    *, chart: OurChart, po_accounts: list[dict[str, Any]], vat_index: VatIndex
) -> tuple[list[Finding], list[Finding], dict[str, int]]:
    """Our accounts against PowerOffice's general ledger accounts.

    Returns (account findings, article findings, counts). Our inactive accounts that no active
    article uses are not checked: nothing is exported on them.
    """
    by_number = _by_number(po_accounts)
    account_findings: list[Finding] = []
    article_findings: list[Finding] = []
    checked = skipped = 0
    for account in chart.accounts:
        uses = chart.articles_by_account.get(account.id, [])
        if not account.is_active and not uses:
            skipped += 1
            continue
        checked += 1
        found, refused = _compare_account(
            _Ours(account=account, uses=uses), by_number.get(account.number, []), vat_index
        )
        account_findings.extend(found)
        article_findings.extend(refused)
    counts = {"checked": checked, "skipped_inactive": skipped, "poweroffice": len(po_accounts)}
    return account_findings, article_findings, counts


# --- VAT codes ------------------------------------------------------------------------------------


@dataclass
class _OurVat:
    """One of our active VAT codes."""

    vat: VatCode

    @cached_property
    def code(self) -> str:
        return self.vat.code.strip()

    @property
    def subject(self) -> str:
        return f"MVA-kode {self.code}"

    @property
    def shown(self) -> str:
        return f"{self.code} {self.vat.name}, {percent(self.vat.rate)}"

    @property
    def order(self) -> int:
        number = parse_int(self.code)
        return number if number is not None else 10_000

    @property
    def edit(self) -> str:
        return reverse("accounting_admin:vat_code_edit", args=[self.vat.id])


def _vat_finding(ours: _OurVat, **fields: Any) -> Finding:
    return Finding(subject=ours.subject, sort_key=ours.order, **fields)


def _vat_missing(ours: _OurVat) -> Finding:
    return _vat_finding(
        ours,
        severity=ERROR,
        kind="vat_missing",
        message=f"MVA-kode {ours.code} finnes ikke i PowerOffice.",
        action=(
            "Bruk PowerOffice' SAF-T-kode for denne satsen i Bitnet "
            "(Administrasjon > MVA-koder), eller deaktiver koden i Bitnet."
        ),
        bitnet=ours.shown,
        poweroffice="Finnes ikke",
        link=ours.edit,
        link_label="Åpne MVA-koden",
    )


def _vat_expired(ours: _OurVat, entry: dict[str, Any], theirs: str) -> Finding:
    valid_to = parse_date(entry.get("ValidTo"))
    return _vat_finding(
        ours,
        severity=ERROR,
        kind="vat_expired",
        message=(
            f"MVA-kode {ours.code} er utløpt i PowerOffice"
            + (f" (gyldig til {date_no(valid_to)})." if valid_to else ".")
        ),
        action=(
            "Bytt til en gyldig MVA-kode på kontoene og varene som bruker koden, og "
            "deaktiver den i Bitnet."
        ),
        bitnet=ours.shown,
        poweroffice=theirs + " (utløpt)",
        link=ours.edit,
        link_label="Åpne MVA-koden",
    )


def _vat_not_yet_valid(ours: _OurVat, entry: dict[str, Any], theirs: str) -> Finding:
    valid_from = parse_date(entry.get("ValidFrom"))
    return _vat_finding(
        ours,
        severity=ERROR,
        kind="vat_not_yet_valid",
        message=(
            f"MVA-kode {ours.code} gjelder først fra {date_no(valid_from)} i PowerOffice."
            if valid_from
            else f"MVA-kode {ours.code} gjelder ikke ennå i PowerOffice."
        ),
        action="Bruk en MVA-kode som gjelder i dag på kontoene og varene.",
        bitnet=ours.shown,
        poweroffice=theirs,
        link=ours.edit,
        link_label="Åpne MVA-koden",
    )


def _vat_inactive(ours: _OurVat, theirs: str) -> Finding:
    return _vat_finding(
        ours,
        severity=ERROR,
        kind="vat_inactive",
        message=f"MVA-kode {ours.code} er inaktiv i PowerOffice.",
        action=(
            "Aktiver MVA-koden under Innstillinger > Merverdiavgift i PowerOffice, "
            "eller bytt til en aktiv kode i Bitnet."
        ),
        bitnet=ours.shown,
        poweroffice=theirs + " (inaktiv)",
        link=ours.edit,
        link_label="Åpne MVA-koden",
    )


def _vat_rate_unknown(ours: _OurVat, theirs: str) -> Finding:
    return _vat_finding(
        ours,
        severity=WARNING,
        kind="vat_rate_unknown",
        message=f"PowerOffice oppgir ingen sats for MVA-kode {ours.code}.",
        action="Kontroller satsen på MVA-koden i PowerOffice.",
        bitnet=ours.shown,
        poweroffice=theirs,
    )


def _vat_rate(ours: _OurVat, rate: Decimal) -> Finding | None:
    their_percent = (rate * 100).quantize(PERCENT, rounding=ROUND_HALF_UP)
    if their_percent == ours.vat.rate.quantize(PERCENT, rounding=ROUND_HALF_UP):
        return None
    code = ours.code
    return _vat_finding(
        ours,
        severity=ERROR,
        kind="vat_rate",
        message=(
            f"MVA-kode {code} har sats {percent(ours.vat.rate)} i Bitnet, men "
            f"{percent(their_percent)} i PowerOffice."
        ),
        action=(
            f"Endre satsen på MVA-kode {code} i Bitnet til {percent(their_percent)} "
            "(Administrasjon > MVA-koder)."
        ),
        bitnet=percent(ours.vat.rate),
        poweroffice=percent(their_percent),
        link=ours.edit,
        link_label="Endre satsen",
    )


def _compare_vat_code(vat: VatCode, *, vat_index: VatIndex, today: dt.date) -> list[Finding]:
    ours = _OurVat(vat)
    entry, state = vat_index.current(ours.code, today)
    if entry is None:  # state "missing"
        return [_vat_missing(ours)]
    rate = parse_decimal(entry.get("Rate"))
    theirs = f"{ours.code} {text(entry.get('Name'))}" + (
        f", {percent(rate * 100)}" if rate is not None else ""
    )
    if state == "expired":
        return [_vat_expired(ours, entry, theirs)]
    if state == "future":
        return [_vat_not_yet_valid(ours, entry, theirs)]
    findings = []
    if entry.get("IsActive") is False:
        findings.append(_vat_inactive(ours, theirs))
    different = _vat_rate_unknown(ours, theirs) if rate is None else _vat_rate(ours, rate)
    if different is not None:
        findings.append(different)
    return findings


def compare_vat_codes(
    *, vat_codes: list[VatCode], vat_index: VatIndex, today: dt.date
) -> list[Finding]:
    """Each of our active VAT codes: exists, active and valid today in PowerOffice, same rate."""
    findings: list[Finding] = []
    for vat in vat_codes:
        if vat.is_active:
            findings.extend(_compare_vat_code(vat, vat_index=vat_index, today=today))
    return findings


# --- the whole result -----------------------------------------------------------------------------


def _group(key: str, title: str, findings: list[Finding]) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "errors": sum(1 for f in findings if f.severity == ERROR),
        "warnings": sum(1 for f in findings if f.severity == WARNING),
        "findings": findings_sorted(findings),
    }


def chart_result(
    *,
    chart: OurChart,
    po_accounts: list[dict[str, Any]],
    po_vat_codes: list[dict[str, Any]],
    today: dt.date,
) -> dict[str, Any]:
    """The whole "Valider kontoplan" result as JSON-ready data (kept on AccountValidation)."""
    vat_index = VatIndex(po_vat_codes)
    account_findings, article_findings, counts = compare_accounts(
        chart=chart, po_accounts=po_accounts, vat_index=vat_index
    )
    vat_findings = compare_vat_codes(vat_codes=chart.vat_codes, vat_index=vat_index, today=today)
    groups = [
        _group("accounts", "Kontoer", account_findings),
        _group("articles", "Varer", article_findings),
        _group("vat_codes", "MVA-koder", vat_findings),
    ]
    summary = {
        "errors": sum(g["errors"] for g in groups),
        "warnings": sum(g["warnings"] for g in groups),
        "accounts_checked": counts["checked"],
        "accounts_skipped": counts["skipped_inactive"],
        "poweroffice_accounts": counts["poweroffice"],
        "vat_codes_checked": sum(1 for v in chart.vat_codes if v.is_active),
    }
    return {"summary": summary, "groups": groups, "date": today.isoformat()}
