"""POST /Onboarding/Initiate and /Onboarding/Finalize, and the consent page between them.

Initiate answers a temporary URL (the consent page) for an application key; there a demo user
picks the clients to approve (only the one whose organisation number was named, if one was) and
approves or cancels. Approving redirects to the RedirectUri with a one-time ``token``; Finalize
trades that token for the client key of each approved client, once.
"""

import html
import json
import secrets
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

from ..responses import Response, json_response, problem_response
from ..state import SandboxState

LIFETIME_SECONDS = 600


def _store(state: SandboxState) -> dict:
    return state.__dict__.setdefault("onboardings", {})


def _candidates(state: SandboxState, record: dict) -> list[dict]:
    return [
        c
        for c in state.clients.values()
        if c["application_key"] == record["application_key"]
        and (not record["org_no"] or c.get("organization_no") == record["org_no"])
    ]


def initiate(state: SandboxState, base_url: str, body: bytes) -> Response:
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        payload = None
    allowed = {"ApplicationKey", "ClientOrganizationNo", "RedirectUri"}
    if not isinstance(payload, dict) or set(payload) - allowed:
        return problem_response(400, "Bad Request", "The body must be InitiateOnboardingPostDto.")
    application_key = payload.get("ApplicationKey")
    redirect_uri = payload.get("RedirectUri") or ""
    if not isinstance(application_key, str) or not application_key:
        return problem_response(400, "Bad Request", "ApplicationKey is required.")
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return problem_response(400, "Bad Request", "RedirectUri must be an absolute URI.")
    with state.lock:
        if not any(c["application_key"] == application_key for c in state.clients.values()):
            return problem_response(400, "Bad Request", "Unknown ApplicationKey.")
        url_token = secrets.token_urlsafe(32)
        valid_until = time.time() + LIFETIME_SECONDS
        _store(state)[url_token] = {
            "application_key": application_key,
            "org_no": payload.get("ClientOrganizationNo") or None,
            "redirect_uri": redirect_uri,
            "valid_until": valid_until,
            "approved": None,
            "finalized": False,
        }
    return json_response(
        200,
        {
            "TemporaryUrl": f"{base_url}/Onboarding/Consent?{urlencode({'token': url_token})}",
            "ValidUntilDateTimeOffset": datetime.fromtimestamp(valid_until, UTC).isoformat(),
        },
    )


def _redirect(uri: str, params: dict) -> Response:
    sep = "&" if urlsplit(uri).query else "?"
    return Response(302, headers={"Location": f"{uri}{sep}{urlencode(params)}"})


def consent(state: SandboxState, method: str, query: dict, body: bytes) -> Response:
    """The demo user's page: GET shows the clients, POST approves the ticked ones or cancels."""
    url_token = query.get("token", "")
    with state.lock:
        record = _store(state).get(url_token)
        if record is None or record["approved"] is not None:
            return Response(404, b"Ukjent eller brukt lenke.", "text/plain; charset=utf-8")
        if record["valid_until"] < time.time():
            return Response(410, b"Lenken er utlopt.", "text/plain; charset=utf-8")
        candidates = _candidates(state, record)
        if method == "POST":
            form = parse_qs(body.decode("utf-8"))
            if form.get("action") != ["approve"]:
                record["approved"] = []
                return _redirect(record["redirect_uri"], {"error": "access_denied"})
            picked = set(form.get("client", []))
            record["approved"] = [c["client_key"] for c in candidates if c["client_id"] in picked]
            if not record["approved"]:
                record["approved"] = None
                return Response(400, b"Velg minst en klient.", "text/plain; charset=utf-8")
            onboarding_token = secrets.token_urlsafe(48)
            _store(state)[onboarding_token] = record
            del _store(state)[url_token]
            return _redirect(record["redirect_uri"], {"token": onboarding_token})
    rows = "".join(
        f'<li><label><input type="checkbox" name="client" value="{html.escape(c["client_id"])}">'
        f" {html.escape(c['name'])} ({html.escape(c.get('organization_no') or '-')})</label></li>"
        for c in candidates
    )
    page = (
        "<!doctype html><html lang='no'><head><meta charset='utf-8'><title>PowerOffice Go"
        "</title><meta name='viewport' content='width=device-width'></head><body>"
        "<h1>Godkjenn integrasjonen</h1><form method='post'>"
        f"<ul>{rows}</ul><button name='action' value='approve'>Godkjenn</button> "
        "<button name='action' value='cancel'>Avbryt</button></form></body></html>"
    )
    return Response(200, page.encode(), "text/html; charset=utf-8")


def finalize(state: SandboxState, body: bytes) -> Response:
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or set(payload) - {"OnboardingToken"}:
        return problem_response(400, "Bad Request", "The body must be FinalizeOnboardingPostDto.")
    with state.lock:
        record = _store(state).get(payload.get("OnboardingToken") or "")
        if (
            record is None
            or not record["approved"]
            or record["finalized"]
            or record["valid_until"] < time.time()
        ):
            return problem_response(
                400, "Invalid onboarding token", "The token is unknown, used or expired."
            )
        record["finalized"] = True
        clients = [state.clients[k] for k in record["approved"] if k in state.clients]
    return json_response(
        200,
        {
            "OnboardedClientsInformation": [
                {
                    "ClientKey": c["client_key"],
                    "ClientName": c["name"],
                    "ClientOrganizationNumber": c.get("organization_no"),
                }
                for c in clients
            ],
            "UserEmail": "demo@poweroffice.example",
        },
    )
