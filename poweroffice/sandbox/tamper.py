"""Hooks that change what a client has booked, as an accountant can in PowerOffice Go:
delete a voucher, or change the amount of one of its lines. Reconciliation tests use them to
make PowerOffice differ from what was exported.

- ``POST /_sandbox/clients/<key>/delete-voucher`` ``{"invoice_no": 100001}`` (or
  ``{"voucher_id": "<uuid>"}``): the voucher and its open item are gone, with their postings.
- ``POST /_sandbox/clients/<key>/change-amount`` ``{"invoice_no": 100001, "line": 0,
  "amount": "1250.00"}``: the line's gross amount; VAT, net, totals and the balance follow.
"""

from decimal import ROUND_HALF_UP, Decimal

from .api.common import get
from .api.invoices import invoice_dto
from .responses import ApiError, Response, json_response, now_iso
from .values import dec, decimals_of, money


def _bad(detail: str, status: int = 400) -> ApiError:
    return ApiError(status, "Sandbox hook error", detail)


def _invoice(client: dict, body: dict) -> dict:
    if body.get("voucher_id"):
        invoice = get(client, "outgoinginvoices", str(body["voucher_id"]))
        if invoice is None:
            raise _bad("No outgoing invoice with that voucher id.", 404)
        return invoice
    try:
        invoice_no = int(body.get("invoice_no"))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise _bad("invoice_no (a whole number) or voucher_id is required.") from exc
    for invoice in client["data"]["outgoinginvoices"].values():
        number = invoice.get("InvoiceNo")
        if number is not None and int(number) == invoice_no and not invoice.get("IsReversed"):
            return invoice
    raise _bad(f"No booked (not reversed) invoice with InvoiceNo {invoice_no}.", 404)


def delete_voucher(client: dict, body: dict) -> Response:
    invoice = _invoice(client, body)
    client["data"]["outgoinginvoices"].pop(invoice["Id"], None)
    client["data"]["vouchers"].pop(invoice["Id"], None)
    return json_response(200, {"deleted": invoice["Id"], "InvoiceNo": invoice.get("InvoiceNo")})


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def change_amount(client: dict, body: dict) -> Response:
    invoice = _invoice(client, body)
    lines = invoice.get("_lines") or []
    index = body.get("line", 0)
    if not isinstance(index, int) or not 0 <= index < len(lines):
        raise _bad(f"line must be an index from 0 to {len(lines) - 1}.")
    try:
        amount = dec(body.get("amount"))
    except Exception as exc:
        raise _bad('amount (e.g. "123.45") is required.') from exc
    if not amount.is_finite() or decimals_of(amount) > 2:
        raise _bad("amount must be an amount with at most 2 decimals.")
    line = lines[index]
    rate = dec(line.get("VatRate") or 0)
    vat = _cents(amount * rate / (1 + rate))
    line.update(
        TotalAmount=amount,
        TotalPostedAmount=amount,
        VatAmount=vat,
        NetAmount=amount - vat,
        NetPostedAmount=amount - vat,
    )
    old_total = money(invoice.get("TotalPostedAmount") or 0)
    total = sum((money(item["TotalAmount"]) for item in lines), Decimal(0))
    vat_total = sum((money(item["VatAmount"]) for item in lines), Decimal(0))
    now = now_iso()
    invoice.update(
        TotalAmount=total,
        TotalPostedAmount=total,
        NetAmount=total - vat_total,
        NetPostedAmount=total - vat_total,
        Balance=money(invoice.get("Balance") or 0) + (total - old_total),
        BalanceLastChangedDateTimeOffset=now,
        LastChangedDateTimeOffset=now,
    )
    voucher = client["data"]["vouchers"].get(invoice["Id"])
    if voucher is not None:
        voucher["CurrencyAmount"] = total
        voucher_lines = voucher.get("OutgoingInvoiceLines") or []
        if index < len(voucher_lines):
            voucher_lines[index]["CurrencyAmount"] = amount
    return json_response(200, invoice_dto(client, invoice, client["application_key"]))
