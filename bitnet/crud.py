"""Shared pieces of the Administrasjon list and form pages.

A list page reads ``q`` (search) and ``status`` (aktive/inaktive) from the query string and
pages the rows; a form page validates, lets a service write, and puts a service's
``ValidationError`` beside the fields it names. Callers pass querysets already scoped with
for_agency/get_for_agency, so another agency's id stays a 404.
"""

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from bitnet.access import AuthedRequest, for_agency, request_agency

F = TypeVar("F", bound=BaseForm)


def page_of(request: HttpRequest, queryset: QuerySet[Any], size: int) -> Page[Any]:
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def add_errors(form: BaseForm, exc: ValidationError) -> None:
    """Put a service's ValidationError beside the fields it names (or above the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def pick(data: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The cleaned values a service takes, by name."""
    return {name: data[name] for name in names}


def status_filter(queryset: QuerySet, status: str) -> QuerySet:
    if status == "aktive":
        return queryset.filter(is_active=True)
    if status == "inaktive":
        return queryset.filter(is_active=False)
    return queryset


def search_list(
    request: AuthedRequest,
    queryset: QuerySet,
    *,
    search: Callable[[str], Q],
    order_by: tuple[str, ...],
    template: str,
    size: int,
    counts: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    filtered: bool = False,
) -> HttpResponse:
    """A list with search (``q``), status filter, counts over the whole agency and paging."""
    q = (request.GET.get("q") or "").strip()
    status = request.GET.get("status") or ""
    if q:
        queryset = queryset.filter(search(q))
    queryset = status_filter(queryset, status)
    totals = for_agency(queryset.model.objects.all(), request).aggregate(
        total=Count("id"), active=Count("id", filter=Q(is_active=True)), **(counts or {})
    )
    return render(
        request,
        template,
        {
            "page_obj": page_of(request, queryset.order_by(*order_by), size),
            "q": q,
            "status": status,
            "counts": totals,
            "filtered": bool(q or status) or filtered,
            **(context or {}),
        },
    )


def form_page(
    request: HttpRequest,
    form: F,
    *,
    save: Callable[[dict[str, Any]], Any],
    message: Callable[[Any], str],
    list_url: str,
    template: str,
    context: Callable[[F], dict[str, Any]] | dict[str, Any] | None = None,
) -> HttpResponse:
    """Validate ``form`` on POST, write with ``save(cleaned_data)`` and go back to the list with
    ``message(row)``; otherwise (GET, or bad input) render ``template`` with the form and
    ``context`` (a dict, or a function of the form called only when the page is rendered)."""
    if request.method == "POST" and form.is_valid():
        try:
            row = save(form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, message(row))
            return redirect(list_url)
    extra = context(form) if callable(context) else (context or {})
    return render(request, template, {"form": form, "list_url": reverse(list_url), **extra})


@dataclass(frozen=True)
class Entity(Generic[F]):
    """One kind of row created and edited on an Administrasjon form page."""

    name: str  # the update service's keyword for the row, and its name in the template
    form_class: Callable[..., F]  # takes agency= (and instance= when editing)
    fields: tuple[str, ...]  # the cleaned values both services take, by keyword
    create: Callable[..., Any]  # create(agency=..., **fields)
    update: Callable[..., Any]  # update(<name>=row, **fields)
    created: Callable[[Any], str]  # message after create
    saved: Callable[[Any], str]  # message after update
    list_url: str  # URL name of the list page
    template: str
    edit_context: Callable[[Any], dict[str, Any]] | None = None  # more context when editing
    audited: bool = False  # the services take actor= (the Endringslogg's "who")


def edit_page(
    request: AuthedRequest,
    entity: Entity[F],
    row: Any = None,
    *,
    form_kwargs: dict[str, Any] | None = None,
    context: Callable[[F], dict[str, Any]] | None = None,
) -> HttpResponse:
    """The create page (``row`` None) or the edit page of ``row`` (read with get_for_agency)."""
    agency = request_agency(request) if row is None else row.agency
    who = {"actor": request.user} if entity.audited else {}
    form = entity.form_class(
        request.POST or None, instance=copy.copy(row), agency=agency, **(form_kwargs or {})
    )
    if row is None:

        def save(data: dict[str, Any]) -> Any:
            return entity.create(agency=agency, **who, **pick(data, entity.fields))

    else:

        def save(data: dict[str, Any]) -> Any:
            return entity.update(**{entity.name: row}, **who, **pick(data, entity.fields))

    def page_context(form: F) -> dict[str, Any]:
        extra = {"is_new": row is None}
        if row is not None:
            extra[entity.name] = row
            if entity.edit_context:
                extra.update(entity.edit_context(row))
        if context:
            extra.update(context(form))
        return extra

    return form_page(
        request,
        form,
        save=save,
        message=entity.created if row is None else entity.saved,
        list_url=entity.list_url,
        template=entity.template,
        context=page_context,
    )
