"""PowerOffice's errors as typed client errors; retries of reads and of 429."""

from __future__ import annotations

import socket

import pytest

from poweroffice.client.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    TransientError,
    ValidationError,
)
from tests.poweroffice.client.support import api_log, new_client, salary_body

# --- errors --------------------------------------------------------------------------------------


def test_missing_module_is_forbidden_error(fast_sandbox, make_client):
    info = new_client(fast_sandbox, "Uten lønn AS", subscriptions=["Accounting"])
    po = make_client(info["client_key"])
    with pytest.raises(ForbiddenError) as caught:
        po.list_pay_items(codes=["7100"])

    assert caught.value.status == 403
    assert caught.value.retryable is False
    assert "PayItem" in caught.value.detail
    assert "PayItem" in str(caught.value)


def test_unknown_id_is_not_found_error(po, fast_sandbox):
    with pytest.raises(NotFoundError) as caught:
        po.get_customer(1)
    assert caught.value.status == 404
    assert caught.value.title
    assert api_log(fast_sandbox)[0]["route"] == "/Customers/1"


def test_rejected_create_is_validation_error_with_problem_details(po, fast_sandbox):
    with pytest.raises(ValidationError) as caught:
        po.create_customer({"Name": "Ola", "Number": 99999, "ExternalImportReference": "c-1"})

    error = caught.value
    assert error.status == 400
    assert error.retryable is False
    assert error.title == "Customer validation error(s)"
    assert "outside the customer sub-ledger number series" in error.detail
    assert error.title in str(error) and error.detail in str(error)
    assert isinstance(error.body, dict)
    # A permanent error is not retried, nor looked up: one POST.
    assert [(c["method"], c["status"]) for c in api_log(fast_sandbox)] == [("POST", 400)]


def test_our_reference_already_in_use_means_it_exists(po, fast_sandbox, client_info):
    first = po.create_customer({"Name": "Kari", "ExternalImportReference": "bitnet-cust-1"})
    again = po.create_customer({"Name": "Kari", "ExternalImportReference": "bitnet-cust-1"})

    assert again["Id"] == first["Id"]
    assert len(fast_sandbox.data(client_info["client_key"], "customers")) == 1
    calls = [(c["method"], c["status"]) for c in api_log(fast_sandbox)]
    assert calls == [("POST", 201), ("POST", 400), ("GET", 200)]


def test_locked_salary_line_is_conflict_error(po, fast_sandbox, client_info):
    line = po.create_salary_line(salary_body(po, reference="bitnet-trip-1"))
    fast_sandbox.lock_salary_line(client_info["client_key"], line["Id"])
    with pytest.raises(ConflictError) as caught:
        po.delete_salary_line(line["Id"])

    assert caught.value.status == 409
    assert caught.value.retryable is False
    assert po.get_salary_line(line["Id"])["IsLocked"] is True


def test_persistent_5xx_on_a_read_is_transient_error_after_bounded_retries(po, fast_sandbox):
    fast_sandbox.faults(status=503, count=10, path="^/Departments$")
    with pytest.raises(TransientError) as caught:
        po.list_departments()

    assert caught.value.status == 503
    assert caught.value.retryable is True
    assert len(api_log(fast_sandbox)) == po.max_attempts
    assert po.stats.retries == po.max_attempts - 1
    assert po.stats.by_status == {200: 1, 503: po.max_attempts}  # 200: the token


def test_read_recovers_from_transient_5xx(po, fast_sandbox):
    fast_sandbox.faults(status=502, count=2, path="^/VatCodes$")
    assert len(po.list_vat_codes()) > 10
    assert [c["status"] for c in api_log(fast_sandbox)] == [502, 502, 200]


def test_dropped_connection_on_a_read_is_retried(po, fast_sandbox):
    fast_sandbox.faults(action="close", count=1, path="^/Departments$")
    assert len(po.list_departments()) == 4
    assert po.stats.transport_errors == 1


def test_connection_refused_is_transient_error(make_client, po_settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    po = make_client(
        "any-key-1234",
        api_url=f"http://127.0.0.1:{port}/v2",
        token_url=f"http://127.0.0.1:{port}/OAuth/Token",
        max_attempts=2,
    )
    with pytest.raises(TransientError) as caught:
        po.list_departments()
    assert caught.value.status is None
    assert caught.value.never_left is True
    assert po.stats.transport_errors == 2
    assert "any-key-1234" not in str(caught.value)


def test_read_timeout_is_transient_error(po, fast_sandbox):
    po.timeout = 0.3
    po.max_attempts = 2
    fast_sandbox.faults(action="delay", delay_ms=1500, count=2, path="^/Departments$")
    with pytest.raises(TransientError) as caught:
        po.list_departments()
    assert caught.value.title == "Timeout"
    assert po.stats.transport_errors == 2


# --- 429 -----------------------------------------------------------------------------------------


def test_429_waits_and_retries_and_tells_the_shared_limiter(po, fast_sandbox):
    fast_sandbox.faults(status=429, count=1, path="^/Departments$")
    assert len(po.list_departments()) == 4

    assert [c["status"] for c in api_log(fast_sandbox)] == [429, 200]
    assert po.stats.rate_limited_429 == 1
    assert po.stats.retries == 1
    assert po.rate_limiter.penalties == [1.0]  # "Try again in 1 seconds", at least one second


def test_429_on_a_create_is_retried_without_duplicate(po, fast_sandbox, client_info):
    fast_sandbox.faults(status=429, count=1, method="POST", path="^/Customers$")
    created = po.create_customer({"Name": "Kari", "ExternalImportReference": "bitnet-c-429"})

    assert created["ExternalImportReference"] == "bitnet-c-429"
    assert [c["status"] for c in api_log(fast_sandbox)] == [429, 201]
    customers = fast_sandbox.data(client_info["client_key"], "customers")
    assert [c["ExternalImportReference"] for c in customers] == ["bitnet-c-429"]


def test_429_that_does_not_stop_is_rate_limited_error(po, fast_sandbox):
    po.max_429_retries = 1
    fast_sandbox.faults(status=429, count=5, path="^/Departments$")
    with pytest.raises(RateLimitedError) as caught:
        po.list_departments()

    assert caught.value.status == 429
    assert caught.value.retryable is True
    assert caught.value.retry_after == 1.0
    assert "Rate limit is exceeded" in str(caught.value)
    assert len(api_log(fast_sandbox)) == 2


def test_real_throttling_by_the_sandbox_is_absorbed(sandbox, po_settings, make_client):
    # The client's own limiter is far above PowerOffice's: the sandbox throttles, the client waits.
    sandbox.config(rate_limit=3)
    info = new_client(sandbox, "Travel AS")
    po = make_client(info["client_key"])
    for _ in range(6):
        assert len(po.list_departments()) == 4

    statuses = [c["status"] for c in api_log(sandbox)]
    assert statuses.count(200) == 6
    assert statuses.count(429) == po.stats.rate_limited_429 >= 1
