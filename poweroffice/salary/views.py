"""Pages of the payroll export: Administrasjon > Integrasjoner, Lønn > Lønnskoder and
Lønn > Lønnseksport (list, "Lag ny" wizard, detail with progress). Thin: services decide."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from bitnet.access import (
    AuthedRequest,
    admin_required,
    for_agency,
    get_for_agency,
    payroll_required,
    request_agency_id,
)
from bitnet.audit.selectors import audit_log
from bitnet.audit.services import audit_actor_name
from bitnet.models import AuditArea, Subgroup
from payroll.drivinglogs.selectors import trips_unusual
from payroll.models import (
    DrivingLog,
    MileageRate,
    PayrollExport,
    PayrollExportLineState,
    PayrollExportStatus,
    WageCodeMapping,
)
from payroll.reimbursements import KIND_LABELS, KIND_ORDER, ZERO, LogSummary, drivinglog_summaries
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected
from poweroffice.datadeling.selectors import connection_get, connections_by_subgroup
from poweroffice.salary import selectors, wagecodes
from poweroffice.salary.activation import (
    payroll_integration_activate,
    payroll_integration_deactivate,
)
from poweroffice.salary.checks import payroll_export_check
from poweroffice.salary.create import payroll_export_create, payroll_export_start
from poweroffice.salary.forms import (
    ActivateForm,
    ExportSearchForm,
    ExportSelectForm,
    WageCodesForm,
)
from poweroffice.salary.problems import PayrollExportBlocked, wage_codes_link
from poweroffice.salary.recovery import payroll_export_recover
from poweroffice.salary.rollback import payroll_export_rollback_retry
from poweroffice.salary.selectors import export_is_stale

STATUS_BADGES: dict[str, str] = {
    PayrollExportStatus.DRAFT: "badge-blue",
    PayrollExportStatus.RUNNING: "badge-blue",
    PayrollExportStatus.EXPORTED: "badge-green",
    PayrollExportStatus.FAILED: "badge-red",
    PayrollExportStatus.ROLLING_BACK: "badge-amber",
    PayrollExportStatus.ROLLED_BACK: "badge-amber",
    PayrollExportStatus.ROLLBACK_INCOMPLETE: "badge-red",
}
ACTIVE_STATUSES = (
    PayrollExportStatus.DRAFT,
    PayrollExportStatus.RUNNING,
    PayrollExportStatus.ROLLING_BACK,
)


def _subgroups(request: AuthedRequest) -> QuerySet[Subgroup]:
    return for_agency(Subgroup.objects.all(), request).order_by("name")


# --- Administrasjon > Integrasjoner ---------------------------------------------------------------


def _integration_rows(
    request: AuthedRequest, *, open_id: int | None = None, form: ActivateForm | None = None
) -> list[dict[str, Any]]:
    subgroups = list(_subgroups(request))
    connections = connections_by_subgroup(agency_id=request_agency_id(request))
    rows = []
    for subgroup in subgroups:
        connection = connections.get(subgroup.pk)
        has_key = bool(connection and connection.has_client_key and connection.verified_at)
        rows.append(
            {
                "subgroup": subgroup,
                "connection": connection,
                "enabled": bool(connection and connection.payroll_enabled),
                "has_datadeling_key": has_key,
                "form": form
                if open_id == subgroup.pk and form is not None
                else ActivateForm(
                    has_datadeling_key=has_key,
                    prefix=f"s{subgroup.pk}",
                ),
                "open": open_id == subgroup.pk,
            }
        )
    return rows


def _integrations_context(
    request: AuthedRequest,
    *,
    open_id: int | None = None,
    form: ActivateForm | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "rows": _integration_rows(request, open_id=open_id, form=form),
        "audit": audit_log(agency_id=request_agency_id(request), areas=[AuditArea.INTEGRATIONS]),
        "open_id": open_id,
        **extra,
    }


@admin_required
@require_GET
def integrations(request: AuthedRequest) -> HttpResponse:
    return render(request, "payroll/integrations/index.html", _integrations_context(request))


@sensitive_post_parameters()
@admin_required
@require_POST
def integration_activate(request: AuthedRequest, subgroup_id: int) -> HttpResponse:
    subgroup = get_for_agency(Subgroup, request, pk=subgroup_id)
    connection = connection_get(subgroup)
    has_key = bool(connection and connection.has_client_key and connection.verified_at)
    form = ActivateForm(request.POST, has_datadeling_key=has_key, prefix=f"s{subgroup.pk}")
    error = ""
    if form.is_valid():
        use_existing = form.cleaned_data["source"] == ActivateForm.SOURCE_DATADELING
        result = payroll_integration_activate(
            subgroup=subgroup,
            client_key=None if use_existing else form.cleaned_data["client_key"],
            actor=request.user,
        )
        if result.ok:
            messages.success(request, result.message)
            return redirect("payroll_integrations:index")
        error = result.message
    # Never send the key back to the browser.
    data = request.POST.copy()
    data[form.add_prefix("client_key")] = ""
    form.data = data
    return render(
        request,
        "payroll/integrations/index.html",
        _integrations_context(request, form=form, dialog_error=error, open_id=subgroup.pk),
        status=400,
    )


@admin_required
@require_POST
def integration_deactivate(request: AuthedRequest, subgroup_id: int) -> HttpResponse:
    subgroup = get_for_agency(Subgroup, request, pk=subgroup_id)
    payroll_integration_deactivate(subgroup=subgroup, actor=request.user)
    messages.success(request, f"PowerOffice Go er deaktivert for {subgroup.name}.")
    return redirect("payroll_integrations:index")


# --- Lønn > Lønnskoder ----------------------------------------------------------------------------


def _chosen_subgroup(request: AuthedRequest, subgroups: list[Subgroup]) -> Subgroup | None:
    wanted = request.GET.get("undergruppe") or request.POST.get("undergruppe")
    if wanted:
        try:
            wanted_id = int(wanted)
        except ValueError:
            wanted_id = None
        for subgroup in subgroups:
            if subgroup.pk == wanted_id:
                return subgroup
        # Another agency's subgroup (or none): 404 like any foreign id.
        return get_for_agency(Subgroup, request, pk=wanted_id or 0)
    return subgroups[0] if subgroups else None


def _wage_code_rows(
    form: WageCodesForm, mappings: dict[str, WageCodeMapping], errors: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    rows = []
    for kind in KIND_ORDER:
        mapping = mappings.get(kind)
        rows.append(
            {
                "kind": kind,
                "label": KIND_LABELS[kind],
                "field": form[kind],
                "mapping": mapping,
                "error": (errors or {}).get(kind, ""),
            }
        )
    return rows


@payroll_required
def wage_codes(request: AuthedRequest) -> HttpResponse:
    subgroups = list(_subgroups(request))
    subgroup = _chosen_subgroup(request, subgroups)
    mappings = selectors.wage_code_mappings(subgroup=subgroup) if subgroup else {}
    result = None
    status = 200
    if request.method == "POST" and subgroup is not None:
        form = WageCodesForm(request.POST)
        if form.is_valid():
            result = wagecodes.wage_codes_save(
                subgroup=subgroup, codes=form.cleaned_data, actor=request.user
            )
            if result.ok:
                (messages.success if result.checked else messages.warning)(request, result.message)
                return redirect(wage_codes_link(subgroup))
            for kind, text in result.errors.items():
                form.add_error(kind, text)
            status = 400
    else:
        form = WageCodesForm(initial={k: m.pay_item_code for k, m in mappings.items()})
    connection = connection_get(subgroup)
    return render(
        request,
        "payroll/export/wage_codes.html",
        {
            "subgroups": subgroups,
            "subgroup": subgroup,
            "form": form,
            "rows": _wage_code_rows(form, mappings),
            "result": result,
            "payroll_enabled": bool(connection and connection.payroll_enabled),
            "rates": MileageRate.objects.order_by("-year")[:3],
            "audit": audit_log(
                agency_id=request_agency_id(request),
                areas=[AuditArea.WAGE_CODES],
                subgroup_id=subgroup.pk,
            )
            if subgroup
            else None,
        },
        status=status,
    )


@payroll_required
@require_POST
def wage_codes_check(request: AuthedRequest) -> HttpResponse:
    subgroups = list(_subgroups(request))
    subgroup = _chosen_subgroup(request, subgroups)
    if subgroup is None:
        return redirect("payroll_export:wage_codes")
    result = wagecodes.wage_codes_check(subgroup=subgroup)
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect(wage_codes_link(subgroup))


# --- Lønn > Lønnseksport --------------------------------------------------------------------------


@payroll_required
@require_GET
def export_list(request: AuthedRequest) -> HttpResponse:
    exports = selectors.payroll_exports_for_agency(agency=request_agency_id(request))[:200]
    return render(
        request,
        "payroll/export/list.html",
        {
            "exports": [
                (export, STATUS_BADGES.get(export.status, ""), export_is_stale(export))
                for export in exports
            ],
            "payroll_enabled": selectors.payroll_enabled_in(agency_id=request_agency_id(request)),
        },
    )


def _default_range() -> tuple[dt.date, dt.date]:
    """The previous month: payroll is usually run for the month just ended."""
    first_this = timezone.localdate().replace(day=1)
    last_prev = first_this - dt.timedelta(days=1)
    return last_prev.replace(day=1), last_prev


@dataclass(frozen=True)
class _LogRow:
    """A logbook of the "Lag ny" list, with what it amounts to."""

    log: DrivingLog
    summary: LogSummary
    outside: bool  # its period reaches outside the chosen dates (the whole logbook goes)
    unusual: int = 0  # trips flagged as unusual (trips_unusual)


def _search_context(subgroup: Subgroup, date_from: dt.date, date_to: dt.date) -> dict[str, Any]:
    in_range = selectors.drivinglogs_in_range(
        subgroup=subgroup, date_from=date_from, date_to=date_to
    )
    logs = list(
        selectors.drivinglogs_exportable(subgroup=subgroup, date_from=date_from, date_to=date_to)
    )
    summaries = drivinglog_summaries(log_ids=[log.pk for log in logs])
    empty = LogSummary()
    rows = [
        _LogRow(
            log=log,
            summary=summaries.get(log.pk, empty),
            outside=log.period_start < date_from or log.period_end > date_to,
        )
        for log in logs
    ]
    skipped = in_range.exclude(pk__in=[log.pk for log in logs])
    unusual = trips_unusual(log_ids=[log.pk for log in logs])
    unusual_per_log: dict[int, int] = {}
    for item in unusual:
        unusual_per_log[item.trip.log_id] = unusual_per_log.get(item.trip.log_id, 0) + 1
    rows = [replace(row, unusual=unusual_per_log.get(row.log.pk, 0)) for row in rows]
    # is_claimed is annotated by drivinglogs_in_range; its QuerySet[DrivingLog] cannot say so.
    claimed = list(skipped.values_list("is_claimed", flat=True))  # type: ignore[misc]
    return {
        "logs": rows,
        "unusual": unusual,
        "skipped_claimed": sum(1 for is_claimed in claimed if is_claimed),
        "skipped_not_delivered": sum(1 for is_claimed in claimed if not is_claimed),
        "totals": {
            "trips": sum(row.summary.trips for row in rows),
            "km": sum((row.summary.km for row in rows), ZERO),
            "expenses": sum((row.summary.expenses for row in rows), ZERO),
            "amount": sum((row.summary.amount for row in rows), ZERO),
        },
    }


@payroll_required
def export_new(request: AuthedRequest) -> HttpResponse:
    """Lag ny: subgroup and dates, "Søk" (validations), choose logbooks, preview, export."""
    agency_id = request_agency_id(request)
    data = request.POST if request.method == "POST" else request.GET
    if "subgroup" in data:
        search = ExportSearchForm(data, agency_id=agency_id)
    else:
        date_from, date_to = _default_range()
        search = ExportSearchForm(
            initial={"date_from": date_from, "date_to": date_to}, agency_id=agency_id
        )
    context: dict[str, Any] = {"search": search, "step": "search"}
    if not search.is_bound or not search.is_valid():
        status = 400 if search.is_bound else 200
        return render(request, "payroll/export/new.html", context, status=status)

    subgroup = search.cleaned_data["subgroup"]
    date_from, date_to = search.cleaned_data["date_from"], search.cleaned_data["date_to"]
    context.update(
        {"subgroup": subgroup, "date_from": date_from, "date_to": date_to, "step": "results"}
    )
    context.update(_search_context(subgroup, date_from, date_to))
    all_ids = [row.log.pk for row in context["logs"]]

    if request.method == "GET":
        check = payroll_export_check(subgroup=subgroup, log_ids=all_ids)
        context.update({"problems": check.problems, "selected": set(all_ids)})
        return render(request, "payroll/export/new.html", context)

    in_range_ids = list(
        selectors.drivinglogs_in_range(
            subgroup=subgroup, date_from=date_from, date_to=date_to
        ).values_list("pk", flat=True)
    )
    select = ExportSelectForm(request.POST, log_ids=in_range_ids)
    if not select.is_valid():
        context.update({"select_errors": select.errors, "selected": set()})
        return render(request, "payroll/export/new.html", context, status=400)
    chosen = select.cleaned_data["logs"]
    context["selected"] = set(chosen)
    action = request.POST.get("action", "preview")

    if action == "export":
        try:
            export = payroll_export_create(
                subgroup=subgroup,
                log_ids=chosen,
                date_from=date_from,
                date_to=date_to,
                user=request.user,
                submission_token=select.cleaned_data.get("token"),
            )
        except PayrollExportBlocked as blocked:
            context["problems"] = blocked.problems
            return render(request, "payroll/export/new.html", context, status=400)
        ran_here = payroll_export_start(export=export)
        export.refresh_from_db()
        if export.status == PayrollExportStatus.EXPORTED:
            messages.success(
                request,
                f"Lønnseksport {export.pk} er eksportert: {export.lines_total} lønnslinjer ligger "
                "nå i PowerOffice Go under Lønn som «Importert lønnsgrunnlag».",
            )
            return redirect("payroll_export:list")
        if not ran_here and export.status in ACTIVE_STATUSES:
            messages.info(request, f"Lønnseksport {export.pk} kjører i bakgrunnen.")
        elif export.status != PayrollExportStatus.EXPORTED:
            messages.error(request, f"Lønnseksport {export.pk} feilet: {export.error}")
        return redirect("payroll_export:detail", export_id=export.pk)

    check = payroll_export_check(subgroup=subgroup, log_ids=chosen)
    context["problems"] = check.problems
    if check.problems:
        return render(request, "payroll/export/new.html", context, status=400)
    context.update(
        {
            "step": "preview",
            "unusual": [i for i in context["unusual"] if i.trip.log_id in context["selected"]],
            "lines": check.computation.lines,
            "amount_total": check.computation.amount_total,
            "token": uuid.uuid4(),
            "chosen": chosen,
        }
    )
    return render(request, "payroll/export/new.html", context)


@payroll_required
@require_GET
def export_log_trips(request: AuthedRequest, log_id: int) -> HttpResponse:
    """ "Vis turer" of one logbook in the wizard: its trips as a table, fetched on demand."""
    log = get_for_agency(DrivingLog.objects.select_related("driver"), request, pk=log_id)
    return render(
        request,
        "payroll/export/_trips.html",
        {"log": log, "trips": selectors.drivinglog_trips(log=log)},
    )


def _export_for(request: AuthedRequest, export_id: int) -> PayrollExport:
    return get_for_agency(
        PayrollExport.objects.select_related("subgroup", "created_by"), request, pk=export_id
    )


@payroll_required
@require_GET
def export_detail(request: AuthedRequest, export_id: int) -> HttpResponse:
    export = _export_for(request, export_id)
    lines = list(export.lines.select_related("employee").order_by("position", "id"))
    claims = list(
        export.log_claims.select_related("log__driver").order_by(
            "log__driver__first_name", "log__period_start"
        )
    )
    return render(
        request,
        "payroll/export/detail.html",
        {
            "export": export,
            "badge": STATUS_BADGES.get(export.status, ""),
            "lines": lines,
            "claims": claims,
            "stuck_lines": [
                line for line in lines if line.state == PayrollExportLineState.DELETE_FAILED
            ],
            "active": export.status in ACTIVE_STATUSES,
            "stale": export_is_stale(export),
            "recovery_notes": [p for p in export.recovery_note.split("\n\n") if p],
            "in_poweroffice": sum(
                1
                for line in lines
                if line.po_salary_line_id
                and line.state
                in (PayrollExportLineState.CREATED, PayrollExportLineState.DELETE_FAILED)
            ),
            "State": PayrollExportLineState,
            "Status": PayrollExportStatus,
        },
    )


def export_progress(export: PayrollExport) -> dict[str, Any]:
    total = export.lines_total or 0
    if export.status in (PayrollExportStatus.ROLLING_BACK,):
        done = export.lines_deleted
        of = export.lines_created or total
    else:
        done, of = export.lines_created, total
    return {
        "id": export.pk,
        "status": export.status,
        "status_label": export.get_status_display(),
        "active": export.status in ACTIVE_STATUSES,
        "total": total,
        "created": export.lines_created,
        "deleted": export.lines_deleted,
        "percent": round(100 * done / of) if of else 0,
        "error": export.error,
        "stale": export_is_stale(export),
    }


@payroll_required
@require_GET
def export_status(request: AuthedRequest, export_id: int) -> JsonResponse:
    return JsonResponse(export_progress(_export_for(request, export_id)))


@payroll_required
@require_POST
def export_rollback_retry(request: AuthedRequest, export_id: int) -> HttpResponse:
    export = _export_for(request, export_id)
    try:
        export = payroll_export_rollback_retry(export_id=export.pk)
    except (NotConnected, SecretUnreadable) as exc:
        messages.error(request, str(exc))
        return redirect("payroll_export:detail", export_id=export.pk)
    if export.status == PayrollExportStatus.ROLLED_BACK:
        messages.success(
            request,
            "Tilbakerullingen er fullført: ingen linjer fra eksporten ligger i PowerOffice Go.",
        )
    elif export.status == PayrollExportStatus.ROLLBACK_INCOMPLETE:
        messages.error(
            request,
            "Noen lønnslinjer kunne fortsatt ikke slettes i PowerOffice Go. Se listen under.",
        )
    return redirect("payroll_export:detail", export_id=export.pk)


@payroll_required
@require_POST
def export_recover(request: AuthedRequest, export_id: int) -> HttpResponse:
    """ "Gjenoppta nå": take over an export whose run stopped, without waiting for the sweeper."""
    export = _export_for(request, export_id)
    result = payroll_export_recover(export_id=export.pk, by=audit_actor_name(request.user))
    status = result.export.status
    if result.exported:
        messages.success(request, result.message)
    elif status in (PayrollExportStatus.ROLLED_BACK, PayrollExportStatus.FAILED):
        messages.warning(request, result.message)
    elif status in ACTIVE_STATUSES and not export_is_stale(result.export):
        messages.info(request, result.message)  # its run is alive after all
    else:
        messages.error(request, result.message)
    return redirect("payroll_export:detail", export_id=export.pk)
