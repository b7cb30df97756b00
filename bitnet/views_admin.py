"""Administrasjon > Brukere and Administrasjon > Byrå (administrators only).

Views stay thin: forms validate, bitnet/services_users.py writes. Every row is read through
for_agency/get_for_agency, so another agency's id is a 404.
"""

import copy

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from bitnet import hooks
from bitnet.access import admin_required, for_agency, get_for_agency
from bitnet.forms import OfficeForm, SubgroupSeriesForm, UserCreateForm, UserUpdateForm
from bitnet.models import Office, Role, Subgroup, User
from bitnet.services_users import (
    office_create,
    office_update,
    subgroup_update_number_series,
    user_create,
    user_update,
)

PAGE_SIZE = 25


def _page(request: HttpRequest, queryset, size: int = PAGE_SIZE):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _add_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError beside the fields it names (or above the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# Brukere


@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    users = for_agency(User.objects.all(), request).select_related("office", "office__subgroup")
    q = (request.GET.get("q") or "").strip()
    role = request.GET.get("rolle") or ""
    status = request.GET.get("status") or ""
    if q:
        users = users.filter(
            Q(username__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
        )
    if role in Role.values:
        users = users.filter(role=role)
    if status == "aktive":
        users = users.filter(is_active=True)
    elif status == "inaktive":
        users = users.filter(is_active=False)
    counts = for_agency(User.objects.all(), request).aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(is_active=True)),
        with_number=Count("id", filter=Q(employee_number__isnull=False)),
    )
    return render(
        request,
        "bitnet/user_list.html",
        {
            "page_obj": _page(request, users.order_by("first_name", "last_name", "username")),
            "q": q,
            "role": role,
            "status": status,
            "roles": Role.choices,
            "counts": counts,
            "filtered": bool(q or role or status),
        },
    )


@admin_required
def user_create_view(request: HttpRequest) -> HttpResponse:
    agency = request.user.agency
    form = UserCreateForm(request.POST or None, agency=agency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = user_create(
                agency=agency,
                username=data["username"],
                password=data["password"],
                role=data["role"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                office=data["office"],
                employee_number=data["employee_number"],
                is_active=data["is_active"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Brukeren {user.username} er opprettet.")
            return redirect("bitnet_admin:user_list")
    return render(request, "bitnet/user_form.html", {"form": form, "is_new": True})


@admin_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_for_agency(User.objects.select_related("office"), request, pk=pk)
    form = UserUpdateForm(
        request.POST or None,
        instance=copy.copy(target),
        agency=request.user.agency,
        acting_user=request.user,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            updated = user_update(
                user=target,
                role=data["role"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                office=data["office"],
                employee_number=data["employee_number"],
                is_active=data["is_active"],
                password=data.get("password"),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if data.get("password") and updated.pk == request.user.pk:
                update_session_auth_hash(request, updated)
            messages.success(request, f"Endringene for {updated.username} er lagret.")
            return redirect("bitnet_admin:user_list")
    return render(
        request, "bitnet/user_form.html", {"form": form, "is_new": False, "target": target}
    )


# Byrå


@admin_required
def office_list(request: HttpRequest) -> HttpResponse:
    offices = Office.objects.order_by("name")
    subgroups = (
        for_agency(Subgroup.objects.all(), request)
        .annotate(user_count=Count("offices__users", distinct=True))
        .prefetch_related(Prefetch("offices", queryset=offices.annotate(n_users=Count("users"))))
        .order_by("name")
    )
    page_obj = _page(request, subgroups, size=10)
    for subgroup in page_obj:
        labels = dict(hooks.department_choices(subgroup.pk))
        subgroup.departments_synced = bool(labels)
        for office in subgroup.offices.all():
            code = office.external_department_code
            office.department_label = labels.get(code, "") if code else ""
    totals = {
        "subgroups": page_obj.paginator.count,
        "offices": for_agency(Office.objects.all(), request).count(),
        "without_department": for_agency(Office.objects.all(), request)
        .filter(external_department_code="")
        .count(),
    }
    return render(request, "bitnet/office_list.html", {"page_obj": page_obj, "totals": totals})


def _office_form_response(request: HttpRequest, form: OfficeForm, **context) -> HttpResponse:
    return render(
        request,
        "bitnet/office_form.html",
        {
            "form": form,
            "departments_by_subgroup": form.departments_by_subgroup(),
            "missing_help": "Synkroniser avdelinger under Administrasjon > Datadeling først",
            **context,
        },
    )


@admin_required
def office_create_view(request: HttpRequest) -> HttpResponse:
    agency = request.user.agency
    initial = {}
    wanted = request.GET.get("undergruppe", "")
    if wanted.isdigit():
        initial["subgroup"] = (
            for_agency(Subgroup.objects.filter(pk=int(wanted)), request)
            .values_list("pk", flat=True)
            .first()
        )
    form = OfficeForm(request.POST or None, agency=agency, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            office = office_create(
                agency=agency,
                subgroup=data["subgroup"],
                name=data["name"],
                address=data["address"],
                postal_code=data["postal_code"],
                city=data["city"],
                phone=data["phone"],
                external_department_code=data["external_department_code"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Kontoret {office.name} er opprettet.")
            return redirect("bitnet_admin:office_list")
    return _office_form_response(request, form, is_new=True)


@admin_required
def office_edit(request: HttpRequest, pk: int) -> HttpResponse:
    office = get_for_agency(Office.objects.select_related("subgroup"), request, pk=pk)
    form = OfficeForm(request.POST or None, instance=copy.copy(office), agency=office.agency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            updated = office_update(
                office=office,
                subgroup=data["subgroup"],
                name=data["name"],
                address=data["address"],
                postal_code=data["postal_code"],
                city=data["city"],
                phone=data["phone"],
                external_department_code=data["external_department_code"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Endringene for {updated.name} er lagret.")
            return redirect("bitnet_admin:office_list")
    return _office_form_response(
        request,
        form,
        is_new=False,
        office=office,
        user_count=office.users.count(),
    )


@admin_required
def subgroup_edit(request: HttpRequest, pk: int) -> HttpResponse:
    subgroup = get_for_agency(Subgroup.objects.all(), request, pk=pk)
    form = SubgroupSeriesForm(request.POST or None, instance=copy.copy(subgroup))
    if request.method == "POST" and form.is_valid():
        try:
            subgroup_update_number_series(
                subgroup=subgroup, **{name: form.cleaned_data[name] for name in form.Meta.fields}
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Nummerseriene for {subgroup.name} er lagret.")
            return redirect("bitnet_admin:office_list")
    invoices = subgroup.invoices.all()
    return render(
        request,
        "bitnet/subgroup_form.html",
        {
            "form": form,
            "subgroup": subgroup,
            "invoice_count": invoices.count(),
            "customer_count": subgroup.customers.count(),
            "highest_invoice": invoices.aggregate(m=Max("number"))["m"],
        },
    )
