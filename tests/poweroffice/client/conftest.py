"""PowerOfficeClient against the sandbox, over loopback HTTP.

Every test talks to a real sandbox server (the ``sandbox`` fixture) and asserts what PowerOffice
received (the sandbox's request log) and what the client returned. The sandbox's own rate limit is
switched off where a test is not about rate limiting, and such clients get a fast private limiter,
so that the suite does not spend its time being polite.
"""

from __future__ import annotations

import uuid

import pytest

from poweroffice.client.client import PowerOfficeClient
from tests.poweroffice.client.support import CountingLimiter, new_client


@pytest.fixture
def po_settings(sandbox, sandbox_settings):
    """Settings pointing at the sandbox, and a private in-memory cache for tokens."""
    sandbox_settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"client-tests-{uuid.uuid4()}",
        }
    }
    return sandbox_settings


@pytest.fixture
def fast_sandbox(sandbox, po_settings):
    sandbox.config(rate_limit=0)
    return sandbox


@pytest.fixture
def client_info(fast_sandbox):
    return new_client(fast_sandbox)


@pytest.fixture
def make_client(po_settings):
    made = []

    def make(client_key: str, **options) -> PowerOfficeClient:
        options.setdefault("rate_limiter", CountingLimiter())
        options.setdefault("backoff_base", 0.01)
        options.setdefault("backoff_max", 0.05)
        options.setdefault("timeout", 5)
        po = PowerOfficeClient(client_key, **options)
        made.append(po)
        return po

    yield make
    for po in made:
        po.close()


@pytest.fixture
def po(client_info, make_client):
    return make_client(client_info["client_key"])
