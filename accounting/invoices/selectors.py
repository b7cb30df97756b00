"""Reads for Økonomi > Fakturaer: the invoice list, an invoice with its lines and VAT, and the
choices of the new-invoice form.

Every selector takes a queryset the caller has already scoped to the user's agency
(bitnet.access.for_agency), so a selector can never widen what a user may see.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounting.models import (
    Article,
    Customer,
    ExportStatus,
    Invoice,
    InvoiceLine,
    PaymentStatus,
)
from accounting.money import LineAmounts, VatTotal, totals_per_vat_code
from bitnet.models import Office

ZERO = Decimal("0.00")


def invoice_list(
    *,
    invoices: QuerySet[Invoice],
    search: str = "",
    subgroup_id: int | None = None,
    office_id: int | None = None,
    kind: str = "",
    export_status: str = "",
    payment_status: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    order_by: tuple[str, ...] = ("-invoice_date", "-number", "-id"),
) -> QuerySet[Invoice]:
    """Invoices and credit notes matching the filters, newest first unless ``order_by`` says.

    ``search`` matches the invoice number, the KID (both exact or as a prefix), the customer's
    name or number and the deceased's name. ``payment_status`` "" means "Ukjent" (not checked
    yet); None means no filter. The related rows a list shows are joined in, so the number of
    queries does not grow with the page size.
    """
    qs = invoices.select_related("customer", "office", "subgroup")
    search = search.strip()
    if search:
        condition = (
            Q(customer__name__icontains=search)
            | Q(deceased_name__icontains=search)
            | Q(customer__deceased_name__icontains=search)
        )
        digits = search.replace(" ", "")
        if digits.isdigit():
            condition |= Q(kid__startswith=digits)
            if len(digits) <= 10:
                condition |= Q(number=int(digits)) | Q(customer__number=int(digits))
        qs = qs.filter(condition)
    if subgroup_id:
        qs = qs.filter(subgroup_id=subgroup_id)
    if office_id:
        qs = qs.filter(office_id=office_id)
    if kind:
        qs = qs.filter(kind=kind)
    if export_status:
        qs = qs.filter(export_status=export_status)
    if payment_status is not None:
        qs = qs.filter(payment_status=payment_status)
    if date_from:
        qs = qs.filter(invoice_date__gte=date_from)
    if date_to:
        qs = qs.filter(invoice_date__lte=date_to)
    return qs.order_by(*order_by)


def invoice_list_totals(*, invoices: QuerySet[Invoice]) -> dict[str, Any]:
    """Count and sums of a (filtered) invoice list, in one query."""
    return invoices.order_by().aggregate(
        count=Count("id"),
        net=Coalesce(Sum("net_total"), ZERO),
        vat=Coalesce(Sum("vat_total"), ZERO),
        gross=Coalesce(Sum("gross_total"), ZERO),
        balance=Coalesce(Sum("balance"), ZERO),
    )


@dataclass(frozen=True)
class InvoiceDetail:
    invoice: Invoice
    lines: list[InvoiceLine]
    vat_totals: list[VatTotal]
    credit_notes: list[Invoice]
    attempts: list[Any]  # poweroffice.ExportAttempt rows
    # The exported, not reversed credit notes that settle part or all of the invoice in
    # PowerOffice, and how much they credit (a positive amount).
    settling_credit_notes: list[Invoice]
    credited_amount: Decimal

    @property
    def shows_credited(self) -> bool:
        """Whether the Betaling card tells the credited part: paid with a credit, or credited in
        whole or in part."""
        return bool(self.credited_amount) and self.invoice.payment_status in CREDIT_SHOWN


# Payment statuses under which the invoice page shows how much its credit notes settled.
CREDIT_SHOWN = (PaymentStatus.PAID, PaymentStatus.CREDITED, PaymentStatus.PARTLY_CREDITED)


def invoice_detail_data(*, invoice: Invoice) -> InvoiceDetail:
    """Lines, totals per VAT code, credit notes and export attempts of one invoice."""
    lines = list(invoice.lines.select_related("article", "vat_code").order_by("position"))
    vat_totals = totals_per_vat_code(
        (
            line.vat_code.code,
            line.vat_rate,
            LineAmounts(net=line.net_amount, vat=line.vat_amount, gross=line.gross_amount),
        )
        for line in lines
    )
    credit_notes = list(invoice.credit_notes.order_by("number"))
    settling = [
        cn
        for cn in credit_notes
        if cn.export_status == ExportStatus.EXPORTED and cn.payment_status != PaymentStatus.REVERSED
    ]
    # The integration's audit trail (poweroffice.ExportAttempt), reached by its reverse name
    # so the domain does not import the integration.
    attempts: list[Any] = list(invoice.export_attempts_log.select_related("user"))
    for attempt in attempts:
        ms = attempt.duration_ms
        attempt.duration_seconds = None if ms is None else Decimal(ms) / 1000
    return InvoiceDetail(
        invoice=invoice,
        lines=lines,
        vat_totals=vat_totals,
        credit_notes=credit_notes,
        attempts=attempts,
        settling_credit_notes=settling,
        credited_amount=abs(sum((cn.gross_total for cn in settling), ZERO)),
    )


def invoice_form_choices(
    *, offices: QuerySet[Office], customers: QuerySet[Customer], articles: QuerySet[Article]
) -> dict[str, dict[str, Any]]:
    """What the new-invoice form's script needs: offices' subgroups and payment terms,
    customers per subgroup and the articles' defaults (price, unit, VAT)."""
    return {
        "offices": {
            str(o.pk): {"subgroup": o.subgroup_id, "terms": o.subgroup.payment_terms_days}
            for o in offices.select_related("subgroup")
        },
        "customers": {
            str(c["pk"]): c["subgroup_id"] for c in customers.values("pk", "subgroup_id")
        },
        "articles": {
            str(a.pk): {
                "name": a.name,
                "price": f"{a.price:.2f}",
                "unit": a.unit,
                "vat_code": a.vat_code.code,
                "vat_rate": f"{a.vat_code.rate:.2f}",
            }
            for a in articles.select_related("vat_code")
        },
    }
