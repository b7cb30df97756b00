"""Administrasjon > Integrasjoner: "Aktiver" and "Deaktiver" PowerOffice Go for a subgroup's
payroll (the ABAX guide's first step).

Activation needs a client key of the subgroup's one PowerOffice client (the key Datadeling holds,
or a new one) whose client has the payroll module and the salary-line privilege
(GET /ClientIntegrationInformation).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from bitnet.audit.services import Change, audit_record
from bitnet.models import AuditArea, Subgroup, User
from poweroffice.client.errors import PowerOfficeError
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import (
    NotConnected,
    client_key_verify,
    connection_client,
    connection_for_subgroup,
    connection_store_client_key,
)
from poweroffice.messages import Context, error_message
from poweroffice.models import Connection

logger = logging.getLogger(__name__)

PAYROLL_SUBSCRIPTION = "Payroll"
SALARY_LINE_PRIVILEGE = "SalaryLine_Full"


@dataclass
class ActivationResult:
    ok: bool
    message: str


class _Refused(Exception):
    """Activation stops here; the message says why, for the dialog."""


def _payroll_capability_problem(
    *, client_name: str, subscriptions: Iterable[str], valid: Iterable[str], invalid: Iterable[str]
) -> str:
    """Empty when the client has the payroll module and the salary-line privilege."""
    name = f"«{client_name}»" if client_name else "klienten"
    if PAYROLL_SUBSCRIPTION not in set(subscriptions):
        return (
            f"Klientnøkkelen er gyldig, men {name} har ikke abonnement på Lønn i PowerOffice Go. "
            "Aktiver lønnsmodulen for klienten i PowerOffice Go, og prøv igjen."
        )
    if SALARY_LINE_PRIVILEGE not in set(valid):
        why = (
            " (rettigheten er ugyldig for klientens abonnement)"
            if (SALARY_LINE_PRIVILEGE in set(invalid))
            else ""
        )
        return (
            f"Integrasjonen har ikke tilgang til å opprette lønnslinjer hos {name}"
            f" ({SALARY_LINE_PRIVILEGE}){why}. Gi utvidelsen tilgang til lønnslinjer under "
            "Innstillinger > Utvidelser i PowerOffice Go, og prøv igjen."
        )
    return ""


def _check_datadeling_key(subgroup: Subgroup, connection: Connection) -> str:
    """The key Datadeling holds: ask PowerOffice what it may do. Returns the client's name."""
    if not connection.has_client_key:
        raise _Refused(
            f"Datadeling har ingen klientnøkkel for {subgroup.name}. Lim inn klientnøkkelen "
            "fra PowerOffice Go."
        )
    try:
        with connection_client(connection) as client:
            info: dict[str, Any] = client.get_client_integration_information() or {}
    except (NotConnected, SecretUnreadable) as exc:
        raise _Refused(str(exc)) from None
    except PowerOfficeError as exc:
        raise _Refused(error_message(exc, context=Context.KEY_CHECK)) from None
    client_name: str = info.get("ClientName") or connection.client_name
    problem = _payroll_capability_problem(
        client_name=client_name,
        subscriptions=info.get("ActiveClientSubscriptions") or [],
        valid=info.get("ValidPrivileges") or [],
        invalid=info.get("InvalidPrivileges") or [],
    )
    if problem:
        raise _Refused(problem)
    connection.subscriptions = list(info.get("ActiveClientSubscriptions") or [])
    connection.privileges = list(info.get("ValidPrivileges") or [])
    return client_name


