"""/Vouchers: POST and GET /Vouchers/OutgoingInvoiceJournals, POST /Vouchers/Reverse/{id}.

A posted outgoing invoice voucher is checked rule by rule (each rule a named check below, in the
order its problems are told), then booked: the voucher, and the outgoing invoice (open item)
with its lines that GET /OutgoingInvoices shows; an entry with a CustomMatchingReference is
matched at once with open entries of the same customer that have the same reference and an
amount of the opposite sign (a credit note and its invoice), as far as its amount goes.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from ..contract import FIELDS
from ..responses import ApiError, Problems, Response, empty_response, json_response, now_iso
from ..serialize import serialize
from ..values import check_money, check_object, dec, money, parse_date, writable
from .accounts import vat_direction
from .common import (
    CURRENCIES,
    check_department_ref,
    check_not_held,
    get,
    not_found,
    records,
    uuid_param,
)
from .context import Ctx

VOUCHER_TITLE = "Outgoing invoice voucher validation error(s)"
REVERSE_TITLE = "Voucher validation error(s)"

# References on a voucher and on its lines to objects the sandbox does not hold.
_DIMENSIONS = (
    ("ProjectId", "Project"),
    ("LocationId", "Location"),
    ("Dim1Id", "Dimension 1 value"),
    ("Dim2Id", "Dimension 2 value"),
    ("Dim3Id", "Dimension 3 value"),
)
_HEADER_NOT_HELD = (*_DIMENSIONS, ("DeliveryTermId", "Delivery term"))


@dataclass
class LineRefs:
    """What one voucher line refers to, as found while checking it."""

    account: dict | None = None
    vat: dict | None = None
    product: dict | None = None
    department: dict | None = None


@dataclass
class VoucherRefs:
    """What a voucher refers to, as found while checking it (complete when it passed)."""

    voucher_date: date | None = None
    customer: dict | None = None
    department: dict | None = None
    seller: dict | None = None
    lines: list[LineRefs] = field(default_factory=list)


def voucher_dto(record: dict) -> dict:
    return serialize(record, "OutgoingInvoiceVoucherDto")


def active_invoice_with(client: dict, key: str, value) -> dict | None:
    for invoice in records(client, "outgoinginvoices"):
        if not invoice.get("IsReversed") and invoice.get(key) == value:
            return invoice
    return None


def _day(value) -> date | None:
    return parse_date(value) if value else None


# -- the rules of a voucher ----------------------------------------------------------------


def check_voucher(ctx: Ctx, body: dict, problems: Problems) -> VoucherRefs:
    client = ctx.client
    if body.get("IsReversed"):
        problems.add("IsReversed", "IsReversed cannot be set when posting a voucher.")
    _check_invoice_no(client, body, problems)
    if body.get("VoucherDate") is None:
        problems.add("VoucherDate", "VoucherDate is required.")
    if "CurrencyAmount" not in body:
        problems.add("CurrencyAmount", "CurrencyAmount is required.")
    check_money(body, "CurrencyAmount", problems)
    _check_reference(client, body, problems)
    refs = VoucherRefs(voucher_date=_day(body.get("VoucherDate")))
    _check_due_date(body, refs.voucher_date, problems)
    _check_currency(body, problems)
    _check_cid(body, problems)
    if body.get("SaftSourceId") and len(body["SaftSourceId"]) > 35:
        problems.add("SaftSourceId", "SaftSourceId can be at most 35 characters.")
    refs.customer = _check_customer_account(client, body, problems)
    refs.department = check_department_ref(
        ctx, {"DepartmentId": body.get("DepartmentId")}, problems
    )
    refs.seller = _check_seller(client, body, problems)
    check_not_held(problems, body, "", _HEADER_NOT_HELD)

    lines = body.get("OutgoingInvoiceLines")
    if not lines:
        problems.add("OutgoingInvoiceLines", "OutgoingInvoiceLines must contain at least one line.")
        lines = []
    rules = _LineRules(ctx, body, problems, refs.voucher_date)
    for index, line in enumerate(lines):
        refs.lines.append(rules.check(line, f"OutgoingInvoiceLines[{index}]."))
    _check_balance(body, lines, problems)
    return refs


def _check_invoice_no(client: dict, body: dict, problems: Problems) -> None:
    invoice_no = body.get("InvoiceNo")
    if invoice_no is None or (isinstance(invoice_no, str) and not invoice_no.strip()):
        problems.add("InvoiceNo", "InvoiceNo is required.")
    elif not re.fullmatch(r"[1-9]\d{0,17}", invoice_no):
        problems.add(
            "InvoiceNo",
            f"InvoiceNo '{invoice_no}' must be a positive whole number (digits only, no leading "
            "zeros).",
        )
    else:
        taken = active_invoice_with(client, "InvoiceNo", int(invoice_no))
        if taken:
            problems.add(
                "InvoiceNo",
                f"InvoiceNo {invoice_no} is already in use on voucher with Id = {taken['Id']} "
                f"(VoucherNo {taken.get('VoucherNo')}). It can only be reused if that voucher "
                "is reversed.",
            )


def _check_reference(client: dict, body: dict, problems: Problems) -> None:
    reference = body.get("ExternalImportReference")
    if reference is None:
        return
    if not reference.strip():
        problems.add("ExternalImportReference", "ExternalImportReference cannot be blank.")
    taken = active_invoice_with(client, "ExternalImportReference", reference)
    if taken:
        problems.add(
            "ExternalImportReference",
            f"ExternalImportReference is already in use. '{reference}' is used on voucher "
            f"with Id = {taken['Id']}.",
        )


def _check_due_date(body: dict, voucher_date: date | None, problems: Problems) -> None:
    due = _day(body.get("DueDate"))
    if voucher_date and due and due < voucher_date:
        problems.add("DueDate", f"DueDate {due} is before VoucherDate {voucher_date}.")


def _check_currency(body: dict, problems: Problems) -> None:
    currency = body.get("CurrencyCode") or "NOK"
    rate = body.get("CurrencyExchangeRate")
    if currency not in CURRENCIES:
        problems.add(
            "CurrencyCode", f"CurrencyCode '{currency}' is not an active currency on the client."
        )
    elif currency == "NOK" and rate is not None and dec(rate) != 1:
        problems.add(
            "CurrencyExchangeRate", "CurrencyExchangeRate must be 1 (or left out) for NOK."
        )
    elif currency != "NOK" and (rate is None or dec(rate) <= 0):
        problems.add(
            "CurrencyExchangeRate", f"CurrencyExchangeRate is required and positive for {currency}."
        )


def _valid_cid(cid: str) -> bool:
    """A KID is valid with a MOD10 (Luhn) or a MOD11 check digit."""
    digits = [int(d) for d in cid]
    body, check = digits[:-1], digits[-1]
    total = 0
    for index, digit in enumerate(reversed(body)):
        value = digit * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    if (10 - total % 10) % 10 == check:
        return True
    weights = [2, 3, 4, 5, 6, 7]
    total = sum(d * weights[i % 6] for i, d in enumerate(reversed(body)))
    remainder = 11 - total % 11
    mod11 = 0 if remainder == 11 else remainder
    return mod11 != 10 and mod11 == check


def _check_cid(body: dict, problems: Problems) -> None:
    cid = body.get("Cid")
    if cid is None:
        return
    if not re.fullmatch(r"\d{2,25}", cid):
        problems.add("Cid", f"Cid (KID) '{cid}' must be 2 to 25 digits.")
    elif not _valid_cid(cid):
        problems.add("Cid", f"Cid (KID) '{cid}' has an invalid check digit (MOD10 or MOD11).")


def _check_customer_account(client: dict, body: dict, problems: Problems) -> dict | None:
    """The customer whose SubledgerAccountId is the voucher's CustomerAccountId."""
    account_id = body.get("CustomerAccountId")
    if account_id is None:
        problems.add(
            "CustomerAccountId",
            "CustomerAccountId (the customer's SubledgerAccountId) is required.",
        )
        return None
    customer = next(
        (c for c in records(client, "customers") if c.get("SubledgerAccountId") == account_id),
        None,
    )
    if customer is None:
        by_id = get(client, "customers", account_id)
        hint = (
            f" {account_id} is the customer's Id; use its SubledgerAccountId "
            f"({by_id['SubledgerAccountId']})."
            if by_id
            else ""
        )
        problems.not_found(
            "CustomerAccountId",
            f"Customer sub-ledger account with id = {account_id} not found.{hint}",
        )
    elif customer.get("IsArchived"):
        problems.add("CustomerAccountId", f"Customer {customer.get('Number')} is archived.")
    return customer


