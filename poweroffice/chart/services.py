"""Prerequisites of the PowerOffice integration, checked rather than listed.

SPEC Part A items 2 and 7, and the manual's "Viktig!" list:
- "Valider kontoplan": every account of our chart against PowerOffice's general ledger accounts
  (exists, active, name, VAT code, VAT-locked accounts) and the accounts our articles use;
- VAT codes and rates match PowerOffice's (PowerOffice's ``Rate`` is a fraction, ours a percent);
- the invoice number series does not collide with invoices already in PowerOffice;
- customer numbers fit a PowerOffice customer number series (``/SubLedgerNumberSeries``);
- each subgroup has its own client key (manual point 5).

The comparisons are plain functions over data fetched once per run (a few paged list calls,
never one request per account), so their cost does not grow with the chart. Every finding says
what differs, on which side, and what to change. Bad data on either side and PowerOffice being
unreachable give a message, never an exception.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounting.models import Account, Article, Customer, Invoice, VatCode
from bitnet.models import Subgroup
from poweroffice.client.client import PowerOfficeClient
from poweroffice.crypto import SecretUnreadable, decrypt_secret
from poweroffice.client.errors import (
    AuthenticationError,
    ForbiddenError,
    InvalidClientError,
    PowerOfficeError,
    RateLimitedError,
    TransientError,
)
from poweroffice.models import AccountValidation, Connection
from poweroffice.datadeling.connection import NotConnected, connection_client

logger = logging.getLogger(__name__)

OK = "ok"
ERROR = "error"
WARNING = "warning"
_SEVERITY_ORDER = {ERROR: 0, WARNING: 1, OK: 2}

# Where a person fixes things (URL map of the application).
URL_DATADELING = "/administrasjon/datadeling/"
URL_ACCOUNTS = "/administrasjon/kontoplan/"
URL_VALIDATE = "/administrasjon/kontoplan/valider/"
URL_ARTICLES = "/administrasjon/varer/"
URL_VAT_CODES = "/administrasjon/mva-koder/"
URL_SUBGROUP_SERIES = "/administrasjon/byra/undergrupper/{id}/"  # Nummerserier

PO_CHART = "Innstillinger > Kontoplan i PowerOffice"

# "Valider kontoplan" runs kept per subgroup.
KEEP_VALIDATIONS = 20

# How many numbers a message lists before it says "og N til".
MAX_LISTED = 10

PERCENT = Decimal("0.01")


# --- findings -------------------------------------------------------------------------------------


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


def _sorted(findings: list[Finding]) -> list[dict[str, Any]]:
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.sort_key, f.subject))
    return [f.as_dict() for f in findings]


# --- reading PowerOffice's data defensively -------------------------------------------------------


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _same_name(ours: str, theirs: str) -> bool:
    """Names compare without case and repeated spaces: that difference nobody needs to fix."""
    return " ".join(ours.split()).casefold() == " ".join(theirs.split()).casefold()


def _vat_code(value: Any) -> str:
    """A VAT code as text; none and "0" (no VAT treatment) count as the same."""
    code = _text(value)
    return "" if code in ("", "0") else code


def _percent(rate: Decimal) -> str:
    """25.00 -> "25 %", 11.11 -> "11,11 %" (Norwegian decimal comma)."""
    text = f"{rate.quantize(PERCENT, rounding=ROUND_HALF_UP):f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} %"


def _date_no(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def _names(items: Iterable[str], limit: int = 5) -> str:
    """«A», «B» og «C» (og 4 til)."""
    items = list(items)
    shown = [f"«{name}»" for name in items[:limit]]
    text = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " og " + shown[-1]
    if len(items) > limit:
        text = ", ".join(shown) + f" og {len(items) - limit} til"
    return text


def _numbers(numbers: list[int], limit: int = MAX_LISTED) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    if len(numbers) > limit:
        shown += f" … ({len(numbers)} i alt)"
    return shown


def _range(low: int, high: int) -> str:
    return f"{low}–{high}"


class VatIndex:
    """PowerOffice's VAT codes by code (a code may have several entries, one per validity period)
    and by id (accounts refer to theirs by ``VatCodeId``)."""

    def __init__(self, vat_codes: list[dict]) -> None:
        self.by_code: dict[str, list[dict]] = defaultdict(list)
        self.by_id: dict[int, dict] = {}
        for entry in vat_codes:
            if not isinstance(entry, dict):
                continue
            code = _text(entry.get("Code"))
            if code:
                self.by_code[code].append(entry)
            entry_id = _int(entry.get("Id"))
            if entry_id is not None:
                self.by_id[entry_id] = entry

    def code_of_account(self, account: dict) -> str:
        """The account's VAT code: ``VatCode`` when PowerOffice fills it, else via ``VatCodeId``."""
        code = _text(account.get("VatCode"))
        if code:
            return code
        entry = self.by_id.get(_int(account.get("VatCodeId")) or -1)
        return _text(entry.get("Code")) if entry else ""

    def current(self, code: str, today: dt.date) -> tuple[dict | None, str]:
        """The entry of ``code`` valid today, and a state: "ok", "missing", "expired" or "future".

        Among entries valid today an active one wins; without one valid today, the latest entry
        says why (expired, or not valid yet).
        """
        entries = self.by_code.get(code) or []
        if not entries:
            return None, "missing"
        valid = [e for e in entries if _valid_on(e, today)]
        if valid:
            valid.sort(
                key=lambda e: (
                    e.get("IsActive") is not False,
                    _date(e.get("ValidFrom")) or dt.date.min,
                )
            )
            return valid[-1], "ok"
        entries = sorted(entries, key=lambda e: _date(e.get("ValidFrom")) or dt.date.min)
        upcoming = [e for e in entries if (_date(e.get("ValidFrom")) or dt.date.min) > today]
        if upcoming:
            return upcoming[0], "future"
        return entries[-1], "expired"


