"""Records to DTOs: every property of the schema, in its order, PascalCase, typed as on the wire.

Every value that leaves is checked against its format in the contract (``int32``/``int64`` ranges,
uuids, dates, timestamps, finite numbers): a value that does not fit is a bug of the sandbox and
fails the answer loudly (500) instead of teaching the client something PowerOffice never sends.
"""

import math
from typing import Any, overload

from .contract import FIELDS
from .values import (
    format_datetime,
    int_out_of_range,
    is_uuid,
    parse_date,
    parse_datetime,
    to_number,
)


class ContractViolation(ValueError):
    """An answer of the sandbox holds a value its DTO's format cannot hold."""


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
        out[name] = _convert(value, kind, f"{dto}.{name}")
    return out


def _violation(where: str, kind: str, value) -> ContractViolation:
    return ContractViolation(f"{where} = {value!r} does not fit its format ({kind}).")


def _convert(value, kind: str, where: str):
    if kind == "num":
        number = to_number(value)
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise _violation(where, "double", value)
        if isinstance(number, float) and not math.isfinite(number):
            raise _violation(where, "double", value)
        return number
    if kind in ("int32", "int64"):
        if isinstance(value, bool) or int_out_of_range(int(value), kind):
            raise _violation(where, kind, value)
        return int(value)
    if kind == "uuid":
        if not is_uuid(str(value)):
            raise _violation(where, kind, value)
        return str(value)
    if kind == "datetime":
        text = format_datetime(value)
        if text is None or parse_datetime(text) is None:
            raise _violation(where, "date-time", value)
        return text
    if kind == "date":
        text = str(value)[:10]
        if parse_date(text) is None:
            raise _violation(where, kind, value)
        return text
    if kind.startswith("obj:"):
        return serialize(value, kind[4:]) if isinstance(value, dict) else None
    if kind.startswith("list:"):
        return [_convert(item, kind[5:], f"{where}[]") for item in value]
    return value
