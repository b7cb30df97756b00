"""Payroll: GET /PayItems[/{id}] and /SalaryLines (list, get, POST, PATCH, DELETE; 409 when a
payroll run has locked the line)."""

from ..query import among, flag, since
from ..responses import ApiError, Problems, Response, empty_response, json_response, now_iso
from ..serialize import serialize
from ..values import canonical_uuid, check_money, dec, money, writable
from .common import (
    check_department_ref,
    check_not_held,
    check_unique,
    created,
    fetch,
    get,
    int_param,
    listing,
    new_record,
    not_found,
    patched_body,
    post_view,
    posted_body,
    records,
    uuid_param,
)
from .context import Ctx
from .processing import computes_amount, line_rules

SALARY_TITLE = "Salary line validation error(s)"

# -- Pay items -----------------------------------------------------------------------------

PAY_ITEM_FILTERS = (
    among("codes", "Code"),
    since("createdDateTimeOffsetGreaterThan", "CreatedDateTimeOffset"),
    flag("isActive", "IsActive"),
    since("lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset"),
)


def _pay_item_dto(record: dict) -> dict:
    return serialize(record, "PayItemDto")


def list_pay_items(ctx: Ctx) -> Response:
    return listing(ctx, PAY_ITEM_FILTERS, records(ctx.client, "payitems"), _pay_item_dto)


def get_pay_item(ctx: Ctx) -> Response:
    return fetch(ctx, "payitems", "Pay item", lambda _, record: _pay_item_dto(record), uuid_param)


# -- the rules of a salary line (POST, or the result of a PATCH) ---------------------------


def _check_salary_line(
    ctx: Ctx, body: dict, problems: Problems, *, current: dict | None = None
) -> None:
    client = ctx.client
    for key in ("Amount", "StartAmount", "MinAmount", "MaxAmount", "CarListPrice"):
        check_money(body, key, problems)
    _check_employee(client, body, problems)
    pay_item = _check_pay_item(client, body, problems)
    check_department_ref(ctx, {"DepartmentId": body.get("DepartmentId")}, problems)
    for key, collection, what in (
        ("AccountId", "accounts", "General ledger account"),
        ("OppositeAccountId", "accounts", "General ledger account"),
        ("VatCodeId", "vatcodes", "VAT code"),
    ):
        if body.get(key) is not None and get(client, collection, body[key]) is None:
            problems.not_found(key, f"{what} with id = {body[key]} not found.")
    check_not_held(
        problems,
        body,
        "",
        (
            ("ProjectId", "Project"),
            ("SupplierAccountId", "Supplier sub-ledger account"),
            ("SupplierBankAccountId", "Supplier bank account"),
        ),
    )
    if body.get("ExternalImportReference"):
        others = [
            line
            for line in records(client, "salarylines")
            if current is None or line["Id"] != current["Id"]
        ]
        check_unique(problems, body, "ExternalImportReference", others, "salary line with")
    if pay_item is not None and pay_item.get("IsActive"):
        _check_amounts(body, pay_item, problems)


def _check_employee(client: dict, body: dict, problems: Problems) -> None:
    employee_id = body.get("EmployeeId")
    if employee_id is None:
        return
    employee = get(client, "employees", employee_id)
    if employee is None:
        problems.not_found("EmployeeId", f"Employee with id = {employee_id} not found.")
    elif employee.get("IsArchived"):
        problems.add(
            "EmployeeId",
            f"Employee {employee.get('Number')} {employee.get('FirstName')} "
            f"{employee.get('LastName')} is archived.",
        )


def _check_pay_item(client: dict, body: dict, problems: Problems) -> dict | None:
    pay_item_id = body.get("PayItemId")
    if pay_item_id is None:
        return None
    pay_item = get(client, "payitems", canonical_uuid(pay_item_id))
    if pay_item is None:
        problems.not_found("PayItemId", f"Pay item with id = {pay_item_id} not found.")
    elif not pay_item.get("IsActive"):
        problems.add(
            "PayItemId",
            f"Pay item {pay_item.get('Code')} {pay_item.get('Name')} is not active.",
        )
    return pay_item