def _valid_on(entry: dict, today: dt.date) -> bool:
    valid_from = _date(entry.get("ValidFrom"))
    valid_to = _date(entry.get("ValidTo"))
    return (valid_from is None or valid_from <= today) and (valid_to is None or today <= valid_to)


# --- PowerOffice's answers in plain Norwegian -----------------------------------------------------


def describe_failure(error: Exception) -> str:
    """Why a check could not talk to PowerOffice. Never contains a key (the client scrubs them)."""
    if isinstance(error, NotConnected):
        return str(error)
    if isinstance(error, SecretUnreadable):
        return str(error)
    if isinstance(error, InvalidClientError):
        return (
            "PowerOffice kjenner ikke igjen klientnøkkelen (utvidelsen kan være slettet). "
            "Lag en ny klientnøkkel under Innstillinger > Utvidelser i PowerOffice og lim den inn "
            "under Administrasjon > Datadeling."
        )
    if isinstance(error, AuthenticationError):
        return (
            "PowerOffice avviste innloggingen med klientnøkkelen. Lim inn en ny klientnøkkel under "
            "Administrasjon > Datadeling."
        )
    if isinstance(error, ForbiddenError):
        return (
            "Integrasjonen mangler tilgang i PowerOffice (rettighet eller modul). Kontroller "
            "utvidelsen under Innstillinger > Utvidelser i PowerOffice."
        )
    if isinstance(error, RateLimitedError):
        return "PowerOffice har for mange forespørsler akkurat nå. Prøv igjen om litt."
    if isinstance(error, TransientError):
        if error.status:
            return f"PowerOffice svarte med en feil (HTTP {error.status}). Prøv igjen om litt."
        return "PowerOffice svarer ikke akkurat nå. Prøv igjen om litt."
    if isinstance(error, PowerOfficeError):
        reason = error.detail or error.title or f"HTTP {error.status}"
        return f"PowerOffice avviste forespørselen: {reason}"
    return "Kontrollen feilet uventet. Prøv igjen, og kontakt brukerstøtte om det gjentar seg."


_EXPECTED = (PowerOfficeError, NotConnected, SecretUnreadable)


# --- our data, read once --------------------------------------------------------------------------


@dataclass
class OurChart:
    accounts: list[Account]
    articles_by_account: dict[int, list[Article]]
    vat_codes: list[VatCode]


def _our_chart(subgroup: Subgroup) -> OurChart:
    """Three queries, whatever the size of the chart."""
    agency_id = subgroup.agency_id
    accounts = list(
        Account.objects.filter(agency_id=agency_id).select_related("vat_code").order_by("number")
    )
    articles_by_account: dict[int, list[Article]] = defaultdict(list)
    for article in (
        Article.objects.filter(agency_id=agency_id, is_active=True)
        .select_related("vat_code")
        .order_by("name", "id")
    ):
        articles_by_account[article.account_id].append(article)
    vat_codes = list(VatCode.objects.filter(agency_id=agency_id).order_by("code"))
    return OurChart(accounts=accounts, articles_by_account=articles_by_account, vat_codes=vat_codes)


# --- the chart of accounts ------------------------------------------------------------------------


