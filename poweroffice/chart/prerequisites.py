"""The prerequisites of the PowerOffice integration per connection, checked rather than listed.

SPEC Part A item 7 and the manual's "Viktig!" list. Each function here makes one line of the
checklist on Datadeling (a dict: key, title, status ok/error/warning, message, link, link_label,
details, unchecked):

- each subgroup has its own client key (manual point 5);
- VAT codes and rates, and the chart of accounts: the "Valider kontoplan" result, summed up;
- the invoice number series does not collide with invoices already in PowerOffice (point 3);
- customer numbers fit a PowerOffice customer number series (``/SubLedgerNumberSeries``, point 4).

``prerequisites_check`` in services.py runs them and stores the list on the connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables

from accounting.models import Customer, Invoice
from bitnet.models import Subgroup
from poweroffice.chart.findings import (
    ERROR,
    MAX_LISTED,
    OK,
    WARNING,
    names,
    number_range,
    numbers,
    text,
)
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.values import parse_int
from poweroffice.crypto import SecretUnreadable, decrypt_secret
from poweroffice.datadeling.identity import client_mismatch_message
from poweroffice.models import Connection

TITLES = {
    "client_key": "Egen klientnøkkel",
    "vat_codes": "MVA-koder og satser",
    "chart": "Kontoplan",
    "invoice_series": "Fakturanummerserie",
    "customer_series": "Kundenummerserie",
}


def check_item(
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
    """One line of the checklist, as stored on the connection."""
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


def unchecked_item(key: str, reason: str) -> dict[str, Any]:
    """A line that could not be checked (PowerOffice unreachable, the key refused)."""
    return check_item(key, TITLES[key], WARNING, f"Ikke sjekket: {reason}", unchecked=True)


def checks_overall(checks: list[Any]) -> bool | None:
    """False when something is wrong; None when a check could not be made; else True."""
    if any(c["status"] == ERROR for c in checks):
        return False
    if any(c.get("unchecked") for c in checks):
        return None
    return True


def _series_link(subgroup: Subgroup) -> str:
    """Administrasjon > Byrå > the subgroup, where its number series are set."""
    return reverse("agencies:subgroup_edit", args=[subgroup.pk])


# --- manual point 5: a client key of its own ------------------------------------------------------


@sensitive_variables("own_key")
def _key_sharers(connection: Connection, client_id: str) -> tuple[list[str], bool]:
    """The agency's other subgroups connected to the same PowerOffice client (same client id, or
    the same key), and whether a subgroup of another agency is."""
    agency_id = connection.subgroup.agency_id
    others = (
        Connection.objects.filter(subgroup__agency_id=agency_id)
        .exclude(pk=connection.pk)
        .exclude(client_key_encrypted="")
        .select_related("subgroup")
        .order_by("subgroup__name")
    )
    try:
        own_key: str | None = decrypt_secret(connection.client_key_encrypted)
    except SecretUnreadable:
        own_key = None
    shared: list[str] = []
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
        .exclude(subgroup__agency_id=agency_id)
        .exclude(client_key_encrypted="")
        .exists()
    )
    return shared, other_agency


def client_key_check(
    *, connection: Connection, info: dict[str, Any] | None, failure: str | None
) -> dict[str, Any]:
    """Manual point 5: each subgroup has its own client key (and so its own PowerOffice client)."""
    title = TITLES["client_key"]
    datadeling = reverse("datadeling:index")
    if failure is not None:
        return check_item(
            "client_key", title, ERROR, failure, link=datadeling, link_label="Datadeling"
        )
    info = info or {}
    changed = client_mismatch_message(connection=connection, info=info)
    if changed:
        return check_item(
            "client_key",
            title,
            ERROR,
            changed,
            link=datadeling,
            link_label="Bytt klientnøkkel i Datadeling",
        )
    client_id = text(info.get("ClientId")) or connection.client_id
    client_name = text(info.get("ClientName")) or connection.client_name
    shared, other_agency = _key_sharers(connection, client_id)
    if shared or other_agency:
        details = [f"Samme klient er koblet til undergruppen «{name}»." for name in shared]
        if other_agency:
            details.append("Samme klient er også koblet til en annen etat i Bitnet.")
        where = f"«{client_name}»" if client_name else "samme PowerOffice-klient"
        return check_item(
            "client_key",
            title,
            ERROR,
            f"{connection.subgroup.name} deler PowerOffice-klient ({where}) med "
            + (names(shared) if shared else "en annen etat")
            + ". Hver undergruppe må ha sin egen klientnøkkel fra sin egen klient i PowerOffice.",
            link=datadeling,
            link_label="Bytt klientnøkkel i Datadeling",
            details=details,
        )
    named = f" for «{client_name}»" if client_name else ""
    return check_item(
        "client_key", title, OK, f"Klientnøkkelen{named} brukes bare av denne undergruppen."
    )


# --- manual point 3: the invoice number series ----------------------------------------------------


def _foreign_invoice_numbers(*, subgroup: Subgroup, found: Iterable[Any]) -> list[int]:
    """Numbers in our series that PowerOffice's invoices use, apart from the invoices we exported
    ourselves (their voucher ids are ours) and reversed ones (a reversal frees the number)."""
    start, end = subgroup.invoice_series_start, subgroup.invoice_series_end
    ours = set(
        Invoice.objects.filter(subgroup=subgroup)
        .exclude(external_voucher_id="")
        .values_list("external_voucher_id", flat=True)
    )
    foreign: set[int] = set()
    for invoice in found:
        if not isinstance(invoice, dict) or invoice.get("IsReversed"):
            continue
        number = parse_int(invoice.get("InvoiceNo"))
        if number is None or not start <= number <= end:
            continue
        if text(invoice.get("Id")) in ours:
            continue
        foreign.add(number)
    return sorted(foreign)


def _collision_details(*, subgroup: Subgroup, foreign: list[int]) -> list[str]:
    details: list[str] = []
    blocked = sorted(
        set(
            Invoice.objects.filter(subgroup=subgroup, number__in=foreign).values_list(
                "number", flat=True
            )
        )
    )
    if blocked:
        details.append(
            f"Bitnets fakturaer {numbers(blocked)} kan ikke eksporteres: numrene er "
            "allerede brukt i PowerOffice."
        )
    ahead = [n for n in foreign if n >= subgroup.next_invoice_number]
    if ahead:
        details.append(f"Neste fakturaer fra Bitnet vil kollidere ved nummer {numbers(ahead)}.")
    return details


def invoice_series_check(*, subgroup: Subgroup, client: PowerOfficeClient) -> dict[str, Any]:
    """Manual point 3: our invoice numbers must not already be used in PowerOffice."""
    key, title = "invoice_series", TITLES["invoice_series"]
    start, end = subgroup.invoice_series_start, subgroup.invoice_series_end
    series = number_range(start, end)
    found = client.list_outgoing_invoices(invoice_nos=(start, end))
    foreign = _foreign_invoice_numbers(subgroup=subgroup, found=found or [])
    link_label = "Endre nummerserien"
    details: list[str] = []
    if subgroup.next_invoice_number > end:
        details.append(
            f"Fakturanummerserien {series} er brukt opp "
            f"(neste nummer {subgroup.next_invoice_number})."
        )
    if foreign:
        details += _collision_details(subgroup=subgroup, foreign=foreign)
        suggestion = max(foreign) + 1
        tip = (
            f" Flytt Bitnets serie slik at neste nummer er {suggestion} eller høyere,"
            if suggestion <= end
            else " Velg en ny fakturanummerserie i Bitnet"
        )
        return check_item(
            key,
            title,
            ERROR,
            f"PowerOffice har allerede {len(foreign)} "
            f"{'faktura' if len(foreign) == 1 else 'fakturaer'} med nummer i Bitnets serie "
            f"{series} som ikke kommer fra Bitnet: {numbers(foreign)}.{tip} eller kontroller "
            "fakturaene under Fakturaer i PowerOffice.",
            link=_series_link(subgroup),
            link_label=link_label,
            details=details,
        )
    if details:
        return check_item(
            key, title, WARNING, details[0], link=_series_link(subgroup), link_label=link_label
        )
    return check_item(
        key,
        title,
        OK,
        f"Ingen fakturaer i PowerOffice bruker numre i Bitnets serie {series} "
        "(utenom de Bitnet har eksportert).",
    )


# --- manual point 4: the customer number series ---------------------------------------------------


def _customer_ranges(client: PowerOfficeClient) -> list[tuple[int, int, str]]:
    """PowerOffice's customer number series as (from, to, name), readable ones only, in order."""
    ranges: list[tuple[int, int, str]] = []
    for series in client.list_sub_ledger_number_series() or []:
        if not isinstance(series, dict) or series.get("SubLedgerNumberSeriesType") != "Customer":
            continue
        low, high = parse_int(series.get("FromInclusive")), parse_int(series.get("ToInclusive"))
        if low is None or high is None or low > high:
            continue
        ranges.append((low, high, text(series.get("Name"))))
    return sorted(ranges)


