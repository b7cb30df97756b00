"""Saving Administrasjon > Datadeling for one subgroup (SPEC Part A, item 1), and re-encrypting
every stored client key with the newest FIELD_ENCRYPTION_KEY (``rotate_client_keys``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from bitnet.audit.services import audit_changes, audit_record
from bitnet.models import AuditArea, User
from poweroffice.crypto import SecretUnreadable, secret_rotate
from poweroffice.datadeling.connection import VerifyResult, connection_store_client_key
from poweroffice.models import Connection

# The fields of a Datadeling "Lagre" besides the key, in the order of the page.
SETTINGS = (
    "enabled",
    "include_employee_number",
    "auto_export",
    "include_specification",
    "include_department",
)


def _labels() -> dict[str, str]:
    """The labels of the page (the manual's, as the model names them)."""
    return {
        name: str(getattr(Connection._meta.get_field(name), "verbose_name", name))
        for name in SETTINGS
    }


@dataclass
class DatadelingResult:
    ok: bool
    key_result: VerifyResult | None = None

    @property
    def message(self) -> str:
        return self.key_result.message if self.key_result else ""


@sensitive_variables("client_key")
def connection_settings_update(
    *,
    connection: Connection,
    enabled: bool,
    include_employee_number: bool,
    auto_export: bool,
    include_specification: bool,
    include_department: bool,
    client_key: str = "",
    actor: User | None = None,
) -> DatadelingResult:
    """Store the checkbox, the options and (if given) a new client key.

    A new key is verified against PowerOffice first. If PowerOffice refuses it nothing is saved,
    neither the key nor the options, and the stored key (if any) keeps working. What changed
    goes to the subgroup's Endringslogg, by ``actor``.
    """
    key_result = None
    if client_key:
        if connection.pk is None:
            connection.save()
        key_result = connection_store_client_key(
            connection=connection, client_key=client_key, actor=actor
        )
        if not key_result.ok:
            return DatadelingResult(ok=False, key_result=key_result)
    values = {
        "enabled": enabled,
        "include_employee_number": include_employee_number,
        "auto_export": auto_export,
        "include_specification": include_specification,
        "include_department": include_department,
    }
    with transaction.atomic():
        if connection.pk is None:
            before = dict.fromkeys(SETTINGS, False)
            for name, value in values.items():
                setattr(connection, name, value)
            connection.save()
        else:
            # The stored values, under a lock: two admins saving at once are logged in order.
            current = Connection.objects.select_for_update().get(pk=connection.pk)
            before = {name: getattr(current, name) for name in SETTINGS}
            for name, value in values.items():
                setattr(connection, name, value)
            # Only our fields: validation and payments write other columns of the same row.
            connection.save(update_fields=[*SETTINGS, "updated_at"])
        changes = audit_changes(before, values, _labels())
        if changes:
            audit_record(
                agency_id=connection.subgroup.agency_id,
                area=AuditArea.DATADELING,
                action="options",
                summary="Innstillinger endret",
                actor=actor,
                subgroup_id=connection.subgroup_id,
                changes=changes,
            )
    return DatadelingResult(ok=True, key_result=key_result)


@dataclass
class RotationResult:
    rotated: int = 0
    unreadable: list[str] = field(default_factory=list)  # "agency / subgroup" of each


def client_keys_rotate() -> RotationResult:
    """Encrypt every stored client key again with the first FIELD_ENCRYPTION_KEY key.

    A key none of the keys can read is left as it is and named in the result. A key saved by
    someone else meanwhile is not overwritten: the update applies only to the row as it was read.
    """
    result = RotationResult()
    rows = (
        Connection.objects.exclude(client_key_encrypted="")
        .select_related("subgroup__agency")
        .order_by("subgroup__agency__name", "subgroup__name")
    )
    for connection in rows:
        old = connection.client_key_encrypted
        try:
            new = secret_rotate(old)
        except SecretUnreadable:
            result.unreadable.append(
                f"{connection.subgroup.agency.name} / {connection.subgroup.name}"
            )
            continue
        updated = Connection.objects.filter(pk=connection.pk, client_key_encrypted=old).update(
            client_key_encrypted=new
        )
        result.rotated += updated
    return result
