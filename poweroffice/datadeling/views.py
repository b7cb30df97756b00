"""Administrasjon > Datadeling: one card per subgroup with its PowerOffice settings, departments
and the prerequisites checklist (SPEC Part A, items 1, 2 and 6).

Views stay thin: forms validate, selectors read, services write. Every row comes through
bitnet.access, so another agency's id is a 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from bitnet.access import (
    AuthedRequest,
    admin_required,
    for_agency,
    get_for_agency,
    request_agency_id,
)
from bitnet.audit.selectors import audit_latest_by_subgroup, audit_logs_by_subgroup
from bitnet.models import AuditArea, Subgroup
from poweroffice.client.errors import PowerOfficeError
from poweroffice.datadeling.connection import NotConnected, connection_for_subgroup
from poweroffice.datadeling.connection_check import connection_check
from poweroffice.datadeling.departments import DepartmentSyncResult, departments_sync
from poweroffice.datadeling.forms import DatadelingForm
from poweroffice.datadeling.selectors import (
    connection_get,
    connections_by_subgroup,
    departments_by_subgroup,
    poweroffice_target,
    subgroups_with_unreadable_key,
)
from poweroffice.datadeling.services import connection_settings_update
from poweroffice.messages import Context, error_message
from poweroffice.models import Connection


def _rows(
    request: AuthedRequest, bound: dict[int, DatadelingForm] | None = None
) -> list[dict[str, Any]]:
    subgroups = list(for_agency(Subgroup.objects.order_by("name"), request))
    agency_id = request_agency_id(request)
    connections = connections_by_subgroup(agency_id=agency_id)
    ids = [s.pk for s in subgroups]
    departments = departments_by_subgroup(subgroup_ids=ids)
    # The subgroup's Endringslogg: Datadeling itself and its offices' "Ekstern avdeling".
    logs = audit_logs_by_subgroup(
        agency_id=agency_id, areas=[AuditArea.DATADELING, AuditArea.OFFICES], subgroup_ids=ids
    )
    key_changes = audit_latest_by_subgroup(
        agency_id=agency_id, area=AuditArea.DATADELING, action="client_key", subgroup_ids=ids
    )
    rows = []
    for subgroup in subgroups:
        connection = connections.get(subgroup.pk) or Connection(subgroup=subgroup)
        form = (bound or {}).get(subgroup.pk) or DatadelingForm(connection=connection)
        synced = departments.get(subgroup.pk, [])
        by_code = {d.code: d for d in synced}
        rows.append(
            {
                "subgroup": subgroup,
                "connection": connection,
                "form": form,
                "departments": synced,
                "audit": logs[subgroup.pk],
                "key_change": key_changes.get(subgroup.pk),
                "offices": [
                    {"office": o, "department": by_code.get(o.external_department_code)}
                    for o in subgroup.offices.order_by("name")
                ],
            }
        )
    return rows


def _render(
    request: AuthedRequest, bound: dict[int, DatadelingForm] | None = None, status: int = 200
) -> HttpResponse:
    rows = _rows(request, bound)
    return render(
        request,
        "poweroffice/datadeling.html",
        {
            "application_key": settings.POWEROFFICE_APPLICATION_KEY,
            "rows": rows,
            "target": poweroffice_target(),
            "unreadable": subgroups_with_unreadable_key(
                connections=[row["connection"] for row in rows]
            ),
        },
        status=status,
    )


def _back_to(subgroup: Subgroup) -> HttpResponse:
    return redirect(f"{reverse('datadeling:index')}#undergruppe-{subgroup.pk}")


@sensitive_post_parameters()
@sensitive_variables("data")
@admin_required
def datadeling(request: AuthedRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request)
    subgroup = get_for_agency(Subgroup, request, pk=request.POST.get("subgroup") or 0)
    connection = connection_get(subgroup) or Connection(subgroup=subgroup)
    form = DatadelingForm(request.POST, connection=connection)
    if not form.is_valid():
        return _render(request, {subgroup.pk: form}, status=400)
    data = form.cleaned_data
    result = connection_settings_update(
        connection=connection,
        enabled=data["enabled"],
        include_employee_number=data["include_employee_number"],
        auto_export=data["auto_export"],
        include_specification=data["include_specification"],
        include_department=data["include_department"],
        client_key=data["client_key"],
        actor=request.user,
    )
    if not result.ok:
        form.add_error("client_key", result.message)
        return _render(request, {subgroup.pk: form}, status=400)
    if result.key_result is not None:
        messages.success(request, f"{subgroup.name}: {result.message}")
    else:
        messages.success(request, f"Innstillingene for {subgroup.name} er lagret.")
    if connection.enabled and not connection.has_client_key:
        messages.warning(
            request,
            f"{subgroup.name}: lim inn klientnøkkelen fra PowerOffice for å fullføre tilkoblingen.",
        )
    return _back_to(subgroup)


def _synced_message(result: DepartmentSyncResult, subgroup: Subgroup) -> str:
    text = f"Hentet {result.fetched} avdelinger fra PowerOffice for {subgroup.name}"
    changes = []
    if result.created:
        changes.append(f"{result.created} nye")
    if result.updated:
        changes.append(f"{result.updated} endret")
    if result.deactivated:
        changes.append(f"{result.deactivated} ikke lenger i PowerOffice")
    return text + (f" ({', '.join(changes)})." if changes else ".")


@require_POST
@admin_required
def datadeling_sync_departments(request: AuthedRequest, subgroup_id: int) -> HttpResponse:
    subgroup = get_for_agency(Subgroup, request, pk=subgroup_id)
    connection = connection_for_subgroup(subgroup)
    try:
        result = departments_sync(connection=connection, actor=request.user)
    except NotConnected as exc:
        messages.error(request, str(exc))
    except PowerOfficeError as exc:
        message = error_message(exc, context=Context.EXPORT)
        messages.error(request, f"Avdelingene kunne ikke hentes: {message}")
    else:
        if result.fetched:
            messages.success(request, _synced_message(result, subgroup))
        else:
            messages.warning(
                request,
                f"PowerOffice har ingen avdelinger for {subgroup.name}. Legg dem inn i "
                "PowerOffice først.",
            )
    return _back_to(subgroup)


@require_POST
@admin_required
def datadeling_test_connection(request: AuthedRequest, subgroup_id: int) -> HttpResponse:
    """«Test tilkoblingen»: each problem as its own message, else one that all is well."""
    subgroup = get_for_agency(Subgroup, request, pk=subgroup_id)
    report = connection_check(connection=connection_for_subgroup(subgroup))
    if report.ok:
        messages.success(request, f"{subgroup.name}: tilkoblingen til PowerOffice er i orden.")
    for problem in report.problems:
        messages.error(request, f"{subgroup.name}: {problem}")
    return _back_to(subgroup)
