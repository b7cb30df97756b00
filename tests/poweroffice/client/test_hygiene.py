"""Secrets stay out of logs, errors and reprs; the client counts every request."""

from __future__ import annotations

import logging

import pytest

from poweroffice.client.errors import (
    AuthenticationError,
    InvalidClientError,
    NotFoundError,
    PowerOfficeError,
    ValidationError,
)

# --- secrets hygiene, logs and stats -------------------------------------------------------------


def test_no_key_or_token_in_logs_errors_or_repr(fast_sandbox, client_info, make_client, caplog):
    key = client_info["client_key"]
    caplog.set_level(logging.DEBUG)  # everything, urllib3's connection logs included
    po = make_client(key)
    po.list_departments()
    token = po.transport.tokens._read()[0]
    fast_sandbox.faults(expire_tokens=True, client_key=key)
    po.list_vat_codes()
    token_2 = po.transport.tokens._read()[0]
    assert token_2 != token
    po.create_customer({"Name": "x", "ExternalImportReference": "r"})
    fast_sandbox.faults(status=401, count=2, path="^/Departments$")
    errors = []
    for call in (
        lambda: po.get_customer(1),
        lambda: po.create_customer({"Name": "x", "Number": 1, "ExternalImportReference": "s"}),
        lambda: make_client("wrong-key-5678").list_departments(),
        po.list_departments,
    ):
        with pytest.raises(PowerOfficeError) as caught:
            call()
        errors.append(caught.value)

    assert [type(e) for e in errors] == [
        NotFoundError,
        ValidationError,
        InvalidClientError,
        AuthenticationError,
    ]
    secrets = [key, token, token_2, fast_sandbox.application_key, fast_sandbox.subscription_key]
    secrets.append("wrong-key-5678")
    texts = [caplog.text, repr(po), str(po.stats.as_dict())]
    texts += [str(e) for e in errors] + [repr(e) for e in errors] + [str(e.body) for e in errors]
    for secret in secrets:
        for text in texts:
            assert secret not in text
    assert "GET /v2/Departments -> 200" in caplog.text
    assert "POST /OAuth/Token -> 200" in caplog.text
    assert repr(po).endswith(f"client_key=…{key[-4:]} api_url='{fast_sandbox.api_url}'>")


def test_echoed_secret_in_an_error_body_is_masked(po, fast_sandbox, client_info):
    key = client_info["client_key"]
    fast_sandbox.faults(
        status=400,
        path="^/Departments$",
        body={"title": "Bad request", "detail": f"client {key} did something"},
    )
    with pytest.raises(ValidationError) as caught:
        po.list_departments()
    assert key not in str(caught.value)
    assert key not in str(caught.value.body)
    assert "client *** did something" in str(caught.value)


def test_stats_count_every_request(po, fast_sandbox):
    fast_sandbox.faults(status=503, count=1, path="^/VatCodes$")
    po.list_departments()
    po.list_vat_codes()
    stats = po.stats.as_dict()
    assert stats["requests"] == 4 == len(fast_sandbox.requests_log())
    assert stats["token_requests"] == 1
    assert stats["retries"] == 1
    assert stats["by_status"] == {200: 3, 503: 1}
    po.stats.reset()
    assert po.stats.requests == 0