def compare_accounts(
    *, chart: OurChart, po_accounts: list[dict], vat_index: VatIndex
) -> tuple[list[Finding], list[Finding], dict[str, int]]:
    """Our accounts against PowerOffice's general ledger accounts.

    Returns (account findings, article findings, counts). Our inactive accounts that no active
    article uses are not checked: nothing is exported on them.
    """
    by_number: dict[int, list[dict]] = defaultdict(list)
    for entry in po_accounts:
        number = _int(entry.get("AccountNo")) if isinstance(entry, dict) else None
        if number is not None:
            by_number[number].append(entry)

    account_findings: list[Finding] = []
    article_findings: list[Finding] = []
    checked = skipped = 0

    for account in chart.accounts:
        uses = chart.articles_by_account.get(account.id, [])
        if not account.is_active and not uses:
            skipped += 1
            continue
        checked += 1
        number = account.number
        subject = f"Konto {number}"
        ours_vat = account.vat_code.code if account.vat_code else ""
        ours_text = f"{number} {account.name}" + (
            f" (MVA-kode {ours_vat})" if ours_vat else " (ingen MVA-kode)"
        )
        edit = f"{URL_ACCOUNTS}{account.id}/"
        article_names = [a.name for a in uses]
        used_by = f" Kontoen er salgskonto på varene {_names(article_names)}." if uses else ""

        entries = by_number.get(number, [])
        if len(entries) > 1:
            account_findings.append(
                Finding(
                    severity=WARNING,
                    kind="account_duplicate",
                    subject=subject,
                    message=f"PowerOffice har {len(entries)} kontoer med nummer {number}.",
                    action=f"Slå sammen eller deaktiver den overflødige kontoen under {PO_CHART}.",
                    bitnet=ours_text,
                    poweroffice=", ".join(_text(e.get("Name")) for e in entries),
                    sort_key=number,
                )
            )
        # With duplicates, compare with the active one (the one PowerOffice lets us post to).
        entries.sort(key=lambda e: e.get("IsActive") is not False, reverse=True)
        theirs = entries[0] if entries else None

        if theirs is None:
            if uses:
                action = (
                    f"Opprett konto {number} under {PO_CHART}, eller endre salgskonto på "
                    f"varene {_names(article_names)} i Bitnet."
                )
            else:
                action = (
                    f"Opprett konto {number} under {PO_CHART}, eller deaktiver den i Bitnet "
                    "(Administrasjon > Kontoplan)."
                )
            account_findings.append(
                Finding(
                    severity=ERROR if uses else WARNING,
                    kind="article_account_missing" if uses else "account_missing",
                    subject=subject,
                    message=f"Konto {number} finnes ikke i PowerOffice.{used_by}",
                    action=action,
                    bitnet=ours_text,
                    poweroffice="Finnes ikke",
                    link=edit,
                    link_label="Åpne kontoen",
                    sort_key=number,
                )
            )
            continue

        their_name = _text(theirs.get("Name"))
        their_vat = vat_index.code_of_account(theirs)
        locked = theirs.get("IsVatCodeLocked") is True
        their_text = f"{number} {their_name}" + (
            f" (MVA-kode {their_vat}{', låst' if locked else ''})"
            if their_vat
            else " (ingen MVA-kode)"
        )

        if theirs.get("IsActive") is False:
            tail = (
                f"eller endre salgskonto på varene {_names(article_names)} i Bitnet"
                if uses
                else "eller deaktiver den i Bitnet (Administrasjon > Kontoplan)"
            )
            account_findings.append(
                Finding(
                    severity=ERROR if uses else WARNING,
                    kind="account_inactive",
                    subject=subject,
                    message=f"Konto {number} er inaktiv i PowerOffice.{used_by}",
                    action=f"Aktiver konto {number} under {PO_CHART}, {tail}.",
                    bitnet=ours_text,
                    poweroffice=f"{their_text}, inaktiv",
                    link=edit,
                    link_label="Åpne kontoen",
                    sort_key=number,
                )
            )

        if not _same_name(account.name, their_name):
            account_findings.append(
                Finding(
                    severity=WARNING,
                    kind="account_name",
                    subject=subject,
                    message=f"Konto {number} har et annet navn i PowerOffice.",
                    action=(
                        f"Gi kontoen samme navn på begge sider: endre navnet i Bitnet til "
                        f"«{their_name}», eller endre det under {PO_CHART}."
                    )
                    if their_name
                    else f"Gi kontoen et navn under {PO_CHART}.",
                    bitnet=account.name,
                    poweroffice=their_name or "(uten navn)",
                    link=edit,
                    link_label="Endre navnet",
                    sort_key=number,
                )
            )

        if _vat_code(ours_vat) != _vat_code(their_vat):
            if not ours_vat:
                account_findings.append(
                    Finding(
                        severity=WARNING,
                        kind="account_vat_missing",
                        subject=subject,
                        message=(
                            f"Konto {number} har ingen MVA-kode i Bitnet; i PowerOffice har den "
                            f"MVA-kode {their_vat}{' (låst)' if locked else ''}."
                        ),
                        action=f"Sett MVA-kode {their_vat} på kontoen i Bitnet.",
                        bitnet="Ingen MVA-kode",
                        poweroffice=f"MVA-kode {their_vat}{', låst' if locked else ''}",
                        link=edit,
                        link_label="Sett MVA-kode",
                        sort_key=number,
                    )
                )
            elif locked and their_vat:
                account_findings.append(
                    Finding(
                        severity=ERROR,
                        kind="account_vat_locked",
                        subject=subject,
                        message=(
                            f"Konto {number} er låst til MVA-kode {their_vat} i PowerOffice og "
                            f"avviser MVA-kode {ours_vat}, som kontoen har i Bitnet."
                        ),
                        action=(
                            f"Endre MVA-koden på kontoen i Bitnet til {their_vat}, eller fjern "
                            f"MVA-låsen (eller endre MVA-koden) på kontoen under {PO_CHART}."
                        ),
                        bitnet=f"MVA-kode {ours_vat}",
                        poweroffice=f"MVA-kode {their_vat}, låst",
                        link=edit,
                        link_label="Endre MVA-kode",
                        sort_key=number,
                    )
                )
            else:
                account_findings.append(
                    Finding(
                        severity=WARNING,
                        kind="account_vat_code",
                        subject=subject,
                        message=f"Konto {number} har en annen MVA-kode i PowerOffice.",
                        action=(
                            f"Bruk samme MVA-kode på begge sider: {their_vat or 'ingen'} i "
                            f"Bitnet, eller {ours_vat} under {PO_CHART}."
                        ),
                        bitnet=f"MVA-kode {ours_vat}",
                        poweroffice=f"MVA-kode {their_vat}" if their_vat else "Ingen MVA-kode",
                        link=edit,
                        link_label="Endre MVA-kode",
                        sort_key=number,
                    )
                )

        # What an export actually sends: each article's own VAT code on its sales account. A
        # VAT-locked account refuses any other code, so the voucher would be rejected.
        if locked and their_vat and uses:
            refused: dict[str, list[Article]] = defaultdict(list)
            for article in uses:
                code = article.vat_code.code
                if _vat_code(code) != _vat_code(their_vat):
                    refused[code].append(article)
            for code, articles in sorted(refused.items()):
                names = _names(a.name for a in articles)
                article_findings.append(
                    Finding(
                        severity=ERROR,
                        kind="article_vat_locked",
                        subject=f"Varer på konto {number}",
                        message=(
                            f"{'Varen' if len(articles) == 1 else 'Varene'} {names} har MVA-kode "
                            f"{code}, men konto {number} er låst til MVA-kode {their_vat} i "
                            "PowerOffice. Fakturalinjene vil bli avvist."
                        ),
                        action=(
                            f"Endre MVA-koden på varene til {their_vat} eller velg en annen "
                            f"salgskonto i Bitnet, eller fjern MVA-låsen på konto {number} under "
                            f"{PO_CHART}."
                        ),
                        bitnet=f"MVA-kode {code} på {len(articles)} "
                        f"{'vare' if len(articles) == 1 else 'varer'}",
                        poweroffice=f"Konto {number} låst til MVA-kode {their_vat}",
                        link=f"{URL_ARTICLES}{articles[0].id}/",
                        link_label="Åpne varen" if len(articles) == 1 else "Åpne første vare",
                        sort_key=number,
                    )
                )

    counts = {"checked": checked, "skipped_inactive": skipped, "poweroffice": len(po_accounts)}
    return account_findings, article_findings, counts