def _check_seller(client: dict, body: dict, problems: Problems) -> dict | None:
    seller_id = body.get("SalesPersonEmployeeId")
    if seller_id is None:
        return None
    seller = get(client, "employees", seller_id)
    if seller is None:
        problems.not_found("SalesPersonEmployeeId", f"Employee with id = {seller_id} not found.")
    elif seller.get("IsArchived"):
        problems.add("SalesPersonEmployeeId", f"Employee {seller.get('Number')} is archived.")
    return seller


# -- the rules of a voucher line -----------------------------------------------------------


class _LineRules:
    """The rules of the lines of one voucher; ``check`` tells a line's problems in order."""

    def __init__(self, ctx: Ctx, body: dict, problems: Problems, voucher_date: date | None):
        self.ctx = ctx
        self.client = ctx.client
        self.body = body
        self.problems = problems
        self.voucher_date = voucher_date
        # Sub-ledger control accounts (customers, suppliers ...) are posted through the ledger.
        self.control_accounts = {
            s.get("GeneralLedgerAccountId") for s in records(self.client, "numberseries")
        }

    def check(self, line: dict, prefix: str) -> LineRefs:
        problems = self.problems
        if line.get("CurrencyAmount") is None:
            problems.add(f"{prefix}CurrencyAmount", f"{prefix}CurrencyAmount is required.")
        check_money(line, "CurrencyAmount", problems, prefix=prefix)
        refs = LineRefs(account=self._account(line, prefix))
        refs.vat = self._vat(line, prefix, refs.account)
        refs.product = self._product(line, prefix)
        refs.department = check_department_ref(
            self.ctx, {"DepartmentId": line.get("DepartmentId")}, problems, prefix=prefix
        )
        account = refs.account
        if (
            account is not None
            and account.get("IsDepartmentRequired")
            and line.get("DepartmentId") is None
            and self.body.get("DepartmentId") is None
        ):
            problems.add(
                f"{prefix}DepartmentId", f"Account {account['AccountNo']} requires a department."
            )
        check_not_held(problems, line, prefix, _DIMENSIONS)
        self._accrual(line, prefix)
        return refs

    def _account(self, line: dict, prefix: str) -> dict | None:
        if line.get("AccountId") is None:
            self.problems.add(f"{prefix}AccountId", f"{prefix}AccountId is required.")
            return None
        account = get(self.client, "accounts", line["AccountId"])
        if account is None:
            self.problems.not_found(
                f"{prefix}AccountId",
                f"General ledger account with id = {line['AccountId']} not found ({prefix[:-1]}).",
            )
        elif not account.get("IsActive"):
            self.problems.add(
                f"{prefix}AccountId",
                f"Account {account['AccountNo']} {account['Name']} is not active.",
            )
        elif account["Id"] in self.control_accounts:
            self.problems.add(
                f"{prefix}AccountId",
                f"Account {account['AccountNo']} is a sub-ledger control account and cannot "
                "be posted directly.",
            )
        return account

    def _vat(self, line: dict, prefix: str, account: dict | None) -> dict | None:
        if line.get("VatId") is None:
            self.problems.add(
                f"{prefix}VatId", f"{prefix}VatId is required: every line must carry its VAT code."
            )
            return None
        vat = get(self.client, "vatcodes", line["VatId"])
        if vat is None:
            self.problems.not_found(
                f"{prefix}VatId",
                f"VAT code with id = {line['VatId']} not found ({prefix[:-1]}).",
            )
            return None
        self._vat_usable(vat, prefix)
        if (
            account is not None
            and account.get("IsVatCodeLocked")
            and account.get("VatCodeId") != vat["Id"]
        ):
            locked = get(self.client, "vatcodes", account.get("VatCodeId"))
            self.problems.add(
                f"{prefix}VatId",
                f"Account {account['AccountNo']} is locked to VAT code "
                f"{locked['Code'] if locked else account.get('VatCodeId')}; VAT code "
                f"{vat['Code']} cannot be used on it.",
            )
        return vat

    def _vat_usable(self, vat: dict, prefix: str) -> None:
        """Active, with a rate, valid on the voucher date, and an output (sales) VAT code."""
        problems = self.problems
        if not vat.get("IsActive"):
            problems.add(f"{prefix}VatId", f"VAT code {vat['Code']} is not active.")
        if vat.get("Rate") is None:
            problems.add(f"{prefix}VatId", f"VAT code {vat['Code']} has no rate on the client.")
        valid_from = _day(str(vat["ValidFrom"])[:10] if vat.get("ValidFrom") else None)
        valid_to = _day(str(vat["ValidTo"])[:10] if vat.get("ValidTo") else None)
        voucher_date = self.voucher_date
        if voucher_date and (
            (valid_from and voucher_date < valid_from) or (valid_to and voucher_date > valid_to)
        ):
            problems.add(
                f"{prefix}VatId",
                f"VAT code {vat['Code']} ({vat.get('Name')}) is not valid on "
                f"VoucherDate {voucher_date}.",
            )
        if vat_direction(vat) == "purchase":
            problems.add(
                f"{prefix}VatId",
                f"VAT code {vat['Code']} is an input VAT code and cannot be used on an "
                "outgoing invoice.",
            )

    def _product(self, line: dict, prefix: str) -> dict | None:
        product_id = line.get("ProductId")
        if product_id is None:
            return None
        product = get(self.client, "products", product_id)
        if product is None:
            self.problems.not_found(
                f"{prefix}ProductId",
                f"Product with id = {product_id} not found ({prefix[:-1]}).",
            )
        elif product.get("IsArchived"):
            self.problems.add(f"{prefix}ProductId", f"Product '{product.get('Code')}' is archived.")
        return product

    def _accrual(self, line: dict, prefix: str) -> None:
        accrual = line.get("Accrual")
        if not accrual:
            return
        start = parse_date(accrual.get("FromDate") or "")
        end = parse_date(accrual.get("ToDate") or "")
        if not start or not end or end < start:
            self.problems.add(
                f"{prefix}Accrual",
                "Accrual needs FromDate and ToDate, with ToDate not before FromDate.",
            )
        balance_id = accrual.get("BalanceAccountId")
        if balance_id is not None and get(self.client, "accounts", balance_id) is None:
            self.problems.not_found(
                f"{prefix}Accrual.BalanceAccountId",
                f"General ledger account with id = {balance_id} not found.",
            )


