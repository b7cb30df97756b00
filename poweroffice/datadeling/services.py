"""Saving Administrasjon > Datadeling for one subgroup (SPEC Part A, item 1)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from bitnet.audit.services import audit_changes, audit_record
from bitnet.models import AuditArea, User
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
