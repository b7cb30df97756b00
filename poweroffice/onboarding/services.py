"""Onboarding through PowerOffice: start (a temporary URL), finish (the approved clients' keys,
held encrypted in the session), propose a subgroup per client, and confirm through the same key
service the manual field uses."""

import secrets
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest

from bitnet.models import Agency, Subgroup, User
from poweroffice.crypto import decrypt_secret, encrypt_secret
from poweroffice.datadeling.connection import connection_store_client_key
from poweroffice.models import Connection

SESSION_KEY = "poweroffice_onboarding"
STATE_SALT = "poweroffice.onboarding.state"
STATE_MAX_AGE = 15 * 60
REFUSED = "PowerOffice avviste tilkoblingen. Prøv igjen, eller lim inn nøkkelen."
TOKEN_REFUSED = "PowerOffice godtok ikke tilkoblingen (utløpt eller brukt). Start på nytt."


class OnboardingError(Exception):
    """Onboarding failed; the message is Norwegian, for the user."""


@dataclass
class ApprovedClient:
    index: int
    name: str
    org_number: str
    proposed: Subgroup | None


def _post(path: str, payload: dict[str, str]) -> requests.Response:
    try:
        return requests.post(f"{settings.POWEROFFICE_API_URL}{path}", json=payload, timeout=20)
    except requests.RequestException as error:
        raise OnboardingError("PowerOffice svarer ikke. Prøv igjen om litt.") from error


def redirect_uri(request: HttpRequest) -> str:
    configured = getattr(settings, "POWEROFFICE_ONBOARDING_REDIRECT_URI", "")
    return configured or request.build_absolute_uri("/poweroffice/onboarding/retur/")


def _only_org_number(agency: Agency) -> str:
    """The one client to present, for an agency of one subgroup; with more, PowerOffice lists
    every client the user may onboard, so all subgroups connect in one go."""
    subgroups = list(Subgroup.objects.filter(agency=agency)[:2])
    if len(subgroups) != 1:
        return ""
    return subgroups[0].org_number or agency.org_number


def onboarding_start(*, request: HttpRequest, agency: Agency) -> str:
    """The temporary URL at PowerOffice; ``state`` binds the return to this session and agency."""
    nonce = secrets.token_urlsafe(24)
    request.session[SESSION_KEY] = {"nonce": nonce, "agency": agency.pk}
    state = signing.dumps({"n": nonce, "a": agency.pk}, salt=STATE_SALT)
    uri = f"{redirect_uri(request)}?state={state}"
    payload = {"ApplicationKey": settings.POWEROFFICE_APPLICATION_KEY, "RedirectUri": uri}
    org_number = _only_org_number(agency)
    if org_number:
        payload["ClientOrganizationNo"] = org_number
    response = _post("/Onboarding/Initiate", payload)
    if response.status_code != 200 or not response.json().get("TemporaryUrl"):
        raise OnboardingError(REFUSED)
    return str(response.json()["TemporaryUrl"])


def onboarding_finish(
    *, request: HttpRequest, agency: Agency, state: str, token: str, error: str
) -> None:
    """Check ``state`` against the session and agency, then trade the one-time token for keys."""
    pending = request.session.get(SESSION_KEY) or {}
    try:
        data = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise OnboardingError("Tilkoblingen tok for lang tid. Start på nytt.") from exc
    except signing.BadSignature as exc:
        raise OnboardingError("Ugyldig svar fra PowerOffice. Start på nytt.") from exc
    if (
        not pending.get("nonce")
        or data.get("n") != pending["nonce"]
        or data.get("a") != agency.pk
        or pending.get("agency") != agency.pk
    ):
        raise OnboardingError("Denne tilkoblingen ble ikke startet av deg. Start på nytt.")
    request.session.pop(SESSION_KEY, None)  # the state is single-use
    if error or not token:
        raise OnboardingError("Tilkoblingen ble avbrutt i PowerOffice. Ingenting er endret.")
    response = _post("/Onboarding/Finalize", {"OnboardingToken": token})
    if response.status_code != 200:
        raise OnboardingError(TOKEN_REFUSED)
    clients = response.json().get("OnboardedClientsInformation") or []
    request.session[SESSION_KEY] = {
        "agency": agency.pk,
        "at": time.time(),
        "clients": [
            {
                "name": c.get("ClientName") or "",
                "org": c.get("ClientOrganizationNumber") or "",
                "key": encrypt_secret(c["ClientKey"]),
            }
            for c in clients
            if c.get("ClientKey")
        ],
    }


def _pending(request: HttpRequest, agency: Agency) -> list[dict[str, str]]:
    """The approved clients held for ``agency``; an abandoned onboarding is dropped when older
    than the state's lifetime, so its encrypted keys do not linger in the session."""
    pending = request.session.get(SESSION_KEY) or {}
    if "clients" not in pending:
        return []
    if time.time() - float(pending.get("at") or 0) > STATE_MAX_AGE:
        request.session.pop(SESSION_KEY, None)
        return []
    return list(pending["clients"]) if pending.get("agency") == agency.pk else []


def approved_clients(*, request: HttpRequest, agency: Agency) -> list[ApprovedClient]:
    clients = _pending(request, agency)
    if not clients:
        return []
    subgroups = list(Subgroup.objects.filter(agency=agency))
    result = []
    for index, c in enumerate(clients):
        proposed = next((s for s in subgroups if c["org"] and s.org_number == c["org"]), None)
        proposed = proposed or next(
            (s for s in subgroups if s.name.strip().lower() == c["name"].strip().lower()), None
        )
        result.append(ApprovedClient(index, c["name"], c["org"], proposed))
    return result


def onboarding_confirm(
    *, request: HttpRequest, agency: Agency, mapping: dict[int, int], actor: User | None
) -> list[Connection]:
    """Store each approved key on its chosen subgroup; all or nothing. Returns the connections."""
    clients = _pending(request, agency)
    if not clients:
        raise OnboardingError("Fant ingen godkjente klienter. Start på nytt.")
    if len(set(mapping.values())) != len(mapping):
        raise OnboardingError("To klienter kan ikke kobles til samme undergruppe.")
    done = []
    with transaction.atomic():
        for index, subgroup_id in mapping.items():
            subgroup = Subgroup.objects.filter(agency=agency, pk=subgroup_id).first()
            if subgroup is None or not 0 <= index < len(clients):
                raise OnboardingError("Velg en undergruppe for hver klient.")
            connection, _ = Connection.objects.get_or_create(subgroup=subgroup)
            result = connection_store_client_key(
                connection=connection,
                client_key=decrypt_secret(clients[index]["key"]),
                actor=actor,
                org_number=clients[index]["org"],
            )
            if not result.ok:
                raise OnboardingError(f"{clients[index]['name']}: {result.message}")
            done.append(connection)
    request.session.pop(SESSION_KEY, None)
    return done