def _check_balance(body: dict, lines: list[dict], problems: Problems) -> None:
    """Lines are gross (VAT included) and sum to the voucher's CurrencyAmount."""
    amounts_given = body.get("CurrencyAmount") is not None and all(
        line.get("CurrencyAmount") is not None for line in lines
    )
    if not (amounts_given and lines):
        return
    total = sum((dec(line["CurrencyAmount"]) for line in lines), Decimal(0))
    if total != dec(body["CurrencyAmount"]):
        problems.add(
            "CurrencyAmount",
            f"The voucher does not balance: the lines sum to {total}, the voucher "
            "CurrencyAmount is "
            f"{dec(body['CurrencyAmount'])}. Line amounts are gross (VAT included).",
        )


# -- booking -------------------------------------------------------------------------------


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _vat_amount(amount: Decimal, rate: Decimal) -> Decimal:
    return _cents(amount * rate / (1 + rate))


def post_voucher(ctx: Ctx) -> Response:
    ctx.no_query()
    body = ctx.json(VOUCHER_TITLE)
    problems = Problems(VOUCHER_TITLE)
    check_object(body, "OutgoingInvoiceVoucherDto", problems)
    problems.raise_if_any()
    refs = check_voucher(ctx, body, problems)
    problems.raise_if_any()

    client = ctx.client
    now = now_iso()
    voucher_id = ctx.state.new_uuid(client, "voucher")
    voucher_no = client["next_voucher_no"]
    client["next_voucher_no"] += 1
    lines = [
        {key: line.get(key) for key in FIELDS["OutgoingInvoiceVoucherLineDto"] if key in line}
        for line in body["OutgoingInvoiceLines"]
    ]
    voucher = {key: body.get(key) for key in writable("OutgoingInvoiceVoucherDto")}
    voucher.update(
        Id=voucher_id,
        VoucherNo=voucher_no,
        CreatedDateTimeOffset=now,
        IsReversed=False,
        CurrencyCode=body.get("CurrencyCode") or "NOK",
        CurrencyExchangeRate=dec(body.get("CurrencyExchangeRate") or 1),
        OutgoingInvoiceLines=lines,
        _created_by=ctx.app_key,
    )
    ctx.data["vouchers"][voucher_id] = voucher
    invoice = _outgoing_invoice(ctx, body, voucher, lines, refs)
    ctx.data["outgoinginvoices"][voucher_id] = invoice
    _match_at_once(ctx, invoice)
    return json_response(
        201,
        voucher_dto(voucher),
        headers={"Location": f"{ctx.instance}/{voucher_id}"},
    )


