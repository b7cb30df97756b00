"""The outgoing invoice voucher for one invoice: its references, the checks made before anything
is written in PowerOffice, and the body that is sent (SPEC Part A, items 3-6 and 10)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounting.models import ExportStatus, Invoice, InvoiceLine
from poweroffice.invoices.reference import ExportCache, ExportProblem

# --- references ---------------------------------------------------------------------------------


def voucher_reference(invoice: Invoice) -> str:
    """The voucher's ExternalImportReference: the same for every attempt of one invoice."""
    return f"bitnet-inv-{invoice.subgroup_id}-{invoice.number}"


def matching_reference(invoice: Invoice) -> str:
    """CustomMatchingReference: a credit note carries its invoice's, so PowerOffice matches the two
    in the customer's sub-ledger at once (entries with the same reference and opposite amounts)."""
    original = _credited(invoice) or invoice
    return f"bitnet-inv-{original.subgroup_id}-{original.number}"


def _credited(invoice: Invoice) -> Invoice | None:
    """The invoice a credit note credits; None for an invoice."""
    return invoice.credited_invoice if invoice.is_credit_note else None


# --- checks before sending -----------------------------------------------------------------------


@dataclass
class PreparedLine:
    line: InvoiceLine
    account_id: int
    vat_id: int


@dataclass
class PreparedVoucher:
    """What the checks found: PowerOffice's ids for every line, the department and the seller."""

    lines: list[PreparedLine]
    department_id: int | None
    seller_id: int | None


def voucher_prepare(
    *, invoice: Invoice, lines: list[InvoiceLine], cache: ExportCache
) -> PreparedVoucher:
    """Check everything that can be checked before anything is written in PowerOffice."""
    credited = _credited(invoice)
    if credited is not None and credited.export_status != ExportStatus.EXPORTED:
        # Book the credit note after its invoice, so PowerOffice can match the two at once.
        raise ExportProblem(
            f"Kreditnotaen krediterer faktura {credited.number}, som ikke er "
            "eksportert ennå. Eksporter fakturaen først; kreditnotaen prøves igjen automatisk.",
            kind="original_not_exported",
            retryable=True,
        )
    prepared = [_prepare_line(invoice, line, cache) for line in lines]
    return PreparedVoucher(
        lines=prepared,
        department_id=_department_id(invoice, prepared, cache),
        seller_id=_seller_id(invoice, cache),
    )


def _prepare_line(invoice: Invoice, line: InvoiceLine, cache: ExportCache) -> PreparedLine:
    account = cache.account(line.account.number)
    vat_id = cache.vat_id(code=line.vat_code.code, rate=line.vat_rate, on=invoice.invoice_date)
    locked_to = account.get("VatCodeId")
    if account.get("IsVatCodeLocked") and locked_to is not None and locked_to != vat_id:
        raise ExportProblem(
            f"Konto {line.account.number} er låst til MVA-kode "
            f"{cache.vat_code_of_id(locked_to)} i PowerOffice, men linjen «{line.description}» "
            f"har MVA-kode {line.vat_code.code}. Rett kontoen eller MVA-koden på varen.",
            kind="account_vat_locked",
            refresh=("accounts", "vat_codes"),
        )
    return PreparedLine(line=line, account_id=int(account["Id"]), vat_id=vat_id)


def _department_id(
    invoice: Invoice, prepared: list[PreparedLine], cache: ExportCache
) -> int | None:
    """The office's department when the subgroup sends departments; an account that requires
    one makes a missing department an error."""
    department_id = None
    code = invoice.office.external_department_code
    if cache.connection.include_department and code:
        department_id = cache.department_id(code)
    if department_id is None:
        for item in prepared:
            if cache.account(item.line.account.number).get("IsDepartmentRequired"):
                raise ExportProblem(
                    f"Konto {item.line.account.number} krever avdeling i PowerOffice, men byrå "
                    f"{invoice.office.name} har ingen ekstern avdeling. Velg den under "
                    "Administrasjon > Byrå og slå på «Send med avdeling for fakturaer».",
                    kind="department_required",
                    refresh=("accounts",),
                )
    return department_id


def _seller_id(invoice: Invoice, cache: ExportCache) -> int | None:
    """The employee who created the invoice, when the subgroup sends Ansattnr."""
    number = invoice.created_by.employee_number
    if not (cache.connection.include_employee_number and number):
        return None
    employee = cache.employee(number)
    if employee is None:
        raise ExportProblem(
            f"Ansattnr {number} ({invoice.created_by}) finnes ikke i PowerOffice. Rett "
            "«Ansettelsesnr. (PowerOffice)» for brukeren under Administrasjon > Brukere.",
            kind="employee_missing",
            refresh=("employees",),
        )
    return int(employee["Id"])


# --- the body ------------------------------------------------------------------------------------


def voucher_body(
    *,
    invoice: Invoice,
    prepared: list[PreparedLine],
    customer_account_id: int,
    product_ids: dict[int, int],
    department_id: int | None,
    seller_id: int | None,
) -> dict[str, Any]:
    """OutgoingInvoiceVoucherDto's writable fields for one invoice or credit note.

    Net or gross: the header's CurrencyAmount is "the total amount of the outgoing voucher", the
    customer's receivable, i.e. the amount to pay including VAT. Each line's CurrencyAmount is "the
    amount on the line" together with its VatId, and PowerOffice (like its own voucher entry)
    derives the VAT from a VAT-inclusive line amount. So lines carry their gross amount (net + VAT,
    each rounded once by us), and the lines add up exactly to the header, our gross total: the
    voucher balances without PowerOffice rounding anything of ours. The line amount is always
    Bitnet's price x quantity, whatever the product's price in PowerOffice (SPEC Part A, item 10).

    A credit note is a voucher with negative amounts and quantities; it refers to the credited
    invoice through its description and CustomMatchingReference.
    """
    credited = _credited(invoice)
    if credited is not None:
        description = (
            f"Kreditnota {invoice.number} for faktura {credited.number} – {invoice.customer.name}"
        )
    else:
        description = f"Faktura {invoice.number} – {invoice.customer.name}"
    lines = []
    for item in prepared:
        line = item.line
        body_line: dict[str, Any] = {
            "AccountId": item.account_id,
            "VatId": item.vat_id,
            "ProductId": product_ids[line.article_id],
            "Quantity": line.quantity,
            "CurrencyAmount": line.gross_amount,
            "Description": line.description[:250],
        }
        if department_id:
            body_line["DepartmentId"] = department_id
        lines.append(body_line)
    body: dict[str, Any] = {
        "InvoiceNo": str(invoice.number),
        "ExternalImportReference": voucher_reference(invoice),
        "VoucherDate": invoice.invoice_date,
        "DueDate": invoice.due_date,
        "Cid": invoice.kid or None,
        "CurrencyCode": "NOK",
        "CurrencyAmount": invoice.gross_total,
        "CustomerAccountId": customer_account_id,
        "CustomerReference": invoice.their_reference or None,
        "Description": description[:250],
        "CustomMatchingReference": matching_reference(invoice),
        "DepartmentId": department_id,
        "SalesPersonEmployeeId": seller_id,
        "OutgoingInvoiceLines": lines,
    }
    return {k: v for k, v in body.items() if v is not None}
