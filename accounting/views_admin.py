"""Administrasjon > Kontoplan, Varer and MVA-koder (administrators only).

Views stay thin: forms validate, accounting/services_admin.py writes. Every row is read through
for_agency/get_for_agency, so another agency's id is a 404.
"""

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounting.forms_admin import AccountForm, ArticleForm, VatCodeForm
from accounting.models import Account, Article, VatCode
from accounting.services_admin import (
    account_create,
    account_update,
    article_create,
    article_update,
    vat_code_create,
    vat_code_update,
)
from bitnet.access import admin_required, for_agency, get_for_agency

PAGE_SIZE = 50


def _page(request: HttpRequest, queryset, size: int = PAGE_SIZE):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _status_filter(queryset, status: str):
    if status == "aktive":
        return queryset.filter(is_active=True)
    if status == "inaktive":
        return queryset.filter(is_active=False)
    return queryset


# Kontoplan


@admin_required
def account_list(request: HttpRequest) -> HttpResponse:
    accounts = for_agency(Account.objects.select_related("vat_code"), request)
    q = (request.GET.get("q") or "").strip()
    status = request.GET.get("status") or ""
    if q:
        match = Q(name__icontains=q)
        if q.isdigit():
            match |= Q(number__startswith=q)
        accounts = accounts.filter(match)
    accounts = _status_filter(accounts, status)
    counts = for_agency(Account.objects.all(), request).aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(is_active=True)),
        without_vat=Count("id", filter=Q(vat_code__isnull=True)),
    )
    return render(
        request,
        "accounting/admin/account_list.html",
        {
            "page_obj": _page(request, accounts.order_by("number")),
            "q": q,
            "status": status,
            "counts": counts,
            "filtered": bool(q or status),
        },
    )


@admin_required
def account_create_view(request: HttpRequest) -> HttpResponse:
    agency = request.user.agency
    form = AccountForm(request.POST or None, agency=agency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = account_create(
                agency=agency,
                number=data["number"],
                name=data["name"],
                vat_code=data["vat_code"],
                is_active=data["is_active"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Konto {account.number} {account.name} er opprettet.")
            return redirect("accounting_admin:account_list")
    return render(request, "accounting/admin/account_form.html", {"form": form, "is_new": True})


@admin_required
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_for_agency(Account.objects.select_related("vat_code"), request, pk=pk)
    form = AccountForm(request.POST or None, instance=copy.copy(account), agency=account.agency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            updated = account_update(
                account=account,
                number=data["number"],
                name=data["name"],
                vat_code=data["vat_code"],
                is_active=data["is_active"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Konto {updated.number} {updated.name} er lagret.")
            return redirect("accounting_admin:account_list")
    return render(
        request,
        "accounting/admin/account_form.html",
        {
            "form": form,
            "is_new": False,
            "account": account,
            "article_count": account.articles.count(),
        },
    )


# Varer


@admin_required
def article_list(request: HttpRequest) -> HttpResponse:
    articles = for_agency(Article.objects.select_related("account", "vat_code"), request)
    q = (request.GET.get("q") or "").strip()
    status = request.GET.get("status") or ""
    if q:
        match = Q(name__icontains=q)
        code = q.upper().removeprefix("B-")
        if code.isdigit():
            match |= Q(pk=int(code))
        articles = articles.filter(match)
    articles = _status_filter(articles, status)
    counts = for_agency(Article.objects.all(), request).aggregate(
        total=Count("id"), active=Count("id", filter=Q(is_active=True))
    )
    return render(
        request,
        "accounting/admin/article_list.html",
        {
            "page_obj": _page(request, articles.order_by("name", "pk")),
            "q": q,
            "status": status,
            "counts": counts,
            "filtered": bool(q or status),
        },
    )


@admin_required
def article_create_view(request: HttpRequest) -> HttpResponse:
    agency = request.user.agency
    form = ArticleForm(request.POST or None, agency=agency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            article = article_create(
                agency=agency,
                name=data["name"],
                unit=data["unit"],
                price=data["price"],
                account=data["account"],
                vat_code=data["vat_code"],
                is_active=data["is_active"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, f"Varen {article.name} er opprettet (produktkode {article.product_code})."
            )
            return redirect("accounting_admin:article_list")
    return render(request, "accounting/admin/article_form.html", {"form": form, "is_new": True})


@admin_required
def article_edit(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_for_agency(Article.objects.select_related("account", "vat_code"), request, pk=pk)
    form = ArticleForm(request.POST or None, instance=copy.copy(article), agency=article.agency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            updated = article_update(
                article=article,
                name=data["name"],
                unit=data["unit"],
                price=data["price"],
                account=data["account"],
                vat_code=data["vat_code"],
                is_active=data["is_active"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Varen {updated.name} er lagret.")
            return redirect("accounting_admin:article_list")
    return render(
        request,
        "accounting/admin/article_form.html",
        {"form": form, "is_new": False, "article": article},
    )


# MVA-koder


@admin_required
def vat_code_list(request: HttpRequest) -> HttpResponse:
    vat_codes = for_agency(VatCode.objects.all(), request).annotate(
        n_accounts=Count("accounts", distinct=True), n_articles=Count("articles", distinct=True)
    )
    return render(
        request,
        "accounting/admin/vatcode_list.html",
        {"page_obj": _page(request, vat_codes.order_by("code"))},
    )


@admin_required
def vat_code_create_view(request: HttpRequest) -> HttpResponse:
    agency = request.user.agency
    form = VatCodeForm(request.POST or None, agency=agency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            vat_code = vat_code_create(
                agency=agency,
                code=data["code"],
                rate=data["rate"],
                name=data["name"],
                is_active=data["is_active"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"MVA-kode {vat_code.code} er opprettet.")
            return redirect("accounting_admin:vat_code_list")
    return render(request, "accounting/admin/vatcode_form.html", {"form": form, "is_new": True})


@admin_required
def vat_code_edit(request: HttpRequest, pk: int) -> HttpResponse:
    vat_code = get_for_agency(VatCode.objects.all(), request, pk=pk)
    form = VatCodeForm(request.POST or None, instance=copy.copy(vat_code), agency=vat_code.agency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            updated = vat_code_update(
                vat_code=vat_code,
                code=data["code"],
                rate=data["rate"],
                name=data["name"],
                is_active=data["is_active"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"MVA-kode {updated.code} er lagret.")
            return redirect("accounting_admin:vat_code_list")
    return render(
        request,
        "accounting/admin/vatcode_form.html",
        {
            "form": form,
            "is_new": False,
            "vat_code": vat_code,
            "usage": {
                "accounts": vat_code.accounts.count(),
                "articles": vat_code.articles.count(),
            },
        },
    )
