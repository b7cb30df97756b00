"""Sending to PowerOffice Go: the token, the one retry loop, paging and creates that can be resent.

Every HTTP request, the token request included, goes through :meth:`Transport._exchange`: it waits
for the shared rate limiter, sends once with a timeout, counts, logs (method, path, status,
duration; never a key or a token), and retries by this policy:

- 429: always retried (PowerOffice did not process the request), after at least one second or the
  "Try again in N seconds" it names; the wait is shared through the rate limiter.
- 401 on an API call: the token is renewed once and the request sent once more.
- Transient errors (connection errors, timeouts, 5xx) on reads, on idempotent writes (PUT, DELETE)
  and on the token request: retried with exponential backoff and jitter, a bounded number of times.
  A request that provably never left (connection refused, connect timeout) is retried whatever its
  method.

:meth:`Transport.request` turns the final answer into data or a typed error of
:mod:`poweroffice.client.errors`. Creates (POST) cannot simply be sent again: a timeout or 5xx can
hide a success, so :meth:`Transport.create` looks the object up by its unique key before sending
again, and returns what it finds; :meth:`Transport.delete` takes a 404 after a failed attempt as
done.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast
from urllib.parse import urlsplit

import requests
from django.views.decorators.debug import sensitive_variables
from urllib3.exceptions import NewConnectionError

from . import paging, writes
from .errors import (
    AuthenticationError,
    InvalidClientError,
    NotFoundError,
    PowerOfficeError,
    RateLimitedError,
    SubscriptionKeyError,
    TransientError,
    error_class_for_status,
    error_from_answer,
    names_subscription_key,
    try_again_after,
)
from .paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from .params import QueryValue, encode_json, query
from .ratelimit import Lane, RateLimiter, key_fingerprint
from .ratelimit.wire import mount_reporting_adapter, on_the_wire
from .stats import ClientStats
from .tokens import TokenCache

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "JsonObject",
    "Timeout",
    "Transport",
]

logger = logging.getLogger(__name__)

JsonObject: TypeAlias = dict[str, Any]
Timeout: TypeAlias = float | tuple[float, float]  # seconds; (connect, read) as requests takes it
Files: TypeAlias = Mapping[str, tuple[str, bytes, str]]  # field -> (file name, content, type)


_MASK = "***"
_IDEMPOTENT_METHODS = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class _Call:
    """One HTTP request as :meth:`Transport._exchange` sends it (again, if need be)."""

    method: str
    url: str
    log_path: str  # what logs and errors name: the path only, never the host or the query
    idempotent: bool  # transient failures may be retried
    authenticated: bool = True  # False for the token request itself
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str | int] | None = None
    data: str | Mapping[str, str] | None = None
    files: Files | None = None
    # The token request's (application key, client key): never in a repr, a log or an error page.
    auth: tuple[str, str] | None = field(default=None, repr=False)


def _never_left(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (safe to send again)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", reason)
        return isinstance(inner, NewConnectionError)
    return False


def _gateway_refusal(response: requests.Response) -> bool:
    """A 401 from the API gateway for our subscription key: a new token would not help."""
    if not response.content:
        return False
    body = _parse_body(response)
    message = body.get("message") if isinstance(body, dict) else None
    return names_subscription_key(response.status_code, str(message or ""))


def _parse_body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


class Transport:
    """HTTP to PowerOffice Go for one client key: token, rate limiter, retries, stats.

    The keys live on the instance only. The retry settings are plain attributes, read on every
    call, so that a caller (or a test) may tighten them on a live client.
    """

    @sensitive_variables("client_key", "application_key", "subscription_key")
    def __init__(
        self,
        client_key: str,
        *,
        application_key: str,
        subscription_key: str,
        api_url: str,
        token_url: str,
        timeout: Timeout,
        session: requests.Session | None,
        rate_limiter: RateLimiter,
        lane: Lane,
        max_attempts: int,
        max_429_retries: int,
        backoff_base: float,
        backoff_max: float,
        token_renew_margin: float,
        lookup_patience: float = 2.0,
    ) -> None:
        self._client_key = client_key
        self._application_key = application_key
        self._subscription_key = subscription_key
        self.api_url = api_url.rstrip("/")
        self.token_url = token_url
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.max_429_retries = max(0, max_429_retries)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.token_renew_margin = token_renew_margin
        self.lookup_patience = lookup_patience
        self.rate_limiter = rate_limiter
        # Which queue of the limiter this client's requests wait in; read on every request.
        self.lane = Lane(lane)
        self.session = session or requests.Session()
        self._owns_session = session is None
        if session is None:
            mount_reporting_adapter(self.session)  # tells the limiter when a request has left
        self.stats = ClientStats()
        self._token_lock = threading.Lock()
        self.tokens = TokenCache(
            token_url=token_url, application_key=application_key, client_key=client_key
        )
        self._last_token: str | None = None
        self.api_path = urlsplit(self.api_url).path.rstrip("/")
        self._limiter_client = key_fingerprint(client_key)[:16]

    @property
    def token_cache_key(self) -> str:
        return self.tokens.key

    @property
    def client_key_tail(self) -> str:
        """The last four characters of the client key: enough for a person to tell keys apart."""
        return self._client_key[-4:]

    @property
    def client_key_fingerprint(self) -> str:
        return key_fingerprint(self._client_key)

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    # --- secrets hygiene ----------------------------------------------------------------------

    @sensitive_variables("values", "basic")
    def _secrets(self) -> list[str]:
        values = [self._client_key, self._application_key, self._subscription_key, self._last_token]
        basic = base64.b64encode(f"{self._application_key}:{self._client_key}".encode()).decode()
        values.append(basic)
        return [v for v in values if v and len(v) >= 4]

    @sensitive_variables("secret")
    def scrub(self, value: Any) -> Any:
        """Mask any key or token PowerOffice might echo back, before it reaches an error."""
        if isinstance(value, str):
            for secret in self._secrets():
                if secret in value:
                    value = value.replace(secret, _MASK)
            return value
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        return value

    # --- token --------------------------------------------------------------------------------

    @sensitive_variables("token")
    def token(self) -> str:
        """A valid access token: this instance's, the shared cache's, or a new one."""
        token = self.tokens.get()
        if token:
            self._last_token = token
            return token
        with self._token_lock:
            token = self.tokens.get()  # another thread may have fetched it meanwhile
            if not token:
                token = self._fetch_token()
            self._last_token = token
            return token

    def _fetch_token(self) -> str:
        path = urlsplit(self.token_url).path or "/"
        response = self._exchange(
            _Call(
                "POST",
                self.token_url,
                log_path=path,
                # Asking for a token twice is harmless: always safe to retry.
                idempotent=True,
                authenticated=False,
                data={"grant_type": "client_credentials"},
                auth=(self._application_key, self._client_key),
            )
        )
        if response.status_code == 200:
            return self._keep_token(response, path)
        raise self._token_error(response, path)

    @sensitive_variables("token", "payload")
    def _keep_token(self, response: requests.Response, path: str) -> str:
        try:
            payload = response.json()
            token = str(payload["access_token"])
            expires_in = float(payload.get("expires_in") or 1200)
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthenticationError(
                "token answer without access_token",
                status=response.status_code,
                method="POST",
                path=path,
            ) from exc
        self.tokens.put(token, expires_in=expires_in, renew_margin=self.token_renew_margin)
        return token

    def _token_error(self, response: requests.Response, path: str) -> PowerOfficeError:
        status = response.status_code
        body = _parse_body(response)
        if status == 400 and isinstance(body, dict) and body.get("error") == "invalid_client":
            return InvalidClientError(
                status=status,
                title="invalid_client",
                detail=self.scrub(body.get("error_description")),
                body=self.scrub(body),
                method="POST",
                path=path,
            )
        error = self._error_from_response(response, "POST", path, body=body)
        if isinstance(error, SubscriptionKeyError):
            return error
        if status in (400, 401, 403):
            return AuthenticationError(
                status=status,
                title=error.title or "Token request refused",
                detail=error.detail,
                body=error.body,
                method="POST",
                path=path,
            )
        return error

    # --- the one request function ------------------------------------------------------------

    @sensitive_variables("headers", "token")
    def _send(self, call: _Call, token: str | None) -> requests.Response:
        """Wait for the limiter, send once, count, log. Transport failures become TransientError."""
        headers = {
            "Ocp-Apim-Subscription-Key": self._subscription_key,
            "Accept": "application/json",
        }
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        headers.update(call.headers)
        # The PowerOffice client (by a hash of its key) is who the limiter shares out between.
        before = time.monotonic()
        ticket = self.rate_limiter.acquire(lane=self.lane, client=self._limiter_client)
        started = time.monotonic()
        if started - before > 0.001:
            self.stats.add("rate_limit_wait", started - before)
        self.stats.add("requests")
        try:
            # The limiter counts the request from the moment it has been written.
            with on_the_wire(lambda: self.rate_limiter.sent(ticket)):
                response = self.session.request(
                    call.method,
                    call.url,
                    headers=headers,
                    timeout=self.timeout,
                    params=call.params,
                    data=call.data,
                    files=call.files,
                    auth=call.auth,
                )
        except requests.RequestException as exc:
            raise self._transport_error(call, exc, started) from None
        duration = (time.monotonic() - started) * 1000
        self.stats.count_response(response.status_code)
        if not call.authenticated:
            self.stats.add("token_requests")
        logger.info(
            "PowerOffice %s %s -> %s in %.0f ms",
            call.method,
            call.log_path,
            response.status_code,
            duration,
        )
        return response

    def _transport_error(
        self, call: _Call, exc: requests.RequestException, started: float
    ) -> TransientError:
        duration = (time.monotonic() - started) * 1000
        self.stats.add("transport_errors")
        kind = "timeout" if isinstance(exc, requests.Timeout) else "connection error"
        logger.info(
            "PowerOffice %s %s -> %s after %.0f ms", call.method, call.log_path, kind, duration
        )
        error = TransientError(
            status=None,
            title=kind.capitalize(),
            detail=type(exc).__name__,
            method=call.method,
            path=call.log_path,
        )
        error.never_left = _never_left(exc)
        return error

    @sensitive_variables("token")
    def _exchange(self, call: _Call) -> requests.Response:
        """Send ``call`` until it has an answer worth returning: the one retry loop.

        Returns the last response, successful or not; raises TransientError when the request
        could not be sent (or got no answer) and retrying is spent or not allowed.
        """
        attempt = 0
        throttled = 0
        renewed = False
        while True:
            attempt += 1
            token = self.token() if call.authenticated else None
            try:
                response = self._send(call, token)
            except TransientError as exc:
                if (call.idempotent or exc.never_left) and attempt < self.max_attempts:
                    self._backoff(attempt, call.method, call.log_path, exc)
                    continue
                raise
            status = response.status_code
            if (
                status == 401
                and token is not None
                and not renewed
                and not _gateway_refusal(response)
            ):
                # Expired or revoked token: renew once and send again.
                renewed = True
                attempt -= 1
                self.tokens.drop(token)
                self.stats.add("retries")
                logger.info(
                    "PowerOffice %s %s -> 401, renewing the token", call.method, call.log_path
                )
                continue
            if status == 429 and throttled < self.max_429_retries:
                # A throttled request was not processed: safe to send again whatever the method.
                throttled += 1
                attempt -= 1
                self._wait_after_429(response, call.method, call.log_path)
                continue
            if self._retry_answer(call, status, attempt):
                error = self._error_from_response(response, call.method, call.log_path)
                self._backoff(attempt, call.method, call.log_path, error)
                continue
            return response

    def _retry_answer(self, call: _Call, status: int, attempt: int) -> bool:
        """Whether an answer with this status is sent again: a transient one (5xx, 408, not 429)."""
        kind = error_class_for_status(status)
        return (
            issubclass(kind, TransientError)
            and kind is not RateLimitedError
            and call.idempotent
            and attempt < self.max_attempts
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json_body: object = None,
        files: Files | None = None,
        content_type: str | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one API call and return its parsed JSON (None for an empty answer).

        ``path`` is relative to the API base (``/Customers``). None-valued params are dropped.
        ``idempotent`` (default: GET, HEAD, PUT, DELETE) allows retrying transient failures.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        headers: dict[str, str] = {}
        data = None
        if json_body is not None:
            data = encode_json(json_body)
            headers["Content-Type"] = content_type or "application/json"
        elif content_type:
            headers["Content-Type"] = content_type
        log_path = self.api_path + path
        response = self._exchange(
            _Call(
                method,
                self.api_url + path,
                log_path=log_path,
                idempotent=idempotent,
                headers=headers,
                params=query(params),
                data=data,
                files=files,
            )
        )
        status = response.status_code
        if 200 <= status < 300:
            return _parse_body(response) if status != 204 else None
        raise self._error_from_response(response, method, log_path)

    def get(self, path: str) -> JsonObject:
        """``GET`` of one object (PowerOffice's DTO) by its path."""
        return cast(JsonObject, self.request("GET", path))

    # --- helpers for the retry loop ------------------------------------------------------------

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
        asked = try_again_after(response.text or "")
        if asked is not None:
            wait = max(wait, asked)
        self.stats.add("retries")
        logger.warning("PowerOffice %s %s -> 429, waiting %.1f s", method, path, wait)
        # Everybody sharing the subscription key waits, not just this caller.
        self.rate_limiter.penalize(wait)
        time.sleep(wait)

    def _error_from_response(
        self, response: requests.Response, method: str, path: str, *, body: Any = None
    ) -> PowerOfficeError:
        if body is None:
            body = _parse_body(response)
        return error_from_answer(
            response.status_code,
            self.scrub(body),
            text=response.text or "",
            method=method,
            path=path,
        )

    # --- paging --------------------------------------------------------------------------------

    def paginate(
        self,
        path: str,
        params: Mapping[str, QueryValue] | None = None,
        *,
        page_size: int | None = None,
        none_found_404: bool = False,
    ) -> Iterator[JsonObject]:
        """Every object of a list call, page by page (:func:`.paging.paginate`)."""
        return paging.paginate(
            self, path, params, page_size=page_size, none_found_404=none_found_404
        )

    def read_all(
        self,
        path: str,
        params: Mapping[str, QueryValue] | None = None,
        page_size: int | None = None,
        *,
        none_found_404: bool = False,
    ) -> list[JsonObject]:
        """All pages of :meth:`paginate`."""
        return list(self.paginate(path, params, page_size=page_size, none_found_404=none_found_404))

    # --- writes that survive an ambiguous failure ---------------------------------------------

    def create(
        self,
        path: str,
        body: JsonObject,
        *,
        lookup: Callable[[], JsonObject | None],
        what: str,
        unique_keys: tuple[str, ...] = (),
    ) -> JsonObject:
        """``POST`` ``body``, looking before sending again (:func:`.writes.create`)."""
        return writes.create(self, path, body, lookup=lookup, what=what, unique_keys=unique_keys)

    def look_patiently(self, lookup: Callable[[], JsonObject | None]) -> JsonObject | None:
        """``lookup()`` allowing for PowerOffice's read lag (:func:`.writes.look_patiently`)."""
        return writes.look_patiently(self, lookup)

    def delete(self, path: str) -> None:
        """``DELETE``, sent again once after a transient failure; then a 404 means the earlier
        attempt deleted it: success."""
        try:
            self.request("DELETE", path, idempotent=False)
            return
        except TransientError as exc:
            if isinstance(exc, RateLimitedError) or self.max_attempts < 2:
                raise
            self._backoff(1, "DELETE", self.api_path + path, exc)
        try:
            self.request("DELETE", path)
        except NotFoundError:
            logger.info(
                "PowerOffice DELETE %s: already gone after a failed attempt", self.api_path + path
            )