def _invoice_line(
    ctx: Ctx, body: dict, line: dict, found: LineRefs, index: int, refs: VoucherRefs
) -> dict:
    """The outgoing invoice line of a voucher line: net, VAT and posted (NOK) amounts."""
    account, vat = found.account, found.vat
    assert account is not None and vat is not None  # a line without them was a problem
    rate = dec(body.get("CurrencyExchangeRate") or 1)
    amount = money(line["CurrencyAmount"])
    vat_rate = dec(vat["Rate"])
    vat_amount = _vat_amount(amount, vat_rate)
    net = amount - vat_amount
    quantity = line.get("Quantity")
    product = found.product
    department = found.department
    return {
        "AccountId": account["Id"],
        "AccountNo": account["AccountNo"],
        "DepartmentCode": department and department["Code"],
        "DepartmentId": department and department["Id"],
        "Description": line.get("Description"),
        "Id": ctx.state.new_id(ctx.client),
        "IsAccrued": bool(line.get("Accrual")),
        "LineType": "Normal",
        "NetAmount": net,
        "NetPostedAmount": _cents(net * rate),
        "ProductCode": product and product.get("Code"),
        "ProductId": product and product["Id"],
        "ProductUnitPrice": _cents(net / dec(quantity)) if quantity else net,
        "Quantity": quantity,
        "SellersReferenceEmployeeId": body.get("SalesPersonEmployeeId"),
        "SellersReferenceEmployeeNo": refs.seller and refs.seller["Number"],
        "SortOrder": index,
        "TotalAmount": amount,
        "TotalPostedAmount": _cents(amount * rate),
        "UnitOfMeasureCode": line.get("UnitOfMeasureType"),
        "VatAmount": vat_amount,
        "VatCode": vat["Code"],
        "VatId": vat["Id"],
        "VatRate": vat_rate,
        "VatReturnSpecification": line.get("VatReturnSpecification"),
    }


