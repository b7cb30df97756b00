"""Departments: "Synkroniser avdelinger" and the choices for an office's "Ekstern avdeling"
(SPEC Part A, item 6)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from poweroffice.datadeling.connection import connection_client
from poweroffice.models import Connection, Department


@dataclass(frozen=True)
class DepartmentSyncResult:
    fetched: int
    created: int
    updated: int
    deactivated: int


def departments_sync(*, connection: Connection) -> DepartmentSyncResult:
    """Fetch PowerOffice's departments into poweroffice.Department.

    Departments gone from PowerOffice are kept, marked inactive: offices may still point at their
    code, and the export then says which department is missing instead of silently dropping it.
    """
    with connection_client(connection) as client:
        remote = client.list_departments()
    created = updated = 0
    with transaction.atomic():
        existing = {
            d.external_id: d
            for d in Department.objects.select_for_update().filter(
                subgroup_id=connection.subgroup_id
            )
        }
        seen: set[int] = set()
        for item in remote:
            external_id = int(item["Id"])
            seen.add(external_id)
            values = {
                "code": str(item.get("Code") or ""),
                "name": str(item.get("Name") or ""),
                "is_active": item.get("IsActive") is not False,
            }
            department = existing.get(external_id)
            if department is None:
                Department.objects.create(
                    subgroup_id=connection.subgroup_id, external_id=external_id, **values
                )
                created += 1
            elif any(getattr(department, k) != v for k, v in values.items()):
                for key, value in values.items():
                    setattr(department, key, value)
                department.save(update_fields=list(values))
                updated += 1
        gone = [d.pk for ext, d in existing.items() if ext not in seen and d.is_active]
        Department.objects.filter(pk__in=gone).update(is_active=False)
        Connection.objects.filter(pk=connection.pk).update(departments_synced_at=timezone.now())
    return DepartmentSyncResult(
        fetched=len(remote), created=created, updated=updated, deactivated=len(gone)
    )


def department_choices(subgroup_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """The synced, active departments of the subgroups as (code, label), "Ekstern avdeling",
    by subgroup: one query for any number of subgroups (a page of Administrasjon > Byrå)."""
    choices: dict[int, list[tuple[str, str]]] = {}
    departments = Department.objects.filter(subgroup_id__in=subgroup_ids, is_active=True)
    for d in departments.order_by("subgroup_id", "code"):
        choices.setdefault(d.subgroup_id, []).append((d.code, f"{d.code} {d.name}"))
    return choices
