"""Administrasjon > Brukere (administrators only).

Views stay thin: forms validate, bitnet/users/services.py writes, bitnet/crud.py holds the list
and form skeleton. Every row is read through for_agency/get_for_agency, so another agency's id
is a 404.
"""

import copy
from typing import Any

from django.contrib.auth import update_session_auth_hash
from django.db.models import Count, Q
from django.http import HttpResponse

from bitnet.access import AuthedRequest, admin_required, for_agency, get_for_agency, request_agency
from bitnet.audit.selectors import audit_log
from bitnet.crud import form_page, pick, search_list
from bitnet.models import AuditArea, Role, User
from bitnet.users.forms import UserCreateForm, UserUpdateForm
from bitnet.users.services import user_create, user_update

PAGE_SIZE = 25

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
def user_list(request: AuthedRequest) -> HttpResponse:
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
def user_create_view(request: AuthedRequest) -> HttpResponse:
    agency = request_agency(request)

    def save(data: dict[str, Any]) -> User:
        return user_create(
            agency=agency,
            username=data["username"],
            password=data["password"],
            actor=request.user,
            **pick(data, USER_FIELDS),
        )

    return form_page(
        request,
        UserCreateForm(request.POST or None, agency=agency),
        save=save,
        message=lambda user: f"Brukeren {user.username} er opprettet.",
        list_url="users:user_list",
        template="bitnet/user_form.html",
        context={"is_new": True},
    )


@admin_required
def user_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    target = get_for_agency(User.objects.select_related("office"), request, pk=pk)

    def save(data: dict[str, Any]) -> User:
        updated = user_update(
            user=target,
            password=data.get("password"),
            actor=request.user,
            **pick(data, USER_FIELDS),
        )
        if data.get("password") and updated.pk == request.user.pk:
            update_session_auth_hash(request, updated)
        return updated

    form = UserUpdateForm(
        request.POST or None,
        instance=copy.copy(target),
        agency=request_agency(request),
        acting_user=request.user,
    )
    return form_page(
        request,
        form,
        save=save,
        message=lambda user: f"Endringene for {user.username} er lagret.",
        list_url="users:user_list",
        template="bitnet/user_form.html",
        context=lambda form: {
            "is_new": False,
            "target": target,
            "audit": audit_log(
                agency_id=request_agency(request).pk, areas=[AuditArea.USERS], object_id=target.pk
            ),
        },
    )
