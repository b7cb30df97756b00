"""The shared rate limit and the faults a test can set up."""

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from poweroffice.sandbox.state import SandboxState
from tests.poweroffice.sandbox.support import (
    RATE_LIMIT_BODY,
    basic,
    new_customer,
    post_voucher,
    problem,
    voucher,
)

# -- rate limit -----------------------------------------------------------------------------


def test_rate_limit_is_shared_by_every_client_key_and_counts_token_calls(sandbox):
    first = sandbox.create_client("A")
    second = sandbox.create_client("B")
    api_a, api_b = sandbox.api(first["client_key"]), sandbox.api(second["client_key"])
    sandbox.config(rate_limit=3)
    time.sleep(1.1)  # let the two token calls above leave the one-second window

    def token():
        return requests.post(
            sandbox.token_url,
            data={"grant_type": "client_credentials"},
            headers={
                "Authorization": basic(sandbox.application_key, first["client_key"]),
                "Ocp-Apim-Subscription-Key": sandbox.subscription_key,
            },
        )

    # Three calls fill the one-second window of the subscription key, whichever client key.
    assert token().status_code == 200
    assert api_a.get("/VatCodes").status_code == 200
    assert api_b.get("/VatCodes").status_code == 200
    throttled = [api_a.get("/VatCodes"), token()]
    assert [r.status_code for r in throttled] == [429, 429]
    assert throttled[0].json() == RATE_LIMIT_BODY
    assert throttled[1].json() == RATE_LIMIT_BODY
    assert throttled[0].headers["Retry-After"] == "1"
    assert [e["route"] for e in sandbox.requests_log(status="429")] == ["/VatCodes", "/OAuth/Token"]


def test_rate_limit_counts_arrivals_in_any_second_whatever_order_they_are_counted():
    # Threads may count requests a little out of their order of arrival: a late-counted one is
    # refused when it would put a fourth arrival into any one second.
    state = SandboxState(rate_limit=3)
    assert [state.rate_hit("key", at=t) for t in (100.1, 100.2, 100.9)] == [None] * 3
    assert state.rate_hit("key", at=100.0) == 1  # (99.9, 100.9] would hold four
    assert state.rate_hit("key", at=101.11) is None  # (100.11, 101.11] holds three
    assert state.rate_hit("other", at=100.0) is None  # another subscription key


def test_rate_limit_counts_a_request_when_it_arrives_with_the_configured_jitter(sandbox):
    client = sandbox.create_client()
    api = sandbox.api(client["client_key"])
    sandbox.config(rate_limit=10, latency_ms=20, latency_jitter_ms=5)
    assert sandbox.config()["latency_jitter_ms"] == 5
    before = time.time()
    assert api.get("/Departments").status_code == 200
    (entry,) = sandbox.requests_log(path="/Departments")
    # Counted when it arrived (plus the jitter), not when its answer left.
    assert before <= dt.datetime.fromisoformat(entry["arrived"]).timestamp()


def test_rate_limit_off(sandbox):
    client = sandbox.create_client()
    api = sandbox.api(client["client_key"])
    sandbox.config(rate_limit=0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = set(pool.map(lambda _: api.get("/Departments").status_code, range(30)))
    assert statuses == {200}


# -- faults ---------------------------------------------------------------------------------


def test_fault_status_count_method_and_path(po):
    po.sandbox.faults(status=503, count=2, method="GET", path=r"^/VatCodes$")
    statuses = [po.api.get("/VatCodes").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert po.api.get("/Departments").status_code == 200


def test_fault_nth_request_and_burst_of_429(po):
    po.sandbox.faults(status=500, nth=3, path="Departments")
    assert [po.api.get("/Departments").status_code for _ in range(4)] == [200, 200, 500, 200]
    po.sandbox.faults(rate_limit_burst=2)
    burst = [po.api.get("/Departments") for _ in range(3)]
    assert [r.status_code for r in burst] == [429, 429, 200]
    assert burst[0].json() == RATE_LIMIT_BODY


def test_fault_timeout_after_create_leaves_the_object(po):
    po.sandbox.faults(
        action="delay", delay_ms=1500, when="after", method="POST", path="^/Customers$"
    )
    with pytest.raises(requests.exceptions.ReadTimeout):
        po.api.post("/Customers", json={"Name": "A", "ExternalImportReference": "c-1"}, timeout=0.3)
    found = po.api.get("/Customers", params={"externalImportReference": "c-1"})
    assert [c["Name"] for c in found.json()] == ["A"]


def test_fault_connection_closed_after_create(po):
    customer = new_customer(po)
    po.sandbox.faults(action="close", when="after", method="POST", path="OutgoingInvoiceJournals")
    with pytest.raises(requests.exceptions.ConnectionError):
        post_voucher(po, voucher(po, customer))
    assert [i["InvoiceNo"] for i in po.api.get("/OutgoingInvoices").json()] == [1001]
    retry = post_voucher(po, voucher(po, customer))
    assert "already in use" in problem(retry, 400)["detail"]


def test_fault_error_after_create_and_clear(po):
    po.sandbox.faults(status=502, when="after", method="POST", path="Products")
    assert po.api.post("/Products", json={"Name": "Kiste", "Code": "B-1"}).status_code == 502
    assert po.api.get("/Products", params={"codes": "B-1"}).status_code == 200
    po.sandbox.faults(status=503, count=None, latency_ms=5)
    assert po.sandbox.hook("GET", "faults")["latency_ms"] == 5
    po.sandbox.clear_faults()
    assert po.sandbox.hook("GET", "faults") == {"latency_ms": 0, "rules": []}
    assert po.api.get("/Products").status_code == 200
