"""Reads of the Endringslogg: the entries a page shows, always of one agency only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber

from bitnet.models import AuditEntry

# How many entries a page's Endringslogg lists (the newest); it says how many there are in all.
LOG_LENGTH = 20


@dataclass
class AuditLog:
    entries: list[AuditEntry] = field(default_factory=list)
    total: int = 0

    @property
    def latest(self) -> AuditEntry | None:
        return self.entries[0] if self.entries else None

    @property
    def more(self) -> int:
        """How many older entries are not listed."""
        return max(0, self.total - len(self.entries))


def _entries(*, agency_id: int, areas: Iterable[str]) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(agency_id=agency_id, area__in=list(areas))


def _newest_first() -> Window:
    """1 for each subgroup's newest entry, 2 for the next, ..."""
    return Window(
        RowNumber(),
        partition_by=[F("subgroup_id")],
        order_by=[F("created_at").desc(), F("id").desc()],
    )


def audit_log(
    *,
    agency_id: int,
    areas: Iterable[str],
    subgroup_id: int | None = None,
    object_id: int | None = None,
    limit: int = LOG_LENGTH,
) -> AuditLog:
    """The newest entries of an agency in these areas (of one subgroup or one object)."""
    rows = _entries(agency_id=agency_id, areas=areas)
    if subgroup_id is not None:
        rows = rows.filter(subgroup_id=subgroup_id)
    if object_id is not None:
        rows = rows.filter(object_id=object_id)
    entries = list(rows.select_related("subgroup").order_by("-created_at", "-id")[:limit])
    total = len(entries) if len(entries) < limit else rows.count()
    return AuditLog(entries=entries, total=total)


def audit_logs_by_subgroup(
    *,
    agency_id: int,
    areas: Iterable[str],
    subgroup_ids: Iterable[int],
    limit: int = LOG_LENGTH,
) -> dict[int, AuditLog]:
    """Each subgroup's newest entries in these areas (two queries, whatever the number)."""
    ids = list(subgroup_ids)
    areas = list(areas)
    rows = _entries(agency_id=agency_id, areas=areas).filter(subgroup_id__in=ids)
    ranked = rows.annotate(rank=_newest_first()).filter(rank__lte=limit)
    logs = {subgroup_id: AuditLog() for subgroup_id in ids}
    for entry in ranked.order_by("subgroup_id", "-created_at", "-id"):
        logs[entry.subgroup_id or 0].entries.append(entry)
    for row in rows.values("subgroup_id").annotate(n=Count("id")).order_by():
        logs[row["subgroup_id"]].total = row["n"]
    return logs


def audit_latest_by_subgroup(
    *, agency_id: int, area: str, action: str, subgroup_ids: Iterable[int]
) -> dict[int, AuditEntry]:
    """The newest entry of one kind per subgroup (e.g. who stored the client key)."""
    rows = _entries(agency_id=agency_id, areas=[area]).filter(
        action=action, subgroup_id__in=list(subgroup_ids)
    )
    newest = rows.annotate(rank=_newest_first()).filter(rank=1)
    return {entry.subgroup_id: entry for entry in newest if entry.subgroup_id is not None}
