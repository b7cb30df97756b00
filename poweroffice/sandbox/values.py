"""Values on the wire: parsing request bodies strictly against the DTO tables, and formatting."""

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from .contract import FIELDS, REQUIRED
from .enums import ENUMS
from .responses import Problems

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_DATETIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d{1,7}))?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def dec(value) -> Decimal:
    """A number from a record or a request (Decimal, int, float or str) as an exact Decimal."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def money(value) -> Decimal:
    return dec(value).quantize(Decimal("0.01"))


def decimals_of(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def parse_datetime(text: str) -> datetime | None:
    """ISO 8601 / .NET DateTimeOffset text ("2021-09-25 08:03:00.1234567 -00:00") to aware UTC."""
    match = _DATETIME_RE.match(text.strip())
    if not match:
        return None
    day, clock, fraction, offset = match.groups()
    if clock.count(":") == 1:
        clock += ":00"
    fraction = (fraction or "0")[:6].ljust(6, "0")
    if not offset or offset.upper() == "Z":
        offset = "+00:00"
    elif ":" not in offset:
        offset = offset[:3] + ":" + offset[3:]
    try:
        value = datetime.fromisoformat(f"{day}T{clock}.{fraction}{offset}")
    except ValueError:
        return None
    return value.astimezone(UTC)


def parse_date(text: str) -> date | None:
    if not isinstance(text, str) or not _DATE_RE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def format_datetime(value) -> str | None:
    """A timestamp the way .NET writes a DateTimeOffset: seven fraction digits and an offset."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            return value
        value = parsed
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0+00:00"


def is_uuid(value) -> bool:
    return isinstance(value, str) and bool(_UUID_RE.match(value))


def canonical_uuid(value: str) -> str:
    return str(uuid.UUID(value))


def _type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | Decimal | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


# The contract's integer formats: (lowest, highest) value.
INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}


def int_out_of_range(value: int, kind: str) -> bool:
    low, high = INT_RANGES[kind]
    return not low <= value <= high


def _int_problem(value, name: str, max_length: int | None, got: str, kind: str) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{name} must be a whole number (got {got} {value!r})."
    if int_out_of_range(value, kind):
        # What ASP.NET's JSON binding says of a number that does not fit the property.
        system = "Int32" if kind == "int32" else "Int64"
        return f"{name}: the JSON value {value} could not be converted to System.{system}."
    return None


def _int32_problem(value, name: str, max_length: int | None, got: str) -> str | None:
    return _int_problem(value, name, max_length, got, "int32")


def _int64_problem(value, name: str, max_length: int | None, got: str) -> str | None:
    return _int_problem(value, name, max_length, got, "int64")


def _num_problem(value, name: str, max_length: int | None, got: str) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return f"{name} must be a JSON number (got {got} {value!r})."
    if isinstance(value, Decimal) and not value.is_finite():
        return f"{name} must be a finite number."
    return None


def _str_problem(value, name: str, max_length: int | None, got: str) -> str | None:
    if not isinstance(value, str):
        return f"{name} must be a string (got {got} {value!r})."
    if max_length is not None and len(value) > max_length:
        return f"{name} can be at most {max_length} characters (got {len(value)})."
    return None


def _bool_problem(value, name: str, max_length: int | None, got: str) -> str | None:
    if not isinstance(value, bool):
        return f"{name} must be true or false (got {got} {value!r})."
    return None


def _date_problem(value, name: str, max_length: int | None, got: str) -> str | None:
    if parse_date(value) is None:
        return f"{name} must be a date as YYYY-MM-DD (got {value!r})."
    return None


def _datetime_problem(value, name: str, max_length: int | None, got: str) -> str | None:
    if not isinstance(value, str) or parse_datetime(value) is None:
        return f"{name} must be an ISO 8601 timestamp (got {value!r})."
    return None


def _uuid_problem(value, name: str, max_length: int | None, got: str) -> str | None:
    if not is_uuid(value):
        return f"{name} must be a uuid (got {value!r})."
    return None


