"""Økonomi > Ikke eksporterte fakturaer and the specification PDF (SPEC Part A, item 8).

Views stay thin: selectors read, services write. Every row comes through bitnet.access, so
another agency's id is a 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounting.models import Invoice
from accounting.pdf import invoice_specification_pdf, specification_filename
from bitnet.access import (
    AuthedRequest,
    finance_required,
    for_agency,
    get_for_agency,
    request_agency_id,
)
from bitnet.listing import sorting_from
from bitnet.models import Office, Subgroup
from bitnet.spreadsheet import FORMATS, download_response
from poweroffice.datadeling.selectors import connections_by_subgroup
from poweroffice.invoices.batch import export_batch_create
from poweroffice.invoices.downloads import not_exported_columns
from poweroffice.invoices.export import invoice_export
from poweroffice.invoices.forms import NotExportedFilterForm
from poweroffice.invoices.preview import invoice_export_preview
from poweroffice.invoices.selectors import (
    active_batch,
    export_batch_progress,
    export_batch_shown,
    export_reason,
    exportable_count,
    exportable_ids,
    not_exported_counts,
    not_exported_invoices,
    not_exported_rows_changed,
)
from poweroffice.invoices.services import invoice_export_hide_toggle
from poweroffice.models import AttemptTrigger, Connection, ExportBatch

PAGE_SIZE = 50
# The sortable columns of the list: key in ?sort= -> fields (bitnet/listing.py).
SORT_COLUMNS = {
    "nummer": ("number",),
    "dato": ("invoice_date", "number"),
    "kunde": ("customer__name", "number"),
    "undergruppe": ("subgroup__name", "office__name", "number"),
    "belop": ("gross_total", "number"),
    "status": ("export_status", "invoice_date", "number"),
}
FILTER_FIELDS = ("q", "subgroup", "office", "reason", "date_from", "date_to")


def _filter_data(request: AuthedRequest) -> dict[str, str] | None:
    """The filter's fields from the query string, or None (unbound) when none is there."""
    data = {name: request.GET[name] for name in FILTER_FIELDS if name in request.GET}
    return data or None


def _list_url(query: str = "") -> str:
    return reverse("invoice_export:not_exported") + query


@require_GET
@finance_required
def not_exported(request: AuthedRequest) -> HttpResponseBase:
    agency_id = request_agency_id(request)
    show_hidden = request.GET.get("skjulte") == "1"
    form = NotExportedFilterForm(
        _filter_data(request),
        subgroups=for_agency(Subgroup.objects.order_by("name"), request),
        offices=for_agency(Office.objects.order_by("name"), request),
    )
    if form.is_bound:
        form.is_valid()  # invalid fields simply do not filter; their errors are shown
    sorting = sorting_from(request, SORT_COLUMNS, default="dato")
    queryset = not_exported_invoices(
        agency_id=agency_id, hidden=show_hidden, **form.filters(), order_by=sorting.order_by
    )
    connections = connections_by_subgroup(agency_id=agency_id)
    fmt = request.GET.get("last_ned", "")
    if fmt in FORMATS:
        name = "skjulte-fakturaer" if show_hidden else "ikke-eksporterte-fakturaer"
        return download_response(
            fmt,
            filename=f"{name}-{timezone.localdate():%Y-%m-%d}",
            sheet="Skjulte" if show_hidden else "Ikke eksporterte",
            columns=not_exported_columns(connections),
            rows=queryset.prefetch_related(None).iterator(chunk_size=2000),
        )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _rows(page, connections)
    batch = export_batch_shown(agency_id=agency_id, batch_id=request.GET.get("eksport"))
    return render(
        request,
        "poweroffice/not_exported.html",
        {
            "rows": rows,
            "page_obj": page,
            "form": form,
            "back": request.get_full_path(),
            "filtered": any(value not in (None, "") for value in form.filters().values()),
            "sorting": sorting,
            "show_hidden": show_hidden,
            "counts": not_exported_counts(agency_id=agency_id),
            "batch": batch,
            "batch_progress": export_batch_progress(batch) if batch else None,
            "exportable": exportable_count(agency_id=agency_id) if not show_hidden else 0,
            "any_connection": any(c.enabled for c in connections.values()),
        },
    )


def _rows(invoices: Iterable[Invoice], connections: dict[int, Connection]) -> list[dict[str, Any]]:
    return [
        {
            "invoice": invoice,
            "reason": export_reason(invoice, connections.get(invoice.subgroup_id)),
            # Prefetch(to_attr="attempts") in not_exported_invoices; the stubs cannot see to_attr.
            "attempts": invoice.attempts,  # type: ignore[attr-defined]
        }
        for invoice in invoices
    ]


