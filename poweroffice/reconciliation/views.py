"""Økonomi > Avstemming: choose subgroup and period, "Avstem", the result with earlier months'
results, and its PDF and CSV. Finance users and administrators; another agency's ids are 404."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from bitnet.access import AuthedRequest, finance_required, get_for_agency, request_agency
from bitnet.models import Subgroup
from poweroffice.models import Reconciliation
from poweroffice.reconciliation.forms import ReconciliationForm
from poweroffice.reconciliation.report import (
    reconciliation_context,
    reconciliation_csv,
    reconciliation_pdf,
)
from poweroffice.reconciliation.selectors import (
    reconciliation_history,
    reconciliation_invoice_count,
    reconciliation_latest,
)
from poweroffice.reconciliation.services import (
    reconciliation_enqueue,
    reconciliation_run,
    reconciliation_start,
)


def _own(request: AuthedRequest, pk: int) -> Reconciliation:
    return get_for_agency(
        Reconciliation.objects.select_related("subgroup", "run_by"),
        request,
        field="subgroup__agency",
        pk=pk,
    )


@finance_required
def reconciliation_page(request: AuthedRequest) -> HttpResponse:
    agency = request_agency(request)
    form = ReconciliationForm(agency=agency)
    history = reconciliation_latest(agency=agency)
    return render(
        request,
        "poweroffice/reconciliation/index.html",
        {
            "form": form,
            "history": history,
            "any_running": any(r.finished_at is None for r in history),
        },
    )


@finance_required
@require_POST
def reconciliation_start_view(request: AuthedRequest) -> HttpResponse:
    agency = request_agency(request)
    subgroup_id = request.POST.get("subgroup", "")
    if subgroup_id.isdigit():
        get_for_agency(Subgroup, request, pk=int(subgroup_id))  # another agency's: 404
    form = ReconciliationForm(request.POST, agency=agency)
    if not form.is_valid():
        return render(
            request,
            "poweroffice/reconciliation/index.html",
            {"form": form, "history": reconciliation_latest(agency=agency)},
            status=400,
        )
    subgroup = form.cleaned_data["subgroup"]
    start, end = form.cleaned_data["period_from"], form.cleaned_data["period_to"]
    run = reconciliation_start(
        subgroup=subgroup, period_from=start, period_to=end, run_by=request.user
    )
    count = reconciliation_invoice_count(subgroup_id=subgroup.pk, period_from=start, period_to=end)
    if count > int(settings.RECONCILIATION_INLINE_MAX):
        reconciliation_enqueue(run=run)
        messages.info(
            request,
            f"Avstemmingen av {count} fakturaer er startet i bakgrunnen. Siden oppdateres av seg "
            "selv.",
        )
    else:
        reconciliation_run(run=run)
    return redirect("reconciliation:detail", pk=run.pk)


@finance_required
def reconciliation_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    run = _own(request, pk)
    context = reconciliation_context(run=run)
    context["history"] = reconciliation_history(subgroup=run.subgroup)
    return render(request, "poweroffice/reconciliation/detail.html", context)


@finance_required
def reconciliation_csv_view(request: AuthedRequest, pk: int) -> HttpResponse:
    run = _own(request, pk)
    response = HttpResponse(reconciliation_csv(run=run), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(run)}.csv"'
    return response


@finance_required
def reconciliation_pdf_view(request: AuthedRequest, pk: int) -> HttpResponse:
    run = _own(request, pk)
    if run.finished_at is None:
        messages.info(
            request, "Avstemmingen pågår fortsatt; PDF-en kan lastes ned når den er ferdig."
        )
        return redirect("reconciliation:detail", pk=run.pk)
    response = HttpResponse(reconciliation_pdf(run=run), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{_filename(run)}.pdf"'
    return response


def _filename(run: Reconciliation) -> str:
    return f"avstemming-{run.subgroup_id}-{run.period_from:%Y-%m-%d}-{run.period_to:%Y-%m-%d}"
