"""Writes of the Endringslogg: one entry per change a service made, in the service's transaction.

Values are recorded as the text a person reads (``På``/``Av``, a name, a code), never a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bitnet.models import AuditEntry, User

SYSTEM = "System"
EMPTY = "(tom)"


@dataclass(frozen=True)
class Change:
    """One field's old and new value, as shown."""

    field: str
    old: str
    new: str


def audit_value(value: Any) -> str:
    """A value as the log shows it."""
    if value is True:
        return "På"
    if value is False:
        return "Av"
    if value is None or value == "":
        return EMPTY
    return str(value)


def audit_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], labels: Mapping[str, str]
) -> list[Change]:
    """The fields of ``labels`` (in that order) whose shown value differs between the two."""
    changes = []
    for name, label in labels.items():
        old, new = audit_value(before.get(name)), audit_value(after.get(name))
        if old != new:
            changes.append(Change(label, old, new))
    return changes


def audit_actor_name(actor: User | None) -> str:
    """The actor as the log names them: "Full Name (username)", or System."""
    if actor is None or not getattr(actor, "pk", None):
        return SYSTEM
    full = actor.get_full_name()
    return f"{full} ({actor.username})" if full else actor.username


def audit_record(
    *,
    agency_id: int,
    area: str,
    action: str,
    summary: str,
    actor: User | None,
    subgroup_id: int | None = None,
    object_id: int | None = None,
    changes: Iterable[Change] = (),
) -> AuditEntry:
    """Record one change. Call it inside the transaction of the write it describes."""
    return AuditEntry.objects.create(
        agency_id=agency_id,
        area=area,
        action=action,
        summary=summary[:300],
        subgroup_id=subgroup_id,
        object_id=object_id,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_name=audit_actor_name(actor)[:300],
        changes=[asdict(change) for change in changes],
    )