def _shown_rows(raw: str) -> dict[int, str]:
    """``rader=12:pending,13:failed``: the rows a page shows and the status each shows."""
    shown: dict[int, str] = {}
    for item in raw.split(","):
        pk, _, status = item.partition(":")
        if pk.isdigit():
            shown[int(pk)] = status
    return shown


def _back(request: AuthedRequest) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return _list_url("?skjulte=1" if request.POST.get("skjulte") == "1" else "")


@require_POST
@finance_required
def not_exported_export(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = get_for_agency(Invoice, request, pk=invoice_id)
    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL, user=request.user)
    if result.outcome == "exported":
        messages.success(request, f"Faktura {invoice.number} er eksportert til PowerOffice.")
    elif result.outcome == "skipped":
        messages.info(request, result.message)
    else:
        messages.error(request, f"Faktura {invoice.number} ble ikke eksportert: {result.message}")
    return redirect(_back(request))


@require_POST
@finance_required
def not_exported_hide(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = get_for_agency(Invoice, request, pk=invoice_id)
    hidden = invoice_export_hide_toggle(invoice=invoice, user=request.user)
    if hidden:
        messages.success(
            request,
            f"Faktura {invoice.number} er skjult fra listen. Du finner den under «Vis skjulte».",
        )
    else:
        messages.success(request, f"Faktura {invoice.number} vises i listen igjen.")
    return redirect(_back(request))


@require_POST
@finance_required
def not_exported_export_all(request: AuthedRequest) -> HttpResponse:
    agency_id = request_agency_id(request)
    running = active_batch(agency_id=agency_id)
    if running is not None:
        messages.info(request, "En eksport pågår allerede.")
        return redirect(_list_url(f"?eksport={running.pk}"))
    ids = exportable_ids(agency_id=agency_id)
    if not ids:
        messages.info(request, "Det er ingen fakturaer å eksportere.")
        return redirect(_list_url())
    batch = export_batch_create(agency_id=agency_id, user=request.user, invoice_ids=ids)
    messages.success(
        request,
        f"Eksporten av {batch.total} fakturaer er startet. Du kan følge fremdriften her.",
    )
    return redirect(_list_url(f"?eksport={batch.pk}"))


@require_GET
@finance_required
def export_batch_status(request: AuthedRequest, batch_id: int) -> JsonResponse:
    """The progress of "Eksporter alle", the list's counts, and the rows the page shows
    (``?rader=``) whose status changed, rendered as the page renders them."""
    agency_id = request_agency_id(request)
    batch = get_for_agency(ExportBatch, request, pk=batch_id)
    progress = export_batch_progress(batch)
    progress["counts"] = {
        **not_exported_counts(agency_id=agency_id),
        "exportable": exportable_count(agency_id=agency_id),
    }
    shown = _shown_rows(request.GET.get("rader", ""))
    changed = not_exported_rows_changed(agency_id=agency_id, shown=shown) if shown else []
    connections = connections_by_subgroup(agency_id=agency_id) if changed else {}
    progress["rows"] = [
        {
            "id": row["invoice"].pk,
            "status": row["invoice"].export_status,
            "html": render_to_string(
                "poweroffice/includes/not_exported_row.html",
                {"row": row, "back": _list_url(f"?eksport={batch.pk}")},
                request=request,
            ),
        }
        for row in _rows(changed, connections)
    ]
    return JsonResponse(progress)


# --- Fakturaspesifikasjon ------------------------------------------------------------------------


@require_GET
@finance_required
def invoice_specification(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = get_for_agency(
        Invoice.objects.select_related(
            "agency", "subgroup", "office", "customer", "credited_invoice"
        ),
        request,
        pk=invoice_id,
    )
    pdf = invoice_specification_pdf(invoice=invoice)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{specification_filename(invoice)}"'
    return response


# --- Forhåndsvis eksport -------------------------------------------------------------------------


@require_GET
@finance_required
def invoice_preview(request: AuthedRequest, invoice_id: int) -> HttpResponse:
    invoice = get_for_agency(
        Invoice.objects.select_related(
            "agency", "subgroup", "office", "customer", "created_by", "credited_invoice"
        ),
        request,
        pk=invoice_id,
    )
    preview = invoice_export_preview(invoice=invoice)
    return render(
        request, "poweroffice/invoices/preview.html", {"invoice": invoice, "preview": preview}
    )
