"""Administrasjon > Kontoplan, Varer and MVA-koder (administrators only).

Views stay thin: forms validate, accounting/chart/services.py writes, bitnet/crud.py holds the
list and form skeleton. Every row is read through for_agency/get_for_agency, so another
agency's id is a 404.
"""

from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render

from accounting.chart.forms import AccountForm, ArticleForm, VatCodeForm
from accounting.chart.services import (
    account_create,
    account_update,
    article_create,
    article_update,
    vat_code_create,
    vat_code_update,
)
from accounting.models import VAT_CODE_ORDER, Account, Article, VatCode
from bitnet.access import AuthedRequest, admin_required, for_agency, get_for_agency
from bitnet.crud import Entity, edit_page, page_of, search_list

PAGE_SIZE = 50


# Kontoplan

ACCOUNT = Entity(
    name="account",
    form_class=AccountForm,
    fields=("number", "name", "vat_code", "is_active"),
    create=account_create,
    update=account_update,
    created=lambda a: f"Konto {a.number} {a.name} er opprettet.",
    saved=lambda a: f"Konto {a.number} {a.name} er lagret.",
    list_url="accounting_admin:account_list",
    template="accounting/admin/account_form.html",
    edit_context=lambda a: {"article_count": a.articles.count()},
)


def _account_search(q: str) -> Q:
    match = Q(name__icontains=q)
    if q.isdigit():
        match |= Q(number__startswith=q)
    return match


@admin_required
def account_list(request: AuthedRequest) -> HttpResponse:
    return search_list(
        request,
        for_agency(Account.objects.select_related("vat_code"), request),
        search=_account_search,
        order_by=("number",),
        template="accounting/admin/account_list.html",
        size=PAGE_SIZE,
        counts={"without_vat": Count("id", filter=Q(vat_code__isnull=True))},
    )


@admin_required
def account_create_view(request: AuthedRequest) -> HttpResponse:
    return edit_page(request, ACCOUNT)


@admin_required
def account_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    account = get_for_agency(Account.objects.select_related("vat_code"), request, pk=pk)
    return edit_page(request, ACCOUNT, account)


# Varer

ARTICLE = Entity(
    name="article",
    form_class=ArticleForm,
    fields=("name", "unit", "price", "account", "vat_code", "is_active"),
    create=article_create,
    update=article_update,
    created=lambda a: f"Varen {a.name} er opprettet (produktkode {a.product_code}).",
    saved=lambda a: f"Varen {a.name} er lagret.",
    list_url="accounting_admin:article_list",
    template="accounting/admin/article_form.html",
)


def _article_search(q: str) -> Q:
    match = Q(name__icontains=q)
    code = q.upper().removeprefix("B-")
    if code.isdigit():
        match |= Q(pk=int(code))
    return match


@admin_required
def article_list(request: AuthedRequest) -> HttpResponse:
    return search_list(
        request,
        for_agency(Article.objects.select_related("account", "vat_code"), request),
        search=_article_search,
        order_by=("name", "pk"),
        template="accounting/admin/article_list.html",
        size=PAGE_SIZE,
    )


@admin_required
def article_create_view(request: AuthedRequest) -> HttpResponse:
    return edit_page(request, ARTICLE)


@admin_required
def article_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    article = get_for_agency(Article.objects.select_related("account", "vat_code"), request, pk=pk)
    return edit_page(request, ARTICLE, article)


# MVA-koder

VAT_CODE = Entity(
    name="vat_code",
    form_class=VatCodeForm,
    fields=("code", "rate", "name", "is_active"),
    create=vat_code_create,
    update=vat_code_update,
    created=lambda v: f"MVA-kode {v.code} er opprettet.",
    saved=lambda v: f"MVA-kode {v.code} er lagret.",
    list_url="accounting_admin:vat_code_list",
    template="accounting/admin/vatcode_form.html",
    edit_context=lambda v: {
        "usage": {"accounts": v.accounts.count(), "articles": v.articles.count()}
    },
)


@admin_required
def vat_code_list(request: AuthedRequest) -> HttpResponse:
    vat_codes = for_agency(VatCode.objects.all(), request).annotate(
        n_accounts=Count("accounts", distinct=True), n_articles=Count("articles", distinct=True)
    )
    return render(
        request,
        "accounting/admin/vatcode_list.html",
        {"page_obj": page_of(request, vat_codes.order_by(*VAT_CODE_ORDER), PAGE_SIZE)},
    )


@admin_required
def vat_code_create_view(request: AuthedRequest) -> HttpResponse:
    return edit_page(request, VAT_CODE)


@admin_required
def vat_code_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    vat_code = get_for_agency(VatCode.objects.all(), request, pk=pk)
    return edit_page(request, VAT_CODE, vat_code)
