"""Administrasjon > Byrå: offices and the subgroups' number series (administrators only).

Views stay thin: forms validate, bitnet/agencies/services.py writes, bitnet/crud.py holds the
list and form skeleton. Every row is read through for_agency/get_for_agency, so another agency's
id is a 404.
"""

import copy
from typing import Any

from django.db.models import Count, Max, Prefetch
from django.http import HttpResponse
from django.shortcuts import render

from bitnet import hooks
from bitnet.access import AuthedRequest, admin_required, for_agency, get_for_agency
from bitnet.agencies.forms import DEPARTMENTS_MISSING_HELP, OfficeForm, SubgroupSeriesForm
from bitnet.agencies.services import office_create, office_update, subgroup_update
from bitnet.audit.selectors import audit_log
from bitnet.crud import Entity, edit_page, form_page, page_of, pick
from bitnet.models import AuditArea, Office, Subgroup

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
    list_url="agencies:office_list",
    template="bitnet/office_form.html",
    edit_context=lambda office: {
        "user_count": office.users.count(),
        "audit": audit_log(
            agency_id=office.agency_id, areas=[AuditArea.OFFICES], object_id=office.pk
        ),
    },
    audited=True,
)


def _office_context(form: OfficeForm) -> dict[str, Any]:
    return {
        "departments_by_subgroup": form.departments_by_subgroup(),
        "missing_help": DEPARTMENTS_MISSING_HELP,
    }


@admin_required
def office_list(request: AuthedRequest) -> HttpResponse:
    offices = Office.objects.order_by("name")
    subgroups = (
        for_agency(Subgroup.objects.all(), request)
        .annotate(user_count=Count("offices__users", distinct=True))
        .prefetch_related(Prefetch("offices", queryset=offices.annotate(n_users=Count("users"))))
        .order_by("name")
    )
    page_obj = page_of(request, subgroups, 10)
    choices = hooks.department_choices_by_subgroup(subgroup.pk for subgroup in page_obj)
    for subgroup in page_obj:
        labels = dict(choices.get(subgroup.pk, []))
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
def office_create_view(request: AuthedRequest) -> HttpResponse:
    initial: dict[str, Any] = {}
    wanted = request.GET.get("undergruppe", "")
    if wanted.isdigit():
        initial["subgroup"] = (
            for_agency(Subgroup.objects.filter(pk=int(wanted)), request)
            .values_list("pk", flat=True)
            .first()
        )
    return edit_page(request, OFFICE, form_kwargs={"initial": initial}, context=_office_context)


@admin_required
def office_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    office = get_for_agency(Office.objects.select_related("subgroup"), request, pk=pk)
    return edit_page(request, OFFICE, office, context=_office_context)


@admin_required
def subgroup_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    subgroup = get_for_agency(Subgroup.objects.all(), request, pk=pk)
    form = SubgroupSeriesForm(request.POST or None, instance=copy.copy(subgroup))

    def context(form: SubgroupSeriesForm) -> dict[str, Any]:
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
        save=lambda data: subgroup_update(subgroup=subgroup, **pick(data, form.Meta.fields)),
        message=lambda _: f"Opplysningene og nummerseriene for {subgroup.name} er lagret.",
        list_url="agencies:office_list",
        template="bitnet/subgroup_form.html",
        context=context,
    )
