"""The write services of the chart check: "Valider kontoplan" and the prerequisites checklist.

``account_chart_validate`` fetches PowerOffice's chart once (two paged list calls), compares it
with ours (comparison.py) and keeps the result as an :class:`AccountValidation`;
``prerequisites_check`` runs the checklist (prerequisites.py) and stores it on the connection.
PowerOffice being unreachable or refusing the key gives a message (poweroffice/messages.py), never
an exception.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from bitnet.models import Subgroup, User
from poweroffice.chart.comparison import chart_result
from poweroffice.chart.prerequisites import (
    TITLES,
    chart_item,
    checks_overall,
    client_key_check,
    customer_series_check,
    invoice_series_check,
    unchecked_item,
    vat_codes_item,
)
from poweroffice.chart.selectors import our_chart_get
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.errors import PowerOfficeError, TransientError
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected, connection_client
from poweroffice.datadeling.selectors import connection_get
from poweroffice.invoices.refcache import reference_cache_refresh
from poweroffice.messages import Context, error_message
from poweroffice.models import AccountValidation, Connection

logger = logging.getLogger(__name__)

# "Valider kontoplan" runs kept per subgroup.
KEEP_VALIDATIONS = 20


_EXPECTED = (PowerOfficeError, NotConnected, SecretUnreadable)


# --- Valider kontoplan ----------------------------------------------------------------------------


def _fetch_chart(client: PowerOfficeClient) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two paged list calls: every general ledger account and every VAT code (expired too, so an
    expired code is reported as expired rather than missing)."""
    accounts = client.list_general_ledger_accounts()
    vat_codes = client.list_vat_codes(include_expired=True)
    return list(accounts or []), list(vat_codes or [])


def account_chart_validate(
    *,
    subgroup: Subgroup,
    user: User | None = None,
    client: PowerOfficeClient | None = None,
    update_checklist: bool = True,
) -> AccountValidation:
    """Run "Valider kontoplan" for one subgroup and keep the result with its time.

    Never raises for PowerOffice being unreachable or refusing the key: the saved result then
    carries the message in ``error``. ``client`` is for callers that already hold one.
    """
    validation = AccountValidation(subgroup=subgroup, run_by=user if user else None)
    connection = connection_get(subgroup)
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
        validation.error = error_message(exc, context=Context.CHART_CHECK)
        validation.result = {}
        validation.save()
        _prune(subgroup)
        return validation
    if connection is not None:
        # The export reads the chart and the VAT codes again: what was just checked is what
        # the next invoice uses.
        reference_cache_refresh(connection=connection, kinds=("accounts", "vat_codes"))
    result = chart_result(
        chart=our_chart_get(subgroup=subgroup),
        po_accounts=po_accounts,
        po_vat_codes=po_vat_codes,
        today=timezone.localdate(),
    )
    validation.ok = result["summary"]["errors"] == 0 and result["summary"]["warnings"] == 0
    validation.result = result
    with transaction.atomic():
        validation.save()
        if connection is not None and update_checklist:
            _update_chart_items(connection=connection, validation=validation)
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


def _update_chart_items(*, connection: Connection, validation: AccountValidation) -> None:
    """A new "Valider kontoplan" result refreshes the Kontoplan and VAT lines of the checklist."""
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    checks = connection.prerequisites
    if not isinstance(checks, list) or not checks:
        return
    fresh = {
        "chart": chart_item(validation.result, subgroup_id=connection.subgroup_id),
        "vat_codes": vat_codes_item(validation.result),
    }
    checks = [fresh.get(str(c.get("key")), c) if isinstance(c, dict) else c for c in checks]
    Connection.objects.filter(pk=connection.pk).update(
        prerequisites=checks, prerequisites_ok=checks_overall(checks)
    )


# --- prerequisites (Datadeling checklist) ---------------------------------------------------------


def _store(connection: Connection, checks: list[dict[str, Any]]) -> None:
    now = timezone.now()
    ok = checks_overall(checks)
    # update(), not save(): the Datadeling form may be saving the same row's options right now.
    Connection.objects.filter(pk=connection.pk).update(
        prerequisites=checks, prerequisites_ok=ok, prerequisites_checked_at=now
    )
    connection.prerequisites = checks
    connection.prerequisites_ok = ok
    connection.prerequisites_checked_at = now


def _checks_without_client(connection: Connection, error: Exception) -> list[dict[str, Any]]:
    """The checklist when PowerOffice could not be asked at all: unchecked while it is away, a
    key error (and the rest unchecked) when it refused the key."""
    reason = error_message(error, context=Context.CHART_CHECK)
    if isinstance(error, TransientError):
        return [unchecked_item(key, reason) for key in TITLES]
    return [client_key_check(connection=connection, info=None, failure=reason)] + [
        unchecked_item(key, "klientnøkkelen virker ikke.") for key in TITLES if key != "client_key"
    ]


def _chart_checks(
    *, subgroup: Subgroup, user: User | None, client: PowerOfficeClient
) -> list[dict[str, Any]]:
    """VAT codes and the chart share two list calls; the result is also kept as a
    "Valider kontoplan" run so that page shows the same."""
    try:
        validation: AccountValidation | None = account_chart_validate(
            subgroup=subgroup, user=user, client=client, update_checklist=False
        )
    except Exception:  # pragma: no cover - a bug must not hide the other checks
        logger.exception("Valider kontoplan crashed for subgroup %s", subgroup.pk)
        validation = None
    if validation is None or validation.error:
        unexpected = error_message(RuntimeError(), context=Context.CHART_CHECK)
        reason = validation.error if validation else unexpected
        return [unchecked_item("vat_codes", reason), unchecked_item("chart", reason)]
    return [
        vat_codes_item(validation.result),
        chart_item(validation.result, subgroup_id=subgroup.pk),
    ]


def _series_checks(*, subgroup: Subgroup, client: PowerOfficeClient) -> list[dict[str, Any]]:
    checks = []
    for key, run in (
        ("invoice_series", invoice_series_check),
        ("customer_series", customer_series_check),
    ):
        try:
            checks.append(run(subgroup=subgroup, client=client))
        except _EXPECTED as exc:
            checks.append(unchecked_item(key, error_message(exc, context=Context.CHART_CHECK)))
    return checks


def prerequisites_check(
    *, connection: Connection, user: User | None = None, client: PowerOfficeClient | None = None
) -> list[dict[str, Any]]:
    """Check the manual's prerequisites for one subgroup and store them on the connection.

    Returns the checks (each: key, title, status ok/error/warning, message, link, link_label,
    details, unchecked) as stored in ``connection.prerequisites``; ``prerequisites_ok`` is False
    when one is an error, None when PowerOffice could not be asked, else True.
    """
    subgroup = connection.subgroup
    try:
        if client is None:
            client = connection_client(connection)
        info = client.get_client_integration_information() or {}
    except _EXPECTED as exc:
        logger.info("Prerequisites for subgroup %s: %s", subgroup.pk, type(exc).__name__)
        checks = _checks_without_client(connection, exc)
    else:
        checks = [client_key_check(connection=connection, info=info, failure=None)]
        checks += _chart_checks(subgroup=subgroup, user=user, client=client)
        checks += _series_checks(subgroup=subgroup, client=client)
    _store(connection, checks)
    return checks
