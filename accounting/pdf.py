"""The invoice specification (fakturaspesifikasjon) as an A4 PDF, made with WeasyPrint.

Sent to PowerOffice as voucher documentation when Datadeling's "Send med fakturaspesifikasjon"
is on, and served to finance users beside the invoice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.template.loader import render_to_string

from accounting.models import Invoice
from accounting.money import LineAmounts, VatTotal, totals_per_vat_code
from bitnet.identifiers import bank_account_format

# WeasyPrint and its font stack log at INFO/WARNING for every missing glyph fallback.
logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


@dataclass(frozen=True)
class SpecificationData:
    invoice: Invoice
    lines: list
    vat_totals: list[VatTotal]
    bank_account: str


def invoice_specification_data(*, invoice: Invoice) -> SpecificationData:
    """Everything the specification shows, read in a fixed number of queries."""
    lines = list(invoice.lines.select_related("vat_code", "article").order_by("position"))
    vat_totals = totals_per_vat_code(
        (
            line.vat_code.code,
            line.vat_rate,
            LineAmounts(net=line.net_amount, vat=line.vat_amount, gross=line.gross_amount),
        )
        for line in lines
    )
    return SpecificationData(
        invoice=invoice,
        lines=lines,
        vat_totals=vat_totals,
        bank_account=bank_account_format(invoice.subgroup.bank_account),
    )


def invoice_specification_html(*, invoice: Invoice) -> str:
    data = invoice_specification_data(invoice=invoice)
    return render_to_string(
        "accounting/pdf/specification.html",
        {
            "invoice": invoice,
            "agency": invoice.agency,
            "subgroup": invoice.subgroup,
            "office": invoice.office,
            "customer": invoice.customer,
            "lines": data.lines,
            "vat_totals": data.vat_totals,
            "bank_account": data.bank_account,
            "zero": Decimal("0.00"),
        },
    )


def invoice_specification_pdf(*, invoice: Invoice) -> bytes:
    """The specification of ``invoice`` as PDF bytes (A4).

    ``invoice`` should come with agency, subgroup, office, customer and credited_invoice selected;
    the lines are read here.
    """
    from weasyprint import HTML  # imported late: loading WeasyPrint costs ~0.3 s

    html = invoice_specification_html(invoice=invoice)
    return HTML(string=html).write_pdf()


def specification_filename(invoice: Invoice) -> str:
    prefix = "kreditnota" if invoice.is_credit_note else "fakturaspesifikasjon"
    return f"{prefix}-{invoice.number}.pdf"
