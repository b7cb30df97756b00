"""Which PowerOffice Go an address belongs to: production, PowerOffice's demo environment, or
something else (the local sandbox, or any other server standing in for PowerOffice).

PowerOffice serves both environments from one host: production under ``/v2`` and
``/OAuth/Token``, the demo environment under ``/Demo/v2`` and ``/Demo/OAuth/Token``
(shared/poweroffice/NOTES.md, "Environments and authentication"). Anything else is not
PowerOffice Go, whatever it answers.
"""

from __future__ import annotations

import enum
from urllib.parse import urlsplit

__all__ = ["POWEROFFICE_HOST", "Environment", "environment_of"]

POWEROFFICE_HOST = "goapi.poweroffice.net"


class Environment(enum.Enum):
    PRODUCTION = "production"
    DEMO = "demo"
    SANDBOX = "sandbox"


def environment_of(url: str) -> Environment:
    """The environment of an API or token URL, by its host and path (the scheme is checked on
    its own: plain HTTP is refused in production wherever it points)."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() != POWEROFFICE_HOST:
        return Environment.SANDBOX
    first = parts.path.lstrip("/").split("/", 1)[0].lower()
    return Environment.DEMO if first == "demo" else Environment.PRODUCTION
