"""Who may use the sandbox's hooks (/_sandbox/...) and its page (/).

The hooks hand out client keys, tokens and every request body the sandbox received, so:

- only requests that name this sandbox by one of its own host names are served (a web page
  cannot reach it through a DNS name of its own pointing at 127.0.0.1);
- a browser request from another origin is refused (``Origin`` or ``Sec-Fetch-Site`` says
  so), and so is a preflight: no page on the web can drive the hooks;
- a hook that writes takes JSON only (``Content-Type: application/json``): a cross-origin form
  or a ``text/plain`` fetch, which browsers send without asking, is refused;
- unless the sandbox runs with ``--demo-open`` (bin/run's local demo), every hook and the page
  need the hook token: header ``X-Sandbox-Token`` (or ``?token=`` on a GET, for the page and
  its links).

The PowerOffice side (/OAuth/Token, /v2) is not guarded here: it checks keys and tokens as
PowerOffice does.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from .responses import ApiError

TOKEN_HEADER = "X-Sandbox-Token"
# On every answer, so that no one mistakes the sandbox for PowerOffice Go (ASCII: a header).
SANDBOX_HEADER = ("X-Sandbox", "SANDBOX - a local stand-in for PowerOffice Go, not PowerOffice")
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_READS = ("GET", "HEAD")


class Headers(Protocol):
    """A request's headers (the handler's ``email.message.Message``, or a dict)."""

    def get(self, name: str, /) -> str | None: ...


def _bad(status: int, detail: str) -> ApiError:
    return ApiError(status, "Sandbox hook refused", detail)


@dataclass(frozen=True)
class HookGuard:
    """The rules for one sandbox: its hook token (None: open) and the host names it answers to."""

    token: str | None
    hosts: frozenset[str] = field(default=LOCAL_NAMES)

    @classmethod
    def build(cls, *, token: str | None, bind_host: str, allowed_hosts: Iterable[str] = ()):
        hosts = set(LOCAL_NAMES) | {h.lower().strip("[]") for h in allowed_hosts if h}
        if bind_host and not _is_wildcard(bind_host):
            hosts.add(bind_host.lower().strip("[]"))
        return cls(token=token or None, hosts=frozenset(hosts))

    @property
    def open(self) -> bool:
        return self.token is None

    def check(
        self,
        *,
        method: str,
        headers: Headers,
        query: Mapping[str, str],
        body: bytes,
        page: bool = False,
    ) -> None:
        """Raise ApiError when the request may not use a hook (or, ``page``, see the page)."""
        host = _host_name(headers.get("Host") or "")
        if host not in self.hosts and not _is_loopback(host):
            raise _bad(
                421,
                f"This sandbox does not answer to the host name '{host}'. Allowed: "
                f"{', '.join(sorted(self.hosts))} (start it with --allowed-host NAME).",
            )
        if not page:
            self._same_origin(headers)
            self._json_only(method, headers, body)
        self._token(method, headers, query)

    def _same_origin(self, headers: Headers) -> None:
        origin = headers.get("Origin")
        if origin is not None and origin != "null":
            own = urlsplit(origin)
            if (own.netloc or "").lower() != (headers.get("Host") or "").lower():
                raise _bad(403, "Cross-origin requests to the sandbox's hooks are refused.")
        elif origin == "null":
            raise _bad(403, "Requests from an opaque origin are refused.")
        site = (headers.get("Sec-Fetch-Site") or "").lower()
        if site and site not in ("same-origin", "none"):
            raise _bad(403, "Cross-site requests to the sandbox's hooks are refused.")

    @staticmethod
    def _json_only(method: str, headers: Headers, body: bytes) -> None:
        if method == "OPTIONS":
            raise _bad(403, "The sandbox's hooks answer no preflight: they are not for web pages.")
        if method in _READS and not body:
            return
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise _bad(
                415,
                "The sandbox's hooks take JSON only: send Content-Type: application/json "
                "(curl -H 'Content-Type: application/json' ...).",
            )

    def _token(self, method: str, headers: Headers, query: Mapping[str, str]) -> None:
        if self.token is None:
            return
        given = headers.get(TOKEN_HEADER) or (query.get("token") if method in _READS else None)
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            raise _bad(
                401,
                f"The sandbox's hooks need its token in the {TOKEN_HEADER} header (printed when "
                "it starts; set with --hook-token or POWEROFFICE_SANDBOX_TOKEN). bin/run starts "
                "it with --demo-open instead.",
            )


def _host_name(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0", "::")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_bind(host: str) -> bool:
    """Whether a sandbox bound to ``host`` is reachable from this machine only."""
    return host.lower() in ("localhost",) or _is_loopback(host.strip("[]"))