def _outgoing_invoice(
    ctx: Ctx, body: dict, voucher: dict, lines: list[dict], refs: VoucherRefs
) -> dict:
    """The open item a booked voucher leaves: what GET /OutgoingInvoices answers."""
    invoice_lines = [
        _invoice_line(ctx, body, line, found, index, refs)
        for index, (line, found) in enumerate(zip(lines, refs.lines, strict=True))
    ]
    vat_total = sum((line["VatAmount"] for line in invoice_lines), Decimal(0))
    rate = voucher["CurrencyExchangeRate"]
    now = voucher["CreatedDateTimeOffset"]
    total = money(body["CurrencyAmount"])
    net_total = total - vat_total
    posted = _cents(total * rate)
    customer = refs.customer
    assert customer is not None  # a voucher without one was a problem
    department = refs.department
    seller = refs.seller
    voucher_date = refs.voucher_date
    due = _day(body.get("DueDate"))
    return {
        "Balance": posted,
        "BalanceLastChangedDateTimeOffset": now,
        "Cid": body.get("Cid"),
        "ContractNo": body.get("ContractNo"),
        "CreatedDateTimeOffset": now,
        "CurrencyCode": voucher["CurrencyCode"],
        "CurrencyExchangeRate": rate,
        "CustomMatchingReference": body.get("CustomMatchingReference"),
        "CustomerId": customer["Id"],
        "CustomerNo": customer.get("Number"),
        "CustomerReference": body.get("CustomerReference"),
        "DeliveryAddress1": body.get("DeliveryAddress1"),
        "DeliveryAddress2": body.get("DeliveryAddress2"),
        "DeliveryAddressCity": body.get("DeliveryAddressCity"),
        "DeliveryAddressCountryCode": body.get("DeliveryAddressCountryCode"),
        "DeliveryAddressZipCode": body.get("DeliveryAddressZipCode"),
        "DeliveryDate": body.get("DeliveryDate"),
        "DepartmentCode": department and department["Code"],
        "DepartmentId": department and department["Id"],
        "DueDate": body.get("DueDate"),
        "ExternalImportReference": body.get("ExternalImportReference"),
        "Id": voucher["Id"],
        "ImportedOrderNo": body.get("ImportedOrderNo"),
        "InvoiceNo": int(body["InvoiceNo"]),
        "IsReversed": False,
        "LastChangedDateTimeOffset": now,
        "MatchId": None,
        "NetAmount": net_total,
        "NetPostedAmount": _cents(net_total * rate),
        "PaymentTerm": (due - voucher_date).days if due and voucher_date else None,
        "PurchaseOrderReference": body.get("PurchaseOrderReference"),
        "SellersReferenceEmployeeId": seller and seller["Id"],
        "SellersReferenceEmployeeNo": seller and seller["Number"],
        "TotalAmount": total,
        "TotalPostedAmount": posted,
        "VoucherDate": body["VoucherDate"],
        "VoucherNo": voucher["VoucherNo"],
        "VoucherType": "OutgoingCreditNote" if total < 0 else "OutgoingInvoice",
        "_created_by": ctx.app_key,
        "_lines": invoice_lines,
    }


