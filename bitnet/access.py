"""Access rules: roles per section, and every query scoped to the user's agency.

Another agency's id is a 404, never a 403 (tests/bitnet/test_page_access.py): callers fetch
rows through ``get_for_agency`` / ``for_agency`` so a foreign id simply does not exist for them.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from bitnet.models import Agency, Role, User

M = TypeVar("M", bound=Model)


class AuthedRequest(HttpRequest):
    """The request of a view behind ``role_required`` (or ``login_required``): its ``user`` is
    one of ours, never the anonymous user. For signatures only; Django builds the request."""

    user: User


def request_agency_id(request: AuthedRequest) -> int:
    """The user's agency id; ``role_required`` lets no user without an agency in."""
    if request.user.agency_id is None:
        raise PermissionDenied
    return request.user.agency_id


def request_agency(request: AuthedRequest) -> Agency:
    """The user's agency; ``role_required`` lets no user without an agency in."""
    if request.user.agency is None:
        raise PermissionDenied
    return request.user.agency


def role_required(*roles: str) -> Callable:
    """Allow administrators and the given roles; others get 403. Users without an agency too."""

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: AuthedRequest, *args, **kwargs):
            user = request.user
            if user.agency_id is None or not user.has_role(*roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


admin_required = role_required()
finance_required = role_required(Role.FINANCE)
payroll_required = role_required(Role.PAYROLL)
any_role_required = role_required(Role.FINANCE, Role.PAYROLL, Role.USER)


def for_agency(queryset: QuerySet[M], request: AuthedRequest, field: str = "agency") -> QuerySet[M]:
    """The part of ``queryset`` that belongs to the user's agency."""
    if request.user.agency_id is None:
        return queryset.none()
    return queryset.filter(**{field: request.user.agency_id})


def get_for_agency(
    queryset: QuerySet[M] | type[M], request: AuthedRequest, field: str = "agency", **lookup: Any
) -> M:
    """One row of the user's agency, or 404 (also for ids of other agencies)."""
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    if request.user.agency_id is None:
        raise Http404
    return get_object_or_404(queryset, **{field: request.user.agency_id}, **lookup)
