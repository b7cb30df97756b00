"""Typed errors raised by the PowerOffice Go client.

Every error carries the HTTP status (None when no answer came back), PowerOffice's problem-details
``title`` and ``detail``, the parsed body and whether retrying the same call later can help.
Messages are built from those fields only, never from request headers, so they never contain an
application key, client key, subscription key or token.
"""

from __future__ import annotations

import json
import re
from typing import Any


class PowerOfficeError(Exception):
    """Base class: any failed call to PowerOffice Go."""

    default_retryable = False

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        title: str | None = None,
        detail: str | None = None,
        body: Any = None,
        retryable: bool | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.body = body
        self.retryable = self.default_retryable if retryable is None else retryable
        self.method = method
        self.path = path
        self.message = message or self._compose()
        super().__init__(self.message)

    def _compose(self) -> str:
        parts: list[str] = []
        if self.method and self.path:
            parts.append(f"{self.method} {self.path}")
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        text = ": ".join(p for p in (self.title, self.detail) if p)
        if text:
            parts.append(text)
        return " - ".join(parts) or self.__class__.__name__

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(status={self.status!r}, message={self.message!r})"


class TransientError(PowerOfficeError):
    """Connection error, timeout, 429 or 5xx: the same call may succeed later."""

    default_retryable = True
    # True when the request provably never reached PowerOffice (connection refused, connect
    # timeout): sending it again cannot create a duplicate.
    never_left = False


class RateLimitedError(TransientError):
    """429 Too Many Requests, still throttled after the client's own retries."""

    def __init__(
        self, message: str = "", *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class InvalidClientError(PowerOfficeError):
    """The token endpoint refused the keys (400 ``invalid_client``): wrong or revoked client key."""


class AuthenticationError(PowerOfficeError):
    """401 even after renewing the token once (or the token endpoint refused the request)."""


class SubscriptionKeyError(AuthenticationError):
    """401 from PowerOffice's API gateway: our subscription key (``Ocp-Apim-Subscription-Key``) is
    missing or unknown. Our configuration, not the customer's client key."""


def names_subscription_key(status: int, detail: str | None) -> bool:
    """Whether a 401 is the gateway's refusal of the subscription key ("Access denied due to
    invalid subscription key. ..."), rather than PowerOffice's refusal of a token or client."""
    return status == 401 and "subscription key" in (detail or "").lower()


class ForbiddenError(PowerOfficeError):
    """403: the integration lacks a privilege or the client lacks the module."""


class NotFoundError(PowerOfficeError):
    """404: the object, or an object it refers to (e.g. a department code), does not exist."""


class ConflictError(PowerOfficeError):
    """409: the object is in use or locked (e.g. a salary line in a payroll run)."""


class ValidationError(PowerOfficeError):
    """400: PowerOffice rejected the request body or a filter."""

    def names_in_use(self, key: str) -> bool:
        """Whether PowerOffice refused because the value of ``key`` is already in use
        ("ExternalImportReference is already in use. ...", "Product code 'B-7' is already in
        use ...")."""
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        if isinstance(errors, dict):
            for name, messages in errors.items():
                texts = messages if isinstance(messages, list) else [messages]
                if str(name).lower() == key.lower() and any(
                    "in use" in str(text).lower() for text in texts
                ):
                    return True
        pattern = re.compile(rf"\b{re.escape(key)}\b[^.]*\bin use\b", re.IGNORECASE)
        return any(pattern.search(text) for text in (self.detail or "", self.title or ""))


class InvalidDocumentError(ValidationError):
    """Voucher documentation refused before sending: not a PDF, or larger than 30 MB."""


def error_class_for_status(status: int) -> type[PowerOfficeError]:
    if status == 429:
        return RateLimitedError
    if status >= 500 or status == 408:
        return TransientError
    return {
        400: ValidationError,
        401: AuthenticationError,
        403: ForbiddenError,
        404: NotFoundError,
        409: ConflictError,
    }.get(status, PowerOfficeError)


_TRY_AGAIN_RE = re.compile(r"try again in (\d+(?:\.\d+)?) second", re.IGNORECASE)


def try_again_after(text: str) -> float | None:
    """The seconds named by PowerOffice's "Try again in N seconds" (a 429's text), if any."""
    match = _TRY_AGAIN_RE.search(text)
    return float(match.group(1)) if match else None


def error_from_answer(
    status: int, body: Any, *, text: str, method: str, path: str
) -> PowerOfficeError:
    """The typed error for an answer that is not a success.

    ``body`` is the parsed answer with any secret already masked; ``text`` the raw answer, read
    for nothing but the wait a 429 names.
    """
    title, detail = _problem_text(body)
    cls = error_class_for_status(status)
    if names_subscription_key(status, detail):
        cls = SubscriptionKeyError
    if cls is RateLimitedError:
        wait = try_again_after(text)
        return RateLimitedError(
            status=status,
            title=title,
            detail=detail,
            body=body,
            method=method,
            path=path,
            retry_after=1.0 if wait is None else wait,
        )
    return cls(status=status, title=title, detail=detail, body=body, method=method, path=path)


def _problem_text(body: Any) -> tuple[str | None, str | None]:
    """(title, detail) of a problem-details or OAuth error body, cut to a sane length."""
    title = detail = None
    if isinstance(body, dict):
        lowered = {str(k).lower(): v for k, v in body.items()}
        title = lowered.get("title") or lowered.get("error")
        detail = lowered.get("detail") or lowered.get("error_description") or lowered.get("message")
        errors = lowered.get("errors")
        if not detail and errors:
            detail = json.dumps(errors, ensure_ascii=False)
    elif isinstance(body, str) and body.strip():
        detail = body.strip()[:500]
    return (
        None if title is None else str(title)[:500],
        None if detail is None else str(detail)[:2000],
    )
