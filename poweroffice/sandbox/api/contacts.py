"""The list filters customers and employees share: both are contacts in PowerOffice Go."""

from ..query import Filter, Query, equal, since, within
from ..responses import ApiError
from .common import NOT_FOUND_TITLE


def _no_contact_groups(groups: list[int]) -> list[int]:
    # The sandbox holds no contact groups, so any group asked for does not exist.
    if groups:
        raise ApiError(
            404,
            NOT_FOUND_TITLE,
            f"Could not find contact group(s) with id = {', '.join(map(str, groups))}.",
        )
    return groups


def contact_filters(kind: str) -> tuple[Filter, ...]:
    """GET /Customers (``kind`` "customer") and GET /Employees ("employee")."""
    return (
        Filter(
            "contactGroupIds", Query.ids, lambda _groups, _item: True, prepare=_no_contact_groups
        ),
        since(f"{kind}CreatedDateTimeOffsetGreaterThan", f"{kind.title()}CreatedDateTimeOffset"),
        within(f"{kind}Nos", "Number"),
        equal("externalImportReference", "ExternalImportReference"),
        within("externalNos", "ExternalNumber"),
        since("lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset"),
    )