def _is_open_against(other: dict, entry: dict, reference: str, amount: Decimal) -> bool:
    """Whether ``other`` is an open entry of the same sub-ledger account with the same
    reference and an amount of the opposite sign (not matched out yet)."""
    balance = money(other.get("Balance") or 0)
    return (
        other is not entry
        and not other.get("IsReversed")
        and other.get("CustomMatchingReference") == reference
        and other.get("CustomerId") == entry.get("CustomerId")  # the same sub-ledger account
        and balance != 0  # matched out (paid or credited in full) already
        and (balance > 0) != (amount > 0)
    )


def _match_at_once(ctx: Ctx, entry: dict) -> None:
    """OutgoingInvoiceDto.CustomMatchingReference: "entries posted with a CustomMatchingReference
    will be matched immediately with existing entries in the sub-ledger that have the same
    CustomMatchingReference and opposite amount (unless existing entries are already matched
    out)".

    A credit note carrying its invoice's reference settles as much of the invoice's open balance
    as it covers: a full credit leaves both with Balance 0; a partial one leaves the rest of the
    invoice open, and the credit note's matched part at 0. Both entries share one MatchId. With
    the config's ``credit_matching`` "exact", only an entry of exactly the opposite open amount
    is matched, and a partial credit note stays open beside its invoice.
    """
    reference = entry.get("CustomMatchingReference")
    amount = money(entry["Balance"])
    if not reference or amount == 0:
        return
    exact = ctx.state.config.get("credit_matching") == "exact"
    for other in records(ctx.client, "outgoinginvoices"):
        if not _is_open_against(other, entry, reference, amount):
            continue
        balance = money(other["Balance"])
        if exact and balance != -amount:
            continue  # only entries that cancel out are matched
        settled = min(abs(balance), abs(amount))
        if settled == 0:
            continue
        match_id = other.get("MatchId") or ctx.state.new_id(ctx.client)
        now = now_iso()
        for matched, open_amount in ((other, balance), (entry, amount)):
            sign = 1 if open_amount > 0 else -1
            matched.update(
                Balance=open_amount - sign * settled,
                MatchId=match_id,
                BalanceLastChangedDateTimeOffset=now,
                LastChangedDateTimeOffset=now,
            )
        amount = money(entry["Balance"])
        if amount == 0:
            return


