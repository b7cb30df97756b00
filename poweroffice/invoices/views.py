"""Administrasjon > Datadeling, Økonomi > Ikke eksporterte fakturaer and the specification PDF.

Views stay thin: forms validate, selectors read, services write. Every row comes through
bitnet.access, so another agency's id is a 404.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounting.models import Invoice
from accounting.pdf import invoice_specification_pdf, specification_filename
from bitnet.access import admin_required, finance_required, for_agency, get_for_agency
from bitnet.models import Subgroup
from poweroffice.client.errors import PowerOfficeError
from poweroffice.datadeling.forms import DatadelingForm
from poweroffice.models import AttemptTrigger, Connection, Department, ExportBatch
from poweroffice.invoices.selectors import (
    active_batch,
    connections_by_subgroup,
    export_batch_progress,
    export_reason,
    exportable_ids,
    not_exported_counts,
    not_exported_invoices,
)
from poweroffice.datadeling.connection import NotConnected, connection_for_subgroup
from poweroffice.datadeling.services import connection_settings_update
from poweroffice.datadeling.departments import departments_sync
from poweroffice.invoices.export import (
    describe_export_error,
    export_batch_create,
    invoice_export,
    invoice_export_hide_toggle,
)

logger = logging.getLogger(__name__)

CHECKLIST_TEMPLATE = "poweroffice/validation/checklist.html"
LIST_PATH = "/okonomi/ikke-eksporterte/"
PAGE_SIZE = 50


# --- Administrasjon > Datadeling -----------------------------------------------------------------


def _checklist_template() -> str | None:
    """The validation's checklist, included only when it (and its URL) exists."""
    try:
        get_template(CHECKLIST_TEMPLATE)
        reverse("poweroffice_validation:prerequisites", args=[0])
    except (TemplateDoesNotExist, NoReverseMatch):
        return None
    return CHECKLIST_TEMPLATE


def _datadeling_rows(request: HttpRequest, bound: dict | None = None) -> list[dict]:
    subgroups = list(for_agency(Subgroup.objects.order_by("name"), request))
    connections = connections_by_subgroup(agency_id=request.user.agency_id)
    departments: dict[int, list[Department]] = {}
    for department in Department.objects.filter(subgroup__in=subgroups).order_by("code"):
        departments.setdefault(department.subgroup_id, []).append(department)
    offices: dict[int, list] = {}
    for subgroup in subgroups:
        offices[subgroup.pk] = list(subgroup.offices.order_by("name"))
    rows = []
    for subgroup in subgroups:
        connection = connections.get(subgroup.pk) or Connection(subgroup=subgroup)
        form = (bound or {}).get(subgroup.pk) or DatadelingForm(connection=connection)
        synced = departments.get(subgroup.pk, [])
        names = {d.code: d for d in synced}
        rows.append(
            {
                "subgroup": subgroup,
                "connection": connection,
                "form": form,
                "departments": synced,
                "offices": [
                    {"office": o, "department": names.get(o.external_department_code)}
                    for o in offices[subgroup.pk]
                ],
            }
        )
    return rows


def _render_datadeling(request: HttpRequest, bound: dict | None = None, status: int = 200):
    return render(
        request,
        "poweroffice/datadeling.html",
        {
            "application_key": settings.POWEROFFICE_APPLICATION_KEY,
            "rows": _datadeling_rows(request, bound),
            "checklist_template": _checklist_template(),
        },
        status=status,
    )


