"""PowerOffice connections per subgroup: the client key (verified, encrypted), and clients.

SPEC Part A item 1: saving a client key verifies it against PowerOffice at once and says
clearly whether it worked and why not. The key is stored encrypted and never shown again.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from bitnet.audit.services import Change, audit_record
from bitnet.models import AuditArea, Subgroup, User
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.errors import PowerOfficeError
from poweroffice.client.ratelimit import Lane
from poweroffice.crypto import decrypt_secret, encrypt_secret, mask_secret
from poweroffice.datadeling.identity import (
    client_identity_remember,
    client_owner,
    client_taken_message,
    identity_holds_release,
)
from poweroffice.invoices.refcache import reference_cache_clear
from poweroffice.models import Connection

logger = logging.getLogger(__name__)


class NotConnected(Exception):
    """The subgroup has no client key stored."""


@dataclass
class VerifyResult:
    ok: bool
    message: str
    client_name: str = ""
    client_id: str = ""
    subscriptions: list[str] = field(default_factory=list)
    valid_privileges: list[str] = field(default_factory=list)
    invalid_privileges: list[str] = field(default_factory=list)


def connection_for_subgroup(subgroup: Subgroup) -> Connection:
    connection, _ = Connection.objects.get_or_create(subgroup=subgroup)
    return connection


@sensitive_variables("client_key")
def connection_client_for_key(client_key: str) -> PowerOfficeClient:
    return PowerOfficeClient(client_key)


@sensitive_variables()
def connection_client(
    connection: Connection, *, lane: Lane = Lane.INTERACTIVE
) -> PowerOfficeClient:
    """A client for the connection's stored key. Raises NotConnected when there is none.

    ``lane``: the rate limiter's queue, ``Lane.BULK`` for work of many requests that no person
    waits on, so that it never holds back another client's single export."""
    if not connection.client_key_encrypted:
        raise NotConnected(
            f"{connection.subgroup.name} har ingen klientnøkkel. "
            "Legg den inn under Administrasjon > Datadeling."
        )
    return PowerOfficeClient(decrypt_secret(connection.client_key_encrypted), lane=lane)


@sensitive_variables("client_key")
def client_key_verify(*, client_key: str) -> VerifyResult:
    """Ask PowerOffice who the key belongs to (GET /ClientIntegrationInformation)."""
    client_key = client_key.strip()
    if not client_key:
        return VerifyResult(ok=False, message="Lim inn klientnøkkelen fra PowerOffice.")
    try:
        with connection_client_for_key(client_key) as client:
            info = client.get_client_integration_information()
    except PowerOfficeError as exc:
        # Imported here: poweroffice.messages imports NotConnected from this module.
        from poweroffice.messages import Context, error_message

        logger.info("Client key check failed: %s", type(exc).__name__)
        return VerifyResult(ok=False, message=error_message(exc, context=Context.KEY_CHECK))
    name = info.get("ClientName") or ""
    return VerifyResult(
        ok=True,
        message=f"Klientnøkkelen er godkjent. Koblet til «{name}» i PowerOffice.",
        client_name=name,
        client_id=str(info.get("ClientId") or ""),
        subscriptions=list(info.get("ActiveClientSubscriptions") or []),
        valid_privileges=list(info.get("ValidPrivileges") or []),
        invalid_privileges=list(info.get("InvalidPrivileges") or []),
    )


def _record_key_change(
    connection: Connection, *, replaced: bool, old_client: str, actor: User | None, area: str
) -> None:
    """The Endringslogg names a key by its last four characters only, never the key."""
    last4 = connection.client_key_last4
    what = "Klientnøkkel byttet" if replaced else "Klientnøkkel lagt inn"
    summary = f"{what} (…{last4})" if last4 else what
    if area == AuditArea.INTEGRATIONS:
        summary += " under Integrasjoner"
    changes = []
    if old_client != connection.client_name:
        changes.append(
            Change("Klient i PowerOffice", old_client or "(tom)", connection.client_name)
        )
    audit_record(
        agency_id=connection.subgroup.agency_id,
        area=AuditArea.DATADELING,
        action="client_key",
        summary=summary,
        actor=actor,
        subgroup_id=connection.subgroup_id,
        changes=changes,
    )


