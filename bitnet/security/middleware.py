"""Cache-Control: no-store on everything a signed-in user gets.

Every page behind the login shows personal data or keys (customers, invoices, driving logs,
the specification PDF, Datadeling), so no browser or proxy cache may keep a copy. Static files
(whitenoise) and the login page are left as they are.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # max-age=0, no-cache, no-store, must-revalidate, private (and Expires).
            add_never_cache_headers(response)
        return response
