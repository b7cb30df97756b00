"""GET /Employees[/{employeeId}] (read-only; sales persons and salary lines refer to them)."""

from ..responses import Response
from .common import DEPARTMENT_CODE, MANAGER_NO, fetch, hidden, listing, records, with_references
from .contacts import contact_filters
from .context import Ctx

EMPLOYEE_FILTERS = contact_filters("employee")


def employee_dto(client: dict, record: dict) -> dict:
    return with_references(
        client,
        record,
        "EmployeeDto",
        DEPARTMENT_CODE,
        MANAGER_NO,
        NationalIdNumber=hidden(record, "NationalIdNumber"),
        InternationalIdNumber=hidden(record, "InternationalIdNumber"),
    )


def list_employees(ctx: Ctx) -> Response:
    return listing(
        ctx,
        EMPLOYEE_FILTERS,
        records(ctx.client, "employees"),
        lambda record: employee_dto(ctx.client, record),
    )


def get_employee(ctx: Ctx) -> Response:
    return fetch(ctx, "employees", "Employee", employee_dto, name="employeeId")
