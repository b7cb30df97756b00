"""Reads of Datadeling: the one way to find a subgroup's PowerOffice connection, and the synced
departments."""

from collections.abc import Iterable

from bitnet.models import Subgroup
from poweroffice.models import Connection, Department


def connection_get(
    subgroup: Subgroup | None = None, *, subgroup_id: int | None = None
) -> Connection | None:
    """The subgroup's connection (with its subgroup loaded), or None when it has none."""
    if subgroup is not None:
        subgroup_id = subgroup.pk
    if subgroup_id is None:
        return None
    return Connection.objects.filter(subgroup_id=subgroup_id).select_related("subgroup").first()


def connections_by_subgroup(*, agency_id: int) -> dict[int, Connection]:
    """Every connection of an agency, keyed by subgroup id."""
    rows = Connection.objects.filter(subgroup__agency_id=agency_id).select_related("subgroup")
    return {c.subgroup_id: c for c in rows}


def connections_of(*, subgroup_ids: Iterable[int]) -> dict[int, Connection]:
    """The connections of these subgroups, keyed by subgroup id (subgroups without one left out)."""
    rows = Connection.objects.filter(subgroup_id__in=list(subgroup_ids)).select_related("subgroup")
    return {c.subgroup_id: c for c in rows}


def departments_by_subgroup(*, subgroup_ids: list[int]) -> dict[int, list[Department]]:
    """The departments synced from PowerOffice (active or not), by code, keyed by subgroup id."""
    departments: dict[int, list[Department]] = {}
    for department in Department.objects.filter(subgroup_id__in=subgroup_ids).order_by("code"):
        departments.setdefault(department.subgroup_id, []).append(department)
    return departments