def _customers_outside(subgroup: Subgroup, ranges: list[tuple[int, int, str]]) -> str | None:
    """The sentence about our customers whose numbers fit none of the ranges, or None."""
    inside = Q()
    for low, high, _ in ranges:
        inside |= Q(number__gte=low, number__lte=high)
    outside_qs = Customer.objects.filter(subgroup=subgroup).exclude(inside).order_by("number")
    outside = list(outside_qs.values_list("number", flat=True)[: MAX_LISTED + 1])
    if not outside:
        return None
    count = outside_qs.count() if len(outside) > MAX_LISTED else len(outside)
    listed = ", ".join(str(n) for n in outside[:MAX_LISTED])
    if count > MAX_LISTED:
        listed += f" … ({count} i alt)"
    return (
        f"{count} {'kunde har' if count == 1 else 'kunder har'} "
        f"kundenummer utenfor PowerOffice' serie: {listed}."
    )


def customer_series_check(*, subgroup: Subgroup, client: PowerOfficeClient) -> dict[str, Any]:
    """Manual point 4: our customer numbers must fit a PowerOffice customer number series."""
    key, title = "customer_series", TITLES["customer_series"]
    ranges = _customer_ranges(client)
    if not ranges:
        return check_item(
            key,
            title,
            ERROR,
            "PowerOffice har ingen kundenummerserie, så kundene kan ikke opprettes der. "
            "Opprett en kundenummerserie i PowerOffice.",
        )
    allowed = ", ".join(
        f"{number_range(low, high)}" + (f" («{name}»)" if name else "")
        for low, high, name in ranges
    )
    allowed_plain = " eller ".join(number_range(low, high) for low, high, _ in ranges)
    ours_low, ours_high = subgroup.customer_series_start, subgroup.customer_series_end
    problems: list[str] = []
    if not any(low <= ours_low and ours_high <= high for low, high, _ in ranges):
        problems.append(
            f"Kundenummerserien i Bitnet ({number_range(ours_low, ours_high)}) går utenfor "
            f"PowerOffice' kundenummerserie {allowed}."
        )
    outside = _customers_outside(subgroup, ranges)
    if outside:
        problems.append(outside)
    if problems:
        return check_item(
            key,
            title,
            ERROR,
            " ".join(problems)
            + f" Endre kundenummerserien i Bitnet slik at den ligger innenfor {allowed_plain}, "
            "eller utvid kundenummerserien i PowerOffice.",
            link=_series_link(subgroup),
            link_label="Endre nummerserien",
        )
    return check_item(
        key,
        title,
        OK,
        f"Kundenummerserien {number_range(ours_low, ours_high)} og alle kundenumre ligger "
        f"innenfor PowerOffice' serie {allowed}.",
    )


