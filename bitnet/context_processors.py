"""Template context for the shared layout's menu."""

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, bool]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_is_admin": user.has_role(),
        "nav_is_finance": user.has_role("okonomi"),
        "nav_is_payroll": user.has_role("lonn"),
    }
