"""Where access tokens are kept: this instance's copy, then Django's cache, shared by processes.

The cache key is a hash of the token URL, the application key and the client key, never a key
itself. A token is kept until shortly before it expires (the renew margin, at most half of its
lifetime), so that no call leaves with a token about to lapse.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

__all__ = ["TokenCache"]


class TokenCache:
    """The access token of one client key."""

    def __init__(self, *, token_url: str, application_key: str, client_key: str) -> None:
        self.key = (
            "poweroffice:token:"
            + hashlib.sha256(
                "\n".join((token_url, application_key, client_key)).encode("utf-8")
            ).hexdigest()
        )
        self._memo: tuple[str, float] | None = None

    def get(self) -> str | None:
        """A token that is still good, or None."""
        # This instance's copy first (no round trip to a shared cache on every call), then the
        # shared cache, where another process may have put a token already.
        memo = self._memo
        if memo and memo[1] > time.time():
            return memo[0]
        entry = cache.get(self.key)
        if isinstance(entry, dict) and entry.get("expires_at", 0) > time.time():
            self._memo = (entry["access_token"], entry["expires_at"])
            return str(entry["access_token"])
        return None

    def put(self, token: str, *, expires_in: float, renew_margin: float) -> None:
        margin = min(renew_margin, expires_in / 2)
        lifetime = expires_in - margin
        expires_at = time.time() + lifetime
        cache.set(
            self.key,
            {"access_token": token, "expires_at": expires_at},
            timeout=max(1, int(lifetime)),
        )
        self._memo = (token, expires_at)

    def drop(self, token: str) -> None:
        """PowerOffice refused ``token``: forget it, here and in the shared cache."""
        self._memo = None
        entry = cache.get(self.key)
        # Only drop it if nobody has put a fresh one there since.
        if isinstance(entry, dict) and entry.get("access_token") == token:
            cache.delete(self.key)
