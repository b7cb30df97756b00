"""The specification PDFs of an export run, rendered ahead of the invoices that need them.

WeasyPrint is CPU work and the export mostly waits on PowerOffice (latency and the rate limit),
so the PDFs of the next invoices are made while this invoice's requests are in flight: a few
threads read each invoice and render its HTML, and hand the HTML to renderer processes
(accounting/pdfworkers.py, ``POWEROFFICE_PDF_RENDERERS`` of them), so that several PDFs are made
at once on several cores. A run of one invoice starts its PDF while its voucher is being posted.
Invoices are immutable once created, so a PDF rendered before the claim is the same as one
rendered after it.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future

from django.conf import settings
from django.db import transaction

from accounting.models import Invoice
from accounting.pdf import invoice_specification_html, invoice_specification_pdf, pdf_from_html
from accounting.pdfworkers import RendererGone, pdf_workers
from poweroffice.invoices.threads import DbThreadPool

logger = logging.getLogger(__name__)


def _renderers() -> int:
    return max(1, int(settings.POWEROFFICE_PDF_RENDERERS))


class PdfPipeline:
    """Keeps the PDFs of ``ids[: position + depth]`` on their way (:meth:`advance`); an export
    takes its invoice's PDF with :meth:`take` (made on the spot if it was not ahead)."""

    def __init__(self, invoice_ids: list[int], *, depth: int) -> None:
        self.ids = invoice_ids
        self.depth = depth
        self.futures: dict[int, Future[bytes]] = {}
        self.scheduled = 0
        self.workers = pdf_workers(_renderers())
        self.pool = DbThreadPool(min(_renderers(), len(invoice_ids)), name="export-pdf")

    @classmethod
    def start(cls, invoice_ids: list[int], *, ahead: int = 0) -> PdfPipeline | None:
        """A pipeline that keeps ``ahead`` invoices beyond the current one rendered, or None
        when the PDFs must be made inline."""
        # The threads have their own database connections: they cannot see rows of a
        # transaction that has not committed (as in a test wrapped in one).
        if not invoice_ids or transaction.get_connection().in_atomic_block:
            return None
        pipeline = cls(invoice_ids, depth=ahead + 2 * _renderers())
        pipeline.advance(0)
        return pipeline

    def _render(self, invoice_id: int) -> bytes:
        invoice = Invoice.objects.select_related(
            "agency", "subgroup", "office", "customer", "credited_invoice"
        ).get(pk=invoice_id)
        html = invoice_specification_html(invoice=invoice)
        try:
            return self.workers.render(html)
        except RendererGone:
            logger.warning("PDF renderer process stopped; rendering invoice %s here", invoice_id)
            return pdf_from_html(html)

    def advance(self, position: int) -> None:
        """Make sure the PDFs of ``ids[: position + depth]`` are on their way."""
        while self.scheduled < min(len(self.ids), position + self.depth):
            invoice_id = self.ids[self.scheduled]
            self.futures[invoice_id] = self.pool.submit(self._render, invoice_id)
            self.scheduled += 1

    def take(self, invoice: Invoice) -> bytes:
        future = self.futures.pop(invoice.pk, None)
        if future is not None:
            try:
                return future.result()
            except Exception:  # rendered again below, where a failure is recorded as usual
                logger.warning("Background PDF of invoice %s failed", invoice.pk, exc_info=True)
        return invoice_specification_pdf(invoice=invoice)

    def close(self) -> None:
        self.pool.shutdown()
        self.futures.clear()