# -- reading and reversing -----------------------------------------------------------------


def _own_voucher(ctx: Ctx, voucher_id: str) -> dict:
    voucher = get(ctx, "vouchers", voucher_id)
    # "A response will only be produced for vouchers the integration have created."
    if voucher is None or voucher.get("_created_by") != ctx.app_key:
        raise not_found("Outgoing invoice voucher", voucher_id)
    return voucher


def get_voucher(ctx: Ctx) -> Response:
    ctx.no_query()
    voucher = _own_voucher(ctx, uuid_param(ctx))
    return json_response(200, voucher_dto(voucher))


def reverse_voucher(client: dict, voucher: dict) -> None:
    """Reverse an outgoing invoice voucher: its InvoiceNo and reference become free again."""
    invoice = client["data"]["outgoinginvoices"].get(voucher["Id"])
    if voucher.get("IsReversed"):
        raise ApiError(
            400,
            REVERSE_TITLE,
            f"Voucher with id = {voucher['Id']} is already reversed.",
        )
    if invoice is not None and money(invoice.get("Balance") or 0) != money(
        invoice.get("TotalPostedAmount") or 0
    ):
        raise ApiError(
            400,
            REVERSE_TITLE,
            f"Voucher with id = {voucher['Id']} has matched (paid) entries and cannot be reversed.",
        )
    now = now_iso()
    voucher["IsReversed"] = True
    reversal_no = client["next_voucher_no"]
    client["next_voucher_no"] += 1  # the reversal voucher takes the next voucher number
    if invoice is not None:
        invoice["IsReversed"] = True
        invoice["_reversal_voucher_no"] = reversal_no
        invoice["Balance"] = Decimal(0)
        invoice["BalanceLastChangedDateTimeOffset"] = now
        invoice["LastChangedDateTimeOffset"] = now


def post_reverse(ctx: Ctx) -> Response:
    ctx.no_query()
    voucher_id = uuid_param(ctx)
    voucher = get(ctx, "vouchers", voucher_id)
    if voucher is None:
        raise not_found("Voucher", voucher_id)
    if voucher.get("_created_by") != ctx.app_key:
        raise ApiError(
            400,
            REVERSE_TITLE,
            "Only vouchers the integration created with the POST voucher endpoints can be "
            "reversed.",
        )
    reverse_voucher(ctx.client, voucher)
    return empty_response(202)
