"""Administrasjon > Betalingssjekk: the payment check's runs per subgroup, and "Kjør nå"."""

import logging

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from bitnet.access import AuthedRequest, admin_required, get_for_agency, request_agency
from bitnet.models import Subgroup
from poweroffice.datadeling.selectors import connection_get
from poweroffice.models import PaymentSyncRun
from poweroffice.payments.selectors import payments_overview
from poweroffice.payments.services import payments_claim
from poweroffice.payments.tasks import payments_run_claimed

logger = logging.getLogger(__name__)

PAGE = "poweroffice_payments:overview"


@admin_required
def payments_page(request: AuthedRequest) -> HttpResponse:
    overview = payments_overview(agency=request_agency(request))
    return render(
        request,
        "poweroffice/payments/overview.html",
        {"overview": overview, "any_running": any(item.running for item in overview)},
    )


@admin_required
@require_POST
def payments_run_now(request: AuthedRequest, subgroup_id: int) -> HttpResponse:
    subgroup = get_for_agency(Subgroup, request, pk=subgroup_id)
    full = request.POST.get("mode") == "full"
    connection = connection_get(subgroup)
    if connection is None or not (connection.enabled and connection.client_key_encrypted):
        messages.error(
            request,
            f"{subgroup.name} er ikke koblet til PowerOffice. Slå på «PowerOffice som "
            "regnskapssystem» og legg inn klientnøkkelen under Datadeling.",
        )
        return redirect(PAGE)
    run = payments_claim(subgroup=subgroup, full=full)
    if run is None:
        messages.info(request, f"En betalingssjekk for {subgroup.name} pågår allerede.")
        return redirect(PAGE)
    transaction.on_commit(lambda: _enqueue(run.pk))
    what = "Full avstemming" if full else "Betalingssjekken"
    messages.success(
        request,
        f"{what} for {subgroup.name} er startet i bakgrunnen. Siden oppdateres når den er ferdig.",
    )
    return redirect(PAGE)


def _enqueue(run_id: int) -> None:
    try:
        payments_run_claimed.delay(run_id)
    except Exception:
        # The broker is down: do not leave a claim that blocks the subgroup until it goes stale.
        logger.exception("Could not enqueue payment check run %s", run_id)
        PaymentSyncRun.objects.filter(pk=run_id, finished_at__isnull=True).update(
            finished_at=timezone.now(),
            success=False,
            error="Kunne ikke starte betalingssjekken: oppgavekøen svarer ikke. Prøv igjen.",
        )
