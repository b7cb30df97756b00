"""Access tokens in the shared cache are encrypted: the file cache's pickles and the Redis
values hold no token and no key, and an entry only opens for the client key it belongs to."""

import os
import pickle
import uuid
import zlib
from pathlib import Path

import pytest
import redis
from django.core.cache import cache

from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.tokens import TokenCache

REDIS_URL = os.environ.get("REDIS_URL", "")


def _issued_tokens(sandbox) -> list[str]:
    with sandbox.state.lock:
        return list(sandbox.state.tokens)


def _call(sandbox, key: str) -> str:
    with PowerOfficeClient(key) as po:
        po.list_departments()
    (token,) = _issued_tokens(sandbox)
    return token


def test_file_cache_holds_no_token(sandbox, sandbox_settings, tmp_path):
    sandbox_settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        }
    }
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    token = _call(sandbox, key)
    files = [p for p in Path(tmp_path).rglob("*.djcache")]
    assert files  # the token was cached ...
    for path in files:
        # What anyone who can read the file gets: Django's format is the pickled expiry, then
        # the zlib-compressed pickle of the value.
        with path.open("rb") as handle:
            pickle.load(handle)
            stored = zlib.decompress(handle.read())
        assert token.encode() not in stored  # ... but not in clear
        assert key.encode() not in stored
    # Another process (a new client, the same key) still reuses it: no second token request.
    with PowerOfficeClient(key) as po:
        po.list_vat_codes()
        assert po.stats.token_requests == 0


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL")
def test_redis_holds_no_token(sandbox, sandbox_settings):
    prefix = f"token-tests-{uuid.uuid4()}"
    sandbox_settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    token = _call(sandbox, key)
    server = redis.Redis.from_url(REDIS_URL)
    names = server.keys(f"{prefix}*")
    assert names
    for name in names:
        raw = server.get(name) or b""
        assert token.encode() not in raw
        assert key.encode() not in raw
    server.delete(*names)


def test_an_entry_opens_only_for_its_own_client_key(sandbox, sandbox_settings, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"token-tests-{uuid.uuid4()}",
        }
    }
    mine = TokenCache(token_url="https://t", application_key="app", client_key="key-one-1234")
    theirs = TokenCache(token_url="https://t", application_key="app", client_key="key-two-5678")
    mine.put("the-token", expires_in=1200, renew_margin=60)
    # Someone copies the entry to the other key's place in the cache.
    cache.set(theirs.key, cache.get(mine.key), timeout=60)
    assert theirs.get() is None
    assert TokenCache(
        token_url="https://t", application_key="app", client_key="key-one-1234"
    ).get() == ("the-token")
    assert "key-one" not in repr(mine)