# --- VAT codes ------------------------------------------------------------------------------------


def compare_vat_codes(
    *, vat_codes: list[VatCode], vat_index: VatIndex, today: dt.date
) -> list[Finding]:
    """Each of our active VAT codes: exists, active and valid today in PowerOffice, same rate."""
    findings: list[Finding] = []
    for vat in vat_codes:
        if not vat.is_active:
            continue
        code = vat.code.strip()
        subject = f"MVA-kode {code}"
        ours = f"{code} {vat.name}, {_percent(vat.rate)}"
        edit = f"{URL_VAT_CODES}{vat.id}/"
        order = _int(code) if _int(code) is not None else 10_000
        entry, state = vat_index.current(code, today)
        if state == "missing":
            findings.append(
                Finding(
                    severity=ERROR,
                    kind="vat_missing",
                    subject=subject,
                    message=f"MVA-kode {code} finnes ikke i PowerOffice.",
                    action=(
                        "Bruk PowerOffice' SAF-T-kode for denne satsen i Bitnet "
                        "(Administrasjon > MVA-koder), eller deaktiver koden i Bitnet."
                    ),
                    bitnet=ours,
                    poweroffice="Finnes ikke",
                    link=edit,
                    link_label="Åpne MVA-koden",
                    sort_key=order,
                )
            )
            continue
        assert entry is not None
        their_name = _text(entry.get("Name"))
        rate = _decimal(entry.get("Rate"))
        theirs = f"{code} {their_name}" + (f", {_percent(rate * 100)}" if rate is not None else "")
        if state == "expired":
            valid_to = _date(entry.get("ValidTo"))
            findings.append(
                Finding(
                    severity=ERROR,
                    kind="vat_expired",
                    subject=subject,
                    message=(
                        f"MVA-kode {code} er utløpt i PowerOffice"
                        + (f" (gyldig til {_date_no(valid_to)})." if valid_to else ".")
                    ),
                    action=(
                        "Bytt til en gyldig MVA-kode på kontoene og varene som bruker koden, og "
                        "deaktiver den i Bitnet."
                    ),
                    bitnet=ours,
                    poweroffice=theirs + " (utløpt)",
                    link=edit,
                    link_label="Åpne MVA-koden",
                    sort_key=order,
                )
            )
            continue
        if state == "future":
            valid_from = _date(entry.get("ValidFrom"))
            findings.append(
                Finding(
                    severity=ERROR,
                    kind="vat_not_yet_valid",
                    subject=subject,
                    message=(
                        f"MVA-kode {code} gjelder først fra {_date_no(valid_from)} i PowerOffice."
                        if valid_from
                        else f"MVA-kode {code} gjelder ikke ennå i PowerOffice."
                    ),
                    action="Bruk en MVA-kode som gjelder i dag på kontoene og varene.",
                    bitnet=ours,
                    poweroffice=theirs,
                    link=edit,
                    link_label="Åpne MVA-koden",
                    sort_key=order,
                )
            )
            continue
        if entry.get("IsActive") is False:
            findings.append(
                Finding(
                    severity=ERROR,
                    kind="vat_inactive",
                    subject=subject,
                    message=f"MVA-kode {code} er inaktiv i PowerOffice.",
                    action=(
                        "Aktiver MVA-koden under Innstillinger > Merverdiavgift i PowerOffice, "
                        "eller bytt til en aktiv kode i Bitnet."
                    ),
                    bitnet=ours,
                    poweroffice=theirs + " (inaktiv)",
                    link=edit,
                    link_label="Åpne MVA-koden",
                    sort_key=order,
                )
            )
        if rate is None:
            findings.append(
                Finding(
                    severity=WARNING,
                    kind="vat_rate_unknown",
                    subject=subject,
                    message=f"PowerOffice oppgir ingen sats for MVA-kode {code}.",
                    action="Kontroller satsen på MVA-koden i PowerOffice.",
                    bitnet=ours,
                    poweroffice=theirs,
                    sort_key=order,
                )
            )
            continue
        their_percent = (rate * 100).quantize(PERCENT, rounding=ROUND_HALF_UP)
        if their_percent != vat.rate.quantize(PERCENT, rounding=ROUND_HALF_UP):
            findings.append(
                Finding(
                    severity=ERROR,
                    kind="vat_rate",
                    subject=subject,
                    message=(
                        f"MVA-kode {code} har sats {_percent(vat.rate)} i Bitnet, men "
                        f"{_percent(their_percent)} i PowerOffice."
                    ),
                    action=(
                        f"Endre satsen på MVA-kode {code} i Bitnet til {_percent(their_percent)} "
                        "(Administrasjon > MVA-koder)."
                    ),
                    bitnet=_percent(vat.rate),
                    poweroffice=_percent(their_percent),
                    link=edit,
                    link_label="Endre satsen",
                    sort_key=order,
                )
            )
    return findings


