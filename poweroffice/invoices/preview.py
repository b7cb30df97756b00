"""«Forhåndsvis eksport»: what PowerOffice would receive for one invoice, and what would stop it,
without sending anything.

The body is built by the export's own voucher builder (voucher.py), so the preview is the voucher
the export posts. Nothing is written in PowerOffice: a customer or product PowerOffice lacks is
shown as one the export creates, and the connection's identity is compared without holding
anything. Reference data comes from what earlier runs kept; PowerOffice is read (GET) only for
what is not kept.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from accounting.models import ExportStatus, Invoice, InvoiceLine
from poweroffice.chart.selectors import prerequisites_hold_reason
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.errors import PowerOfficeError
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected, connection_client
from poweroffice.datadeling.identity import client_identity_mismatch
from poweroffice.datadeling.selectors import connection_get
from poweroffice.invoices.customers import customer_number_series
from poweroffice.invoices.products import product_code
from poweroffice.invoices.reference import ExportCache, ExportProblem
from poweroffice.invoices.voucher import PreparedVoucher, voucher_body, voucher_prepare
from poweroffice.messages import Context, error_answer
from poweroffice.models import Connection

logger = logging.getLogger(__name__)

# The id a customer or product PowerOffice does not have yet stands in with in the body: the
# export creates it first and sends its real id.
NEW = 0


@dataclass
class PreviewLine:
    line: InvoiceLine
    product_code: str
    product_new: bool
    body: dict[str, Any] | None = None

    @property
    def amount(self) -> Decimal:
        return Decimal(str(self.body["CurrencyAmount"])) if self.body else self.line.gross_amount


@dataclass
class ExportPreview:
    invoice: Invoice
    # Why the export would not go through now, in the words the export would use.
    blockers: list[str] = field(default_factory=list)
    # Said about the invoice without stopping a manual export (exported already, held back).
    notes: list[str] = field(default_factory=list)
    lines: list[PreviewLine] = field(default_factory=list)
    body: dict[str, Any] | None = None
    customer_new: bool = False
    department_code: str = ""
    seller: str = ""
    attach_pdf: bool = False
    requests: int = 0

    @property
    def ready(self) -> bool:
        return not self.blockers and self.body is not None

    @property
    def total(self) -> Decimal:
        return self.invoice.gross_total

    @property
    def due_date(self) -> dt.date:
        return self.invoice.due_date


def _client_for(connection: Connection | None, invoice: Invoice) -> PowerOfficeClient:
    """The connection's client, or the export's ExportProblem for a connection that has none."""
    if connection is None or not connection.enabled:
        raise ExportProblem(
            f"«PowerOffice som regnskapssystem» er ikke slått på for {invoice.subgroup.name} – "
            "se Administrasjon > Datadeling.",
            kind="not_enabled",
        )
    try:
        return connection_client(connection)
    except NotConnected as exc:
        raise ExportProblem(str(exc), kind="no_key") from None
    except SecretUnreadable as exc:
        raise ExportProblem(str(exc), kind="auth") from None


def _prepare(invoice: Invoice, lines: list[InvoiceLine], cache: ExportCache) -> PreparedVoucher:
    """The export's checks; a problem found in kept data reads that data again once, as the
    export does, before it is reported."""
    for last_try in (False, True):
        try:
            return voucher_prepare(invoice=invoice, lines=lines, cache=cache)
        except ExportProblem as exc:
            if last_try or not cache.refresh(exc.refresh):
                raise
            cache.prefetch_invoices([invoice.pk])
    raise AssertionError("unreachable")


def _problems(invoice: Invoice, lines: list[InvoiceLine], cache: ExportCache) -> list[str]:
    """Every problem the checks find, line by line (the export stops at the first)."""
    found: list[str] = []
    for line in lines:
        try:
            voucher_prepare(invoice=invoice, lines=[line], cache=cache)
        except ExportProblem as exc:
            if exc.message not in found:
                found.append(exc.message)
    return found


def _customer_account_id(preview: ExportPreview, cache: ExportCache) -> int:
    customer = preview.invoice.customer
    found = cache.customer(customer.number)
    if found is not None:
        return int(found["SubledgerAccountId"])
    customer_number_series(cache, customer.number)  # the export's check before it creates one
    preview.customer_new = True
    return NEW


def _build(preview: ExportPreview, lines: list[InvoiceLine], cache: ExportCache) -> None:
    invoice = preview.invoice
    cache.prefetch_invoices([invoice.pk])
    try:
        prepared = _prepare(invoice, lines, cache)
    except ExportProblem as exc:
        preview.blockers.extend(_problems(invoice, lines, cache) or [exc.message])
        return
    customer_account_id = _customer_account_id(preview, cache)
    product_ids: dict[int, int] = {}
    for item in preview.lines:
        product = cache.product(item.product_code)
        item.product_new = product is None
        product_ids[item.line.article_id] = NEW if product is None else int(product["Id"])
    body = voucher_body(
        invoice=invoice,
        prepared=prepared.lines,
        customer_account_id=customer_account_id,
        product_ids=product_ids,
        department_id=prepared.department_id,
        seller_id=prepared.seller_id,
    )
    for item, body_line in zip(preview.lines, body["OutgoingInvoiceLines"], strict=True):
        item.body = body_line
    preview.body = body
    if prepared.department_id:
        preview.department_code = invoice.office.external_department_code
    if prepared.seller_id:
        preview.seller = f"{invoice.created_by} (ansattnr. {invoice.created_by.employee_number})"


def _status_notes(preview: ExportPreview) -> None:
    invoice = preview.invoice
    if invoice.export_status == ExportStatus.EXPORTED:
        preview.notes.append(
            f"{invoice.get_kind_display()} {invoice.number} er allerede eksportert til "
            "PowerOffice. Forhåndsvisningen viser hvordan bilaget ville sett ut i dag, ikke det "
            "som ble sendt."
        )
    elif invoice.export_status == ExportStatus.EXPORTING:
        preview.notes.append(f"{invoice.get_kind_display()} {invoice.number} eksporteres nå.")
    elif invoice.export_status == ExportStatus.HELD:
        preview.blockers.append(f"Holdt tilbake: {invoice.export_error}")


def invoice_export_preview(*, invoice: Invoice) -> ExportPreview:
    """What exporting ``invoice`` now would send to PowerOffice, and what would stop it. Sends
    nothing and writes nothing; reads PowerOffice only for reference data not kept already."""
    preview = ExportPreview(invoice=invoice)
    _status_notes(preview)
    lines = list(
        invoice.lines.select_related("article__account", "account", "vat_code").order_by("position")
    )
    preview.lines = [
        PreviewLine(line=line, product_code=product_code(line.article_id), product_new=False)
        for line in lines
    ]
    if not lines:
        preview.blockers.append(f"Faktura {invoice.number} har ingen linjer.")
        return preview
    connection = connection_get(subgroup_id=invoice.subgroup_id)
    if connection is not None:
        preview.attach_pdf = connection.include_specification
        held = prerequisites_hold_reason(connection)
        if held:
            preview.notes.append(held)
    client = None
    try:
        client = _client_for(connection, invoice)
        assert connection is not None  # _client_for raised otherwise
        mismatch = client_identity_mismatch(connection=connection, client=client)
        if mismatch:
            preview.blockers.append(mismatch)
            return preview
        _build(preview, lines, ExportCache(connection=connection, client=client))
    except (ExportProblem, PowerOfficeError) as exc:
        message, _, _ = error_answer(exc, context=Context.EXPORT)
        preview.blockers.append(message)
    finally:
        if client is not None:
            preview.requests = client.stats.requests
            client.close()
    return preview
