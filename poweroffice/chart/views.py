"""Administrasjon > Kontoplan > "Valider kontoplan", and "Sjekk på nytt" of the prerequisites
checklist on Datadeling (SPEC Part A items 2 and 7). Thin: the checks live in services.py."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from bitnet.access import AuthedRequest, admin_required, get_for_agency, request_agency_id
from bitnet.models import Subgroup
from poweroffice.chart.selectors import (
    account_validation_latest,
    account_validation_latest_completed,
    subgroups_connected,
)
from poweroffice.chart.services import account_chart_validate, prerequisites_check
from poweroffice.datadeling.connection import connection_for_subgroup


def _subgroup_id(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


@admin_required
@require_http_methods(["GET", "POST"])
def account_validation(request: AuthedRequest) -> HttpResponse:
    connected = subgroups_connected(agency_id=request_agency_id(request))
    params = request.POST if request.method == "POST" else request.GET
    chosen = _subgroup_id(params.get("undergruppe"))
    subgroup: Subgroup | None
    if chosen is not None:
        subgroup = get_for_agency(Subgroup, request, pk=chosen)
    else:
        subgroup = connected[0] if connected else None

    if request.method == "POST":
        if subgroup is None:
            messages.error(request, "Velg en undergruppe som er koblet til PowerOffice.")
            return redirect("poweroffice_validation:account_validation")
        validation = account_chart_validate(subgroup=subgroup, user=request.user)
        summary = (validation.result or {}).get("summary", {})
        if validation.error:
            messages.error(request, f"Kontoplanen ble ikke validert. {validation.error}")
        elif validation.ok:
            messages.success(request, "Kontoplanen er validert: alt stemmer med PowerOffice.")
        else:
            messages.warning(
                request,
                f"Kontoplanen er validert: {summary.get('errors', 0)} feil og "
                f"{summary.get('warnings', 0)} avvik å se på.",
            )
        validate = reverse("poweroffice_validation:account_validation")
        return redirect(f"{validate}?undergruppe={subgroup.pk}")

    latest = account_validation_latest(subgroup=subgroup) if subgroup else None
    completed = latest
    if subgroup is not None and latest is not None and latest.error:
        completed = account_validation_latest_completed(subgroup=subgroup)
    return render(
        request,
        "poweroffice/validation/account_validation.html",
        {
            "subgroups": connected,
            "subgroup": subgroup,
            "subgroup_connected": subgroup is not None and subgroup in connected,
            "latest": latest,
            "completed": completed,
        },
    )


@admin_required
@require_POST
def prerequisites_refresh(request: AuthedRequest, subgroup_id: int) -> HttpResponse:
    """ "Sjekk på nytt": run the checks for one subgroup, then back to where the button was."""
    subgroup = get_for_agency(Subgroup, request, pk=subgroup_id)
    connection = connection_for_subgroup(subgroup)
    prerequisites_check(connection=connection, user=request.user)
    if connection.prerequisites_ok is True:
        messages.success(
            request, f"{subgroup.name}: alle forutsetninger for PowerOffice er oppfylt."
        )
    elif connection.prerequisites_ok is False:
        messages.error(
            request, f"{subgroup.name}: noen forutsetninger for PowerOffice er ikke oppfylt."
        )
    else:
        messages.warning(
            request, f"{subgroup.name}: forutsetningene kunne ikke sjekkes fullt ut akkurat nå."
        )
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("datadeling:index")
    return redirect(f"{target.split('#')[0]}#forutsetninger-{subgroup.pk}")
