"""Where access tokens are kept: this instance's copy, then Django's cache, shared by processes.

The cache key is a hash of the token URL, the application key and the client key, never a key
itself, and the entry is encrypted (Fernet) with a key derived from the same three (HKDF): a
token is a bearer credential for twenty minutes, so whoever can read the cache (the Redis
server, a file cache's pickles) but does not hold the client key cannot read or use it.

A token is kept until shortly before it expires (the renew margin, at most half of its
lifetime), so that no call leaves with a token about to lapse.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

__all__ = ["TokenCache"]

_HKDF_SALT = b"poweroffice token cache v1"


class TokenCache:
    """The access token of one client key."""

    @sensitive_variables()
    def __init__(self, *, token_url: str, application_key: str, client_key: str) -> None:
        material = "\n".join((token_url, application_key, client_key)).encode("utf-8")
        self.key = "poweroffice:token:" + hashlib.sha256(material).hexdigest()
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=b"fernet"
        ).derive(material)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self._memo: tuple[str, float] | None = None

    def __repr__(self) -> str:
        return f"<TokenCache {self.key}>"

    @sensitive_variables()
    def _read(self) -> tuple[str, float] | None:
        """The shared cache's entry, decrypted; None when absent, expired or unreadable."""
        entry = cache.get(self.key)
        if not isinstance(entry, bytes):
            return None
        try:
            payload = json.loads(self._fernet.decrypt(entry))
            token, expires_at = str(payload["access_token"]), float(payload["expires_at"])
        except (InvalidToken, ValueError, KeyError, TypeError):
            return None
        return (token, expires_at) if expires_at > time.time() else None

    @sensitive_variables()
    def get(self) -> str | None:
        """A token that is still good, or None."""
        # This instance's copy first (no round trip to a shared cache on every call), then the
        # shared cache, where another process may have put a token already.
        memo = self._memo
        if memo and memo[1] > time.time():
            return memo[0]
        entry = self._read()
        if entry is None:
            return None
        self._memo = entry
        return entry[0]

    @sensitive_variables()
    def put(self, token: str, *, expires_in: float, renew_margin: float) -> None:
        margin = min(renew_margin, expires_in / 2)
        lifetime = expires_in - margin
        expires_at = time.time() + lifetime
        sealed = self._fernet.encrypt(
            json.dumps({"access_token": token, "expires_at": expires_at}).encode("utf-8")
        )
        cache.set(self.key, sealed, timeout=max(1, int(lifetime)))
        self._memo = (token, expires_at)

    @sensitive_variables()
    def drop(self, token: str) -> None:
        """PowerOffice refused ``token``: forget it, here and in the shared cache."""
        self._memo = None
        entry = self._read()
        # Only drop it if nobody has put a fresh one there since.
        if entry is not None and entry[0] == token:
            cache.delete(self.key)