# --- Valider kontoplan ----------------------------------------------------------------------------


def _summary(groups: list[dict]) -> dict[str, int]:
    findings = [f for g in groups for f in g["findings"]]
    return {
        "errors": sum(1 for f in findings if f["severity"] == ERROR),
        "warnings": sum(1 for f in findings if f["severity"] == WARNING),
    }


def _group(key: str, title: str, findings: list[Finding]) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "errors": sum(1 for f in findings if f.severity == ERROR),
        "warnings": sum(1 for f in findings if f.severity == WARNING),
        "findings": _sorted(findings),
    }


def chart_result(
    *, chart: OurChart, po_accounts: list[dict], po_vat_codes: list[dict], today: dt.date
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
    summary = _summary(groups)
    summary.update(
        accounts_checked=counts["checked"],
        accounts_skipped=counts["skipped_inactive"],
        poweroffice_accounts=counts["poweroffice"],
        vat_codes_checked=sum(1 for v in chart.vat_codes if v.is_active),
    )
    return {"summary": summary, "groups": groups, "date": today.isoformat()}


def _fetch_chart(client: PowerOfficeClient) -> tuple[list[dict], list[dict]]:
    """Two paged list calls: every general ledger account and every VAT code (expired too, so an
    expired code is reported as expired rather than missing)."""
    accounts = client.list_general_ledger_accounts()
    vat_codes = client.list_vat_codes(include_expired=True)
    return list(accounts or []), list(vat_codes or [])


def _connection_of(subgroup: Subgroup) -> Connection | None:
    return Connection.objects.filter(subgroup=subgroup).select_related("subgroup").first()


def account_chart_validate(
    *,
    subgroup: Subgroup,
    user=None,
    client: PowerOfficeClient | None = None,
    update_checklist: bool = True,
) -> AccountValidation:
    """Run "Valider kontoplan" for one subgroup and keep the result with its time.

    Never raises for PowerOffice being unreachable or refusing the key: the saved result then
    carries the message in ``error``. ``client`` is for callers that already hold one.
    """
    validation = AccountValidation(subgroup=subgroup, run_by=user if user else None)
    connection = _connection_of(subgroup)
    try:
        if client is None:
            if connection is None:
                raise NotConnected(
                    f"{subgroup.name} er ikke koblet til PowerOffice. Legg inn klientnøkkelen "
                    "under Administrasjon > Datadeling."
                )
            client = connection_client(connection)
        po_accounts, po_vat_codes = _fetch_chart(client)
    except _EXPECTED as exc:
        logger.info("Valider kontoplan for subgroup %s failed: %s", subgroup.pk, type(exc).__name__)
        validation.ok = False
        validation.error = describe_failure(exc)
        validation.result = {}
        validation.save()
        _prune(subgroup)
        return validation
    result = chart_result(
        chart=_our_chart(subgroup),
        po_accounts=po_accounts,
        po_vat_codes=po_vat_codes,
        today=timezone.localdate(),
    )
    validation.ok = result["summary"]["errors"] == 0 and result["summary"]["warnings"] == 0
    validation.result = result
    with transaction.atomic():
        validation.save()
        if connection is not None and update_checklist:
            _update_chart_item(connection=connection, validation=validation)
        _prune(subgroup)
    return validation


def _prune(subgroup: Subgroup) -> None:
    """Keep the latest runs only: a result of a large chart can be a few hundred kilobytes."""
    old = list(
        AccountValidation.objects.filter(subgroup=subgroup)
        .order_by("-run_at", "-id")
        .values_list("id", flat=True)[KEEP_VALIDATIONS:]
    )
    if old:
        AccountValidation.objects.filter(id__in=old).delete()


def account_validation_latest(*, subgroup: Subgroup) -> AccountValidation | None:
    return AccountValidation.objects.filter(subgroup=subgroup).order_by("-run_at", "-id").first()


def account_validation_latest_completed(*, subgroup: Subgroup) -> AccountValidation | None:
    return (
        AccountValidation.objects.filter(subgroup=subgroup, error="")
        .order_by("-run_at", "-id")
        .first()
    )


# --- prerequisites (Datadeling checklist) ---------------------------------------------------------


def _check(
    key: str,
    title: str,
    status: str,
    message: str,
    *,
    link: str = "",
    link_label: str = "",
    details: list[str] | None = None,
    unchecked: bool = False,
) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "status": status,
        "message": message,
        "link": link,
        "link_label": link_label,
        "details": details or [],
        "unchecked": unchecked,
    }


