"""HTTP answers of the sandbox: JSON, RFC 7807 problem details, and the errors that carry them."""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

PROBLEM_TYPES = {
    400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
    403: "https://tools.ietf.org/html/rfc7231#section-6.5.3",
    404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
    405: "https://tools.ietf.org/html/rfc7231#section-6.5.5",
    409: "https://tools.ietf.org/html/rfc7231#section-6.5.8",
    413: "https://tools.ietf.org/html/rfc7231#section-6.5.11",
    415: "https://tools.ietf.org/html/rfc7231#section-6.5.13",
    500: "https://tools.ietf.org/html/rfc7231#section-6.6.1",
}

RATE_LIMIT_MESSAGE = "Rate limit is exceeded. Try again in {seconds} seconds."


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # The JSON that was sent, for the request log.
    payload: object = None


def _default(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default)


def json_response(status: int, payload, *, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status=status,
        body=dumps(payload).encode(),
        content_type="application/json; charset=utf-8",
        headers=headers or {},
        payload=payload,
    )


def empty_response(status: int, *, headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, headers=headers or {})


def problem_body(
    status: int,
    title: str,
    detail: str | None,
    *,
    instance: str | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPES.get(status),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return body


def problem_response(
    status: int,
    title: str,
    detail: str | None,
    *,
    instance: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = problem_body(status, title, detail, instance=instance, errors=errors)
    return Response(
        status=status,
        body=dumps(body).encode(),
        content_type="application/problem+json; charset=utf-8",
        headers=headers or {},
        payload=body,
    )


# Azure API Management, PowerOffice's gateway, refuses a call without a valid subscription key
# before PowerOffice sees it: 401 with its own JSON (not problem details, not OAuth).
SUBSCRIPTION_KEY_MISSING = (
    "Access denied due to missing subscription key. Make sure to include subscription key when "
    "making requests to an API."
)
SUBSCRIPTION_KEY_INVALID = (
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an "
    "active subscription."
)


def subscription_refused_response(*, missing: bool) -> Response:
    message = SUBSCRIPTION_KEY_MISSING if missing else SUBSCRIPTION_KEY_INVALID
    return json_response(401, {"statusCode": 401, "message": message})


def rate_limited_response(seconds: int) -> Response:
    # Azure API Management's throttling answer, as PowerOffice's gateway sends it.
    payload = {"statusCode": "429", "message": RATE_LIMIT_MESSAGE.format(seconds=seconds)}
    return json_response(429, payload, headers={"Retry-After": str(seconds)})


class ApiError(Exception):
    """An answer other than success, raised from deep inside a handler."""

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        bare: bool = False,
    ):
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.bare = bare

    def response(self, instance: str | None = None) -> Response:
        if self.bare:
            return empty_response(self.status, headers=self.headers)
        return problem_response(
            self.status,
            self.title or "Error",
            self.detail,
            instance=instance,
            errors=self.errors,
            headers=self.headers,
        )


class Problems:
    """Collects validation messages of one request; raises them as one problem detail."""

    def __init__(self, title: str):
        self.title = title
        self.bad: list[tuple[str, str]] = []
        self.missing: list[tuple[str, str]] = []

    def add(self, field_name: str, message: str) -> None:
        self.bad.append((field_name, message))

    def not_found(self, field_name: str, message: str) -> None:
        self.missing.append((field_name, message))

    def raise_if_any(self) -> None:
        # Malformed input first (400), then references to objects that do not exist (404),
        # the way PowerOffice answers "Department with code = 'X' not found." with a 404.
        if self.bad:
            raise self._error(400, self.bad)
        if self.missing:
            raise self._error(404, self.missing)

    def _error(self, status: int, items: list[tuple[str, str]]) -> ApiError:
        errors: dict[str, list[str]] = {}
        for name, message in items:
            errors.setdefault(name or "$", []).append(message)
        return ApiError(status, self.title, " ".join(m for _, m in items), errors=errors)


def now_utc() -> datetime:
    return datetime.now(UTC)


def now_iso() -> str:
    return now_utc().isoformat()
