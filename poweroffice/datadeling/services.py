"""Saving Administrasjon > Datadeling for one subgroup (SPEC Part A, item 1)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from poweroffice.datadeling.connection import VerifyResult, connection_store_client_key
from poweroffice.models import Connection


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
) -> DatadelingResult:
    """Store the checkbox, the options and (if given) a new client key.

    A new key is verified against PowerOffice first. If PowerOffice refuses it nothing is saved,
    neither the key nor the options, and the stored key (if any) keeps working.
    """
    key_result = None
    if client_key:
        if connection.pk is None:
            connection.save()
        key_result = connection_store_client_key(connection=connection, client_key=client_key)
        if not key_result.ok:
            return DatadelingResult(ok=False, key_result=key_result)
    with transaction.atomic():
        connection.enabled = enabled
        connection.include_employee_number = include_employee_number
        connection.auto_export = auto_export
        connection.include_specification = include_specification
        connection.include_department = include_department
        if connection.pk is None:
            connection.save()
        else:
            # Only our fields: validation and payments write other columns of the same row.
            connection.save(
                update_fields=[
                    "enabled",
                    "include_employee_number",
                    "auto_export",
                    "include_specification",
                    "include_department",
                    "updated_at",
                ]
            )
    return DatadelingResult(ok=True, key_result=key_result)
