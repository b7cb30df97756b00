"""Tokens, authentication of API calls, client information and privileges."""

import uuid

import pytest
import requests

from tests.poweroffice.sandbox.support import basic

# -- token ----------------------------------------------------------------------------------


def test_token_answer_and_expiry_setting(sandbox):
    client = sandbox.create_client()
    response = requests.post(
        sandbox.token_url,
        data={"grant_type": "client_credentials"},
        headers={
            "Authorization": basic(sandbox.application_key, client["client_key"]),
            "Ocp-Apim-Subscription-Key": sandbox.subscription_key,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1200

    sandbox.config(token_lifetime=60)
    again = requests.post(
        sandbox.url + "/Demo/OAuth/Token",
        data={"grant_type": "client_credentials"},
        headers={
            "Authorization": basic(sandbox.application_key, client["client_key"]),
            "Ocp-Apim-Subscription-Key": sandbox.subscription_key,
        },
    )
    assert again.status_code == 200 and again.json()["expires_in"] == 60


@pytest.mark.parametrize(
    "case", ["client_key", "application_key", "another_clients_subscription_key", "no_basic"]
)
def test_token_wrong_keys_are_invalid_client(sandbox, case):
    client = sandbox.create_client()
    application_key, client_key = sandbox.application_key, client["client_key"]
    headers = {"Ocp-Apim-Subscription-Key": sandbox.subscription_key}
    if case == "client_key":
        client_key = str(uuid.uuid4())
    elif case == "application_key":
        application_key = "someone-elses-application"
    elif case == "another_clients_subscription_key":
        # A key the gateway knows, but not the one this client integration is under.
        sandbox.create_client("Andre AS", subscription_key="another-developers-key")
        headers["Ocp-Apim-Subscription-Key"] = "another-developers-key"
    if case != "no_basic":
        headers["Authorization"] = basic(application_key, client_key)
    response = requests.post(
        sandbox.token_url, data={"grant_type": "client_credentials"}, headers=headers
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("Client integration not found.")


@pytest.mark.parametrize("key", [None, "not-our-subscription-key"])
def test_gateway_refuses_a_missing_or_unknown_subscription_key(sandbox, key):
    """PowerOffice's API gateway (Azure API Management) answers before PowerOffice does: 401
    with its own message, for the token request and every API call alike."""
    client = sandbox.create_client()
    headers = {"Authorization": basic(sandbox.application_key, client["client_key"])}
    if key:
        headers["Ocp-Apim-Subscription-Key"] = key
    token = requests.post(
        sandbox.token_url, data={"grant_type": "client_credentials"}, headers=headers
    )
    bearer = {"Authorization": f"Bearer {sandbox.token(client['client_key'])}"}
    if key:
        bearer["Ocp-Apim-Subscription-Key"] = key
    call = requests.get(sandbox.api_url + "/Departments", headers=bearer)
    for response in (token, call):
        assert response.status_code == 401
        body = response.json()
        assert body["statusCode"] == 401
        wanted = "invalid subscription key" if key else "missing subscription key"
        assert body["message"].startswith(f"Access denied due to {wanted}.")


def test_token_needs_form_and_client_credentials_grant(sandbox):
    client = sandbox.create_client()
    headers = {
        "Authorization": basic(sandbox.application_key, client["client_key"]),
        "Ocp-Apim-Subscription-Key": sandbox.subscription_key,
    }
    wrong_grant = requests.post(sandbox.token_url, data={"grant_type": "password"}, headers=headers)
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    as_json = requests.post(
        sandbox.token_url, json={"grant_type": "client_credentials"}, headers=headers
    )
    assert as_json.status_code == 400
    assert as_json.json()["error"] == "invalid_request"


# -- authentication of API calls ------------------------------------------------------------


def test_api_calls_need_a_valid_token_and_subscription_key(sandbox):
    client = sandbox.create_client()
    token = sandbox.token(client["client_key"])
    url = sandbox.api_url + "/ClientIntegrationInformation"
    good = {
        "Authorization": f"Bearer {token}",
        "Ocp-Apim-Subscription-Key": sandbox.subscription_key,
    }
    assert requests.get(url, headers=good).status_code == 200
    sandbox.create_client("Andre AS", subscription_key="another-subscription")
    for headers in (
        {"Ocp-Apim-Subscription-Key": sandbox.subscription_key},
        {**good, "Authorization": "Bearer not-a-token"},
        # Known to the gateway, but not the key the token was issued under.
        {**good, "Ocp-Apim-Subscription-Key": "another-subscription"},
    ):
        response = requests.get(url, headers=headers)
        assert response.status_code == 401
        assert response.content == b""
    # Without a subscription key the gateway answers (see the test above).
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        assert requests.get(url, headers=headers).json()["statusCode"] == 401


def test_expired_and_revoked_tokens_are_401(sandbox):
    client = sandbox.create_client()
    api = sandbox.api(client["client_key"])
    assert api.get("/VatCodes").status_code == 200
    sandbox.faults(expire_tokens=True)
    expired = api.get("/VatCodes")
    assert expired.status_code == 401 and expired.content == b""
    assert "expired" in expired.headers["WWW-Authenticate"]

    api = sandbox.api(client["client_key"])
    sandbox.faults(revoke_tokens=True, client_key=client["client_key"])
    assert api.get("/VatCodes").status_code == 401

    api = sandbox.api(client["client_key"])
    sandbox.delete_client(client["client_key"])
    assert api.get("/VatCodes").status_code == 401


def test_demo_spelling_has_its_own_tokens(sandbox):
    client = sandbox.create_client()
    demo = sandbox.api(client["client_key"], demo=True)
    assert demo.get("/ClientIntegrationInformation").status_code == 200
    prod_token = sandbox.token(client["client_key"])
    response = requests.get(
        sandbox.url + "/Demo/v2/ClientIntegrationInformation",
        headers={
            "Authorization": f"Bearer {prod_token}",
            "Ocp-Apim-Subscription-Key": sandbox.subscription_key,
        },
    )
    assert response.status_code == 401


def test_unknown_path_is_404_and_wrong_method_405(po):
    assert po.api.get("/Nowhere").status_code == 404
    response = po.api.get("/Vouchers/OutgoingInvoiceJournals")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


# -- client information, privileges --------------------------------------------------------


def test_client_information_and_missing_module(po, conform):
    info = conform(po.api.get("/ClientIntegrationInformation"), "/ClientIntegrationInformation")
    body = info.json()
    assert body["ClientName"] == "Hansen Oslo"
    assert body["ClientId"] == po.client["client_id"]
    assert body["ActiveClientSubscriptions"] == ["Accounting", "Payroll"]
    assert "SalaryLine_Full" in body["ValidPrivileges"]
    assert body["InvalidPrivileges"] == []

    po.sandbox.patch_client(po.key, remove_subscriptions=["Payroll"])
    body = po.api.get("/ClientIntegrationInformation").json()
    assert body["ActiveClientSubscriptions"] == ["Accounting"]
    assert "SalaryLine_Full" in body["InvalidPrivileges"]
    assert "SalaryLine_Full" not in body["ValidPrivileges"]
    assert po.api.get("/PayItems").status_code == 403
    assert po.api.get("/Customers").status_code == 204

    po.sandbox.patch_client(po.key, remove_privileges=["Customer_Full"])
    assert po.api.get("/Customers").status_code == 204
    assert po.api.post("/Customers", json={"Name": "X"}).status_code == 403
