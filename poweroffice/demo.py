"""The demo's PowerOffice side: each demo subgroup connected to its own sandbox client.

``demo_connect`` is called by ``seed_demo``. It is idempotent: a connection whose stored key
still verifies is reused as it is, options already on stay on, departments are synced (no
change when PowerOffice has not changed) and offices keep an "Ekstern avdeling" already chosen.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings

from accounting.models import Account
from bitnet.models import Agency, Office
from poweroffice.chart.services import prerequisites_check
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import (
    client_key_verify,
    connection_client_key,
    connection_for_subgroup,
    connection_store_client_key,
)
from poweroffice.datadeling.departments import departments_sync
from poweroffice.datadeling.services import connection_settings_update
from poweroffice.models import Connection, Department

logger = logging.getLogger(__name__)

# Every option of Datadeling, on: the keyword arguments of connection_settings_update.
OPTIONS: dict[str, Any] = {
    "enabled": True,
    "include_employee_number": True,
    "auto_export": True,
    "include_specification": True,
    "include_department": True,
}


def _sandbox_url() -> str:
    return settings.POWEROFFICE_SANDBOX_URL.rstrip("/")


def _hook_headers() -> dict[str, str]:
    """The sandbox's hook token, when it runs with one (not bin/run's --demo-open)."""
    token = settings.POWEROFFICE_SANDBOX_TOKEN
    return {"X-Sandbox-Token": token} if token else {}


def _key_still_works(connection: Connection) -> bool:
    if not connection.has_client_key:
        return False
    try:
        key = connection_client_key(connection)
    except SecretUnreadable:
        return False
    return client_key_verify(client_key=key).ok


def _new_sandbox_client(*, agency: Agency, name: str, org_number: str) -> str:
    response = requests.post(
        f"{_sandbox_url()}/_sandbox/clients",
        json={
            "name": name,
            "organization_no": org_number or None,
            "seed": f"{agency.name} / {name}",
            "application_key": settings.POWEROFFICE_APPLICATION_KEY,
            "subscription_key": settings.POWEROFFICE_SUBSCRIPTION_KEY,
        },
        headers=_hook_headers(),
        timeout=15,
    )
    response.raise_for_status()
    return response.json()["client_key"]


def _same_org_number(*, client_key: str, org_number: str) -> None:
    """A kept sandbox client gets its subgroup's organisation number (clients of older demos
    have none), so the onboarding proposes the subgroup."""
    requests.patch(
        f"{_sandbox_url()}/_sandbox/clients/{client_key}",
        json={"organization_no": org_number or None},
        headers=_hook_headers(),
        timeout=15,
    ).raise_for_status()


def _mirror_sales_accounts(*, agency: Agency, client_key: str) -> int:
    """Give a new demo client the sales accounts our articles use, as a customer setting up
    PowerOffice to match Bitnet would ("Viktig!" 2 in the manual). Returns how many were added."""
    base = f"{_sandbox_url()}/_sandbox/clients/{client_key}/data"
    theirs = requests.get(f"{base}/accounts", headers=_hook_headers(), timeout=15)
    theirs.raise_for_status()
    have = {a.get("AccountNo") for a in theirs.json()}
    vat = requests.get(f"{base}/vatcodes", headers=_hook_headers(), timeout=15)
    vat.raise_for_status()
    vat_ids = {v["Code"]: v["Id"] for v in vat.json() if not v.get("ValidTo") and v.get("IsActive")}
    added = 0
    accounts = Account.objects.filter(agency=agency, articles__isnull=False).select_related(
        "vat_code"
    )
    for account in accounts.distinct().order_by("number"):
        if account.number in have:
            continue
        body = {
            "AccountNo": account.number,
            "Name": account.name,
            "GeneralLedgerAccountType": "Income",
            "IsActive": True,
        }
        if account.vat_code and account.vat_code.code in vat_ids:
            body["VatCodeId"] = vat_ids[account.vat_code.code]
        requests.post(
            f"{base}/accounts", json=body, headers=_hook_headers(), timeout=15
        ).raise_for_status()
        added += 1
    return added


def _assign_departments(*, connection: Connection) -> int:
    """Offices without an "Ekstern avdeling" get the active department named like their city
    (or office), else the first active one. Returns how many offices were assigned."""
    active = list(
        Department.objects.filter(subgroup_id=connection.subgroup_id, is_active=True).order_by(
            "code"
        )
    )
    if not active:
        return 0
    by_name = {d.name.lower(): d for d in active}
    assigned = 0
    for office in Office.objects.filter(subgroup_id=connection.subgroup_id).order_by("name"):
        if office.external_department_code:
            continue
        department = by_name.get(office.city.lower()) or by_name.get(office.name.lower())
        department = department or active[0]
        Office.objects.filter(pk=office.pk).update(external_department_code=department.code)
        assigned += 1
    return assigned


def _prerequisites_text(ok: bool | None) -> str:
    if ok is None:
        return "forutsetninger ikke sjekket"
    return "forutsetninger ok" if ok else "forutsetninger ikke oppfylt"


def demo_connect(*, agency: Agency) -> str:
    """Connect every subgroup of the demo agency to a sandbox client, with all four options."""
    lines = []
    for subgroup in agency.subgroups.order_by("name"):
        connection = connection_for_subgroup(subgroup)
        if _key_still_works(connection):
            state = "beholdt eksisterende klientnøkkel"
            key = connection_client_key(connection)
            _same_org_number(client_key=key, org_number=subgroup.org_number)
        else:
            key = _new_sandbox_client(
                agency=agency, name=subgroup.name, org_number=subgroup.org_number
            )
            _mirror_sales_accounts(agency=agency, client_key=key)
            result = connection_store_client_key(connection=connection, client_key=key)
            if not result.ok:
                raise RuntimeError(f"{subgroup.name}: {result.message}")
            state = "ny klient i sandkassen"
        if any(getattr(connection, name) != value for name, value in OPTIONS.items()):
            connection_settings_update(connection=connection, **OPTIONS)
        synced = departments_sync(connection=connection)
        assigned = _assign_departments(connection=connection)
        # Fill Datadeling's checklist, so the demo shows what the prerequisites look like.
        prerequisites_check(connection=connection)
        connection.refresh_from_db()
        checked = _prerequisites_text(connection.prerequisites_ok)
        lines.append(
            f"  {subgroup.name}: {state}, {synced.fetched} avdelinger"
            + (f", {assigned} byråer fikk ekstern avdeling" if assigned else "")
            + f", {checked}"
        )
    return "PowerOffice (sandkassen):\n" + "\n".join(lines)
