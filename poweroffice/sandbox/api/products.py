"""/Products: list, get, POST (answered 200), PATCH (JSON Patch) and DELETE."""

from ..query import Filter, Query, among, flag, since
from ..responses import Problems, Response, empty_response, json_response, now_iso
from ..values import writable
from .common import (
    fetch,
    found,
    get,
    in_use,
    int_param,
    listing,
    new_record,
    patched_body,
    post_view,
    posted_body,
    records,
    with_references,
)
from .context import Ctx

PRODUCT_TITLE = "Product validation error(s)"

PRODUCT_FILTERS = (
    among("codes", "Code"),
    since("createdDateTimeOffsetGreaterThan", "CreatedDateTimeOffset"),
    flag("isArchived", "IsArchived"),
    since("lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset"),
    since(
        "stockOnHandLastChangedDatetimeOffsetGreaterThan", "StockOnHandLastChangedDatetimeOffset"
    ),
    Filter(
        "names",
        Query.strings,
        lambda names, item: (item.get("Name") or "").lower() in names,
        prepare=lambda names: {n.lower() for n in names},
    ),
    among("productGroupCodes", "ProductGroupCode"),
    Filter(
        "type",
        lambda q, name: q.enum(name, ("Product", "Service")),
        lambda kinds, item: (item.get("ProductType") or "Product") in kinds,
    ),
)


def product_dto(client: dict, record: dict) -> dict:
    return with_references(
        client,
        record,
        "ProductDto",
        ("StandardSalesAccount", "accounts", "StandardSalesAccountId", "AccountNo"),
        ("OptionalSalesAccount", "accounts", "OptionalSalesAccountId", "AccountNo"),
    )


def list_products(ctx: Ctx) -> Response:
    return listing(
        ctx,
        PRODUCT_FILTERS,
        records(ctx.client, "products"),
        lambda record: product_dto(ctx.client, record),
    )


def get_product(ctx: Ctx) -> Response:
    return fetch(ctx, "products", "Product", product_dto)


def _check_sales_account(ctx: Ctx, body: dict, problems: Problems, which: str) -> dict | None:
    account_id = body.get(f"{which}SalesAccountId")
    account_no = body.get(f"{which}SalesAccount")
    account = None
    if account_id is not None:
        account = get(ctx, "accounts", account_id)
        if account is None:
            problems.not_found(
                f"{which}SalesAccountId",
                f"General ledger account with id = {account_id} not found.",
            )
            return None
        if account_no is not None and account.get("AccountNo") != account_no:
            problems.add(
                f"{which}SalesAccount",
                f"{which}SalesAccount {account_no} does not match {which}SalesAccountId "
                f"{account_id} "
                f"(account {account.get('AccountNo')}).",
            )
    elif account_no is not None:
        account = next(
            (a for a in records(ctx.client, "accounts") if a.get("AccountNo") == account_no), None
        )
        if account is None:
            problems.not_found(
                f"{which}SalesAccount",
                f"General ledger account with number = {account_no} not found.",
            )
            return None
    if account is not None:
        if not account.get("IsActive"):
            problems.add(f"{which}SalesAccountId", f"Account {account['AccountNo']} is not active.")
        if account.get("GeneralLedgerAccountType") != "Income":
            problems.add(
                f"{which}SalesAccountId",
                f"Account {account['AccountNo']} is not a sales (income) account.",
            )
    return account


def _check_product(
    ctx: Ctx, body: dict, problems: Problems, *, current: dict | None = None
) -> tuple:
    if not (body.get("Name") or "").strip():
        problems.add("Name", "Name is required.")
    code = body.get("Code")
    if code is not None:
        if not code.strip():
            problems.add("Code", "Code cannot be blank.")
        for other in records(ctx.client, "products"):
            if (current is None or other["Id"] != current["Id"]) and (
                other.get("Code") or ""
            ).lower() == code.lower():
                problems.add(
                    "Code",
                    f"Product code '{code}' is already in use on product with Id = {other['Id']}.",
                )
                break
    standard = _check_sales_account(ctx, body, problems, "Standard")
    optional = _check_sales_account(ctx, body, problems, "Optional")
    if body.get("ProductGroupId") is not None:
        problems.not_found(
            "ProductGroupId", f"Product group with id = {body['ProductGroupId']} not found."
        )
    elif body.get("ProductGroupCode"):
        problems.not_found(
            "ProductGroupCode", f"Product group with code = '{body['ProductGroupCode']}' not found."
        )
    if body.get("StockOnHand") is not None and not body.get("IsStockItem"):
        problems.add(
            "StockOnHand", "StockOnHand can only be set on a stock item (IsStockItem true)."
        )
    return standard, optional


def _product_fields(body: dict, record: dict, standard: dict | None, optional: dict | None) -> None:
    for key in writable("ProductPostDto"):
        record[key] = body.get(key)
    record["StandardSalesAccountId"] = standard["Id"] if standard else None
    record["OptionalSalesAccountId"] = optional["Id"] if optional else None
    record.pop("StandardSalesAccount", None)
    record.pop("OptionalSalesAccount", None)
    record["ProductType"] = body.get("ProductType") or "Product"
    record["IsArchived"] = bool(body.get("IsArchived"))
    record["IsStockItem"] = bool(body.get("IsStockItem"))


def post_product(ctx: Ctx) -> Response:
    body, problems = posted_body(ctx, "ProductPostDto", PRODUCT_TITLE)
    standard, optional = _check_product(ctx, body, problems)
    problems.raise_if_any()
    record = new_record(ctx)
    _product_fields(body, record, standard, optional)
    ctx.data["products"][str(record["Id"])] = record
    # PowerOffice answers a created product with 200, not 201.
    return json_response(200, product_dto(ctx.client, record))


def patch_product(ctx: Ctx) -> Response:
    ctx.no_query()
    record = found(ctx, "products", "Product", int_param(ctx))
    view = post_view(record, "ProductPostDto")
    view["StandardSalesAccount"] = None
    view["OptionalSalesAccount"] = None
    patched, problems = patched_body(ctx, view, "ProductPostDto", "ProductPatchDto", PRODUCT_TITLE)
    standard, optional = _check_product(ctx, patched, problems, current=record)
    problems.raise_if_any()
    _product_fields(patched, record, standard, optional)
    record["LastChangedDateTimeOffset"] = now_iso()
    return json_response(200, product_dto(ctx.client, record))


def delete_product(ctx: Ctx) -> Response:
    ctx.no_query()
    product_id = int_param(ctx)
    found(ctx, "products", "Product", product_id)
    for voucher in records(ctx.client, "vouchers"):
        if any(
            line.get("ProductId") == product_id
            for line in voucher.get("OutgoingInvoiceLines") or []
        ):
            raise in_use("Product", product_id)
    del ctx.data["products"][str(product_id)]
    return empty_response(200)
