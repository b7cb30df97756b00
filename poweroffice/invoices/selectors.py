"""Reads for Økonomi > Ikke eksporterte fakturaer and the export progress (SPEC Part A, item 8)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from accounting.models import ExportStatus, Invoice
from poweroffice.client.ratelimit import Lane, QueueStatus, rate_limit_queue
from poweroffice.models import Connection, ExportAttempt, ExportBatch

# How many attempts each row shows when expanded (the newest first).
ATTEMPTS_SHOWN = 10


def _with_row_data(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """What a row of the list shows, joined or prefetched: two queries for any number of rows."""
    return invoices.select_related(
        "customer", "subgroup", "office", "export_hidden_by"
    ).prefetch_related(
        Prefetch(
            "export_attempts_log",
            queryset=ExportAttempt.objects.select_related("user").order_by("-started_at", "-id"),
            to_attr="attempts",
        )
    )


# The "Årsak" filter (poweroffice/invoices/forms.py): the export statuses behind each reason.
REASON_STATUSES: dict[str, tuple[str, ...]] = {
    "feilet": (ExportStatus.FAILED,),
    "holdt": (ExportStatus.HELD,),
    "venter": (ExportStatus.PENDING, ExportStatus.EXPORTING),
    "ikke-forsokt": (ExportStatus.NOT_EXPORTED,),
}


def not_exported_invoices(
    *,
    agency_id: int,
    hidden: bool = False,
    search: str = "",
    subgroup_id: int | None = None,
    office_id: int | None = None,
    reason: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    order_by: tuple[str, ...] = ("invoice_date", "number", "pk"),
) -> QuerySet[Invoice]:
    """Invoices of subgroups using PowerOffice that are not (yet) in PowerOffice, oldest first
    unless ``order_by`` says, filtered like the list's filter (``search``: the invoice number,
    the customer's name or number, the deceased's name)."""
    qs = Invoice.objects.filter(
        agency_id=agency_id,
        subgroup__poweroffice_connection__enabled=True,
        export_hidden=hidden,
    ).exclude(export_status=ExportStatus.EXPORTED)
    search = search.strip()
    if search:
        condition = (
            Q(customer__name__icontains=search)
            | Q(deceased_name__icontains=search)
            | Q(customer__deceased_name__icontains=search)
        )
        digits = search.replace(" ", "")
        if digits.isdigit() and len(digits) <= 10:
            condition |= Q(number=int(digits)) | Q(customer__number=int(digits))
        qs = qs.filter(condition)
    if subgroup_id:
        qs = qs.filter(subgroup_id=subgroup_id)
    if office_id:
        qs = qs.filter(office_id=office_id)
    if reason in REASON_STATUSES:
        qs = qs.filter(export_status__in=REASON_STATUSES[reason])
    if date_from:
        qs = qs.filter(invoice_date__gte=date_from)
    if date_to:
        qs = qs.filter(invoice_date__lte=date_to)
    return _with_row_data(qs).order_by(*order_by)


# How many rows one progress poll may ask about (a page of the list).
ROWS_POLLED_MAX = 200


def not_exported_rows_changed(*, agency_id: int, shown: dict[int, str]) -> list[Invoice]:
    """Of the rows a page shows (id -> the export status it shows), those whose status has
    changed since, exported ones included: what "Eksporter alle" updates while it runs."""
    ids = list(shown)[:ROWS_POLLED_MAX]
    invoices = _with_row_data(Invoice.objects.filter(agency_id=agency_id, pk__in=ids))
    return [
        invoice
        for invoice in invoices.order_by("invoice_date", "number", "pk")
        if invoice.export_status != shown[invoice.pk]
    ]


def not_exported_counts(*, agency_id: int) -> dict[str, int]:
    base = Invoice.objects.filter(
        agency_id=agency_id, subgroup__poweroffice_connection__enabled=True
    ).exclude(export_status=ExportStatus.EXPORTED)
    visible = Q(export_hidden=False)
    counts: dict[str, int] = base.aggregate(
        total=Count("pk", filter=visible),
        failed=Count("pk", filter=visible & Q(export_status=ExportStatus.FAILED)),
        held=Count("pk", filter=visible & Q(export_status=ExportStatus.HELD)),
        waiting=Count(
            "pk",
            filter=visible & Q(export_status__in=[ExportStatus.PENDING, ExportStatus.EXPORTING]),
        ),
        never=Count("pk", filter=visible & Q(export_status=ExportStatus.NOT_EXPORTED)),
        hidden=Count("pk", filter=Q(export_hidden=True)),
    )
    counts["waiting_or_never"] = counts["waiting"] + counts["never"]
    return counts


@dataclass(frozen=True)
class Reason:
    title: str
    detail: str = ""
    tone: str = ""  # "", "red", "amber", "blue", "green"


def export_reason(invoice: Invoice, connection: Connection | None) -> Reason:
    """Why the invoice is on the list, in words a finance person understands."""
    status = invoice.export_status
    if status == ExportStatus.EXPORTED:  # shown while "Eksporter alle" runs, until a reload
        return Reason("Eksportert", "Fakturaen er bokført i PowerOffice.", "green")
    if status == ExportStatus.FAILED:
        return Reason("Eksporten feilet", invoice.export_error, "red")
    if status == ExportStatus.HELD:
        return Reason("Holdt tilbake", invoice.export_error, "amber")
    if status == ExportStatus.PENDING:
        return Reason("Venter på eksport", "Står i kø for eksport til PowerOffice.", "blue")
    if status == ExportStatus.EXPORTING:
        return Reason("Eksporteres nå", "", "blue")
    if connection is not None and not connection.has_client_key:
        return Reason(
            "Ikke forsøkt",
            "Undergruppen har ingen klientnøkkel – legg den inn under Administrasjon > Datadeling.",
        )
    if connection is not None and not connection.auto_export:
        return Reason("Ikke forsøkt", "Automatisk eksport er slått av for undergruppen.")
    return Reason(
        "Ikke forsøkt",
        "Fakturaen er ikke sendt til PowerOffice ennå. Eksporter den her eller med "
        "«Eksporter alle».",
    )


def _exportable(*, agency_id: int) -> QuerySet[Invoice]:
    return Invoice.objects.filter(
        agency_id=agency_id,
        subgroup__poweroffice_connection__enabled=True,
        export_hidden=False,
        export_status__in=[
            ExportStatus.NOT_EXPORTED,
            ExportStatus.PENDING,
            ExportStatus.FAILED,
            ExportStatus.HELD,
        ],
    ).exclude(subgroup__poweroffice_connection__client_key_encrypted="")


def exportable_ids(*, agency_id: int) -> list[int]:
    """What "Eksporter alle" takes: every visible, not exported invoice that is not in flight, of
    subgroups with PowerOffice switched on and a client key."""
    return list(
        _exportable(agency_id=agency_id)
        .order_by("subgroup_id", "number")
        .values_list("pk", flat=True)
    )


def exportable_count(*, agency_id: int) -> int:
    return _exportable(agency_id=agency_id).count()


def active_batch(*, agency_id: int) -> ExportBatch | None:
    return (
        ExportBatch.objects.filter(
            agency_id=agency_id,
            status__in=[ExportBatch.Status.QUEUED, ExportBatch.Status.RUNNING],
        )
        .order_by("-created_at")
        .first()
    )


def export_batch_progress(batch: ExportBatch) -> dict[str, Any]:
    """The small JSON the page polls for its progress bar."""
    done = batch.exported + batch.failed + batch.skipped
    total = batch.total
    finished = batch.status in (ExportBatch.Status.DONE, ExportBatch.Status.FAILED)
    percent = 100 if finished or not total else min(100, round(100 * done / total))
    if batch.status == ExportBatch.Status.QUEUED:
        text = "Eksporten står i kø …"
    elif batch.status == ExportBatch.Status.RUNNING:
        text = f"Eksporterer … {done} av {total} ferdig"
    elif batch.status == ExportBatch.Status.FAILED:
        text = f"Eksporten stoppet: {batch.error}"
    else:
        text = f"Ferdig: {batch.exported} av {total} eksportert"
        if batch.failed:
            text += f", {batch.failed} feilet"
        if batch.skipped:
            text += f", {batch.skipped} hoppet over"
    return {
        "id": batch.pk,
        "status": batch.status,
        "finished": finished,
        "total": total,
        "done": done,
        "exported": batch.exported,
        "failed": batch.failed,
        "skipped": batch.skipped,
        "percent": percent,
        "text": text,
        "queue": None if finished else export_queue(),
    }


def export_queue() -> dict[str, Any]:
    """The queue for PowerOffice ahead of an export of many invoices now: requests waiting in
    the rate limiter ahead of the bulk lane, and roughly how long that takes."""
    status = rate_limit_queue()
    wait = status.wait_estimate(Lane.BULK)
    return {
        "ahead": status.ahead(Lane.BULK),
        "wait_seconds": round(wait, 1),
        "clients": status.bulk_clients,
        "text": _queue_text(status, wait),
    }


def _queue_text(status: QueueStatus, wait: float) -> str:
    if status.blocked_for > 0:
        return f"PowerOffice ba oss vente litt: fortsetter om {_seconds(status.blocked_for)}."
    ahead = status.ahead(Lane.BULK)
    if not ahead:
        return "Kø hos PowerOffice: ingen forespørsler venter foran."
    text = f"Kø hos PowerOffice: {ahead} {'forespørsel' if ahead == 1 else 'forespørsler'} "
    text += f"foran, ca. {_seconds(wait)}"
    if status.bulk_clients > 1:
        text += f"; {status.bulk_clients} klienter deler grensen på {status.limit} forespørsler"
        text += " i sekundet"
    return text + "."


def _seconds(seconds: float) -> str:
    if seconds < 1:
        return "under 1 s"
    if seconds < 90:
        return f"{round(seconds)} s"
    return f"{round(seconds / 60)} min"


def export_batch_shown(*, agency_id: int, batch_id: str | None) -> ExportBatch | None:
    """The batch the page shows: the one asked for (``?eksport=<id>``, this agency's only), else
    the one running now."""
    batch = None
    if batch_id and batch_id.isdigit():
        batch = ExportBatch.objects.filter(agency_id=agency_id, pk=int(batch_id)).first()
    return batch or active_batch(agency_id=agency_id)
