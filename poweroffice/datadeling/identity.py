"""The PowerOffice client behind a subgroup's key: one client per subgroup, checked before
every export run.

A connection remembers the client it was verified against (``client_id``, ``client_name``).
Before a run sends anything, the client behind the stored key is asked once (GET
/ClientIntegrationInformation) and compared with it; on a difference the subgroup's exports are
held with the reason, on the Datadeling checklist and on the invoices, until a key for the right
client is saved again.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables

from accounting.models import ExportStatus, Invoice
from poweroffice.chart.findings import ERROR
from poweroffice.client.client import PowerOfficeClient
from poweroffice.crypto import decrypt_secret
from poweroffice.invoices.reference import ExportProblem
from poweroffice.models import Connection

logger = logging.getLogger(__name__)

KIND = "client_changed"


class ClientMismatch(ExportProblem):
    """The key now belongs to another PowerOffice client than the one it was verified against."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind=KIND)


def _named(name: str, client_id: str) -> str:
    return f"«{name}»" if name else f"klient-ID {client_id}"


def client_owner(*, connection: Connection, client_id: str) -> Connection | None:
    """Another subgroup's connection to the PowerOffice client ``client_id``, if any."""
    if not client_id:
        return None
    return (
        Connection.objects.filter(client_id=client_id)
        .exclude(pk=connection.pk)
        .exclude(client_key_encrypted="")
        .select_related("subgroup__agency")
        .order_by("pk")
        .first()
    )


def client_taken_message(*, connection: Connection, owner: Connection, client_name: str) -> str:
    """Why a key for another subgroup's PowerOffice client is refused."""
    other = owner.subgroup.name
    if owner.subgroup.agency_id != connection.subgroup.agency_id:
        other = "en undergruppe i en annen etat"
    return (
        f"Klientnøkkelen er ikke lagret: den hører til PowerOffice-klienten «{client_name}», "
        f"som allerede er koblet til {other}. {connection.subgroup.name} og {other} kan ikke "
        f"dele PowerOffice-klient. Lag en klientnøkkel i {connection.subgroup.name}s egen "
        "klient i PowerOffice og lim den inn her."
    )


def client_mismatch_message(*, connection: Connection, info: dict[str, Any]) -> str:
    """ "" when the key still belongs to the client the connection was verified against."""
    found = str(info.get("ClientId") or "")
    if not connection.client_id or not found or found == connection.client_id:
        return ""
    found_name = _named(str(info.get("ClientName") or ""), found)
    stored_name = _named(connection.client_name, connection.client_id)
    owner = client_owner(connection=connection, client_id=found)
    owner_text = f", som er {owner.subgroup.name}s klient" if owner else ""
    name = connection.subgroup.name
    return (
        f"Eksport for {name} er holdt tilbake: klientnøkkelen gir nå tilgang til "
        f"PowerOffice-klienten {found_name}{owner_text}, men {name} er koblet til "
        f"{stored_name}. Ingenting er sendt. Lim inn klientnøkkelen for {stored_name} under "
        "Administrasjon > Datadeling."
    )


def _hold_connection(connection: Connection, reason: str) -> None:
    """The Datadeling checklist says why, and automatic exports are held until it is fixed."""
    with transaction.atomic():
        row = Connection.objects.select_for_update().get(pk=connection.pk)
        checks = row.prerequisites if isinstance(row.prerequisites, list) else []
        item = {
            "key": "client_key",
            "title": "Egen klientnøkkel",
            "status": ERROR,
            "message": reason,
            "link": "/administrasjon/datadeling/",
            "link_label": "Bytt klientnøkkel i Datadeling",
            "details": [],
            "unchecked": False,
        }
        rest = [c for c in checks if not (isinstance(c, dict) and c.get("key") == "client_key")]
        Connection.objects.filter(pk=connection.pk).update(
            prerequisites=[item, *rest], prerequisites_ok=False
        )
        transaction.on_commit(lambda: _alert(connection, reason))
    connection.prerequisites_ok = False


def _alert(connection: Connection, reason: str) -> None:
    # Imported here: the alerts read invoices and payroll, which import this package.
    from poweroffice.alerts.services import alert_record
    from poweroffice.models import AlertKind

    alert_record(
        subgroup=connection.subgroup,
        kind=AlertKind.CONNECTION,
        message=reason,
        path=reverse("datadeling:index"),
    )


# How long a key's client, once seen, is trusted without asking again (a key belongs to one
# client for its life; a different stored key is a different cache entry).
CONFIRMED_FOR = 24 * 3600


@sensitive_variables("key")
def _confirmed_marker(connection: Connection) -> str:
    """A cache key for "this stored key opens the stored client", without the key in it."""
    key = decrypt_secret(connection.client_key_encrypted)
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{key}".encode()).hexdigest()
    return f"poweroffice:identity:{digest}:{connection.client_id}"


def client_identity_remember(*, connection: Connection) -> None:
    """The stored key was just verified against the stored client."""
    try:
        cache.set(_confirmed_marker(connection), 1, timeout=CONFIRMED_FOR)
    except Exception:  # no shared cache: every run asks PowerOffice
        logger.warning("Client identity cache unavailable", exc_info=True)


def _confirmed(connection: Connection) -> bool:
    try:
        return bool(cache.get(_confirmed_marker(connection)))
    except Exception:
        logger.warning("Client identity cache unavailable", exc_info=True)
        return False


def client_identity_mismatch(*, connection: Connection, client: PowerOfficeClient) -> str:
    """Why the key no longer opens the stored client ("" when it does), holding nothing: for
    looks that send nothing. No request for a key already seen to open the stored client."""
    if not connection.client_id or _confirmed(connection):
        return ""
    info = client.get_client_integration_information() or {}
    return client_mismatch_message(connection=connection, info=info)


def client_identity_confirm(*, connection: Connection, client: PowerOfficeClient) -> None:
    """Raise :class:`ClientMismatch` (and hold the subgroup) when the key now belongs to another
    client than the one stored. At most one request per run, none for a key already seen to
    open the stored client."""
    if not connection.client_id or _confirmed(connection):
        return
    info = client.get_client_integration_information() or {}
    reason = client_mismatch_message(connection=connection, info=info)
    if reason:
        logger.warning("Subgroup %s: client key now for another client", connection.subgroup_id)
        _hold_connection(connection, reason)
        raise ClientMismatch(reason)
    client_identity_remember(connection=connection)


def invoices_hold(*, invoice_ids: list[int], reason: str) -> int:
    """Hold invoices that were about to be exported (none is sent, none marked failed)."""
    return Invoice.objects.filter(
        pk__in=invoice_ids,
        export_status__in=(
            ExportStatus.NOT_EXPORTED,
            ExportStatus.PENDING,
            ExportStatus.FAILED,
            ExportStatus.HELD,
        ),
    ).update(export_status=ExportStatus.HELD, export_error=reason)


def identity_holds_release(*, connection: Connection) -> int:
    """A key for the right client again: the invoices held for the client's identity go back
    to waiting (PENDING for automatic export, else not exported)."""
    status = ExportStatus.PENDING if connection.auto_export else ExportStatus.NOT_EXPORTED
    return Invoice.objects.filter(
        subgroup_id=connection.subgroup_id,
        export_status=ExportStatus.HELD,
    ).update(export_status=status, export_error="")
