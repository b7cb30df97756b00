"""Økonomi > Fakturaer: list, detail, new invoice and credit note.

Views stay thin: forms validate, selectors read, services write. Every row comes through
bitnet.access (for_agency / get_for_agency), so another agency's id is a 404.
"""

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounting.invoices import selectors
from accounting.invoices.downloads import INVOICE_COLUMNS
from accounting.invoices.forms import (
    CreditNoteForm,
    InvoiceFilterForm,
    InvoiceForm,
    InvoiceLineFormSet,
)
from accounting.invoices.services import LineInput, credit_note_create, invoice_create
from accounting.models import Article, Customer, Invoice
from accounting.money import line_amounts, quantity_shown, totals_per_vat_code
from bitnet.access import AuthedRequest, finance_required, for_agency, get_for_agency
from bitnet.agencies.services import NumberSeriesExhausted
from bitnet.crud import add_errors
from bitnet.listing import sorting_from
from bitnet.models import Office, Subgroup
from bitnet.spreadsheet import FORMATS, download_response

PAGE_SIZE = 25
# The sortable columns of the list: key in ?sort= -> fields (bitnet/listing.py).
SORT_COLUMNS = {
    "nummer": ("number",),
    "type": ("kind", "number"),
    "dato": ("invoice_date", "number"),
    "forfall": ("due_date", "number"),
    "kunde": ("customer__name", "number"),
    "byra": ("office__name", "number"),
    "belop": ("gross_total", "number"),
    "eksport": ("export_status", "number"),
    "betaling": ("payment_status", "number"),
    "saldo": ("balance", "number"),
}


def _paginate(request: AuthedRequest, queryset: QuerySet[Invoice], count: int) -> Page:
    paginator = Paginator(queryset, PAGE_SIZE)
    paginator.count = count  # already counted with the sums; saves a query
    return paginator.get_page(request.GET.get("page"))


@finance_required
def invoice_list(request: AuthedRequest) -> HttpResponseBase:
    form = InvoiceFilterForm(
        request.GET or None,
        subgroups=for_agency(Subgroup.objects.all(), request),
        offices=for_agency(Office.objects.all(), request),
    )
    if form.is_bound:
        form.is_valid()  # invalid fields simply do not filter; their errors are shown
    sorting = sorting_from(request, SORT_COLUMNS, default="-dato")
    invoices = selectors.invoice_list(
        invoices=for_agency(Invoice.objects.all(), request),
        **form.filters(),
        order_by=sorting.order_by,
    )
    fmt = request.GET.get("last_ned", "")
    if fmt in FORMATS:
        return download_response(
            fmt,
            filename=f"fakturaer-{timezone.localdate():%Y-%m-%d}",
            sheet="Fakturaer",
            columns=INVOICE_COLUMNS,
            rows=invoices.iterator(chunk_size=2000),
        )
    totals = selectors.invoice_list_totals(invoices=invoices)
    page = _paginate(request, invoices, count=totals["count"])
    filters = form.filters()
    filtered = form.is_bound and any(value not in (None, "") for value in filters.values())
    return render(
        request,
        "accounting/invoice_list.html",
        {
            "form": form,
            "page_obj": page,
            "totals": totals,
            "filtered": filtered,
            "sorting": sorting,
            "today": timezone.localdate(),
        },
    )


@finance_required
def invoice_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    invoice = get_for_agency(
        Invoice.objects.select_related(
            "customer", "office", "subgroup", "created_by", "credited_invoice"
        ),
        request,
        pk=pk,
    )
    data = selectors.invoice_detail_data(invoice=invoice)
    return render(request, "accounting/invoice_detail.html", {"invoice": invoice, "data": data})


def _new_invoice_initial(request: AuthedRequest, offices, customers) -> dict:
    initial: dict = {"invoice_date": timezone.localdate()}
    office = None
    if request.user.office_id:
        office = offices.filter(pk=request.user.office_id).first()
    customer_id = request.GET.get("customer", "")
    if customer_id.isdigit():
        customer = customers.filter(pk=int(customer_id)).first()
        if customer is not None:
            initial["customer"] = customer.pk
            if office is None or office.subgroup_id != customer.subgroup_id:
                office = offices.filter(subgroup_id=customer.subgroup_id).first()
    office = office or offices.first()
    if office is not None:
        initial["office"] = office.pk
        initial["due_date"] = initial["invoice_date"] + dt.timedelta(
            days=office.subgroup.payment_terms_days
        )
    return initial


