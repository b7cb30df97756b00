"""Reads of Datadeling: the one way to find a subgroup's PowerOffice connection."""

from bitnet.models import Subgroup
from poweroffice.models import Connection


def connection_get(subgroup: Subgroup | None = None, *, subgroup_id: int | None = None) -> Connection | None:
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