def _unchecked(key: str, title: str, reason: str) -> dict[str, Any]:
    return _check(key, title, WARNING, f"Ikke sjekket: {reason}", unchecked=True)


def _key_check(*, connection: Connection, info: dict | None, failure: str | None) -> dict[str, Any]:
    """Manual point 5: each subgroup has its own client key (and so its own PowerOffice client)."""
    title = "Egen klientnøkkel"
    if failure is not None:
        return _check(
            "client_key", title, ERROR, failure, link=URL_DATADELING, link_label="Datadeling"
        )
    info = info or {}
    client_id = _text(info.get("ClientId")) or connection.client_id
    client_name = _text(info.get("ClientName")) or connection.client_name

    shared: list[str] = []
    others = (
        Connection.objects.filter(subgroup__agency_id=connection.subgroup.agency_id)
        .exclude(pk=connection.pk)
        .exclude(client_key_encrypted="")
        .select_related("subgroup")
        .order_by("subgroup__name")
    )
    try:
        own_key = decrypt_secret(connection.client_key_encrypted)
    except SecretUnreadable:
        own_key = None
    for other in others:
        if client_id and other.client_id == client_id:
            shared.append(other.subgroup.name)
            continue
        try:
            if own_key and decrypt_secret(other.client_key_encrypted) == own_key:
                shared.append(other.subgroup.name)
        except SecretUnreadable:
            continue
    other_agency = bool(client_id) and (
        Connection.objects.filter(client_id=client_id)
        .exclude(subgroup__agency_id=connection.subgroup.agency_id)
        .exclude(client_key_encrypted="")
        .exists()
    )
    if shared or other_agency:
        details = [f"Samme klient er koblet til undergruppen «{name}»." for name in shared]
        if other_agency:
            details.append("Samme klient er også koblet til en annen etat i Bitnet.")
        where = f"«{client_name}»" if client_name else "samme PowerOffice-klient"
        return _check(
            "client_key",
            title,
            ERROR,
            f"{connection.subgroup.name} deler PowerOffice-klient ({where}) med "
            + (_names(shared) if shared else "en annen etat")
            + ". Hver undergruppe må ha sin egen klientnøkkel fra sin egen klient i PowerOffice.",
            link=URL_DATADELING,
            link_label="Bytt klientnøkkel i Datadeling",
            details=details,
        )
    named = f" for «{client_name}»" if client_name else ""
    return _check(
        "client_key", title, OK, f"Klientnøkkelen{named} brukes bare av denne undergruppen."
    )


def _invoice_series_check(*, subgroup: Subgroup, client: PowerOfficeClient) -> dict[str, Any]:
    """Manual point 3: our invoice numbers must not already be used in PowerOffice, apart from the
    invoices we exported ourselves (their voucher ids are ours)."""
    title = "Fakturanummerserie"
    start, end = subgroup.invoice_series_start, subgroup.invoice_series_end
    series = _range(start, end)
    found = client.list_outgoing_invoices(invoice_nos=(start, end))
    ours = set(
        Invoice.objects.filter(subgroup=subgroup)
        .exclude(external_voucher_id="")
        .values_list("external_voucher_id", flat=True)
    )
    foreign: set[int] = set()
    for invoice in found or []:
        if not isinstance(invoice, dict) or invoice.get("IsReversed"):
            continue  # a reversed voucher frees its number
        number = _int(invoice.get("InvoiceNo"))
        if number is None or not start <= number <= end:
            continue
        if _text(invoice.get("Id")) in ours:
            continue
        foreign.add(number)
    link_label = "Endre nummerserien"
    details: list[str] = []
    if subgroup.next_invoice_number > end:
        details.append(
            f"Fakturanummerserien {series} er brukt opp "
            f"(neste nummer {subgroup.next_invoice_number})."
        )
    if foreign:
        numbers = sorted(foreign)
        ahead = [n for n in numbers if n >= subgroup.next_invoice_number]
        taken = (
            set(
                Invoice.objects.filter(subgroup=subgroup, number__in=numbers).values_list(
                    "number", flat=True
                )
            )
            if numbers
            else set()
        )
        blocked = sorted(taken)
        if blocked:
            details.append(
                f"Bitnets fakturaer {_numbers(blocked)} kan ikke eksporteres: numrene er "
                "allerede brukt i PowerOffice."
            )
        if ahead:
            details.append(
                f"Neste fakturaer fra Bitnet vil kollidere ved nummer {_numbers(ahead)}."
            )
        suggestion = max(numbers) + 1
        tip = (
            f" Flytt Bitnets serie slik at neste nummer er {suggestion} eller høyere,"
            if suggestion <= end
            else " Velg en ny fakturanummerserie i Bitnet"
        )
        return _check(
            "invoice_series",
            title,
            ERROR,
            f"PowerOffice har allerede {len(numbers)} "
            f"{'faktura' if len(numbers) == 1 else 'fakturaer'} med nummer i Bitnets serie "
            f"{series} som ikke kommer fra Bitnet: {_numbers(numbers)}.{tip} eller kontroller "
            "fakturaene under Fakturaer i PowerOffice.",
            link=URL_SUBGROUP_SERIES.format(id=subgroup.pk),
            link_label=link_label,
            details=details,
        )
    if details:
        return _check(
            "invoice_series",
            title,
            WARNING,
            details[0],
            link=URL_SUBGROUP_SERIES.format(id=subgroup.pk),
            link_label=link_label,
        )
    return _check(
        "invoice_series",
        title,
        OK,
        f"Ingen fakturaer i PowerOffice bruker numre i Bitnets serie {series} "
        "(utenom de Bitnet har eksportert).",
    )


