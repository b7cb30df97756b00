"""Records to DTOs: every property of the schema, in its order, PascalCase, typed as on the wire."""

from typing import Any, overload

from .contract import FIELDS
from .values import format_datetime, to_number


@overload
def serialize(record: dict, dto: str, **derived: Any) -> dict: ...
@overload
def serialize(record: None, dto: str, **derived: Any) -> None: ...
def serialize(record: dict | None, dto: str, **derived: Any) -> dict | None:
    """The DTO for a stored record; ``derived`` supplies read-only values computed from others.

    Internal keys (``_...``) never leave the sandbox. An enum or a nested object with no value
    is left out rather than sent as null: the schema's ``$ref`` properties are not nullable.
    """
    if record is None:
        return None
    values = {**record, **derived}
    out: dict = {}
    for name, (kind, _flags, _max) in FIELDS[dto].items():
        value = values.get(name)
        if value is None:
            if kind.startswith(("enum:", "obj:")):
                continue
            out[name] = None
            continue
        out[name] = _convert(value, kind)
    return out


def _convert(value, kind: str):
    if kind == "num":
        return to_number(value)
    if kind == "int":
        return int(value)
    if kind == "datetime":
        return format_datetime(value)
    if kind == "date":
        return str(value)[:10]
    if kind.startswith("obj:"):
        return serialize(value, kind[4:]) if isinstance(value, dict) else None
    if kind.startswith("list:"):
        return [_convert(item, kind[5:]) for item in value]
    return value
