"""Økonomi > Integrasjonsstatus: PowerOffice per subgroup at a glance (read only)."""

from __future__ import annotations

from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from bitnet.access import AuthedRequest, finance_required, request_agency_id
from poweroffice.invoices.selectors import export_queue
from poweroffice.overview import chart
from poweroffice.overview.selectors import integration_overview


@require_GET
@finance_required
def index(request: AuthedRequest) -> HttpResponseBase:
    overview = integration_overview(agency_id=request_agency_id(request))
    days = overview.days
    context = {
        "overview": overview,
        "bars": chart.bars(days),
        "chart_width": chart.WIDTH,
        "chart_height": chart.HEIGHT,
        "exported_total": sum(d.exported for d in days),
        "failed_total": sum(d.failed for d in days),
        "queue_text": export_queue()["text"] if overview.queue is not None else "",
    }
    return render(request, "poweroffice/overview/index.html", context)