def _customer_series_check(*, subgroup: Subgroup, client: PowerOfficeClient) -> dict[str, Any]:
    """Manual point 4: our customer numbers must fit a PowerOffice customer number series."""
    title = "Kundenummerserie"
    ranges: list[tuple[int, int, str]] = []
    for series in client.list_sub_ledger_number_series() or []:
        if not isinstance(series, dict) or series.get("SubLedgerNumberSeriesType") != "Customer":
            continue
        low, high = _int(series.get("FromInclusive")), _int(series.get("ToInclusive"))
        if low is None or high is None or low > high:
            continue
        ranges.append((low, high, _text(series.get("Name"))))
    ranges.sort()
    if not ranges:
        return _check(
            "customer_series",
            title,
            ERROR,
            "PowerOffice har ingen kundenummerserie, så kundene kan ikke opprettes der. "
            "Opprett en kundenummerserie i PowerOffice.",
        )
    allowed = ", ".join(
        f"{_range(low, high)}" + (f" («{name}»)" if name else "") for low, high, name in ranges
    )
    allowed_plain = " eller ".join(_range(low, high) for low, high, _ in ranges)
    ours_low, ours_high = subgroup.customer_series_start, subgroup.customer_series_end
    inside = Q()
    for low, high, _ in ranges:
        inside |= Q(number__gte=low, number__lte=high)
    outside_qs = Customer.objects.filter(subgroup=subgroup).exclude(inside).order_by("number")
    outside = list(outside_qs.values_list("number", flat=True)[: MAX_LISTED + 1])
    outside_count = outside_qs.count() if len(outside) > MAX_LISTED else len(outside)
    series_fits = any(low <= ours_low and ours_high <= high for low, high, _ in ranges)

    problems: list[str] = []
    if not series_fits:
        problems.append(
            f"Kundenummerserien i Bitnet ({_range(ours_low, ours_high)}) går utenfor "
            f"PowerOffice' kundenummerserie {allowed}."
        )
    if outside:
        listed = ", ".join(str(n) for n in outside[:MAX_LISTED])
        if outside_count > MAX_LISTED:
            listed += f" … ({outside_count} i alt)"
        problems.append(
            f"{outside_count} {'kunde har' if outside_count == 1 else 'kunder har'} "
            f"kundenummer utenfor PowerOffice' serie: {listed}."
        )
    if problems:
        return _check(
            "customer_series",
            title,
            ERROR,
            " ".join(problems)
            + f" Endre kundenummerserien i Bitnet slik at den ligger innenfor {allowed_plain}, "
            "eller utvid kundenummerserien i PowerOffice.",
            link=URL_SUBGROUP_SERIES.format(id=subgroup.pk),
            link_label="Endre nummerserien",
        )
    return _check(
        "customer_series",
        title,
        OK,
        f"Kundenummerserien {_range(ours_low, ours_high)} og alle kundenumre ligger innenfor "
        f"PowerOffice' serie {allowed}.",
    )


def _vat_item(result: dict[str, Any]) -> dict[str, Any]:
    title = "MVA-koder og satser"
    group = next(g for g in result["groups"] if g["key"] == "vat_codes")
    return _group_item(
        "vat_codes",
        title,
        group["findings"],
        "MVA-kodene og satsene stemmer med PowerOffice.",
        URL_VAT_CODES,
        "MVA-koder",
    )


def _chart_item(result: dict[str, Any], *, subgroup_id: int) -> dict[str, Any]:
    title = "Kontoplan"
    findings = [
        f for g in result["groups"] if g["key"] in ("accounts", "articles") for f in g["findings"]
    ]
    return _group_item(
        "chart",
        title,
        findings,
        f"Alle {result['summary']['accounts_checked']} kontoene stemmer med PowerOffice.",
        f"{URL_VALIDATE}?undergruppe={subgroup_id}",
        "Se Valider kontoplan",
    )


def _group_item(
    key: str, title: str, findings: list[dict], ok_text: str, link: str, link_label: str
) -> dict[str, Any]:
    errors = [f for f in findings if f["severity"] == ERROR]
    warnings = [f for f in findings if f["severity"] == WARNING]
    if not findings:
        return _check(key, title, OK, ok_text)
    parts = []
    if errors:
        parts.append(f"{len(errors)} feil")
    if warnings:
        parts.append(f"{len(warnings)} avvik å se på")
    counts = " og ".join(parts)
    ordered = errors + warnings
    if len(ordered) == 1:
        message, details = f"{counts}: {ordered[0]['message']}", []
    else:
        message = f"{counts}."
        details = [f["message"] for f in ordered[:MAX_LISTED]]
        if len(ordered) > MAX_LISTED:
            details.append(f"… og {len(ordered) - MAX_LISTED} til.")
    return _check(
        key,
        title,
        ERROR if errors else WARNING,
        message,
        link=link,
        link_label=link_label,
        details=details,
    )


