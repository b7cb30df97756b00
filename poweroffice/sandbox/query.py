"""Query strings of list endpoints: named filters, paging, Fields and OrderBy, strictly parsed.

A list endpoint declares its named filters as a table of ``Filter`` rows (in the contract's
order); ``filtered_list`` reads them from the query string and keeps the records they match.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .responses import ApiError, empty_response, json_response
from .values import is_uuid, parse_date, parse_datetime

DEFAULT_PAGE_SIZE = 5000
MAX_PAGE_SIZE = 20000

# ResourceParameters, bound from the query string with or without the "resourceParameter." prefix.
RESOURCE_PARAMETERS = ("pagenumber", "pagesize", "fields", "orderby", "usedatabasevalidation")

_RANGE_RE = re.compile(r"^(\d+)(?:\s*-\s*(\d*))?$")


def bad_query(detail: str, title: str = "Unable to cast object(s)") -> ApiError:
    return ApiError(400, title, detail)


class Query:
    """Case-insensitive view of a query string (ASP.NET binds names case-insensitively)."""

    def __init__(self, pairs: list[tuple[str, str]], allowed: tuple[str, ...]):
        self.values: dict[str, str] = {}
        allowed_lower = {name.lower(): name for name in allowed}
        for raw_name, value in pairs:
            if raw_name.startswith("$"):
                raise ApiError(
                    400,
                    "Invalid query",
                    f"OData query options such as '{raw_name}' are not supported. "
                    "Use the named filters and PageNumber/PageSize.",
                )
            name = raw_name.lower()
            if name.startswith("resourceparameter."):
                name = name[len("resourceparameter.") :]
            if name not in allowed_lower and name not in RESOURCE_PARAMETERS:
                known = ", ".join([*allowed, "PageNumber", "PageSize", "Fields", "OrderBy"])
                raise ApiError(
                    400,
                    "Invalid query",
                    f"Unknown query parameter '{raw_name}'. Known parameters: {known}.",
                )
            if name in self.values:
                raise ApiError(
                    400, "Invalid query", f"Query parameter '{raw_name}' is given twice."
                )
            self.values[name] = value

    def raw(self, name: str) -> str | None:
        value = self.values.get(name.lower())
        if value is None or not value.strip():
            return None  # "If null or whitespace, the filter is not used."
        return value.strip()

    def number_ranges(self, name: str) -> list[tuple[int, int | None]] | None:
        value = self.raw(name)
        if value is None:
            return None
        ranges: list[tuple[int, int | None]] = []
        for part in value.split(","):
            part = part.strip()
            match = _RANGE_RE.match(part)
            if not match:
                raise bad_query(
                    f"{name} has an invalid value '{part}'. Use numbers and ranges separated by "
                    'comma, e.g. "10000-10999, 12000, 13000-".'
                )
            low = int(match.group(1))
            if match.group(2) is None:
                ranges.append((low, low))
            elif match.group(2) == "":
                ranges.append((low, None))
            else:
                high = int(match.group(2))
                if high < low:
                    raise bad_query(f"{name} has a range '{part}' whose end is below its start.")
                ranges.append((low, high))
        return ranges

    def _each(self, name: str, convert) -> list | None:
        """A comma-separated list, each part converted (or refused) by ``convert``."""
        value = self.raw(name)
        if value is None:
            return None
        return [convert(part.strip()) for part in value.split(",")]

    def ids(self, name: str) -> list[int] | None:
        def convert(part: str) -> int:
            if not part.isdigit():
                raise bad_query(
                    f"{name} contains negative numbers and/or range of numbers. '-' is not "
                    "allowed, only comma ',' separated single positive numbers are allowed."
                )
            return int(part)

        return self._each(name, convert)

    def uuids(self, name: str) -> list[str] | None:
        def convert(part: str) -> str:
            if not is_uuid(part):
                raise bad_query(f"{name} contains '{part}', which is not a uuid.")
            return part.lower()

        return self._each(name, convert)

    def strings(self, name: str) -> list[str] | None:
        value = self.raw(name)
        if value is None:
            return None
        return [part.strip() for part in value.split(",") if part.strip()]

    def boolean(self, name: str) -> bool | None:
        value = self.raw(name)
        if value is None:
            return None
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise bad_query(f"The value '{value}' is not valid for {name}: use true or false.")

    def integer(self, name: str) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        if not re.fullmatch(r"-?\d+", value):
            raise bad_query(f"The value '{value}' is not valid for {name}: use a whole number.")
        return int(value)

    def timestamp(self, name: str) -> datetime | None:
        value = self.raw(name)
        if value is None:
            return None
        parsed = parse_datetime(value)
        if parsed is None:
            raise bad_query(f"The value '{value}' is not a valid timestamp for {name}.")
        return parsed

    def day(self, name: str) -> date | None:
        value = self.raw(name)
        if value is None:
            return None
        parsed = parse_date(value[:10]) if len(value) >= 10 else None
        if parsed is None:
            raise bad_query(f"The value '{value}' is not a valid date for {name} (YYYY-MM-DD).")
        return parsed

    def enum(self, name: str, allowed: tuple[str, ...]) -> list[str] | None:
        values = self.strings(name)
        if values is None:
            return None
        for value in values:
            if value not in allowed:
                raise bad_query(
                    f"{name} has an invalid value '{value}' (case sensitive). "
                    f"Allowed: {', '.join(allowed)}."
                )
        return values

    # -- paging ------------------------------------------------------------------------------

    def page(self) -> tuple[int, int]:
        number = self._page_int("pagenumber", "PageNumber", 1)
        size = self._page_int("pagesize", "PageSize", DEFAULT_PAGE_SIZE)
        if number < 1:
            raise ApiError(400, "Invalid resourceParameter", "PageNumber must be 1 or more.")
        if size < 1 or size > MAX_PAGE_SIZE:
            raise ApiError(
                400,
                "Invalid resourceParameter",
                f"PageSize must be between 1 and {MAX_PAGE_SIZE} (MaxPageSize).",
            )
        return number, size

    def _page_int(self, key: str, label: str, default: int) -> int:
        value = self.values.get(key)
        if value is None or not value.strip():
            return default
        if not re.fullmatch(r"-?\d+", value.strip()):
            raise ApiError(400, "Invalid resourceParameter", f"{label} must be a whole number.")
        return int(value.strip())


def in_ranges(number, ranges: list[tuple[int, int | None]]) -> bool:
    if number is None:
        return False
    number = int(number)
    return any(low <= number and (high is None or number <= high) for low, high in ranges)


def after(value, threshold: datetime) -> bool:
    """``...GreaterThan`` timestamp filters are exclusive."""
    if value is None:
        return False
    parsed = parse_datetime(value) if isinstance(value, str) else value
    return parsed is not None and parsed > threshold


def list_response(query: Query, items: list[dict]):
    """Order, page and trim a list of DTOs; an empty page is 204 with no body."""
    if not items:
        query.page()
        return empty_response(204)
    names = {name.lower(): name for name in items[0]}
    order_by = query.values.get("orderby", "").strip()
    if order_by:
        keys = []
        for part in order_by.split(","):
            bits = part.split()
            if not bits or len(bits) > 2 or bits[0].lower() not in names:
                raise ApiError(
                    400,
                    "Invalid resourceParameter",
                    "OrderBy property in resourceParameter is not formatted correct.",
                )
            descending = len(bits) == 2 and bits[1].lower() == "desc"
            if len(bits) == 2 and bits[1].lower() not in ("asc", "desc"):
                raise ApiError(
                    400,
                    "Invalid resourceParameter",
                    "OrderBy property in resourceParameter is not formatted correct.",
                )
            keys.append((names[bits[0].lower()], descending))
        for name, descending in reversed(keys):
            items = sorted(
                items,
                key=lambda item: (item.get(name) is None, _sortable(item.get(name))),
                reverse=descending,
            )
    number, size = query.page()
    page = items[(number - 1) * size : number * size]
    if not page:
        return empty_response(204)
    fields = query.values.get("fields", "").strip()
    if fields:
        wanted = []
        for part in fields.split(","):
            part = part.strip()
            if part.lower() not in names:
                raise ApiError(
                    400,
                    "Invalid resourceParameter",
                    "Fields property in resourceParameter is not formatted correct.",
                )
            wanted.append(names[part.lower()])
        page = [{name: item.get(name) for name in wanted} for item in page]
    return json_response(200, page)


def _sortable(value):
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    return (1, str(value).lower())


# -- the filter table of a list endpoint -----------------------------------------------------


def _given(value) -> bool:
    # "If null or whitespace, the filter is not used."
    return value is not None


@dataclass(frozen=True)
class Filter:
    """One named filter: how its query parameter is read and which records it keeps.

    ``read`` parses the value (or refuses it with 400); ``active`` says whether a parsed value
    filters at all; ``prepare`` checks or normalises an active value once, after every
    parameter of the endpoint has been read; ``keeps(value, item)`` is asked per record, where
    ``item`` is the stored record, or its DTO when ``on_view`` (values PowerOffice derives,
    such as a department code, are only on the DTO).
    """

    param: str
    read: Callable[[Query, str], Any]
    keeps: Callable[[Any, dict], bool]
    on_view: bool = False
    active: Callable[[Any], bool] = _given
    prepare: Callable[[Any], Any] | None = None


def since(param: str, field: str) -> Filter:
    """A ``...GreaterThan`` timestamp filter."""
    return Filter(param, Query.timestamp, lambda stamp, item: after(item.get(field), stamp))


def within(param: str, field: str, *, on_view: bool = False) -> Filter:
    """Numbers and ranges ("10000-10999, 12000, 13000-")."""
    return Filter(
        param,
        Query.number_ranges,
        lambda ranges, item: in_ranges(item.get(field), ranges),
        on_view=on_view,
    )


def among(param: str, field: str, read=Query.strings) -> Filter:
    return Filter(param, read, lambda values, item: item.get(field) in values)


def equal(param: str, field: str, read=Query.raw, *, on_view: bool = False) -> Filter:
    return Filter(param, read, lambda wanted, item: item.get(field) == wanted, on_view=on_view)


def flag(param: str, field: str) -> Filter:
    return Filter(param, Query.boolean, lambda wanted, item: bool(item.get(field)) == wanted)


def code_among(param: str, field: str, *, on_view: bool = False) -> Filter:
    """A code filter where "-1" asks for the records without a code."""

    def keeps(codes, item: dict) -> bool:
        code = item.get(field)
        return (code is None and "-1" in codes) or (code is not None and code in codes)

    return Filter(param, Query.strings, keeps, on_view=on_view)


def accepted(param: str, read) -> Filter:
    """A parameter the contract has and the sandbox checks, but whose objects it does not hold."""
    return Filter(param, read, lambda _value, _item: True, active=lambda _value: False)


def filter_names(filters: tuple[Filter, ...]) -> tuple[str, ...]:
    return tuple(f.param for f in filters)


def filtered_list(
    query: Query, filters: tuple[Filter, ...], rows: list[dict], dto: Callable[[dict], dict]
):
    """The DTOs of the records every given filter keeps, ordered and paged."""
    values = [(f, f.read(query, f.param)) for f in filters]
    tests = [
        (f, f.prepare(value) if f.prepare else value) for f, value in values if f.active(value)
    ]
    items = []
    for record in rows:
        view: dict | None = None
        for f, value in tests:
            item = record
            if f.on_view:
                view = view if view is not None else dto(record)
                item = view
            if not f.keeps(value, item):
                break
        else:
            items.append(view if view is not None else dto(record))
    return list_response(query, items)
