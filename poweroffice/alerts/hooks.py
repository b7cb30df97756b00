"""The one-line calls the services make where something a person must fix happens."""

from __future__ import annotations

from django.urls import reverse

from accounting.models import Invoice
from payroll.models import PayrollExport
from poweroffice.alerts.services import CONNECTION_KINDS, alert_record
from poweroffice.models import AlertKind, PaymentSyncRun, Reconciliation


def export_failure_alert(invoice: Invoice, *, kind: str, message: str) -> None:
    """An export failed for a reason retrying cannot fix."""
    if kind in CONNECTION_KINDS:
        alert_record(
            subgroup=invoice.subgroup,
            kind=AlertKind.CONNECTION,
            message=message,
            path=reverse("datadeling:index"),
        )
        return
    alert_record(
        subgroup=invoice.subgroup,
        kind=AlertKind.EXPORT,
        message=f"{invoice.get_kind_display()} {invoice.number}: {message}",
        path=reverse("invoice_export:not_exported"),
    )


def payment_check_alert(run: PaymentSyncRun) -> None:
    alert_record(
        subgroup=run.subgroup,
        kind=AlertKind.PAYMENT_CHECK,
        message=run.error,
        path=reverse("poweroffice_payments:overview"),
    )


def payroll_rollback_alert(export: PayrollExport) -> None:
    alert_record(
        subgroup=export.subgroup,
        kind=AlertKind.PAYROLL_ROLLBACK,
        message=f"{export}: noen lønnslinjer kunne ikke slettes i PowerOffice Go. "
        "Slett dem i PowerOffice og fullfør tilbakerullingen.",
        path=reverse("payroll_export:detail", args=[export.pk]),
    )


def reconciliation_alert(run: Reconciliation) -> None:
    count = len(run.differences)
    alert_record(
        subgroup=run.subgroup,
        kind=AlertKind.RECONCILIATION,
        message=f"Avstemmingen for {run.period_from:%d.%m.%Y}–{run.period_to:%d.%m.%Y} fant "
        f"{count} avvik.",
        path=reverse("reconciliation:detail", args=[run.pk]),
    )
