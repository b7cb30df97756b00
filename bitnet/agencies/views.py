"""Administrasjon > Brukere and Administrasjon > Byrå (administrators only).

Views stay thin: forms validate, bitnet/services_users.py writes, bitnet/crud.py holds the list
and form skeleton. Every row is read through for_agency/get_for_agency, so another agency's id
is a 404.
"""

import copy

from django.contrib.auth import update_session_auth_hash
from django.db.models import Count, Max, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bitnet import hooks
from bitnet.access import admin_required, for_agency, get_for_agency
from bitnet.crud import Entity, edit_page, form_page, page_of, pick, search_list
from bitnet.agencies.forms import (
    DEPARTMENTS_MISSING_HELP,
    OfficeForm,
    SubgroupSeriesForm,
    UserCreateForm,
    UserUpdateForm,
)
from bitnet.models import Office, Role, Subgroup, User
from bitnet.users.services import (
    office_create,
    office_update,
    subgroup_update_number_series,
    user_create,
    user_update,
)

PAGE_SIZE = 25


# Brukere

USER_FIELDS = (
    "role",
    "first_name",
    "last_name",
    "email",
    "office",
    "employee_number",
    "is_active",
)


def _user_search(q: str) -> Q:
    return (
        Q(username__icontains=q)
        | Q(first_name__icontains=q)
        | Q(last_name__icontains=q)
        | Q(email__icontains=q)
    )


@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    users = for_agency(User.objects.all(), request).select_related("office", "office__subgroup")
    role = request.GET.get("rolle") or ""
    if role in Role.values:
        users = users.filter(role=role)
    return search_list(
        request,
        users,
        search=_user_search,
        order_by=("first_name", "last_name", "username"),
        template="bitnet/user_list.html",
        size=PAGE_SIZE,
        counts={"with_number": Count("id", filter=Q(employee_number__isnull=False))},
        context={"role": role, "roles": Role.choices},
        filtered=bool(role),
    )


@admin_required
def user_create_view(request: HttpRequest) -> HttpResponse:
    agency = request.user.agency

    def save(data):
        return user_create(
            agency=agency,
            username=data["username"],
            password=data["password"],
            **pick(data, USER_FIELDS),
        )

    return form_page(
        request,
        UserCreateForm(request.POST or None, agency=agency),
        save=save,
        message=lambda user: f"Brukeren {user.username} er opprettet.",
        list_url="bitnet_admin:user_list",
        template="bitnet/user_form.html",
        context={"is_new": True},
    )


@admin_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_for_agency(User.objects.select_related("office"), request, pk=pk)

    def save(data):
        updated = user_update(user=target, password=data.get("password"), **pick(data, USER_FIELDS))
        if data.get("password") and updated.pk == request.user.pk:
            update_session_auth_hash(request, updated)
        return updated

    form = UserUpdateForm(
        request.POST or None,
        instance=copy.copy(target),
        agency=request.user.agency,
        acting_user=request.user,
    )
    return form_page(
        request,
        form,
        save=save,
        message=lambda user: f"Endringene for {user.username} er lagret.",
        list_url="bitnet_admin:user_list",
        template="bitnet/user_form.html",
        context={"is_new": False, "target": target},
    )


# Byrå

OFFICE = Entity(
    name="office",
    form_class=OfficeForm,
    fields=(
        "subgroup",
        "name",
        "address",
        "postal_code",
        "city",
        "phone",
        "external_department_code",
    ),
    create=office_create,
    update=office_update,
    created=lambda office: f"Kontoret {office.name} er opprettet.",
    saved=lambda office: f"Endringene for {office.name} er lagret.",
    list_url="bitnet_admin:office_list",
    template="bitnet/office_form.html",
    edit_context=lambda office: {"user_count": office.users.count()},
)


def _office_context(form: OfficeForm) -> dict:
    return {
        "departments_by_subgroup": form.departments_by_subgroup(),
        "missing_help": DEPARTMENTS_MISSING_HELP,
    }


@admin_required
def office_list(request: HttpRequest) -> HttpResponse:
    offices = Office.objects.order_by("name")
    subgroups = (
        for_agency(Subgroup.objects.all(), request)
        .annotate(user_count=Count("offices__users", distinct=True))
        .prefetch_related(Prefetch("offices", queryset=offices.annotate(n_users=Count("users"))))
        .order_by("name")
    )
    page_obj = page_of(request, subgroups, 10)
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


@admin_required
def office_create_view(request: HttpRequest) -> HttpResponse:
    initial = {}
    wanted = request.GET.get("undergruppe", "")
    if wanted.isdigit():
        initial["subgroup"] = (
            for_agency(Subgroup.objects.filter(pk=int(wanted)), request)
            .values_list("pk", flat=True)
            .first()
        )
    return edit_page(request, OFFICE, form_kwargs={"initial": initial}, context=_office_context)


@admin_required
def office_edit(request: HttpRequest, pk: int) -> HttpResponse:
    office = get_for_agency(Office.objects.select_related("subgroup"), request, pk=pk)
    return edit_page(request, OFFICE, office, context=_office_context)


@admin_required
def subgroup_edit(request: HttpRequest, pk: int) -> HttpResponse:
    subgroup = get_for_agency(Subgroup.objects.all(), request, pk=pk)
    form = SubgroupSeriesForm(request.POST or None, instance=copy.copy(subgroup))

    def context(form: SubgroupSeriesForm) -> dict:
        invoices = subgroup.invoices.all()
        return {
            "subgroup": subgroup,
            "invoice_count": invoices.count(),
            "customer_count": subgroup.customers.count(),
            "highest_invoice": invoices.aggregate(m=Max("number"))["m"],
        }

    return form_page(
        request,
        form,
        save=lambda data: subgroup_update_number_series(
            subgroup=subgroup, **pick(data, form.Meta.fields)
        ),
        message=lambda _: f"Nummerseriene for {subgroup.name} er lagret.",
        list_url="bitnet_admin:office_list",
        template="bitnet/subgroup_form.html",
        context=context,
    )
