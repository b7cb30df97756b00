"""The sandbox's onboarding: Initiate, the consent page, the redirect, Finalize (once)."""

import re
from urllib.parse import parse_qs, urlsplit

REDIRECT = "http://bitnet.example/poweroffice/onboarding/retur"


def _initiate(sandbox, **extra):
    body = {"ApplicationKey": sandbox.application_key, "RedirectUri": REDIRECT, **extra}
    response = sandbox.http.post(f"{sandbox.api_url}/Onboarding/Initiate", json=body)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"TemporaryUrl", "ValidUntilDateTimeOffset"}
    return response.json()["TemporaryUrl"]


def _approve(sandbox, url, client_ids, action="approve"):
    page = sandbox.http.get(url)
    assert page.status_code == 200
    response = sandbox.http.post(
        url, data={"action": action, "client": client_ids}, allow_redirects=False
    )
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT)
    return parse_qs(urlsplit(location).query), page.text


def _finalize(sandbox, token):
    return sandbox.http.post(
        f"{sandbox.api_url}/Onboarding/Finalize", json={"OnboardingToken": token}
    )


def test_approve_two_clients_and_finalize_once(sandbox):
    one = sandbox.create_client("Byrå Øst AS", organization_no="911111111")
    two = sandbox.create_client("Byrå Vest AS", organization_no="922222222")
    sandbox.create_client("Ikke valgt AS", organization_no="933333333")
    query, page = _approve(sandbox, _initiate(sandbox), [one["client_id"], two["client_id"]])
    assert "Ikke valgt AS" in page
    response = _finalize(sandbox, query["token"][0])
    assert response.status_code == 200, response.text
    clients = response.json()["OnboardedClientsInformation"]
    assert {(c["ClientKey"], c["ClientOrganizationNumber"]) for c in clients} == {
        (one["client_key"], "911111111"),
        (two["client_key"], "922222222"),
    }
    assert _finalize(sandbox, query["token"][0]).status_code == 400


def test_organisation_number_shows_only_that_client(sandbox):
    sandbox.create_client("Byrå Øst AS", organization_no="911111111")
    sandbox.create_client("Byrå Vest AS", organization_no="922222222")
    page = sandbox.http.get(_initiate(sandbox, ClientOrganizationNo="922222222")).text
    assert "Byrå Vest AS" in page and "Byrå Øst AS" not in page


def test_cancel_redirects_with_an_error_and_no_token(sandbox):
    one = sandbox.create_client("Byrå Øst AS", organization_no="911111111")
    url = _initiate(sandbox)
    query, _ = _approve(sandbox, url, [one["client_id"]], action="cancel")
    assert query == {"error": ["access_denied"]}
    assert sandbox.http.get(url).status_code == 404


def test_unknown_token_and_bad_body_are_refused(sandbox):
    sandbox.create_client("Byrå Øst AS")
    assert _finalize(sandbox, "not-a-token").status_code == 400
    bad = sandbox.http.post(
        f"{sandbox.api_url}/Onboarding/Initiate", json={"ApplicationKey": "x", "Extra": 1}
    )
    assert bad.status_code == 400
    assert re.search("InitiateOnboardingPostDto", bad.text)


def test_links_and_tokens_expire_after_ten_minutes(sandbox, monkeypatch):
    from types import SimpleNamespace

    from poweroffice.sandbox.api import onboarding

    one = sandbox.create_client("Byrå Øst AS", organization_no="911111111")
    url = _initiate(sandbox)
    query, _ = _approve(sandbox, url, [one["client_id"]])
    late = onboarding.time.time() + onboarding.LIFETIME_SECONDS + 1
    monkeypatch.setattr(onboarding, "time", SimpleNamespace(time=lambda: late))
    assert _finalize(sandbox, query["token"][0]).status_code == 400
    assert sandbox.http.get(_initiate(sandbox)).status_code == 200  # a new link is valid
    monkeypatch.undo()
    stale = _initiate(sandbox)
    monkeypatch.setattr(onboarding, "time", SimpleNamespace(time=lambda: late + 60))
    assert sandbox.http.get(stale).status_code == 410
