"""What we send PowerOffice Go, as text: query parameters and JSON bodies.

PowerOffice's list calls take numbers as ``10000-10999,12000,13000-``, codes as ``B-7720,B-7721``,
booleans as ``true``/``false`` and timestamps as ISO 8601 with an offset. Each formatter returns
None when the filter is not used, and :func:`query` drops those, so that a resource method can
name every filter it knows and send only the ones given. :func:`encode_json` writes a body with
our own types (Decimal, date, UUID) as PowerOffice reads them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import TypeAlias
from urllib.parse import urlencode

__all__ = [
    "MAX_URL_LENGTH",
    "CodeFilter",
    "NumberFilter",
    "QueryValue",
    "encode_json",
    "format_bool",
    "format_code_list",
    "format_number_list",
    "format_timestamp",
    "query",
    "split_long_lists",
]

NumberValue: TypeAlias = int | range | tuple[int, int | None] | str
# A ready string, one number, a range, a (low, high) pair or an iterable of those.
NumberFilter: TypeAlias = NumberValue | Iterable[NumberValue] | None
CodeFilter: TypeAlias = str | int | Iterable[str | int] | None
QueryValue: TypeAlias = str | int | None

_NUMBER_TEXT_RE = re.compile(r"\d+(-\d*)?")


def format_number_list(values: NumberFilter) -> str | None:
    """PowerOffice's number filter: ``10000-10999,12000,13000-``.

    Accepts a ready string, an int, a ``range``, a ``(low, high)`` tuple (``high`` None for open
    ended) or an iterable of those. Runs of consecutive numbers are written as ranges.
    None or an empty iterable gives None (filter not used).
    """
    if values is None:
        return None
    if isinstance(values, str):
        return values.replace(" ", "") or None
    if isinstance(values, (int, range, tuple)):
        values = [values]
    singles: set[int] = set()
    parts: list[tuple[int, str]] = []
    for value in values:
        part = _number_part(value)
        if isinstance(part, int):
            singles.add(part)
        elif part is not None:
            parts.append(part)
    parts.extend((number, str(number)) for number in sorted(singles))
    return ",".join(_join_runs(sorted(parts))) or None


def _number_part(value: object) -> int | tuple[int, str] | None:
    """One value of a number filter: a single number, or (first number, text); None if empty."""
    if isinstance(value, bool):
        raise TypeError("not a number filter value: bool")
    if isinstance(value, int):
        return value
    if isinstance(value, range):
        if value.step != 1:
            raise ValueError("only ranges with step 1")
        return (value.start, f"{value.start}-{value.stop - 1}") if len(value) else None
    if isinstance(value, tuple) and len(value) == 2:
        low, high = int(value[0]), value[1]
        return (low, f"{low}-" if high is None else f"{low}-{int(high)}")
    if isinstance(value, str) and _NUMBER_TEXT_RE.fullmatch(value.strip()):
        text = value.strip()
        return (int(text.split("-")[0]), text)
    raise ValueError(f"not a number filter value: {value!r}")


def _join_runs(parts: Iterable[tuple[int, str]]) -> list[str]:
    """The texts of ``parts`` (sorted), with runs of consecutive single numbers joined."""
    texts: list[str] = []
    run: list[int] = []

    def flush() -> None:
        if run:
            texts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
            run.clear()

    for start, text in parts:
        if not text.isdigit():
            flush()
            texts.append(text)
        elif run and start == run[-1] + 1:
            run.append(start)
        else:
            flush()
            run.append(start)
    flush()
    return texts


def format_code_list(values: CodeFilter) -> str | None:
    """A comma list of codes (``B-7720,B-7721``); codes may not contain commas."""
    if values is None:
        return None
    if isinstance(values, (str, int)):
        values = [values]
    codes = [str(v).strip() for v in values]
    for code in codes:
        if "," in code or not code:
            raise ValueError(f"not a code: {code!r}")
    return ",".join(dict.fromkeys(codes)) or None


def format_bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def format_timestamp(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("timestamps sent to PowerOffice must be timezone-aware")
    return value.isoformat()


def query(params: Mapping[str, QueryValue] | None) -> dict[str, str | int]:
    """The query string's parameters: those that are None (filters not used) are left out."""
    return {name: value for name, value in (params or {}).items() if value is not None}


# Request URLs are kept under this many characters: gateways and proxies on the way refuse
# longer ones, and a prefetch of 200 product codes or 500 customer numbers would make 2-4 k.
MAX_URL_LENGTH = 2000


def split_long_lists(
    url: str, params: Mapping[str, str | int], *, limit: int = MAX_URL_LENGTH
) -> list[dict[str, str | int]]:
    """``params`` as one or more queries whose URL (``url?query``, encoded as sent) stays under
    ``limit`` characters: the longest comma list is cut into consecutive parts (again, while
    another list is still too long). The filters keep what any of their values matches, so the
    parts together ask for exactly what the whole would have."""
    params = dict(params)

    def length(candidate: Mapping[str, str | int]) -> int:
        return len(url) + 1 + len(urlencode(candidate))

    lists = [name for name, value in params.items() if "," in str(value)]
    if length(params) < limit or not lists:
        return [params]
    name = max(lists, key=lambda n: len(str(params[n])))
    chunks: list[list[str]] = []
    current: list[str] = []
    for item in str(params[name]).split(","):
        if current and length({**params, name: ",".join([*current, item])}) >= limit:
            chunks.append(current)
            current = []
        current.append(item)
    chunks.append(current)
    parts: list[dict[str, str | int]] = []
    for chunk in chunks:
        parts.extend(split_long_lists(url, {**params, name: ",".join(chunk)}, limit=limit))
    return parts


def encode_json(body: object) -> str:
    """``body`` as JSON text; Decimal as a number, dates as ISO 8601, UUIDs as text."""
    return json.dumps(body, default=_json_default)


def _json_default(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        # float's repr is the shortest text that round-trips: Decimal("1234.50") -> 1234.5.
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
