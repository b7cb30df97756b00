"""Reads of the reconciliation: Bitnet's invoices and line sums of a period (a fixed number of
queries whatever the month holds), the saved results of a subgroup, and the subgroups to run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import F, QuerySet, Sum

from accounting.models import ExportStatus, Invoice, InvoiceKind, InvoiceLine, PaymentStatus
from bitnet.models import Agency, Subgroup
from poweroffice.models import Reconciliation
from poweroffice.reconciliation.compare import ZERO, BitnetInvoice


def reconciliation_subgroups(*, agency: Agency) -> QuerySet[Subgroup]:
    return Subgroup.objects.filter(agency=agency).order_by("name")


def reconciliation_connected_subgroups() -> QuerySet[Subgroup]:
    """Subgroups whose Datadeling is on and hold a client key (the monthly run)."""
    return Subgroup.objects.filter(
        poweroffice_connection__enabled=True,
        poweroffice_connection__client_key_encrypted__gt="",
    ).order_by("agency_id", "id")


def reconciliation_invoice_count(
    *, subgroup_id: int, period_from: dt.date, period_to: dt.date
) -> int:
    return Invoice.objects.filter(
        subgroup_id=subgroup_id, invoice_date__range=(period_from, period_to)
    ).count()


def _invoice_rows(queryset: QuerySet[Invoice]) -> list[BitnetInvoice]:
    rows = list(
        queryset.values(
            "id",
            "number",
            "kind",
            "invoice_date",
            "kid",
            "gross_total",
            "export_status",
            "balance",
            customer_no=F("customer__number"),
            credited_no=F("credited_invoice__number"),
        )
    )
    ids = [row["id"] for row in rows if row["kind"] == InvoiceKind.INVOICE]
    credited: dict[int, Decimal] = dict(
        Invoice.objects.filter(credited_invoice_id__in=ids)
        .values("credited_invoice_id")
        .annotate(total=Sum("gross_total"))
        .values_list("credited_invoice_id", "total")
    )
    return [
        BitnetInvoice(
            number=row["number"],
            is_credit_note=row["kind"] == InvoiceKind.CREDIT_NOTE,
            customer_no=row["customer_no"],
            invoice_date=row["invoice_date"],
            kid=row["kid"],
            gross=row["gross_total"],
            export_status=row["export_status"],
            balance=row["balance"],
            credited_total=credited.get(row["id"], ZERO),
            credited_invoice_no=row["credited_no"],
        )
        for row in rows
    ]


def reconciliation_invoices(
    *, subgroup_id: int, period_from: dt.date, period_to: dt.date
) -> list[BitnetInvoice]:
    """Every invoice and credit note of the subgroup dated in the period (two queries)."""
    return _invoice_rows(
        Invoice.objects.filter(
            subgroup_id=subgroup_id, invoice_date__range=(period_from, period_to)
        ).order_by("number")
    )


def reconciliation_later_credit_notes(
    *, subgroup_id: int, period_from: dt.date, period_to: dt.date
) -> list[BitnetInvoice]:
    """Exported credit notes dated outside the period that credit an invoice of the period: what
    is open on such an invoice is its balance and theirs together (two queries)."""
    return _invoice_rows(
        Invoice.objects.filter(
            subgroup_id=subgroup_id,
            kind=InvoiceKind.CREDIT_NOTE,
            credited_invoice__invoice_date__range=(period_from, period_to),
            export_status=ExportStatus.EXPORTED,  # one not booked yet is that period's matter
        )
        .exclude(invoice_date__range=(period_from, period_to))
        .exclude(payment_status=PaymentStatus.REVERSED)
        .order_by("number")
    )


def reconciliation_numbers_held(*, subgroup_id: int, numbers: Iterable[int]) -> set[int]:
    """Which of ``numbers`` the subgroup holds at all (whatever their date): one query."""
    wanted = sorted(set(numbers))
    if not wanted:
        return set()
    return set(
        Invoice.objects.filter(subgroup_id=subgroup_id, number__in=wanted).values_list(
            "number", flat=True
        )
    )


def reconciliation_line_sums(
    *, subgroup_id: int, period_from: dt.date, period_to: dt.date
) -> list[tuple[int, int, str, Decimal, Decimal]]:
    """(invoice number, sales account, VAT code, net, VAT) summed over the lines of the period's
    invoices: one aggregate query."""
    rows = (
        InvoiceLine.objects.filter(
            invoice__subgroup_id=subgroup_id,
            invoice__invoice_date__range=(period_from, period_to),
        )
        .values("invoice__number", "account__number", "vat_code__code")
        .annotate(net=Sum("net_amount"), vat=Sum("vat_amount"))
        .order_by("invoice__number", "account__number", "vat_code__code")
    )
    return [
        (
            row["invoice__number"],
            row["account__number"],
            row["vat_code__code"],
            row["net"],
            row["vat"],
        )
        for row in rows
    ]


def reconciliation_history(*, subgroup: Subgroup, limit: int = 24) -> list[Reconciliation]:
    return list(
        Reconciliation.objects.filter(subgroup=subgroup)
        .select_related("run_by", "subgroup")
        .order_by("-started_at", "-id")[:limit]
    )


def reconciliation_latest(*, agency: Agency, limit: int = 24) -> list[Reconciliation]:
    """The agency's latest results, newest first, across its subgroups."""
    return list(
        Reconciliation.objects.filter(subgroup__agency=agency)
        .select_related("run_by", "subgroup")
        .order_by("-started_at", "-id")[:limit]
    )
