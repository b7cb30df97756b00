"""POST /OAuth/Token (and /Demo/OAuth/Token): client credentials for an access token.

The application key and the client key come as ``Authorization: Basic``, the subscription key
as ``Ocp-Apim-Subscription-Key``; anything wrong is 400 ``invalid_client`` (OAuth 2 errors, not
problem details).
"""

import base64
import binascii
from email.message import Message
from urllib.parse import parse_qs

from ..responses import Response, json_response
from ..state import SandboxState


def basic_keys(value: str) -> tuple[str, str] | None:
    """(application key, client key) from the value of a Basic authorization, if it is one."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    application_key, sep, client_key = decoded.partition(":")
    return (application_key, client_key) if sep else None


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response(status, {"error": error, "error_description": description})


def issue_token(
    state: SandboxState,
    *,
    method: str,
    env: str,
    headers: Message,
    body: bytes,
    subscription_key: str | None,
) -> Response:
    if method != "POST":
        return _oauth_error(405, "invalid_request", "Use POST.")
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _oauth_error(
            400,
            "invalid_request",
            "The token request must be application/x-www-form-urlencoded.",
        )
    form = parse_qs(body.decode("latin-1"), keep_blank_values=True)
    if form.get("grant_type") != ["client_credentials"]:
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials.")
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    keys = basic_keys(value.strip()) if scheme.lower() == "basic" else None
    with state.lock:
        client = state.clients.get(keys[1]) if keys else None
        if (
            keys is None
            or client is None
            or client["application_key"] != keys[0]
            or not subscription_key
            or client["subscription_key"] != subscription_key
        ):
            return _oauth_error(
                400,
                "invalid_client",
                "Client integration not found. Check the application key, the client key "
                "(Basic authorization) and the Ocp-Apim-Subscription-Key header.",
            )
        access_token, lifetime = state.issue_token(
            client, subscription_key=subscription_key, env=env
        )
    return json_response(
        200,
        {"access_token": access_token, "token_type": "bearer", "expires_in": lifetime},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
