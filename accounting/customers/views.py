"""Økonomi > Kunder: list, new and edit.

Views stay thin: forms validate, selectors read, services write. Every row comes through
bitnet.access (for_agency / get_for_agency), so another agency's id is a 404.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from accounting.customers import selectors
from accounting.customers.forms import CustomerFilterForm, CustomerForm
from accounting.customers.services import customer_create, customer_update
from accounting.models import Customer, Invoice
from bitnet.access import AuthedRequest, finance_required, for_agency, get_for_agency
from bitnet.agencies.services import NumberSeriesExhausted
from bitnet.crud import add_errors, page_of
from bitnet.models import Subgroup

PAGE_SIZE = 25


@finance_required
def customer_list(request: AuthedRequest) -> HttpResponse:
    form = CustomerFilterForm(
        request.GET or None, subgroups=for_agency(Subgroup.objects.all(), request)
    )
    if form.is_bound:
        form.is_valid()
    customers = selectors.customer_list(
        customers=for_agency(Customer.objects.all(), request), **form.filters()
    )
    page = page_of(request, customers, PAGE_SIZE)
    return render(request, "accounting/customer_list.html", {"form": form, "page_obj": page})


def _safe_next(request: AuthedRequest) -> str:
    """Only the new-invoice page may be returned to, so ``next`` cannot redirect elsewhere."""
    value = request.POST.get("next") or request.GET.get("next") or ""
    return value if value == reverse("accounting:invoice_new") else ""


@finance_required
def customer_new(request: AuthedRequest) -> HttpResponse:
    subgroups = for_agency(Subgroup.objects.all(), request)
    next_url = _safe_next(request)
    form = CustomerForm(request.POST or None, subgroups=subgroups)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_create(
                subgroup=form.cleaned_data["subgroup"],
                number=form.cleaned_data["number"],
                **form.customer_fields,
            )
        except ValidationError as error:
            add_errors(form, error)
        except IntegrityError:
            form.add_error(
                "number",
                f"Kundenummer {form.cleaned_data['number']} er allerede i bruk.",
            )
        except NumberSeriesExhausted as error:
            form.add_error("number", str(error))
        else:
            messages.success(request, f"Kunde {customer.number} {customer.name} er opprettet.")
            if next_url:
                return redirect(f"{next_url}?{urlencode({'customer': customer.pk})}")
            return redirect("customers:customer_edit", pk=customer.pk)
    return render(
        request,
        "accounting/customer_form.html",
        {"form": form, "customer": None, "next": next_url},
    )


@finance_required
def customer_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    customer = get_for_agency(Customer.objects.select_related("subgroup"), request, pk=pk)
    subgroups = for_agency(Subgroup.objects.all(), request)
    form = CustomerForm(request.POST or None, subgroups=subgroups, instance=customer)
    if request.method == "POST" and form.is_valid():
        # Subgroup and number stay as they are (disabled fields): invoices and KIDs use them.
        try:
            saved = customer_update(customer=customer, **form.customer_fields)
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"Kunde {saved.number} {saved.name} er lagret.")
            return redirect("customers:customer_edit", pk=saved.pk)
    stats = selectors.customer_invoice_stats(customer=customer)
    recent = (
        for_agency(Invoice.objects.all(), request)
        .filter(customer=customer)
        .select_related("office")
        .order_by("-invoice_date", "-number")[:10]
    )
    return render(
        request,
        "accounting/customer_form.html",
        {"form": form, "customer": customer, "stats": stats, "recent": recent, "next": ""},
    )