def _overall(checks: list[dict]) -> bool | None:
    """False when something is wrong; None when a check could not be made; else True."""
    if any(c["status"] == ERROR for c in checks):
        return False
    if any(c.get("unchecked") for c in checks):
        return None
    return True


def _store(connection: Connection, checks: list[dict]) -> None:
    now = timezone.now()
    ok = _overall(checks)
    # update(), not save(): the Datadeling form may be saving the same row's options right now.
    Connection.objects.filter(pk=connection.pk).update(
        prerequisites=checks, prerequisites_ok=ok, prerequisites_checked_at=now
    )
    connection.prerequisites = checks
    connection.prerequisites_ok = ok
    connection.prerequisites_checked_at = now


def _update_chart_item(*, connection: Connection, validation: AccountValidation) -> None:
    """A new "Valider kontoplan" result refreshes the Kontoplan and VAT lines of the checklist."""
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    checks = connection.prerequisites
    if not isinstance(checks, list) or not checks:
        return
    fresh = {
        "chart": _chart_item(validation.result, subgroup_id=connection.subgroup_id),
        "vat_codes": _vat_item(validation.result),
    }
    checks = [fresh.get(c.get("key"), c) if isinstance(c, dict) else c for c in checks]
    Connection.objects.filter(pk=connection.pk).update(
        prerequisites=checks, prerequisites_ok=_overall(checks)
    )


_TITLES = {
    "client_key": "Egen klientnøkkel",
    "vat_codes": "MVA-koder og satser",
    "chart": "Kontoplan",
    "invoice_series": "Fakturanummerserie",
    "customer_series": "Kundenummerserie",
}


def prerequisites_check(
    *, connection: Connection, user=None, client: PowerOfficeClient | None = None
) -> list[dict[str, Any]]:
    """Check the manual's prerequisites for one subgroup and store them on the connection.

    Returns the checks (each: key, title, status ok/error/warning, message, link, link_label,
    details, unchecked) as stored in ``connection.prerequisites``; ``prerequisites_ok`` is False
    when one is an error, None when PowerOffice could not be asked, else True.
    """
    subgroup = connection.subgroup
    info: dict | None = None
    try:
        if client is None:
            client = connection_client(connection)
        info = client.get_client_integration_information() or {}
    except _EXPECTED as exc:
        logger.info("Prerequisites for subgroup %s: %s", subgroup.pk, type(exc).__name__)
        reason = describe_failure(exc)
        transient = isinstance(exc, TransientError)
        if transient:
            checks = [_unchecked(key, title, reason) for key, title in _TITLES.items()]
        else:
            checks = [_key_check(connection=connection, info=None, failure=reason)] + [
                _unchecked(key, title, "klientnøkkelen virker ikke.")
                for key, title in _TITLES.items()
                if key != "client_key"
            ]
        _store(connection, checks)
        return checks

    checks = [_key_check(connection=connection, info=info, failure=None)]

    # VAT codes and the chart share two list calls; the result is also kept as a
    # "Valider kontoplan" run so that page shows the same.
    try:
        validation = account_chart_validate(
            subgroup=subgroup, user=user, client=client, update_checklist=False
        )
    except Exception:  # pragma: no cover - a bug must not hide the other checks
        logger.exception("Valider kontoplan crashed for subgroup %s", subgroup.pk)
        validation = None
    if validation is None or validation.error:
        reason = validation.error if validation else describe_failure(RuntimeError())
        checks.append(_unchecked("vat_codes", _TITLES["vat_codes"], reason))
        checks.append(_unchecked("chart", _TITLES["chart"], reason))
    else:
        checks.append(_vat_item(validation.result))
        checks.append(_chart_item(validation.result, subgroup_id=subgroup.pk))

    for key, run in (
        ("invoice_series", _invoice_series_check),
        ("customer_series", _customer_series_check),
    ):
        try:
            checks.append(run(subgroup=subgroup, client=client))
        except _EXPECTED as exc:
            checks.append(_unchecked(key, _TITLES[key], describe_failure(exc)))

    _store(connection, checks)
    return checks


def prerequisites_hold_reason(connection: Connection) -> str | None:
    """Why automatic export is held back for this subgroup, or None.

    Only a failed check holds export back: a subgroup never checked, or checked while
    PowerOffice could not be reached, exports as usual (a failing export explains itself).
    """
    if connection.prerequisites_ok is not False:
        return None
    checks = connection.prerequisites if isinstance(connection.prerequisites, list) else []
    failed = [
        c.get("title", "") for c in checks if isinstance(c, dict) and c.get("status") == ERROR
    ]
    what = f" ({', '.join(t for t in failed if t)})" if failed else ""
    return (
        f"Automatisk eksport er holdt tilbake fordi forutsetningene for PowerOffice ikke er "
        f"oppfylt for {connection.subgroup.name}{what}. Rett feilene og klikk «Sjekk på nytt» "
        "under Administrasjon > Datadeling."
    )


def prerequisites_summary(connection: Connection) -> dict[str, int]:
    """Counts per status of the stored checks (for a compact line on Datadeling)."""
    checks = connection.prerequisites if isinstance(connection.prerequisites, list) else []
    counts = {OK: 0, ERROR: 0, WARNING: 0}
    for check in checks:
        if isinstance(check, dict) and check.get("status") in counts:
            counts[check["status"]] += 1
    return counts