@sensitive_variables("client_key")
def connection_store_client_key(
    *,
    connection: Connection,
    client_key: str,
    actor: User | None = None,
    area: str = AuditArea.DATADELING,
    org_number: str = "",
) -> VerifyResult:
    """Verify ``client_key`` and, only if PowerOffice accepts it, store it encrypted.

    ``org_number``: the client's organisation number where PowerOffice named it (onboarding);
    without it one already known is kept for the same client and forgotten for another.

    A rejected key leaves the stored key (if any) untouched, so a typo never disconnects a
    working subgroup. A stored key is recorded in Datadeling's Endringslogg by its last four
    characters (``area`` says which page it was pasted on).
    """
    result = client_key_verify(client_key=client_key)
    if not result.ok:
        Connection.objects.filter(pk=connection.pk).update(verify_error=result.message)
        connection.verify_error = result.message
        return result
    owner = client_owner(connection=connection, client_id=result.client_id)
    if owner is not None:
        # One subgroup, one PowerOffice client: else its invoices are booked in another's books.
        result = VerifyResult(
            ok=False,
            message=client_taken_message(
                connection=connection, owner=owner, client_name=result.client_name
            ),
        )
        Connection.objects.filter(pk=connection.pk).update(verify_error=result.message)
        connection.verify_error = result.message
        return result
    client_key = client_key.strip()
    replaced, old_client = connection.has_client_key, connection.client_name
    with transaction.atomic():
        connection.client_key_encrypted = encrypt_secret(client_key)
        connection.client_key_last4 = mask_secret(client_key)
        if org_number or connection.client_id != result.client_id:
            connection.client_org_number = org_number
        connection.client_name = result.client_name
        connection.client_id = result.client_id
        connection.subscriptions = result.subscriptions
        connection.privileges = result.valid_privileges
        connection.verified_at = timezone.now()
        connection.verify_error = ""
        connection.save()
        _record_key_change(
            connection, replaced=replaced, old_client=old_client, actor=actor, area=area
        )
    # A new key is a fresh start: what was kept of the client is read again.
    reference_cache_clear(connection=connection)
    client_identity_remember(connection=connection)
    info: dict[str, object] = {
        "ClientId": result.client_id,
        "ClientName": result.client_name,
        "ActiveClientSubscriptions": result.subscriptions,
        "ValidPrivileges": result.valid_privileges,
        "InvalidPrivileges": result.invalid_privileges,
    }
    _prerequisites_again(connection, info)
    _checklist_now(connection, actor)
    # Imported here: the connection test builds on this module.
    from poweroffice.datadeling.connection_check import capability_problems

    problems = capability_problems(connection=connection, info=info)
    if problems:
        result.message = " ".join([result.message, *problems])
    return result


def _prerequisites_again(connection: Connection, info: dict[str, object]) -> None:
    """The "Egen klientnøkkel" line of the checklist is checked again at once, for this
    subgroup and for every subgroup of the agency it named, so a hold for a shared or changed
    client ends with the right key; what was held goes back to waiting. (The rest of the
    checklist follows at once, ``_checklist_now``.)"""
    # Imported here: the checklist's modules import this one.
    from poweroffice.chart.prerequisites import checks_overall, client_key_check

    flagged = [
        other
        for other in Connection.objects.filter(subgroup__agency_id=connection.subgroup.agency_id)
        .exclude(pk=connection.pk)
        .select_related("subgroup")
        if any(
            isinstance(c, dict) and c.get("key") == "client_key" and c.get("status") == "error"
            for c in (other.prerequisites if isinstance(other.prerequisites, list) else [])
        )
    ]
    for row, row_info in [(connection, info), *((other, None) for other in flagged)]:
        item = client_key_check(connection=row, info=row_info, failure=None)
        with transaction.atomic():
            locked = Connection.objects.select_for_update().get(pk=row.pk)
            checks = locked.prerequisites if isinstance(locked.prerequisites, list) else []
            rest = [c for c in checks if not (isinstance(c, dict) and c.get("key") == "client_key")]
            if rest:
                ok = checks_overall([item, *rest])
            else:  # never checked: only a problem found is known
                ok = False if item["status"] == "error" else None
            Connection.objects.filter(pk=row.pk).update(
                prerequisites=[item, *rest], prerequisites_ok=ok
            )
        row.prerequisites, row.prerequisites_ok = [item, *rest], ok
        if ok is not False:
            identity_holds_release(connection=row)


def _checklist_now(connection: Connection, actor: User | None) -> None:
    """The whole checklist, as "Sjekk på nytt" runs it, at once with the new key; what was held
    goes back to waiting when nothing is an error. A check that cannot run leaves the key saved
    and the "Egen klientnøkkel" line already stored."""
    # Imported here: the checklist's modules import this one.
    from poweroffice.chart.services import prerequisites_check

    try:
        prerequisites_check(connection=connection, user=actor)
    except Exception:
        logger.exception("Prerequisites after a key save failed for subgroup %s", connection.pk)
        return
    if connection.prerequisites_ok is not False:
        identity_holds_release(connection=connection)


@sensitive_variables()
def connection_client_key(connection: Connection) -> str:
    """The decrypted key, for reuse by another integration of the same subgroup only."""
    return decrypt_secret(connection.client_key_encrypted)