@sensitive_variables("client_key")
def _check_and_store_new_key(
    subgroup: Subgroup, connection: Connection, client_key: str, actor: User | None
) -> str:
    """A pasted key: verify it, and store it only when it may create salary lines for the
    subgroup's client. Returns the client's name."""
    client_key = client_key.strip()
    verified = client_key_verify(client_key=client_key)
    if not verified.ok:
        raise _Refused(verified.message)
    client_name = verified.client_name
    problem = _payroll_capability_problem(
        client_name=client_name,
        subscriptions=verified.subscriptions,
        valid=verified.valid_privileges,
        invalid=verified.invalid_privileges,
    )
    if problem:
        raise _Refused(problem)
    if (
        connection.has_client_key
        and connection.client_id
        and verified.client_id
        and connection.client_id != verified.client_id
    ):
        # One subgroup is one PowerOffice client: a key for another company would send
        # invoices and salary lines to different books.
        raise _Refused(
            f"Klientnøkkelen gjelder «{client_name}», men {subgroup.name} er koblet til "
            f"«{connection.client_name}» i Datadeling. Bruk klientnøkkelen for "
            f"«{connection.client_name}», eller bytt klient under Administrasjon > "
            "Datadeling først."
        )
    stored = connection_store_client_key(
        connection=connection, client_key=client_key, actor=actor, area=AuditArea.INTEGRATIONS
    )
    if not stored.ok:
        raise _Refused(stored.message)
    return client_name


def _record(
    subgroup: Subgroup, action: str, summary: str, actor: User | None, *changes: Change
) -> None:
    audit_record(
        agency_id=subgroup.agency_id,
        area=AuditArea.INTEGRATIONS,
        action=action,
        summary=summary,
        actor=actor,
        subgroup_id=subgroup.pk,
        changes=changes,
    )


@sensitive_variables("client_key")
def payroll_integration_activate(
    *, subgroup: Subgroup, client_key: str | None = None, actor: User | None = None
) -> ActivationResult:
    """ "Aktiver" PowerOffice Go for a subgroup's payroll.

    ``client_key`` None reuses the key Datadeling holds ("Bruk samme klientnøkkel som
    Datadeling"). A new key is verified first and stored only when the client has the payroll
    module and the salary-line privilege (GET /ClientIntegrationInformation); it is kept by
    ``connection_store_client_key`` (encrypted, never logged), the subgroup's one key.
    Integrasjoner's Endringslogg records the activation (or the new check), by ``actor``.
    """
    connection = connection_for_subgroup(subgroup)
    try:
        if client_key is None:
            client_name = _check_datadeling_key(subgroup, connection)
        else:
            client_name = _check_and_store_new_key(subgroup, connection, client_key, actor)
    except _Refused as refused:
        return ActivationResult(False, str(refused))
    with transaction.atomic():
        was_enabled = (
            Connection.objects.select_for_update()
            .filter(pk=connection.pk, payroll_enabled=True)
            .exists()
        )
        connection.payroll_enabled = True
        connection.payroll_verified_at = timezone.now()
        connection.save(
            update_fields=[
                "payroll_enabled",
                "payroll_verified_at",
                "subscriptions",
                "privileges",
                "updated_at",
            ]
        )
        key = (
            f"ny klientnøkkel (…{connection.client_key_last4})"
            if client_key is not None
            else "klientnøkkelen fra Datadeling"
        )
        client = f", klient «{client_name}»" if client_name else ""
        if was_enabled:
            _record(subgroup, "checked", f"Kontrollert på nytt med {key}{client}", actor)
        else:
            _record(
                subgroup,
                "activated",
                f"PowerOffice Go aktivert med {key}{client}",
                actor,
                Change("Lønn i PowerOffice Go", "Av", "På"),
            )
    logger.info("Payroll integration activated for subgroup %s", subgroup.pk)
    return ActivationResult(
        True,
        f"PowerOffice Go er aktivert for {subgroup.name}. Integreringen er godkjent"
        + (f" (klient «{client_name}»)." if client_name else "."),
    )


def payroll_integration_deactivate(*, subgroup: Subgroup, actor: User | None = None) -> None:
    """ "Deaktiver": no more payroll exports. The client key stays (Datadeling may use it)."""
    with transaction.atomic():
        changed = Connection.objects.filter(subgroup=subgroup, payroll_enabled=True).update(
            payroll_enabled=False, updated_at=timezone.now()
        )
        if changed:
            _record(
                subgroup,
                "deactivated",
                "PowerOffice Go deaktivert (klientnøkkelen beholdes for Datadeling)",
                actor,
                Change("Lønn i PowerOffice Go", "På", "Av"),
            )