@sensitive_post_parameters()
@admin_required
def datadeling(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render_datadeling(request)
    subgroup = get_for_agency(Subgroup, request, pk=request.POST.get("subgroup") or 0)
    connection = Connection.objects.filter(subgroup=subgroup).first() or Connection(
        subgroup=subgroup
    )
    form = DatadelingForm(request.POST, connection=connection)
    if not form.is_valid():
        return _render_datadeling(request, {subgroup.pk: form}, status=400)
    data = form.cleaned_data
    result = connection_settings_update(
        connection=connection,
        enabled=data["enabled"],
        include_employee_number=data["include_employee_number"],
        auto_export=data["auto_export"],
        include_specification=data["include_specification"],
        include_department=data["include_department"],
        client_key=data["client_key"],
    )
    if not result.ok:
        form.add_error("client_key", result.message)
        return _render_datadeling(request, {subgroup.pk: form}, status=400)
    if result.key_result is not None:
        messages.success(request, f"{subgroup.name}: {result.message}")
    else:
        messages.success(request, f"Innstillingene for {subgroup.name} er lagret.")
    if connection.enabled and not connection.has_client_key:
        messages.warning(
            request,
            f"{subgroup.name}: lim inn klientnøkkelen fra PowerOffice for å fullføre tilkoblingen.",
        )
    return redirect(f"{reverse('poweroffice:datadeling')}#undergruppe-{subgroup.pk}")


@require_POST
@admin_required
def datadeling_sync_departments(request: HttpRequest, subgroup_id: int) -> HttpResponse:
    subgroup = get_for_agency(Subgroup, request, pk=subgroup_id)
    connection = connection_for_subgroup(subgroup)
    try:
        result = departments_sync(connection=connection)
    except NotConnected as exc:
        messages.error(request, str(exc))
    except PowerOfficeError as exc:
        message, _, _ = describe_export_error(exc)
        messages.error(request, f"Avdelingene kunne ikke hentes: {message}")
    else:
        if result.fetched:
            text = f"Hentet {result.fetched} avdelinger fra PowerOffice for {subgroup.name}"
            changes = []
            if result.created:
                changes.append(f"{result.created} nye")
            if result.updated:
                changes.append(f"{result.updated} endret")
            if result.deactivated:
                changes.append(f"{result.deactivated} ikke lenger i PowerOffice")
            messages.success(request, text + (f" ({', '.join(changes)})." if changes else "."))
        else:
            messages.warning(
                request,
                f"PowerOffice har ingen avdelinger for {subgroup.name}. Legg dem inn i "
                "PowerOffice først.",
            )
    return redirect(f"{reverse('poweroffice:datadeling')}#undergruppe-{subgroup.pk}")


# --- Økonomi > Ikke eksporterte fakturaer ---------------------------------------------------------


@require_GET
@finance_required
def not_exported(request: HttpRequest) -> HttpResponse:
    agency_id = request.user.agency_id
    show_hidden = request.GET.get("skjulte") == "1"
    queryset = not_exported_invoices(agency_id=agency_id, hidden=show_hidden)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    connections = connections_by_subgroup(agency_id=agency_id)
    rows = []
    for invoice in page:
        rows.append(
            {
                "invoice": invoice,
                "reason": export_reason(invoice, connections.get(invoice.subgroup_id)),
                "attempts": invoice.attempts,
            }
        )
    batch = None
    batch_id = request.GET.get("eksport")
    if batch_id and batch_id.isdigit():
        batch = ExportBatch.objects.filter(agency_id=agency_id, pk=int(batch_id)).first()
    batch = batch or active_batch(agency_id=agency_id)
    return render(
        request,
        "poweroffice/not_exported.html",
        {
            "rows": rows,
            "page_obj": page,
            "show_hidden": show_hidden,
            "counts": not_exported_counts(agency_id=agency_id),
            "batch": batch,
            "batch_progress": export_batch_progress(batch) if batch else None,
            "exportable": len(exportable_ids(agency_id=agency_id)) if not show_hidden else 0,
            "any_connection": any(c.enabled for c in connections.values()),
        },
    )


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return LIST_PATH + ("?skjulte=1" if request.POST.get("skjulte") == "1" else "")


@require_POST
@finance_required
def not_exported_export(request: HttpRequest, invoice_id: int) -> HttpResponse:
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
def not_exported_hide(request: HttpRequest, invoice_id: int) -> HttpResponse:
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
def not_exported_export_all(request: HttpRequest) -> HttpResponse:
    agency_id = request.user.agency_id
    running = active_batch(agency_id=agency_id)
    if running is not None:
        messages.info(request, "En eksport pågår allerede.")
        return redirect(f"{LIST_PATH}?eksport={running.pk}")
    ids = exportable_ids(agency_id=agency_id)
    if not ids:
        messages.info(request, "Det er ingen fakturaer å eksportere.")
        return redirect(LIST_PATH)
    batch = export_batch_create(agency_id=agency_id, user=request.user, invoice_ids=ids)
    messages.success(
        request,
        f"Eksporten av {batch.total} fakturaer er startet. Du kan følge fremdriften her.",
    )
    return redirect(f"{LIST_PATH}?eksport={batch.pk}")


@require_GET
@finance_required
def export_batch_status(request: HttpRequest, batch_id: int) -> JsonResponse:
    batch = get_for_agency(ExportBatch, request, pk=batch_id)
    return JsonResponse(export_batch_progress(batch))


# --- Fakturaspesifikasjon ------------------------------------------------------------------------


@require_GET
@finance_required
def invoice_specification(request: HttpRequest, invoice_id: int) -> HttpResponse:
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
