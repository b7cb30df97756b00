"""System checks of the PowerOffice settings (tag ``production``; bitnet/security/checks.py
says how they stop a server from starting).

In production (DEBUG off) the addresses must be PowerOffice Go's, over HTTPS: a client key goes
out as Basic auth on every token request, and a sandbox or any other server would receive it.
A demo installation that talks to the local sandbox on purpose says so with
POWEROFFICE_ALLOW_SANDBOX, and is then only warned (and Datadeling shows it to everyone).
The Fernet keys are checked in development too: a malformed key would otherwise be found only
at the first key save.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from bitnet.security import development
from bitnet.security.checks import PRODUCTION
from poweroffice.client.environment import Environment, environment_of
from poweroffice.crypto import encryption_key_problems, encryption_keys

_URL_SETTINGS = ("POWEROFFICE_API_URL", "POWEROFFICE_TOKEN_URL")


@checks.register(PRODUCTION, checks.Tags.security)
def encryption_key_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = [
        checks.Error(
            problem,
            hint='Generate one with python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"',
            id="poweroffice.E001",
        )
        for problem in encryption_key_problems(settings.FIELD_ENCRYPTION_KEY)
    ]
    keys = encryption_keys(settings.FIELD_ENCRYPTION_KEY)
    if not settings.DEBUG and development.FIELD_ENCRYPTION_KEY in keys:
        messages.append(
            checks.Error(
                "FIELD_ENCRYPTION_KEY holds the development key from the repository.",
                hint="Put a new key first, run python manage.py rotate_client_keys, then drop "
                "the development key.",
                id="poweroffice.E002",
            )
        )
    return messages


def _url_messages(name: str, url: str, *, allow_sandbox: bool) -> list[checks.CheckMessage]:
    parts = urlsplit(url)
    environment = environment_of(url)
    messages: list[checks.CheckMessage] = []
    if parts.scheme != "https":
        messages.append(
            (checks.Warning if allow_sandbox else checks.Error)(
                f"{name} uses plain HTTP: client keys would go out unencrypted.",
                hint="Use https://goapi.poweroffice.net (the default in production).",
                id="poweroffice.W003" if allow_sandbox else "poweroffice.E003",
            )
        )
    if environment is Environment.SANDBOX:
        messages.append(
            (checks.Warning if allow_sandbox else checks.Error)(
                f"{name} points at {parts.hostname or 'no host'}, not at PowerOffice Go "
                "(a sandbox or another server would receive the client keys).",
                hint="Leave it unset for PowerOffice Go, or set POWEROFFICE_ALLOW_SANDBOX=true "
                "for a demo installation that talks to the local sandbox.",
                id="poweroffice.W004" if allow_sandbox else "poweroffice.E004",
            )
        )
    return messages


@checks.register(PRODUCTION, checks.Tags.security)
def address_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.DEBUG:
        return []
    allow_sandbox = bool(settings.POWEROFFICE_ALLOW_SANDBOX)
    messages: list[checks.CheckMessage] = []
    for name in _URL_SETTINGS:
        messages += _url_messages(name, str(getattr(settings, name)), allow_sandbox=allow_sandbox)
    api = environment_of(settings.POWEROFFICE_API_URL)
    token = environment_of(settings.POWEROFFICE_TOKEN_URL)
    if api is not token:
        messages.append(
            checks.Error(
                f"POWEROFFICE_TOKEN_URL is {token.value}, POWEROFFICE_API_URL is {api.value}: "
                "tokens of one environment do not work in the other.",
                id="poweroffice.E005",
            )
        )
    elif api is Environment.DEMO:
        messages.append(
            checks.Warning(
                "POWEROFFICE_API_URL is PowerOffice's demo environment (/Demo/v2): nothing "
                "exported reaches real accounts.",
                id="poweroffice.W001",
            )
        )
    return messages + _key_messages(allow_sandbox=allow_sandbox)


def _key_messages(*, allow_sandbox: bool) -> list[checks.CheckMessage]:
    """Production holds PowerOffice's keys; a demo on the sandbox holds only the sandbox's."""
    messages: list[checks.CheckMessage] = []
    for name, value in (
        ("POWEROFFICE_APPLICATION_KEY", development.APPLICATION_KEY),
        ("POWEROFFICE_SUBSCRIPTION_KEY", development.SUBSCRIPTION_KEY),
    ):
        is_development = getattr(settings, name) == value
        if not allow_sandbox and is_development:
            messages.append(
                checks.Error(
                    f"{name} is the development key from the repository.",
                    hint="Use the key PowerOffice gave Bitnet.",
                    id="poweroffice.E006",
                )
            )
        elif allow_sandbox and not is_development:
            messages.append(
                checks.Error(
                    f"{name} is set while POWEROFFICE_ALLOW_SANDBOX is on: the sandbox shows "
                    "every key it is given, so a demo installation never holds a real key.",
                    hint=f"Leave {name} unset (the sandbox's development key is used).",
                    id="poweroffice.E007",
                )
            )
    return messages
