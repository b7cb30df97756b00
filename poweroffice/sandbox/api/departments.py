"""GET /Departments[/{id}] (read-only; customers, vouchers and salary lines refer to them)."""

from ..query import Filter, Query, among, equal, flag, since
from ..responses import Response
from .common import MANAGER_NO, fetch, listing, records, with_references
from .context import Ctx


def department_dto(client: dict, record: dict) -> dict:
    return with_references(client, record, "DepartmentDto", MANAGER_NO)


DEPARTMENT_FILTERS = (
    among("codes", "Code"),
    since("createdDateTimeOffsetGreaterThan", "CreatedDateTimeOffset"),
    Filter(
        "createdFromImportJournalId",
        Query.uuids,
        lambda journals, item: (item.get("CreatedFromImportJournalId") or "").lower() in journals,
    ),
    flag("isActive", "IsActive"),
    since("lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset"),
    equal("managerEmployeeNo", "ManagerEmployeeNo", Query.integer, on_view=True),
    Filter(
        "name",
        Query.raw,
        lambda name, item: (item.get("Name") or "").lower() == name.lower(),
    ),
)


def list_departments(ctx: Ctx) -> Response:
    return listing(
        ctx,
        DEPARTMENT_FILTERS,
        records(ctx.client, "departments"),
        lambda record: department_dto(ctx.client, record),
    )


def get_department(ctx: Ctx) -> Response:
    return fetch(ctx, "departments", "Department", department_dto)
