"""Lønn > Kjørebøker: list, new log, detail with trips, trips, status.

Every logged-in user of the agency may keep their own driving logs; payroll staff and
administrators see and edit all of the agency's. Someone else's log is a 404 for a driver,
like another agency's log is for everyone.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from bitnet.access import AuthedRequest, any_role_required, for_agency, get_for_agency
from bitnet.crud import add_errors
from bitnet.models import User
from payroll.drivinglogs import selectors, services
from payroll.drivinglogs.forms import DrivingLogFilterForm, DrivingLogForm, TripForm
from payroll.models import DrivingLog, DrivingLogStatus, Trip

PAGE_SIZE = 25


def _logs(request: AuthedRequest) -> QuerySet[DrivingLog]:
    return selectors.drivinglog_visible(
        logs=for_agency(DrivingLog.objects.all(), request), user=request.user
    )


def _drivers(request: AuthedRequest) -> QuerySet[User] | None:
    """Drivers the user may pick: any of the agency's users for payroll/admin, else None."""
    if not selectors.user_sees_all_logs(user=request.user):
        return None
    return selectors.driver_choices(users=for_agency(User.objects.all(), request))


def _get_log(request: AuthedRequest, pk: int) -> DrivingLog:
    return get_for_agency(_logs(request).select_related("driver"), request, pk=pk)


@any_role_required
def drivinglog_list(request: AuthedRequest) -> HttpResponse:
    drivers = _drivers(request)
    form = DrivingLogFilterForm(request.GET or None, drivers=drivers)
    if form.is_bound:
        form.is_valid()
    visible = _logs(request)
    logs = selectors.drivinglog_list(logs=visible, **form.filters())
    totals = selectors.drivinglog_list_totals(logs=logs)
    page = Paginator(logs, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.drivinglog_counts_by_status(logs=visible)
    return render(
        request,
        "payroll/drivinglog_list.html",
        {
            "form": form,
            "page_obj": page,
            "totals": totals,
            "sees_all": drivers is not None,
            "status_chips": [
                (value, label, counts.get(value, 0)) for value, label in DrivingLogStatus.choices
            ],
        },
    )


@any_role_required
def drivinglog_new(request: AuthedRequest) -> HttpResponse:
    drivers = _drivers(request)
    form = DrivingLogForm(
        request.POST or None,
        drivers=drivers,
        initial={"driver": request.user.pk},
    )
    if request.method == "POST" and form.is_valid():
        driver = form.cleaned_data.get("driver") or request.user
        try:
            log = services.drivinglog_create(
                driver=driver,
                period_start=form.cleaned_data["period_start"],
                period_end=form.cleaned_data["period_end"],
                vehicle=form.cleaned_data["vehicle"],
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"Kjøreboken for {driver} er opprettet. Legg inn turene.")
            return redirect("payroll:drivinglog_detail", pk=log.pk)
    return render(request, "payroll/drivinglog_form.html", {"form": form})


@any_role_required
def drivinglog_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    log = _get_log(request, pk)
    locked = selectors.drivinglog_is_locked(log=log)
    detail = selectors.drivinglog_detail(log=log)
    return render(
        request,
        "payroll/drivinglog_detail.html",
        {
            "log": log,
            "detail": detail,
            "locked": locked,
            "can_edit": selectors.drivinglog_can_edit(log=log, user=request.user, locked=locked),
            "actions": selectors.drivinglog_status_actions(
                log=log, user=request.user, locked=locked
            ),
            "steps": [
                (value, label)
                for value, label in DrivingLogStatus.choices
                if value != DrivingLogStatus.EXPORTED or log.status == value
            ],
            "status_order": [value for value, _ in DrivingLogStatus.choices],
        },
    )


def _editable_log(request: AuthedRequest, pk: int) -> DrivingLog | HttpResponse:
    """The log if the user may change it now; else a redirect to it with the reason."""
    log = _get_log(request, pk)
    if selectors.drivinglog_is_locked(log=log):
        messages.error(request, services.LOCKED_MESSAGE)
        return redirect("payroll:drivinglog_detail", pk=log.pk)
    if not selectors.drivinglog_can_edit(log=log, user=request.user, locked=False):
        if log.driver_id == request.user.pk:
            messages.error(
                request,
                f"Kjøreboken er {log.get_status_display().lower()}. Trekk den tilbake for å "
                "endre turene.",
            )
            return redirect("payroll:drivinglog_detail", pk=log.pk)
        raise PermissionDenied
    return log


def _trip_values(form: TripForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in services.TRIP_FIELDS}


@any_role_required
def trip_new(request: AuthedRequest, pk: int) -> HttpResponse:
    log = _editable_log(request, pk)
    if isinstance(log, HttpResponse):
        return log
    initial = {"date": request.GET.get("dato") or log.period_start, "passengers": 0}
    form = TripForm(request.POST or None, log=log, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            trip = services.trip_create(log=log, **_trip_values(form))
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(
                request,
                f"Turen {trip.date:%d.%m.%Y} {trip.from_place}–{trip.to_place} er lagt til.",
            )
            if "another" in request.POST:
                return redirect(
                    f"{request.path}?dato={trip.date.isoformat()}",
                )
            return redirect("payroll:drivinglog_detail", pk=log.pk)
    return render(request, "payroll/trip_form.html", {"form": form, "log": log, "trip": None})


@any_role_required
def trip_edit(request: AuthedRequest, pk: int, trip_id: int) -> HttpResponse:
    log = _editable_log(request, pk)
    if isinstance(log, HttpResponse):
        return log
    trip = get_for_agency(Trip.objects.filter(log=log), request, field="log__agency", pk=trip_id)
    form = TripForm(
        request.POST or None,
        log=log,
        initial={name: getattr(trip, name) for name in services.TRIP_FIELDS},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.trip_update(trip=trip, **_trip_values(form))
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"Turen {trip.date:%d.%m.%Y} er lagret.")
            return redirect("payroll:drivinglog_detail", pk=log.pk)
    return render(request, "payroll/trip_form.html", {"form": form, "log": log, "trip": trip})


@any_role_required
@require_POST
def trip_delete(request: AuthedRequest, pk: int, trip_id: int) -> HttpResponse:
    log = _editable_log(request, pk)
    if isinstance(log, HttpResponse):
        return log
    trip = get_for_agency(Trip.objects.filter(log=log), request, field="log__agency", pk=trip_id)
    label = f"{trip.date:%d.%m.%Y} {trip.from_place}–{trip.to_place}"
    try:
        services.trip_delete(trip=trip)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Turen {label} er slettet.")
    return redirect("payroll:drivinglog_detail", pk=log.pk)


@any_role_required
@require_POST
def drivinglog_status(request: AuthedRequest, pk: int) -> HttpResponse:
    log = _get_log(request, pk)
    status = request.POST.get("status", "")
    try:
        services.drivinglog_set_status(log=log, status=status, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Kjøreboken er nå «{log.get_status_display()}».")
    return redirect("payroll:drivinglog_detail", pk=log.pk)
