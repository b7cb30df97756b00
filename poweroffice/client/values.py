"""Reading the values of PowerOffice's JSON: the one set of parse helpers.

PowerOffice answers numbers as JSON numbers or strings, dates as ``YYYY-MM-DD`` (sometimes with a
time part) and timestamps as ISO 8601 with an offset and 100 ns precision. Each helper returns None
for a missing or unreadable value, so that a caller compares or stores what it can read and reports
the rest; none of them guesses.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_datetime

__all__ = ["parse_date", "parse_decimal", "parse_int", "parse_timestamp"]


def parse_int(value: object) -> int | None:
    """An integer written as a JSON number or a string (``12000``, ``" 12000 "``), else None.

    Booleans and numbers with a fraction part (``12.5``, ``12.0``) are not integers here.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def parse_decimal(value: object, *, quantum: Decimal | None = None) -> Decimal | None:
    """A finite decimal from a JSON number or a string, else None.

    ``str()`` first: the float 1234.5 becomes ``Decimal("1234.5")``, not its binary expansion.
    With ``quantum`` (e.g. ``Decimal("0.01")`` for øre) the value is rounded ROUND_HALF_UP to it;
    a value too large to round to it is None.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value))
        if result.is_finite() and quantum is not None:
            result = result.quantize(quantum, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def parse_date(value: object) -> dt.date | None:
    """The date of ``2025-03-14`` or ``2025-03-14T00:00:00+01:00`` (as written), else None."""
    if not value:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def parse_timestamp(value: object) -> dt.datetime | None:
    """An aware datetime from an ISO 8601 timestamp; one without an offset is taken as UTC.

    PowerOffice sends 100 ns precision; we keep microseconds (truncated, never rounded up, so a
    watermark taken from it can only make the next exclusive query re-read, never skip). None for
    a missing or unreadable value; like Django's ``parse_datetime``, a well-formed text naming an
    impossible time (``2025-02-30T10:00:00``) raises ValueError.
    """
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return parsed
