"""System checks that refuse an unsafe production configuration, and the start-up refusal.

The checks run with every management command and with ``check --deploy``; they are registered
under the tag ``production`` (here and in poweroffice/checks.py), which the servers run before
they serve anything (``refuse_unsafe_start``: bitnet/wsgi.py for gunicorn, bitnet/celery.py for
the worker and beat). Each message names the variable to fix, never its value.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from bitnet.security import development

PRODUCTION = "production"


@checks.register(PRODUCTION, checks.Tags.security)
def secret_key_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.DEBUG:
        return []
    if settings.SECRET_KEY == development.SECRET_KEY:
        return [
            checks.Error(
                "DJANGO_SECRET_KEY is the development key from the repository.",
                hint="Set a long random secret of your own in .env.",
                id="bitnet.E001",
            )
        ]
    return []


def refuse_unsafe_start() -> None:
    """Stop a server from starting when a production check fails (errors, not warnings)."""
    errors = [
        message
        for message in checks.run_checks(tags=[PRODUCTION])
        if message.level >= checks.ERROR and not message.is_silenced()
    ]
    if errors:
        raise ImproperlyConfigured(
            "Bitnet will not start:\n"
            + "\n".join(f"  {m.id}: {m.msg}" + (f" {m.hint}" if m.hint else "") for m in errors)
        )
