"""Koble til PowerOffice: start, the return from PowerOffice, and the mapping to confirm."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from bitnet.access import AuthedRequest, admin_required, request_agency_id
from bitnet.models import Agency, Subgroup
from poweroffice.onboarding import services
from poweroffice.onboarding.checks import onboarding_results

DONE_KEY = "poweroffice_onboarding_done"
SKIP = "hopp-over"


def _agency(request: AuthedRequest) -> Agency:
    return Agency.objects.get(pk=request_agency_id(request))


@require_POST
@admin_required
def onboarding_start(request: AuthedRequest) -> HttpResponse:
    try:
        url = services.onboarding_start(request=request, agency=_agency(request))
    except services.OnboardingError as error:
        messages.error(request, str(error))
        return redirect("datadeling:index")
    # A link, not a redirect: the page's form-action policy allows only this site.
    return render(request, "poweroffice/onboarding/continue.html", {"url": url})


@sensitive_variables("token")
@admin_required
def onboarding_return(request: AuthedRequest) -> HttpResponse:
    try:
        services.onboarding_finish(
            request=request,
            agency=_agency(request),
            state=request.GET.get("state", ""),
            token=request.GET.get("token", ""),
            error=request.GET.get("error", ""),
        )
    except services.OnboardingError as error:
        messages.error(request, str(error))
        return redirect("datadeling:index")
    # The one-time token leaves the address bar at once.
    return redirect("onboarding:confirm")


@admin_required
def onboarding_confirm(request: AuthedRequest) -> HttpResponse:
    agency = _agency(request)
    clients = services.approved_clients(request=request, agency=agency)
    if not clients:
        messages.error(request, "Fant ingen godkjente klienter. Start på nytt.")
        return redirect("datadeling:index")
    if request.method == "POST":
        mapping = {}
        for c in clients:
            value = request.POST.get(f"klient-{c.index}", "")
            if value == SKIP:
                continue
            if not value.isdigit():
                messages.error(request, f"Velg en undergruppe for {c.name}.")
                return redirect("onboarding:confirm")
            mapping[c.index] = int(value)
        try:
            if not mapping:
                raise services.OnboardingError(
                    "Du hoppet over alle klientene. Velg en undergruppe for minst én."
                )
            connections = services.onboarding_confirm(
                request=request, agency=agency, mapping=mapping, actor=request.user
            )
        except services.OnboardingError as error:
            messages.error(request, str(error))
            return redirect("onboarding:confirm")
        results = onboarding_results(connections=connections, user=request.user)
        request.session[DONE_KEY] = {"agency": agency.pk, "results": results}
        return redirect("onboarding:done")
    subgroups = Subgroup.objects.filter(agency=agency).order_by("name")
    return render(
        request,
        "poweroffice/onboarding/confirm.html",
        {"clients": clients, "subgroups": subgroups, "skip": SKIP},
    )


@admin_required
def onboarding_done(request: AuthedRequest) -> HttpResponse:
    done = request.session.pop(DONE_KEY, None) or {}
    if done.get("agency") != request_agency_id(request) or not done.get("results"):
        return redirect("datadeling:index")
    return render(request, "poweroffice/onboarding/done.html", {"results": done["results"]})
