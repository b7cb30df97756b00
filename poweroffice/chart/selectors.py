"""Reads of the chart check: our chart as the comparison needs it, the kept "Valider kontoplan"
runs, and what the stored prerequisites mean for the export."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from accounting.models import VAT_CODE_ORDER, Account, Article, VatCode
from bitnet.models import Subgroup
from poweroffice.chart.findings import ERROR, OK, WARNING
from poweroffice.models import AccountValidation, Connection


@dataclass
class OurChart:
    accounts: list[Account]
    articles_by_account: dict[int, list[Article]]
    vat_codes: list[VatCode]


def our_chart_get(*, subgroup: Subgroup) -> OurChart:
    """The subgroup's agency's accounts, active articles and VAT codes: three queries, whatever
    the size of the chart."""
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
    vat_codes = list(VatCode.objects.filter(agency_id=agency_id).order_by(*VAT_CODE_ORDER))
    return OurChart(accounts=accounts, articles_by_account=articles_by_account, vat_codes=vat_codes)


def subgroups_connected(*, agency_id: int) -> list[Subgroup]:
    """The agency's subgroups that have a client key stored, by name (the page's choices)."""
    return list(
        Subgroup.objects.filter(
            agency_id=agency_id, poweroffice_connection__client_key_encrypted__gt=""
        ).order_by("name")
    )


def account_validation_latest(*, subgroup: Subgroup) -> AccountValidation | None:
    return AccountValidation.objects.filter(subgroup=subgroup).order_by("-run_at", "-id").first()


def account_validation_latest_completed(*, subgroup: Subgroup) -> AccountValidation | None:
    return (
        AccountValidation.objects.filter(subgroup=subgroup, error="")
        .order_by("-run_at", "-id")
        .first()
    )


def _stored_checks(connection: Connection) -> list[Any]:
    checks = connection.prerequisites
    return checks if isinstance(checks, list) else []


def prerequisites_hold_reason(connection: Connection) -> str | None:
    """Why automatic export is held back for this subgroup, or None.

    Only a failed check holds export back: a subgroup never checked, or checked while
    PowerOffice could not be reached, exports as usual (a failing export explains itself).
    """
    if connection.prerequisites_ok is not False:
        return None
    failed = [
        c.get("title", "")
        for c in _stored_checks(connection)
        if isinstance(c, dict) and c.get("status") == ERROR
    ]
    what = f" ({', '.join(t for t in failed if t)})" if failed else ""
    return (
        f"Automatisk eksport er holdt tilbake fordi forutsetningene for PowerOffice ikke er "
        f"oppfylt for {connection.subgroup.name}{what}. Rett feilene og klikk «Sjekk på nytt» "
        "under Administrasjon > Datadeling."
    )


def prerequisites_summary(connection: Connection) -> dict[str, int]:
    """Counts per status of the stored checks (for a compact line on Datadeling)."""
    counts = {OK: 0, ERROR: 0, WARNING: 0}
    for check in _stored_checks(connection):
        if isinstance(check, dict) and check.get("status") in counts:
            counts[check["status"]] += 1
    return counts
