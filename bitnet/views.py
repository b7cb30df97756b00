"""Home page and the login view with throttling feedback."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, Sum
from django.http import HttpResponse
from django.shortcuts import render

from accounting.models import ExportStatus, Invoice
from bitnet.access import AuthedRequest


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    context: dict = {}
    if user.agency_id and user.has_role("okonomi"):
        invoices = Invoice.objects.filter(agency_id=user.agency_id)
        context["stats"] = invoices.aggregate(
            count=Count("id"),
            not_exported=Count(
                "id",
                filter=~Q(export_status=ExportStatus.EXPORTED) & Q(export_hidden=False),
            ),
            outstanding=Sum("balance", filter=Q(export_status=ExportStatus.EXPORTED)),
        )
        context["recent"] = invoices.select_related("customer").order_by("-created_at", "-id")[:8]
    return render(request, "home.html", context)
