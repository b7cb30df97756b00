"""HTTP client for PowerOffice Go API v2.

One :class:`PowerOfficeClient` per client key (one PowerOffice client, i.e. one company). It
speaks HTTP and nothing else: it returns PowerOffice's JSON as parsed (dicts with PascalCase keys)
and raises the typed errors of :mod:`poweroffice.client.errors`. Every call goes through
:meth:`PowerOfficeClient.request`, which takes a token, waits for the shared rate limiter, sends
with a timeout, counts, logs (method, path, status, duration; never a key or a token) and turns the
answer into data or an error.

Paths, query parameter names and DTO names are PowerOffice's own, from their v2 OpenAPI description.

Retry policy:
- 429: always retried (PowerOffice did not process the request), after at least one second or the
  "Try again in N seconds" it names; the wait is shared through the rate limiter.
- 401: the token is renewed once and the request sent once more.
- Transient errors (connection errors, timeouts, 5xx) on reads and on idempotent writes (PUT,
  DELETE): retried with exponential backoff and jitter, a bounded number of times. A request that
  provably never left (connection refused, connect timeout) is retried whatever its method.
- Creates (POST): a timeout or 5xx can hide a success, so ``create_*`` look the object up by its
  unique key (``ExternalImportReference``, or the closest unique key PowerOffice lets us search by)
  before sending again, and return what they find.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import hashlib
import json
import logging
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from .errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidClientError,
    InvalidDocumentError,
    NotFoundError,
    PowerOfficeError,
    RateLimitedError,
    TransientError,
    ValidationError,
    error_class_for_status,
)
from .ratelimit import RateLimiter, get_rate_limiter, key_fingerprint

__all__ = [
    "OUTGOING_INVOICE_VOUCHER_PATH",
    "AuthenticationError",
    "ClientStats",
    "ConflictError",
    "ForbiddenError",
    "InvalidClientError",
    "InvalidDocumentError",
    "NotFoundError",
    "PowerOfficeClient",
    "PowerOfficeError",
    "RateLimitedError",
    "TransientError",
    "ValidationError",
    "format_code_list",
    "format_number_list",
]

logger = logging.getLogger(__name__)

# The POST for outgoing invoice vouchers is not in PowerOffice's public OpenAPI files; only the
# object (OutgoingInvoiceVoucherDto) and its GET /Vouchers/OutgoingInvoiceJournals/{id} are. We post
# to the collection of that GET. Kept here alone so that a correction is one line.
OUTGOING_INVOICE_VOUCHER_PATH = "/Vouchers/OutgoingInvoiceJournals"

# PUT /VoucherDocumentation: PDF only, at most 30 MB.
MAX_DOCUMENTATION_BYTES = 30 * 1024 * 1024

DEFAULT_PAGE_SIZE = 5000  # PowerOffice's own default
MAX_PAGE_SIZE = 20000  # ResourceParameters.MaxPageSize

DEFAULTS: dict[str, Any] = {
    "POWEROFFICE_APPLICATION_KEY": "bitnet-dev-application-key",
    "POWEROFFICE_SUBSCRIPTION_KEY": "bitnet-dev-subscription-key",
    "POWEROFFICE_API_URL": "http://127.0.0.1:8765/v2",
    "POWEROFFICE_TOKEN_URL": "http://127.0.0.1:8765/OAuth/Token",
    "POWEROFFICE_TIMEOUT": 30.0,
    "POWEROFFICE_RATE_LIMIT": 10.0,
    "POWEROFFICE_MAX_ATTEMPTS": 4,
    "POWEROFFICE_MAX_429_RETRIES": 8,
    "POWEROFFICE_BACKOFF_BASE": 0.5,
    "POWEROFFICE_BACKOFF_MAX": 8.0,
    "POWEROFFICE_TOKEN_RENEW_MARGIN": 60.0,
}

_TRY_AGAIN_RE = re.compile(r"try again in (\d+(?:\.\d+)?) second", re.IGNORECASE)
_MASK = "***"


def _setting(name: str, value: Any = None) -> Any:
    if value is not None:
        return value
    from django.conf import settings

    return getattr(settings, name, DEFAULTS.get(name))


def _redis_url() -> str | None:
    from django.conf import settings

    return getattr(settings, "REDIS_URL", None) or os.environ.get("REDIS_URL") or None


# --- filters --------------------------------------------------------------------------------------


def format_number_list(values: Any) -> str | None:
    """PowerOffice's number filter: ``10000-10999,12000,13000-``.

    Accepts a ready string, an int, a ``range``, a ``(low, high)`` tuple (``high`` None for open
    ended) or an iterable of those. Runs of consecutive numbers are written as ranges.
    None or an empty iterable gives None (filter not used).
    """
    if values is None:
        return None
    if isinstance(values, str):
        return values.replace(" ", "") or None
    if isinstance(values, (int, range, tuple)):
        values = [values]
    singles: list[int] = []
    parts: list[tuple[int, str]] = []
    for value in values:
        if isinstance(value, bool):
            raise TypeError("not a number filter value: bool")
        if isinstance(value, int):
            singles.append(value)
        elif isinstance(value, range):
            if value.step != 1:
                raise ValueError("only ranges with step 1")
            if len(value):
                parts.append((value.start, f"{value.start}-{value.stop - 1}"))
        elif isinstance(value, tuple) and len(value) == 2:
            low, high = value
            parts.append((int(low), f"{int(low)}-" if high is None else f"{int(low)}-{int(high)}"))
        elif isinstance(value, str) and re.fullmatch(r"\d+(-\d*)?", value.strip()):
            parts.append((int(value.strip().split("-")[0]), value.strip()))
        else:
            raise ValueError(f"not a number filter value: {value!r}")
    for number in sorted(set(singles)):
        parts.append((number, str(number)))
    # Join runs of consecutive single numbers.
    merged: list[tuple[int, str]] = []
    run: list[int] = []

    def flush() -> None:
        if run:
            text = str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"
            merged.append((run[0], text))
            run.clear()

    for start, text in sorted(parts, key=lambda p: (p[0], p[1])):
        if text.isdigit():
            if run and start == run[-1] + 1:
                run.append(start)
                continue
            flush()
            run.append(start)
        else:
            flush()
            merged.append((start, text))
    flush()
    return ",".join(text for _, text in merged) or None


def format_code_list(values: Any) -> str | None:
    """A comma list of codes (``B-7720,B-7721``); codes may not contain commas."""
    if values is None:
        return None
    if isinstance(values, (str, int)):
        values = [values]
    codes = [str(v).strip() for v in values]
    for code in codes:
        if "," in code or not code:
            raise ValueError(f"not a code: {code!r}")
    return ",".join(dict.fromkeys(codes)) or None


def _format_bool(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _format_timestamp(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("timestamps sent to PowerOffice must be timezone-aware")
    return value.isoformat()


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        # float's repr is the shortest text that round-trips: Decimal("1234.50") -> 1234.5.
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# --- stats ----------------------------------------------------------------------------------------


@dataclass
class ClientStats:
    """What one client sent: for services (requests per export) and benchmarks."""

    requests: int = 0  # HTTP requests sent, token requests included
    token_requests: int = 0
    retries: int = 0  # requests sent again after a failure (429, 401 renewal, transient)
    rate_limited_429: int = 0
    transport_errors: int = 0  # connection errors and timeouts (no HTTP status)
    rate_limit_wait: float = 0.0  # seconds spent waiting for the rate limiter
    by_status: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_response(self, status: int) -> None:
        with self._lock:
            self.by_status[status] = self.by_status.get(status, 0) + 1
            if status == 429:
                self.rate_limited_429 += 1

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "token_requests": self.token_requests,
                "retries": self.retries,
                "rate_limited_429": self.rate_limited_429,
                "transport_errors": self.transport_errors,
                "rate_limit_wait": round(self.rate_limit_wait, 3),
                "by_status": dict(self.by_status),
            }

    def reset(self) -> None:
        with self._lock:
            self.requests = self.token_requests = self.retries = 0
            self.rate_limited_429 = self.transport_errors = 0
            self.rate_limit_wait = 0.0
            self.by_status = {}


# --- the client -----------------------------------------------------------------------------------


def _never_left(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (safe to send again)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", reason)
        return isinstance(inner, NewConnectionError)
    return False


class PowerOfficeClient:
    """PowerOffice Go v2 for one client key.

    None for an argument means the Django setting of the same name (``POWEROFFICE_*``).
    The keys live on the instance only; ``repr()`` shows the last four characters of the client key.
    """

    def __init__(
        self,
        client_key: str,
        *,
        application_key: str | None = None,
        subscription_key: str | None = None,
        api_url: str | None = None,
        token_url: str | None = None,
        timeout: float | tuple[float, float] | None = None,
        session: requests.Session | None = None,
        rate_limit: float | None = None,
        rate_limiter: RateLimiter | None = None,
        max_attempts: int | None = None,
        max_429_retries: int | None = None,
        backoff_base: float | None = None,
        backoff_max: float | None = None,
        token_renew_margin: float | None = None,
    ) -> None:
        if not client_key or not isinstance(client_key, str):
            raise ValueError("a client key is required")
        self._client_key = client_key.strip()
        self._application_key = str(_setting("POWEROFFICE_APPLICATION_KEY", application_key))
        self._subscription_key = str(_setting("POWEROFFICE_SUBSCRIPTION_KEY", subscription_key))
        self.api_url = str(_setting("POWEROFFICE_API_URL", api_url)).rstrip("/")
        self.token_url = str(_setting("POWEROFFICE_TOKEN_URL", token_url))
        self.timeout = _setting("POWEROFFICE_TIMEOUT", timeout)
        if isinstance(self.timeout, (int, float, str)):
            self.timeout = float(self.timeout)
        self.max_attempts = max(1, int(_setting("POWEROFFICE_MAX_ATTEMPTS", max_attempts)))
        self.max_429_retries = max(0, int(_setting("POWEROFFICE_MAX_429_RETRIES", max_429_retries)))
        self.backoff_base = float(_setting("POWEROFFICE_BACKOFF_BASE", backoff_base))
        self.backoff_max = float(_setting("POWEROFFICE_BACKOFF_MAX", backoff_max))
        self.token_renew_margin = float(
            _setting("POWEROFFICE_TOKEN_RENEW_MARGIN", token_renew_margin)
        )
        self.rate_limiter: RateLimiter = rate_limiter or get_rate_limiter(
            self._subscription_key,
            rate=float(_setting("POWEROFFICE_RATE_LIMIT", rate_limit)),
            redis_url=_redis_url(),
        )
        self.session = session or requests.Session()
        self._owns_session = session is None
        self.stats = ClientStats()
        self._token_lock = threading.Lock()
        self._token_cache_key = (
            "poweroffice:token:"
            + hashlib.sha256(
                "\n".join((self.token_url, self._application_key, self._client_key)).encode("utf-8")
            ).hexdigest()
        )
        self._last_token: str | None = None
        self._token_memo: tuple[str, float] | None = None
        self._api_path = urlsplit(self.api_url).path.rstrip("/")

    def __repr__(self) -> str:
        return f"<PowerOfficeClient client_key=…{self._client_key[-4:]} api_url={self.api_url!r}>"

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> PowerOfficeClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @property
    def client_key_fingerprint(self) -> str:
        return key_fingerprint(self._client_key)

    # --- secrets hygiene ----------------------------------------------------------------------

    def _secrets(self) -> list[str]:
        values = [self._client_key, self._application_key, self._subscription_key, self._last_token]
        basic = base64.b64encode(f"{self._application_key}:{self._client_key}".encode()).decode()
        values.append(basic)
        return [v for v in values if v and len(v) >= 4]

    def _scrub(self, value: Any) -> Any:
        """Mask any key or token PowerOffice might echo back, before it reaches an error."""
        if isinstance(value, str):
            for secret in self._secrets():
                if secret in value:
                    value = value.replace(secret, _MASK)
            return value
        if isinstance(value, dict):
            return {k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub(v) for v in value]
        return value

    # --- token --------------------------------------------------------------------------------

    def _cached_token(self) -> str | None:
        # This instance's copy first (no round trip to a shared cache on every call), then the
        # shared cache, where another process may have put a token already.
        memo = self._token_memo
        if memo and memo[1] > time.time():
            return memo[0]
        from django.core.cache import cache

        entry = cache.get(self._token_cache_key)
        if isinstance(entry, dict) and entry.get("expires_at", 0) > time.time():
            self._token_memo = (entry["access_token"], entry["expires_at"])
            return entry["access_token"]
        return None

    def _token(self) -> str:
        token = self._cached_token()
        if token:
            self._last_token = token
            return token
        with self._token_lock:
            token = self._cached_token()  # another thread may have fetched it meanwhile
            if not token:
                token = self._fetch_token()
            self._last_token = token
            return token

    def _invalidate_token(self, token: str) -> None:
        from django.core.cache import cache

        self._token_memo = None
        entry = cache.get(self._token_cache_key)
        # Only drop it if nobody has put a fresh one there since.
        if isinstance(entry, dict) and entry.get("access_token") == token:
            cache.delete(self._token_cache_key)

    def _fetch_token(self) -> str:
        from django.core.cache import cache

        path = urlsplit(self.token_url).path or "/"
        attempt = 0
        throttled = 0
        while True:
            attempt += 1
            try:
                response = self._send(
                    "POST",
                    self.token_url,
                    log_path=path,
                    data={"grant_type": "client_credentials"},
                    auth=(self._application_key, self._client_key),
                    headers={
                        "Ocp-Apim-Subscription-Key": self._subscription_key,
                        "Accept": "application/json",
                    },
                    authenticated=False,
                )
            except TransientError as exc:
                # Asking for a token twice is harmless: always safe to retry.
                if attempt < self.max_attempts:
                    self._backoff(attempt, "POST", path, exc)
                    continue
                raise
            self.stats.add("token_requests")
            status = response.status_code
            if status == 200:
                try:
                    payload = response.json()
                    token = payload["access_token"]
                    expires_in = float(payload.get("expires_in") or 1200)
                except (ValueError, KeyError, TypeError) as exc:
                    raise AuthenticationError(
                        "token answer without access_token", status=status, method="POST", path=path
                    ) from exc
                margin = min(self.token_renew_margin, expires_in / 2)
                lifetime = expires_in - margin
                expires_at = time.time() + lifetime
                cache.set(
                    self._token_cache_key,
                    {"access_token": token, "expires_at": expires_at},
                    timeout=max(1, int(lifetime)),
                )
                self._token_memo = (token, expires_at)
                return token
            if status == 429 and throttled < self.max_429_retries:
                throttled += 1
                attempt -= 1
                self._wait_after_429(response, "POST", path)
                continue
            body = self._parse_body(response)
            if status == 400 and isinstance(body, dict) and body.get("error") == "invalid_client":
                raise InvalidClientError(
                    status=status,
                    title="invalid_client",
                    detail=self._scrub(body.get("error_description")),
                    body=self._scrub(body),
                    method="POST",
                    path=path,
                )
            error = self._error_from_response(response, "POST", path, body=body)
            if isinstance(error, TransientError) and not isinstance(error, RateLimitedError):
                if attempt < self.max_attempts:
                    self._backoff(attempt, "POST", path, error)
                    continue
                raise error
            if status in (400, 401, 403):
                raise AuthenticationError(
                    status=status,
                    title=error.title or "Token request refused",
                    detail=error.detail,
                    body=error.body,
                    method="POST",
                    path=path,
                )
            raise error

    # --- the one request function ------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        log_path: str,
        authenticated: bool = True,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Wait for the limiter, send once, count, log. Transport failures become TransientError."""
        all_headers = {
            "Ocp-Apim-Subscription-Key": self._subscription_key,
            "Accept": "application/json",
        }
        if authenticated:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        before = time.monotonic()
        ticket = self.rate_limiter.acquire()
        started = time.monotonic()
        if started - before > 0.001:
            self.stats.add("rate_limit_wait", started - before)
        self.stats.add("requests")
        try:
            response = self.session.request(
                method, url, headers=all_headers, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            self.rate_limiter.release(ticket)
            duration = (time.monotonic() - started) * 1000
            self.stats.add("transport_errors")
            kind = "timeout" if isinstance(exc, requests.Timeout) else "connection error"
            logger.info("PowerOffice %s %s -> %s after %.0f ms", method, log_path, kind, duration)
            error = TransientError(
                status=None,
                title=kind.capitalize(),
                detail=type(exc).__name__,
                method=method,
                path=log_path,
            )
            error.never_left = _never_left(exc)
            raise error from None
        self.rate_limiter.release(ticket)
        duration = (time.monotonic() - started) * 1000
        self.stats.count_response(response.status_code)
        logger.info(
            "PowerOffice %s %s -> %s in %.0f ms", method, log_path, response.status_code, duration
        )
        return response

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: Any = None,
        files: Any = None,
        content_type: str | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one API call and return its parsed JSON (None for an empty answer).

        ``path`` is relative to the API base (``/Customers``). None-valued params are dropped.
        ``idempotent`` (default: GET, HEAD, PUT, DELETE) allows retrying transient failures.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        query = {k: v for k, v in (params or {}).items() if v is not None}
        url = self.api_url + path
        log_path = self._api_path + path
        headers: dict[str, str] = {}
        if json_body is not None:
            data = json.dumps(json_body, default=_json_default)
            headers["Content-Type"] = content_type or "application/json"
        elif content_type:
            headers["Content-Type"] = content_type

        attempt = 0
        throttled = 0
        renewed = False
        while True:
            attempt += 1
            token = self._token()
            try:
                response = self._send(
                    method,
                    url,
                    log_path=log_path,
                    token=token,
                    headers=headers,
                    params=query,
                    data=data,
                    files=files,
                )
            except TransientError as exc:
                if (idempotent or exc.never_left) and attempt < self.max_attempts:
                    self._backoff(attempt, method, log_path, exc)
                    continue
                raise
            status = response.status_code
            if 200 <= status < 300:
                return self._parse_body(response) if status != 204 else None
            if status == 401 and not renewed:
                # Expired or revoked token: renew once and send again.
                renewed = True
                attempt -= 1
                self._invalidate_token(token)
                self.stats.add("retries")
                logger.info("PowerOffice %s %s -> 401, renewing the token", method, log_path)
                continue
            if status == 429 and throttled < self.max_429_retries:
                # A throttled request was not processed: safe to send again whatever the method.
                throttled += 1
                attempt -= 1
                self._wait_after_429(response, method, log_path)
                continue
            error = self._error_from_response(response, method, log_path)
            if (
                isinstance(error, TransientError)
                and not isinstance(error, RateLimitedError)
                and idempotent
                and attempt < self.max_attempts
            ):
                self._backoff(attempt, method, log_path, error)
                continue
            raise error

    # --- helpers for request -------------------------------------------------------------------

    def _backoff(self, attempt: int, method: str, path: str, error: PowerOfficeError) -> None:
        cap = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        delay = cap / 2 + random.uniform(0, cap / 2)  # "equal jitter": never zero, never in step
        self.stats.add("retries")
        logger.warning(
            "PowerOffice %s %s failed (%s), attempt %d of %d, retrying in %.2f s",
            method,
            path,
            error,
            attempt,
            self.max_attempts,
            delay,
        )
        time.sleep(delay)

    def _wait_after_429(self, response: requests.Response, method: str, path: str) -> None:
        wait = 1.0
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            with contextlib.suppress(ValueError):
                wait = max(wait, float(retry_after))
        match = _TRY_AGAIN_RE.search(response.text or "")
        if match:
            wait = max(wait, float(match.group(1)))
        self.stats.add("retries")
        logger.warning("PowerOffice %s %s -> 429, waiting %.1f s", method, path, wait)
        # Everybody sharing the subscription key waits, not just this caller.
        self.rate_limiter.penalize(wait)
        time.sleep(wait)

    @staticmethod
    def _parse_body(response: requests.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    def _error_from_response(
        self, response: requests.Response, method: str, path: str, *, body: Any = None
    ) -> PowerOfficeError:
        status = response.status_code
        if body is None:
            body = self._parse_body(response)
        body = self._scrub(body)
        title = detail = None
        if isinstance(body, dict):
            lowered = {str(k).lower(): v for k, v in body.items()}
            title = lowered.get("title") or lowered.get("error")
            detail = (
                lowered.get("detail") or lowered.get("error_description") or lowered.get("message")
            )
            errors = lowered.get("errors")
            if not detail and errors:
                detail = json.dumps(errors, ensure_ascii=False)
        elif isinstance(body, str) and body.strip():
            detail = body.strip()[:500]
        if title is not None:
            title = str(title)[:500]
        if detail is not None:
            detail = str(detail)[:2000]
        cls = error_class_for_status(status)
        kwargs: dict[str, Any] = {}
        if cls is RateLimitedError:
            match = _TRY_AGAIN_RE.search(response.text or "")
            kwargs["retry_after"] = float(match.group(1)) if match else 1.0
        return cls(
            status=status, title=title, detail=detail, body=body, method=method, path=path, **kwargs
        )

    # --- paging --------------------------------------------------------------------------------

    def paginate(
        self, path: str, params: dict[str, Any] | None = None, *, page_size: int | None = None
    ) -> Iterator[dict]:
        """Yield every object of a list call, page by page (``PageNumber`` from 1, ``PageSize``).

        PowerOffice answers bare arrays and 204 for an empty page; a page shorter than the page size
        is the last one.
        """
        size = int(page_size or DEFAULT_PAGE_SIZE)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        page = 1
        while True:
            items = self.request(
                "GET", path, params={**(params or {}), "PageNumber": page, "PageSize": size}
            )
            if not items:
                return
            if not isinstance(items, list):
                raise PowerOfficeError(
                    status=200,
                    title="Unexpected answer",
                    detail="expected a JSON array",
                    method="GET",
                    path=path,
                )
            yield from items
            if len(items) < size:
                return
            page += 1

    def _list(
        self, path: str, params: dict[str, Any] | None = None, page_size: int | None = None
    ) -> list[dict]:
        return list(self.paginate(path, params, page_size=page_size))

    # --- creates that survive an ambiguous failure ---------------------------------------------

    def _create(
        self, path: str, body: dict, *, lookup: Callable[[], dict | None], what: str
    ) -> dict:
        attempt = 0
        while True:
            attempt += 1
            try:
                created = self.request("POST", path, json_body=body)
                if created is None:
                    # Accepted without a body (202/204): read back what was created.
                    created = lookup()
                return created
            except TransientError as exc:
                # request() has already spent its own retries on throttling and on failures that
                # never reached PowerOffice; only an ambiguous failure is worth a lookup.
                if (
                    attempt >= self.max_attempts
                    or isinstance(exc, RateLimitedError)
                    or exc.never_left
                ):
                    raise
                self._backoff(attempt, "POST", self._api_path + path, exc)
                # A timeout or 5xx can hide a success: look before sending again.
                found = lookup()
                if found is not None:
                    logger.info(
                        "PowerOffice POST %s: %s found after a failed attempt",
                        self._api_path + path,
                        what,
                    )
                    return found
            except ValidationError:
                if attempt == 1:
                    raise
                # An earlier attempt may have been processed after our lookup ("already in use").
                found = lookup()
                if found is not None:
                    return found
                raise

    # --- ClientIntegrationInformation ----------------------------------------------------------

    def get_client_integration_information(self) -> dict:
        """``GET /ClientIntegrationInformation``: which client the key is for, its subscriptions and
        privileges. The natural "verify key" call."""
        return self.request("GET", "/ClientIntegrationInformation")

    # --- Customers -----------------------------------------------------------------------------

    def iter_customers(
        self,
        *,
        customer_nos: Any = None,
        external_import_reference: str | None = None,
        external_nos: Any = None,
        last_changed_after: dt.datetime | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict]:
        params = {
            "customerNos": format_number_list(customer_nos),
            "externalImportReference": external_import_reference or None,
            "externalNos": format_number_list(external_nos),
            "lastChangedDateTimeOffsetGreaterThan": _format_timestamp(last_changed_after),
        }
        return self.paginate("/Customers", params, page_size=page_size)

    def list_customers(self, **filters: Any) -> list[dict]:
        """``GET /Customers`` (all pages). Filters: ``customer_nos``, ``external_import_reference``,
        ``external_nos``, ``last_changed_after``, ``page_size``."""
        return list(self.iter_customers(**filters))

    def get_customer(self, customer_id: int) -> dict:
        return self.request("GET", f"/Customers/{int(customer_id)}")

    def find_customer(self, *, external_import_reference: str) -> dict | None:
        """The customer with this ``ExternalImportReference``, or None."""
        for customer in self.iter_customers(external_import_reference=external_import_reference):
            if customer.get("ExternalImportReference") == external_import_reference:
                return customer
        return None

    def create_customer(self, body: dict) -> dict:
        """``POST /Customers`` (CustomerPostDto; 201 CustomerDto).

        ``ExternalImportReference`` is required: it is what we look the customer up by after an
        ambiguous failure."""
        reference = _required(body, "ExternalImportReference")
        return self._create(
            "/Customers",
            body,
            lookup=lambda: self.find_customer(external_import_reference=reference),
            what="customer",
        )

    def patch_customer(self, customer_id: int, operations: list[dict]) -> dict:
        """``PATCH /Customers/{id}`` with a JSON Patch document
        (``[{"op": "replace", "path": "/Name", "value": ...}]``)."""
        return self._patch(f"/Customers/{int(customer_id)}", operations)

    def _patch(self, path: str, operations: list[dict]) -> dict:
        if not isinstance(operations, list) or not all(
            isinstance(o, dict) and "op" in o for o in operations
        ):
            raise ValueError("a JSON Patch document is a list of operations with 'op' and 'path'")
        # replace/test set a value: sending them twice does no harm; add/remove/move/copy may.
        idempotent = all(o["op"] in ("replace", "test") for o in operations)
        return self.request(
            "PATCH",
            path,
            json_body=operations,
            content_type="application/json-patch+json",
            idempotent=idempotent,
        )

    # --- Reference data ------------------------------------------------------------------------

    def list_sub_ledger_number_series(
        self, *, series_type: str | None = None, is_default: bool | None = None
    ) -> list[dict]:
        """``GET /SubLedgerNumberSeries`` (``FromInclusive``, ``ToInclusive``,
        ``SubLedgerNumberSeriesType``). ``series_type`` e.g. ``"Customer"`` (case-sensitive)."""
        return self._list(
            "/SubLedgerNumberSeries",
            {"subLedgerNumberSeriesType": series_type, "isDefault": _format_bool(is_default)},
        )

    def list_departments(self, *, codes: Any = None, is_active: bool | None = None) -> list[dict]:
        """``GET /Departments``."""
        return self._list(
            "/Departments", {"codes": format_code_list(codes), "isActive": _format_bool(is_active)}
        )

    def list_employees(
        self,
        *,
        employee_nos: Any = None,
        external_import_reference: str | None = None,
        page_size: int | None = None,
    ) -> list[dict]:
        """``GET /Employees`` (``Number`` is the employee number)."""
        params = {
            "employeeNos": format_number_list(employee_nos),
            "externalImportReference": external_import_reference or None,
        }
        return self._list("/Employees", params, page_size)

    def list_general_ledger_accounts(
        self, *, account_nos: Any = None, page_size: int | None = None
    ) -> list[dict]:
        """``GET /GeneralLedgerAccounts``."""
        return self._list(
            "/GeneralLedgerAccounts", {"accountNos": format_number_list(account_nos)}, page_size
        )

    def list_vat_codes(
        self, *, is_active: bool | None = None, include_expired: bool | None = None
    ) -> list[dict]:
        """``GET /VatCodes`` (``Rate`` is a fraction: 0.25)."""
        return self._list(
            "/VatCodes",
            {"isActive": _format_bool(is_active), "includeExpired": _format_bool(include_expired)},
        )

    # --- Products ------------------------------------------------------------------------------

    def list_products(self, *, codes: Any = None, page_size: int | None = None) -> list[dict]:
        """``GET /Products?codes=B-7720,B-7721``."""
        return self._list("/Products", {"codes": format_code_list(codes)}, page_size)

    def find_product(self, *, code: str) -> dict | None:
        for product in self.list_products(codes=[code]):
            if product.get("Code") == code:
                return product
        return None

    def create_product(self, body: dict) -> dict:
        """``POST /Products`` (ProductPostDto; 200 ProductDto). ``Code`` required.

        ProductPostDto has no ExternalImportReference: the product code (``B-<article id>``) is the
        unique key we look it up by after an ambiguous failure.
        """
        code = _required(body, "Code")
        return self._create(
            "/Products", body, lookup=lambda: self.find_product(code=code), what="product"
        )

    # --- Outgoing invoice vouchers -------------------------------------------------------------

    def create_outgoing_invoice_voucher(self, body: dict) -> dict:
        """``POST /Vouchers/OutgoingInvoiceJournals`` (OutgoingInvoiceVoucherDto's writable fields).

        ``InvoiceNo`` is required (unique per client). PowerOffice has no list or search of outgoing
        invoice vouchers (only GET by id), so after an ambiguous failure we look the voucher up
        through ``GET /OutgoingInvoices?invoiceNos=`` (posted vouchers appear there, with their
        ``ExternalImportReference``) and then read it by id.
        """
        invoice_no = _required(body, "InvoiceNo")
        reference = body.get("ExternalImportReference")
        return self._create(
            OUTGOING_INVOICE_VOUCHER_PATH,
            body,
            lookup=lambda: self.find_outgoing_invoice_voucher(
                invoice_no=invoice_no, external_import_reference=reference
            ),
            what="outgoing invoice voucher",
        )

    def get_outgoing_invoice_voucher(self, voucher_id: str) -> dict:
        """``GET /Vouchers/OutgoingInvoiceJournals/{id}``."""
        return self.request("GET", f"{OUTGOING_INVOICE_VOUCHER_PATH}/{uuid.UUID(str(voucher_id))}")

    def find_outgoing_invoice(
        self, *, invoice_no: int | str, external_import_reference: str | None = None
    ) -> dict | None:
        """The outgoing invoice (``OutgoingInvoiceDto``) with this number and, when given, this
        ``ExternalImportReference``; reversed invoices are skipped (reversal frees the number)."""
        number = str(invoice_no).strip()
        if not number.isdigit():
            # invoiceNos only takes numbers; a non-numeric invoice number cannot be searched for.
            return None
        for invoice in self.iter_outgoing_invoices(invoice_nos=number):
            if str(invoice.get("InvoiceNo")) != number or invoice.get("IsReversed"):
                continue
            if (
                external_import_reference
                and invoice.get("ExternalImportReference") != external_import_reference
            ):
                continue
            return invoice
        return None

    def find_outgoing_invoice_voucher(
        self, *, invoice_no: int | str, external_import_reference: str | None = None
    ) -> dict | None:
        """The outgoing invoice voucher (OutgoingInvoiceVoucherDto) for this invoice, or None."""
        invoice = self.find_outgoing_invoice(
            invoice_no=invoice_no, external_import_reference=external_import_reference
        )
        if invoice is None or not invoice.get("Id"):
            return None
        try:
            return self.get_outgoing_invoice_voucher(invoice["Id"])
        except NotFoundError:
            return None

    def upload_voucher_documentation(self, voucher_id: str, pdf: bytes, filename: str) -> None:
        """``PUT /VoucherDocumentation?id=<voucher id>``: replace the voucher's documentation with
        one PDF (multipart field ``file``, at most 30 MB, checked before sending)."""
        if not isinstance(pdf, (bytes, bytearray)) or not bytes(pdf[:5]) == b"%PDF-":
            raise InvalidDocumentError(
                title="Not a PDF", detail="voucher documentation must be a PDF file"
            )
        if len(pdf) > MAX_DOCUMENTATION_BYTES:
            raise InvalidDocumentError(
                title="Too large",
                detail=f"voucher documentation is {len(pdf)} bytes, at most 30 MB allowed",
            )
        name = os.path.basename(filename or "document.pdf")
        if not name.lower().endswith(".pdf"):
            name += ".pdf"
        self.request(
            "PUT",
            "/VoucherDocumentation",
            params={"id": str(uuid.UUID(str(voucher_id)))},
            files={"file": (name, bytes(pdf), "application/pdf")},
        )

    # --- Outgoing invoices (payment status) ----------------------------------------------------

    def iter_outgoing_invoices(
        self,
        *,
        invoice_nos: Any = None,
        only_unpaid: bool | None = None,
        balance_changed_after: dt.datetime | None = None,
        only_created_by_current_integration: bool | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict]:
        """``GET /OutgoingInvoices``, page by page. ``Balance`` 0 means paid; ``IsReversed``.
        ``balance_changed_after`` is exclusive (``balanceLastChangedDateTimeOffsetGreaterThan``)."""
        params = {
            "invoiceNos": format_number_list(invoice_nos),
            "onlyUnpaidInvoices": _format_bool(only_unpaid),
            "balanceLastChangedDateTimeOffsetGreaterThan": _format_timestamp(balance_changed_after),
            "onlyCreatedByCurrentIntegration": _format_bool(only_created_by_current_integration),
        }
        return self.paginate("/OutgoingInvoices", params, page_size=page_size)

    def list_outgoing_invoices(self, **filters: Any) -> list[dict]:
        """All pages of :meth:`iter_outgoing_invoices`."""
        return list(self.iter_outgoing_invoices(**filters))

    # --- Payroll -------------------------------------------------------------------------------

    def list_pay_items(self, *, codes: Any = None, is_active: bool | None = None) -> list[dict]:
        """``GET /PayItems?codes=…`` (``Id`` is a uuid)."""
        return self._list(
            "/PayItems", {"codes": format_code_list(codes), "isActive": _format_bool(is_active)}
        )

    def iter_salary_lines(self, *, page_size: int | None = None) -> Iterator[dict]:
        """``GET /SalaryLines`` (no filters in PowerOffice's API), page by page."""
        return self.paginate("/SalaryLines", page_size=page_size)

    def list_salary_lines(self, *, page_size: int | None = None) -> list[dict]:
        return list(self.iter_salary_lines(page_size=page_size))

    def get_salary_line(self, salary_line_id: int) -> dict:
        return self.request("GET", f"/SalaryLines/{int(salary_line_id)}")

    def find_salary_line(self, *, external_import_reference: str) -> dict | None:
        """``GET /SalaryLines`` has no filter, so this reads all lines and matches the reference."""
        for line in self.iter_salary_lines():
            if line.get("ExternalImportReference") == external_import_reference:
                return line
        return None

    def create_salary_line(self, body: dict) -> dict:
        """``POST /SalaryLines`` (SalaryLinePostDto: ``EmployeeId``, ``PayItemId`` required; 201
        SalaryLineDto). ``ExternalImportReference`` required."""
        _required(body, "EmployeeId")
        _required(body, "PayItemId")
        reference = _required(body, "ExternalImportReference")
        return self._create(
            "/SalaryLines",
            body,
            lookup=lambda: self.find_salary_line(external_import_reference=reference),
            what="salary line",
        )

    def delete_salary_line(self, salary_line_id: int) -> None:
        """``DELETE /SalaryLines/{id}``. ConflictError (409) when the line is locked in a pay run.

        A 404 after an earlier attempt failed in transit means that attempt deleted it: success.
        """
        path = f"/SalaryLines/{int(salary_line_id)}"
        try:
            self.request("DELETE", path, idempotent=False)
            return
        except TransientError as exc:
            if isinstance(exc, RateLimitedError) or self.max_attempts < 2:
                raise
            self._backoff(1, "DELETE", self._api_path + path, exc)
        try:
            self.request("DELETE", path)
        except NotFoundError:
            logger.info(
                "PowerOffice DELETE %s: already gone after a failed attempt", self._api_path + path
            )


def _required(body: dict, name: str) -> Any:
    value = body.get(name) if isinstance(body, dict) else None
    if value is None or value == "":
        raise ValueError(f"{name} is required")
    return value
