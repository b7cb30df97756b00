"""Sortable columns of a list page: ``?sort=nummer`` (ascending) or ``?sort=-nummer``.

A page declares its columns once (key in the URL -> the fields to order by); the header links
(``{% sort_th %}`` in bitnet/templatetags/listing.py) keep the page's filters and go back to page
one. An unknown key falls back to the page's default, so an old bookmark still works.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True)
class Sorting:
    """The order a list is shown in, read from ``?sort=``."""

    key: str  # the column key, without "-"
    descending: bool
    order_by: tuple[str, ...]

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else self.key


def sorting_from(
    request: HttpRequest,
    columns: Mapping[str, tuple[str, ...]],
    *,
    default: str,
    tie_breaker: str = "pk",
) -> Sorting:
    """The sorting asked for, or ``default`` ("-dato" for newest first).

    A descending sort reverses every field of the column; ``tie_breaker`` keeps rows with equal
    values in one order, so paging neither repeats nor skips a row.
    """
    raw = (request.GET.get("sort") or "").strip()
    key = raw.removeprefix("-")
    if key not in columns:
        raw, key = default, default.removeprefix("-")
    descending = raw.startswith("-")
    fields = [*columns[key], tie_breaker]
    order = tuple(_reverse(f) if descending else f for f in fields)
    return Sorting(key=key, descending=descending, order_by=order)


def _reverse(field: str) -> str:
    return field[1:] if field.startswith("-") else f"-{field}"