def _check_amounts(body: dict, pay_item: dict, problems: Problems) -> None:
    """What the pay item's processing type requires on the line, and no Amount, Quantity or
    Rate it has no use for (``processing.py``)."""
    processing = pay_item.get("ProcessingType")
    rules = line_rules(processing)
    if rules is None:
        return
    required, allowed = rules
    what = f"pay item {pay_item.get('Code')} ({processing})"
    for key in required:
        if not any(body.get(name) is not None for name in key.split("|")):
            shown = " or ".join(key.split("|"))
            problems.add(key.split("|")[0], f"{shown} is required for {what}.")
    for key in ("Amount", "Quantity", "Rate"):
        if body.get(key) is not None and key not in allowed:
            reason = (
                " PowerOffice computes it from Quantity × Rate."
                if key == "Amount" and computes_amount(processing)
                else ""
            )
            problems.add(key, f"{key} is not used by {what} and cannot be set.{reason}")


# -- Salary lines --------------------------------------------------------------------------


def _salary_fields(body: dict, record: dict, pay_item: dict | None) -> None:
    for key in writable("SalaryLinePostDto"):
        record[key] = body.get(key)
    if record.get("PayItemId"):
        record["PayItemId"] = canonical_uuid(record["PayItemId"])
    rate = body.get("Rate")
    if rate is None and pay_item is not None and pay_item.get("Rate") is not None:
        rate = pay_item["Rate"]
        record["Rate"] = rate
    if body.get("Amount") is None and body.get("Quantity") is not None and rate is not None:
        record["Amount"] = money(dec(body["Quantity"]) * dec(rate))


def salary_dto(record: dict) -> dict:
    return serialize(record, "SalaryLineDto")


def list_salary_lines(ctx: Ctx) -> Response:
    # "Will only return salary lines that the integration has created."
    own = [
        record
        for record in records(ctx.client, "salarylines")
        if record.get("_created_by") == ctx.app_key and not record.get("IsDeletedByUser")
    ]
    return listing(ctx, (), own, salary_dto)


def _own_salary_line(ctx: Ctx) -> dict:
    line_id = int_param(ctx)
    record = get(ctx, "salarylines", line_id)
    if record is None or record.get("_created_by") != ctx.app_key:
        raise not_found("Salary line", line_id)
    return record


def _unlocked_salary_line(ctx: Ctx, refusal: str) -> dict:
    record = _own_salary_line(ctx)
    if record.get("IsLocked"):
        raise ApiError(
            409, "Salary line conflict", f"Salary line with id = {record['Id']} {refusal}"
        )
    return record


def get_salary_line(ctx: Ctx) -> Response:
    ctx.no_query()
    return json_response(200, salary_dto(_own_salary_line(ctx)))


def post_salary_line(ctx: Ctx) -> Response:
    body, problems = posted_body(ctx, "SalaryLinePostDto", SALARY_TITLE)
    _check_salary_line(ctx, body, problems)
    problems.raise_if_any()
    record = new_record(ctx, IsLocked=False, IsDeletedByUser=False)
    _salary_fields(body, record, get(ctx, "payitems", canonical_uuid(body["PayItemId"])))
    ctx.data["salarylines"][str(record["Id"])] = record
    return created(ctx, record, salary_dto(record))


def patch_salary_line(ctx: Ctx) -> Response:
    ctx.no_query()
    record = _unlocked_salary_line(ctx, "is locked and cannot be changed.")
    view = post_view(record, "SalaryLinePostDto")
    patched, problems = patched_body(
        ctx, view, "SalaryLinePostDto", "SalaryLinePatchDto", SALARY_TITLE
    )
    _check_salary_line(ctx, patched, problems, current=record)
    problems.raise_if_any()
    _salary_fields(patched, record, get(ctx, "payitems", canonical_uuid(patched["PayItemId"])))
    record["LastChangedDateTimeOffset"] = now_iso()
    return json_response(200, salary_dto(record))


def delete_salary_line(ctx: Ctx) -> Response:
    ctx.no_query()
    record = _unlocked_salary_line(
        ctx, "is in use and cannot be deleted (it is locked in a payroll run)."
    )
    del ctx.data["salarylines"][str(record["Id"])]
    return empty_response(200)