@finance_required
def invoice_new(request: AuthedRequest) -> HttpResponse:
    offices = for_agency(Office.objects.select_related("subgroup"), request)
    customers = for_agency(Customer.objects.all(), request)
    articles = for_agency(
        Article.objects.filter(is_active=True).select_related("vat_code"), request
    )
    if request.method == "POST":
        form = InvoiceForm(request.POST, offices=offices, customers=customers)
        formset = InvoiceLineFormSet(request.POST, prefix="lines", articles=articles)
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            lines = [
                LineInput(
                    article=line["article"],
                    quantity=line["quantity"],
                    unit_price=line.get("unit_price"),
                    description=(line.get("description") or "").strip(),
                )
                for line in formset.line_data()
            ]
            try:
                invoice = invoice_create(
                    created_by=request.user,
                    office=data["office"],
                    customer=data["customer"],
                    lines=lines,
                    invoice_date=data["invoice_date"],
                    due_date=data["due_date"],
                    our_reference=data["our_reference"],
                    their_reference=data["their_reference"],
                    deceased_name=data["deceased_name"],
                    note=data["note"],
                )
            except ValidationError as error:
                add_errors(form, error)
            except NumberSeriesExhausted as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request, f"Faktura {invoice.number} er opprettet for {invoice.customer.name}."
                )
                return redirect("accounting:invoice_detail", pk=invoice.pk)
    else:
        form = InvoiceForm(
            initial=_new_invoice_initial(request, offices, customers),
            offices=offices,
            customers=customers,
        )
        formset = InvoiceLineFormSet(prefix="lines", articles=articles)
    choices = selectors.invoice_form_choices(
        offices=offices, customers=customers, articles=articles
    )
    return render(
        request,
        "accounting/invoice_form.html",
        {
            "form": form,
            "formset": formset,
            "choices": choices,
            "has_articles": bool(choices["articles"]),
            "new_customer_url": reverse("customers:customer_new")
            + "?"
            + urlencode({"next": reverse("accounting:invoice_new")}),
        },
    )


@finance_required
def invoice_credit(request: AuthedRequest, pk: int) -> HttpResponse:
    invoice = get_for_agency(
        Invoice.objects.select_related("customer", "office", "subgroup"), request, pk=pk
    )
    if invoice.is_credit_note:
        messages.error(request, "En kreditnota kan ikke krediteres.")
        return redirect("accounting:invoice_detail", pk=invoice.pk)
    existing = invoice.credit_notes.order_by("number").first()
    form = CreditNoteForm(request.POST or None, initial={"invoice_date": timezone.localdate()})
    if request.method == "POST" and existing is None and form.is_valid():
        try:
            credit = credit_note_create(
                created_by=request.user,
                invoice=invoice,
                invoice_date=form.cleaned_data["invoice_date"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            add_errors(form, error)
            existing = invoice.credit_notes.order_by("number").first()
        except NumberSeriesExhausted as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, f"Kreditnota {credit.number} er opprettet for faktura {invoice.number}."
            )
            return redirect("accounting:invoice_detail", pk=credit.pk)
    lines = list(invoice.lines.select_related("vat_code").order_by("position"))
    preview = []
    for line in lines:
        amounts = line_amounts(
            quantity=-line.quantity, unit_price=line.unit_price, vat_rate=line.vat_rate
        )
        preview.append((line, quantity_shown(-line.quantity), amounts))
    vat_totals = totals_per_vat_code(
        (line.vat_code.code, line.vat_rate, amounts) for line, _, amounts in preview
    )
    totals = {
        "net": sum((a.net for _, _, a in preview), Decimal("0.00")),
        "vat": sum((a.vat for _, _, a in preview), Decimal("0.00")),
    }
    totals["gross"] = totals["net"] + totals["vat"]
    return render(
        request,
        "accounting/credit_note_confirm.html",
        {
            "invoice": invoice,
            "existing": existing,
            "form": form,
            "preview": preview,
            "vat_totals": vat_totals,
            "totals": totals,
        },
    )