# --- VAT codes and the chart: the "Valider kontoplan" result, summed up ---------------------------


def _group_item(
    key: str, findings: list[dict[str, Any]], ok_text: str, link: str, link_label: str
) -> dict[str, Any]:
    title = TITLES[key]
    if not findings:
        return check_item(key, title, OK, ok_text)
    errors = [f for f in findings if f["severity"] == ERROR]
    warnings = [f for f in findings if f["severity"] == WARNING]
    parts = []
    if errors:
        parts.append(f"{len(errors)} feil")
    if warnings:
        parts.append(f"{len(warnings)} avvik å se på")
    counts = " og ".join(parts)
    ordered = errors + warnings
    details: list[str] = []
    if len(ordered) == 1:
        message = f"{counts}: {ordered[0]['message']}"
    else:
        message = f"{counts}."
        details = [f["message"] for f in ordered[:MAX_LISTED]]
        if len(ordered) > MAX_LISTED:
            details.append(f"… og {len(ordered) - MAX_LISTED} til.")
    return check_item(
        key,
        title,
        ERROR if errors else WARNING,
        message,
        link=link,
        link_label=link_label,
        details=details,
    )


def vat_codes_item(result: dict[str, Any]) -> dict[str, Any]:
    group = next(g for g in result["groups"] if g["key"] == "vat_codes")
    return _group_item(
        "vat_codes",
        group["findings"],
        "MVA-kodene og satsene stemmer med PowerOffice.",
        reverse("accounting_admin:vat_code_list"),
        "MVA-koder",
    )


def chart_item(result: dict[str, Any], *, subgroup_id: int) -> dict[str, Any]:
    findings = [
        f for g in result["groups"] if g["key"] in ("accounts", "articles") for f in g["findings"]
    ]
    validate = reverse("poweroffice_validation:account_validation")
    return _group_item(
        "chart",
        findings,
        f"Alle {result['summary']['accounts_checked']} kontoene stemmer med PowerOffice.",
        f"{validate}?undergruppe={subgroup_id}",
        "Se Valider kontoplan",
    )
