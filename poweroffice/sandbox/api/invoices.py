"""GET /OutgoingInvoices[/{id}[/Lines]]: the open items booked vouchers leave (read-only)."""

from ..query import (
    Filter,
    Query,
    accepted,
    among,
    code_among,
    list_response,
    since,
    within,
)
from ..responses import Response
from ..serialize import serialize
from ..values import dec, parse_date
from .common import DEPARTMENT_CODE, fetch, found, listing, records, uuid_param, with_references
from .context import Ctx


def invoice_dto(client: dict, record: dict, app_key: str) -> dict:
    return with_references(
        client,
        record,
        "OutgoingInvoiceDto",
        DEPARTMENT_CODE,
        IsCreatedByCurrentIntegration=record.get("_created_by") == app_key,
    )


def _voucher_date(record: dict):
    value = record.get("VoucherDate")
    return parse_date(str(value)[:10]) if value else None


def _from(day, record: dict) -> bool:
    voucher_date = _voucher_date(record)
    return voucher_date is not None and voucher_date >= day


def _to(day, record: dict) -> bool:
    voucher_date = _voucher_date(record)
    return voucher_date is not None and voucher_date <= day


INVOICE_FILTERS = (
    since("balanceLastChangedDateTimeOffsetGreaterThan", "BalanceLastChangedDateTimeOffset"),
    within("customerNos", "CustomerNo"),
    among("customMatchingReferences", "CustomMatchingReference"),
    code_among("departmentCodes", "DepartmentCode", on_view=True),
    Filter("fromDate", Query.day, _from),
    # Projects are not held: includeSubProject is checked but changes nothing.
    accepted("includeSubProject", Query.boolean),
    Filter("invoiceIds", Query.uuids, lambda ids, item: str(item["Id"]).lower() in ids),
    within("invoiceNos", "InvoiceNo"),
    Filter(
        "onlyCreatedByCurrentIntegration",
        Query.boolean,
        lambda _only, item: item["IsCreatedByCurrentIntegration"],
        on_view=True,
        active=bool,
    ),
    Filter(
        "onlyUnpaidInvoices",
        Query.boolean,
        lambda _only, item: dec(item.get("Balance") or 0) != 0,
        active=bool,
    ),
    code_among("projectCodes", "ProjectCode"),
    since("sentDateTimeOffsetGreaterThan", "SentDateTimeOffset"),
    Filter("toDate", Query.day, _to),
    within("voucherNos", "VoucherNo"),
)


def list_invoices(ctx: Ctx) -> Response:
    return listing(
        ctx,
        INVOICE_FILTERS,
        records(ctx.client, "outgoinginvoices"),
        lambda record: invoice_dto(ctx.client, record, ctx.app_key),
    )


def get_invoice(ctx: Ctx) -> Response:
    return fetch(
        ctx,
        "outgoinginvoices",
        "Outgoing invoice",
        lambda client, record: invoice_dto(client, record, ctx.app_key),
        uuid_param,
    )


def list_invoice_lines(ctx: Ctx) -> Response:
    q = ctx.query()
    record = found(ctx, "outgoinginvoices", "Outgoing invoice", uuid_param(ctx))
    items = [serialize(line, "OutgoingInvoiceLineDto") for line in record.get("_lines") or []]
    return list_response(q, items)
