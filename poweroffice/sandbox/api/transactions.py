"""GET /AccountTransactions: the postings of the outgoing invoice vouchers the client holds.

Postings are derived from each booked invoice when asked, so a voucher deleted, reversed or
changed through a hook shows at once in its postings. Per voucher (in the client currency):

- the customer's receivable (account 1500, the sub-ledger's main entry): + the gross total;
- one posting per line on its sales account: - the net amount, with the line's VAT code, rate and
  VAT amount (negative: sales are credits);
- the output VAT per VAT code on account 2700 (no VAT code of its own).

A reversed voucher keeps its postings (``IsReversed``) and adds a reversal voucher with the
opposite amounts on the same posting date (``ReversedVoucherNo``), so the two sum to zero.
"""

import uuid
from decimal import Decimal

from ..query import Filter, Query, accepted, among, bad_query, code_among, since, within
from ..responses import Response
from ..serialize import serialize
from ..values import dec, parse_date
from .common import listing, records
from .context import Ctx

RECEIVABLE_ACCOUNT_NO = 1500
OUTPUT_VAT_ACCOUNT_NO = 2700


def _posting_day(item: dict):
    return parse_date(str(item.get("PostingDate"))[:10])


TRANSACTION_FILTERS = (
    Filter("fromDate", Query.day, lambda day, item: _posting_day(item) >= day),
    Filter("toDate", Query.day, lambda day, item: _posting_day(item) <= day),
    within("accountNos", "AccountNo"),
    accepted("agricultureDepartments", Query.strings),
    since("createdDateTimeOffsetGreaterThan", "CreatedDateTimeOffset"),
    code_among("departmentCodes", "DepartmentCode"),
    accepted("includeSubProject", Query.boolean),
    since("lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset"),
    code_among("productCodes", "ProductCode"),
    code_among("projectCodes", "ProjectCode"),
    among("vatCodes", "VatCode"),
    within("voucherNos", "VoucherNo"),
    among("voucherTypes", "VoucherType"),
)


def _posting(invoice: dict, index: int, *, sign: int, **values) -> dict:
    base = {
        "Id": int(invoice["VoucherNo"]) * 1000 + index,
        "AccountId": values.get("AccountId") or values["AccountNo"],
        "CreatedDateTimeOffset": invoice.get("CreatedDateTimeOffset"),
        "CurrencyCode": invoice.get("CurrencyCode") or "NOK",
        "ExternalImportReference": invoice.get("ExternalImportReference"),
        "IsNoteMainEntry": False,
        "IsReversed": bool(invoice.get("IsReversed")),
        "LastChangedDateTimeOffset": invoice.get("LastChangedDateTimeOffset"),
        "PostingDate": invoice.get("VoucherDate"),
        "VatAmount": Decimal(0),
        "VatId": 0,
        "VatRate": Decimal(0),
        "VoucherDate": invoice.get("VoucherDate"),
        "VoucherDescription": invoice.get("_description"),
        "VoucherId": invoice["Id"],
        "VoucherNo": invoice["VoucherNo"],
        "VoucherType": invoice.get("VoucherType"),
    }
    base.update(values)
    for key in ("Amount", "CurrencyAmount", "VatAmount"):
        base[key] = dec(base.get(key) or 0) * sign
    return base


def invoice_postings(invoice: dict, *, sign: int = 1) -> list[dict]:
    """The postings of one booked outgoing invoice (``sign`` -1: those of its reversal)."""
    gross = dec(invoice.get("TotalPostedAmount") or 0)
    rows = [
        _posting(
            invoice,
            0,
            sign=sign,
            AccountNo=RECEIVABLE_ACCOUNT_NO,
            Amount=gross,
            CurrencyAmount=dec(invoice.get("TotalAmount") or gross),
            ContactId=invoice.get("CustomerId"),
            CustomerAccountNo=invoice.get("CustomerNo"),
            IsNoteMainEntry=True,
        )
    ]
    vat_by_code: dict[str, Decimal] = {}
    for number, line in enumerate(invoice.get("_lines") or [], start=1):
        vat = dec(line.get("VatAmount") or 0)
        rows.append(
            _posting(
                invoice,
                number,
                sign=sign,
                AccountId=line.get("AccountId"),
                AccountNo=line.get("AccountNo"),
                Amount=-dec(line.get("NetPostedAmount") or 0),
                CurrencyAmount=-dec(line.get("NetAmount") or 0),
                DepartmentCode=line.get("DepartmentCode"),
                DepartmentId=line.get("DepartmentId"),
                Description=line.get("Description"),
                ProductCode=line.get("ProductCode"),
                ProductId=line.get("ProductId"),
                Quantity=line.get("Quantity"),
                VatAmount=-vat,
                VatCode=line.get("VatCode"),
                VatId=line.get("VatId") or 0,
                VatRate=line.get("VatRate") or 0,
            )
        )
        code = str(line.get("VatCode"))
        vat_by_code[code] = vat_by_code.get(code, Decimal(0)) + vat
    for offset, (code, vat) in enumerate(sorted(vat_by_code.items()), start=500):
        if vat:
            rows.append(
                _posting(
                    invoice,
                    offset,
                    sign=sign,
                    AccountNo=OUTPUT_VAT_ACCOUNT_NO,
                    Amount=-vat,
                    CurrencyAmount=-vat,
                    Description=f"Utgående mva ({code})",
                )
            )
    return rows


def _reversal_postings(invoice: dict) -> list[dict]:
    number = invoice.get("_reversal_voucher_no")
    if not invoice.get("IsReversed") or number is None:
        return []
    reversal = {
        **invoice,
        "Id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"reversal/{invoice['Id']}")),
        "VoucherNo": number,
        "IsReversed": False,
    }
    rows = invoice_postings(reversal, sign=-1)
    for row in rows:
        row.update(
            IsReversed=False,
            ReversedVoucherId=invoice["Id"],
            ReversedVoucherNo=invoice["VoucherNo"],
        )
    return rows


def client_postings(client: dict) -> list[dict]:
    rows: list[dict] = []
    for invoice in records(client, "outgoinginvoices"):
        if invoice.get("VoucherNo") is None or not invoice.get("VoucherDate"):
            continue
        rows.extend(invoice_postings(invoice))
        rows.extend(_reversal_postings(invoice))
    return sorted(rows, key=lambda row: (int(row["VoucherNo"]), int(row["Id"])))


def list_transactions(ctx: Ctx) -> Response:
    q = ctx.query(*(f.param for f in TRANSACTION_FILTERS))
    for name in ("fromDate", "toDate"):
        if q.raw(name) is None:
            raise bad_query(f"The {name} field is required.", "One or more validation errors")
    return listing(
        ctx,
        TRANSACTION_FILTERS,
        client_postings(ctx.client),
        lambda row: serialize(row, "AccountTransactionDto"),
    )
