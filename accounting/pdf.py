"""The invoice specification (fakturaspesifikasjon) as an A4 PDF, made with WeasyPrint.

Sent to PowerOffice as voucher documentation when Datadeling's "Send med fakturaspesifikasjon"
is on, and served to finance users beside the invoice.

The HTML holds customer data, so WeasyPrint fetches nothing on its behalf but data: URLs and our
own static files: no request to the network or the machine's services, no other local file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
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


def _static_roots() -> list[Path]:
    roots = [Path(d) for d in settings.STATICFILES_DIRS]
    if settings.STATIC_ROOT:
        roots.append(Path(settings.STATIC_ROOT))
    return [root.resolve() for root in roots]


def url_allowed(url: str) -> bool:
    """Whether WeasyPrint may fetch ``url``: a data: URL, or a file in our static folders."""
    parts = urlsplit(url)
    if parts.scheme == "data":
        return True
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return False
    path = Path(unquote(parts.path)).resolve()
    return any(path.is_relative_to(root) for root in _static_roots())


@cache
def _url_fetcher_class() -> type:
    from weasyprint.urls import URLFetcher  # imported late: loading WeasyPrint costs ~0.3 s

    class OwnFilesOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url_allowed(url):
                raise ValueError("the specification loads only data: URLs and our static files")
            return super().fetch(url, headers)

    return OwnFilesOnly


def specification_url_fetcher() -> Any:
    """WeasyPrint's URL fetcher, restricted to ``url_allowed`` (no redirects either)."""
    return _url_fetcher_class()(allowed_protocols=("data", "file"), allow_redirects=False)


def invoice_specification_pdf(*, invoice: Invoice) -> bytes:
    """The specification of ``invoice`` as PDF bytes (A4).

    ``invoice`` should come with agency, subgroup, office, customer and credited_invoice selected;
    the lines are read here.
    """
    return pdf_from_html(invoice_specification_html(invoice=invoice))


def pdf_from_html(html: str) -> bytes:
    """PDF bytes of our own HTML, fetching only data: URLs and our static files (WeasyPrint in
    this process; poweroffice/invoices/pdfs.py renders in child processes through it)."""
    from weasyprint import HTML  # imported late: loading WeasyPrint costs ~0.3 s

    return HTML(string=html, url_fetcher=specification_url_fetcher()).write_pdf() or b""


def specification_filename(invoice: Invoice) -> str:
    prefix = "kreditnota" if invoice.is_credit_note else "fakturaspesifikasjon"
    return f"{prefix}-{invoice.number}.pdf"
