"""Departments: "Synkroniser avdelinger" and the choices for an office's "Ekstern avdeling"
(SPEC Part A, item 6)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from bitnet.audit.services import EMPTY, Change, audit_record
from bitnet.models import AuditArea, User
from poweroffice.datadeling.connection import connection_client
from poweroffice.invoices.refcache import reference_cache_refresh
from poweroffice.models import Connection, Department

# At most this many departments are named one by one in the Endringslogg entry of a sync.
LOGGED_DEPARTMENTS = 20


@dataclass(frozen=True)
class DepartmentSyncResult:
    fetched: int
    created: int
    updated: int
    deactivated: int

    @property
    def summary(self) -> str:
        text = f"Avdelinger synkronisert: hentet {self.fetched}"
        changes = [
            f"{n} {what}"
            for n, what in (
                (self.created, "nye"),
                (self.updated, "endret"),
                (self.deactivated, "ikke lenger i PowerOffice"),
            )
            if n
        ]
        return f"{text} ({', '.join(changes)})" if changes else f"{text}, ingen endringer"


def _label(department: Department | None) -> str:
    if department is None:
        return EMPTY
    return f"{department.code} {department.name}" + (
        "" if department.is_active else " (ikke aktiv)"
    )


def _record_sync(
    connection: Connection, result: DepartmentSyncResult, changes: list[Change], actor: User | None
) -> None:
    audit_record(
        agency_id=connection.subgroup.agency_id,
        area=AuditArea.DATADELING,
        action="departments_sync",
        summary=result.summary,
        actor=actor,
        subgroup_id=connection.subgroup_id,
        changes=changes[:LOGGED_DEPARTMENTS],
    )


def departments_sync(*, connection: Connection, actor: User | None = None) -> DepartmentSyncResult:
    """Fetch PowerOffice's departments into poweroffice.Department.

    Departments gone from PowerOffice are kept, marked inactive: offices may still point at their
    code, and the export then says which department is missing instead of silently dropping it.
    The sync and what it changed go to the subgroup's Endringslogg, by ``actor``.
    """
    with connection_client(connection) as client:
        remote = client.list_departments()
    created = updated = 0
    changes: list[Change] = []
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
                department = Department.objects.create(
                    subgroup_id=connection.subgroup_id, external_id=external_id, **values
                )
                changes.append(Change(f"Avdeling {department.code}", EMPTY, _label(department)))
                created += 1
            elif any(getattr(department, k) != v for k, v in values.items()):
                old = _label(department)
                for key, value in values.items():
                    setattr(department, key, value)
                department.save(update_fields=list(values))
                changes.append(Change(f"Avdeling {department.code}", old, _label(department)))
                updated += 1
        gone = [d for ext, d in existing.items() if ext not in seen and d.is_active]
        Department.objects.filter(pk__in=[d.pk for d in gone]).update(is_active=False)
        changes += [
            Change(f"Avdeling {d.code}", _label(d), "ikke lenger i PowerOffice") for d in gone
        ]
        Connection.objects.filter(pk=connection.pk).update(departments_synced_at=timezone.now())
        result = DepartmentSyncResult(
            fetched=len(remote), created=created, updated=updated, deactivated=len(gone)
        )
        _record_sync(connection, result, changes, actor)
    # The chart may have changed with the departments (accounts that require one): the export
    # reads it again.
    reference_cache_refresh(connection=connection, kinds=("departments", "accounts", "vat_codes"))
    return result


def department_choices(subgroup_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """The synced, active departments of the subgroups as (code, label), "Ekstern avdeling",
    by subgroup: one query for any number of subgroups (a page of Administrasjon > Byrå)."""
    choices: dict[int, list[tuple[str, str]]] = {}
    departments = Department.objects.filter(subgroup_id__in=subgroup_ids, is_active=True)
    for d in departments.order_by("subgroup_id", "code"):
        choices.setdefault(d.subgroup_id, []).append((d.code, f"{d.code} {d.name}"))
    return choices