# The scalar types of the DTO tables; "any" (and anything else) takes any value.
_SCALAR_PROBLEMS = {
    "int32": _int32_problem,
    "int64": _int64_problem,
    "num": _num_problem,
    "str": _str_problem,
    "bool": _bool_problem,
    "date": _date_problem,
    "datetime": _datetime_problem,
    "uuid": _uuid_problem,
}


def check_value(value, kind: str, name: str, max_length: int | None, problems: Problems) -> None:
    """Check one non-null value against its type from the DTO tables."""
    got = _type_name(value)
    if kind.startswith("enum:"):
        allowed = ENUMS[kind[5:]]
        if not isinstance(value, str) or value not in allowed:
            shown = ", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else "")
            problems.add(name, f"{name} must be one of {shown} (got {value!r}).")
    elif kind.startswith("obj:"):
        if not isinstance(value, dict):
            problems.add(name, f"{name} must be an object (got {got}).")
        else:
            check_object(value, kind[4:], problems, prefix=f"{name}.")
    elif kind.startswith("list:"):
        if not isinstance(value, list):
            problems.add(name, f"{name} must be an array (got {got}).")
            return
        for index, item in enumerate(value):
            if item is None:
                problems.add(f"{name}[{index}]", f"{name}[{index}] cannot be null.")
            else:
                check_value(item, kind[5:], f"{name}[{index}]", None, problems)
    elif kind in _SCALAR_PROBLEMS:
        message = _SCALAR_PROBLEMS[kind](value, name, max_length, got)
        if message:
            problems.add(name, message)


def check_object(
    body,
    dto: str,
    problems: Problems,
    *,
    prefix: str = "",
    read_only_allowed: bool = False,
) -> None:
    """Check a request object against a DTO: exact property names, types, nulls, lengths, required.

    PowerOffice's DTOs are closed (additionalProperties: false), so an unknown or misspelled
    property is an error here rather than silently dropped.
    """
    if not isinstance(body, dict):
        problems.add(
            prefix.rstrip(".") or "$", f"{prefix.rstrip('.') or 'The body'} must be a JSON object."
        )
        return
    fields = FIELDS[dto]
    by_lower = {name.lower(): name for name in fields}
    for key, value in body.items():
        name = f"{prefix}{key}"
        spec = fields.get(key)
        if spec is None:
            proper = by_lower.get(key.lower())
            if proper:
                problems.add(
                    name, f"Property '{name}' must be spelled '{prefix}{proper}' (PascalCase)."
                )
            else:
                problems.add(name, f"Property '{name}' is not a property of {dto}.")
            continue
        kind, flags, max_length = spec
        if "r" in flags and not read_only_allowed:
            problems.add(name, f"{name} is read-only and cannot be set.")
            continue
        if value is None:
            if "n" not in flags and not kind.startswith(("enum:", "obj:")):
                problems.add(name, f"{name} cannot be null.")
            continue
        check_value(value, kind, name, max_length, problems)
    for required in REQUIRED.get(dto, ()):
        if body.get(required) is None or body.get(required) == "":
            problems.add(f"{prefix}{required}", f"{prefix}{required} is required.")


def check_money(body: dict, key: str, problems: Problems, *, prefix: str = "") -> None:
    value = body.get(key)
    is_number = isinstance(value, int | Decimal) and not isinstance(value, bool)
    if is_number and decimals_of(dec(value)) > 2:
        problems.add(f"{prefix}{key}", f"{prefix}{key} can have at most 2 decimals (got {value}).")


def writable(dto: str) -> list[str]:
    return [name for name, (_, flags, _) in FIELDS[dto].items() if "r" not in flags]


def to_number(value):
    """A JSON-bound number: whole numbers stay int, others become float (as .NET doubles print)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    try:
        number = dec(value)
    except (InvalidOperation, ValueError):
        return value
    if number == number.to_integral_value() and decimals_of(number) == 0:
        return int(number)
    return float(number)
