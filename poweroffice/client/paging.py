"""Reading list calls page by page (``PageNumber``/``PageSize``), and long filter lists in parts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from .errors import NotFoundError, PowerOfficeError
from .params import QueryValue, query, split_long_lists

if TYPE_CHECKING:
    from .transport import JsonObject, Transport

DEFAULT_PAGE_SIZE = 5000  # PowerOffice's own default
MAX_PAGE_SIZE = 20000  # ResourceParameters.MaxPageSize


def paginate(
    transport: Transport,
    path: str,
    params: Mapping[str, QueryValue] | None = None,
    *,
    page_size: int | None = None,
    none_found_404: bool = False,
) -> Iterator[JsonObject]:
    """Yield every object of a list call, page by page (``PageNumber`` from 1, ``PageSize``).

    PowerOffice answers bare arrays and 204 for an empty page; a page shorter than the page size
    is the last one. ``none_found_404``: the call answers 404 for "none found" too (the
    contract declares it on some list calls). A filter list too long for one URL is asked for
    in parts (:func:`~poweroffice.client.params.split_long_lists`), each object once.
    """
    size = int(page_size or DEFAULT_PAGE_SIZE)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    # Measured with the paging parameters, as the URL is sent.
    paging = {"PageNumber": 999_999, "PageSize": size}
    parts = split_long_lists(transport.api_url + path, {**query(params), **paging})
    if len(parts) == 1:
        yield from _pages(transport, path, params, size, none_found_404)
        return
    seen: set[object] = set()
    for part in parts:
        for item in _pages(transport, path, part, size, none_found_404):
            key = item.get("Id") if isinstance(item, dict) else None
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            yield item


def _pages(
    transport: Transport,
    path: str,
    params: Mapping[str, QueryValue] | None,
    size: int,
    none_found_404: bool,
) -> Iterator[JsonObject]:
    page = 1
    while True:
        paged = {**(params or {}), "PageNumber": page, "PageSize": size}
        try:
            items = transport.request("GET", path, params=paged)
        except NotFoundError:
            if not none_found_404:
                raise
            return
        if not items:
            return
        if not isinstance(items, list):
            raise PowerOfficeError(
                status=200,
                title="Unexpected answer",
                detail="expected a JSON array",
                method="GET",
                path=path,
            )
        yield from items
        if len(items) < size:
            return
        page += 1
