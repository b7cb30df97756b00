"""Creates after ambiguous failures (timeouts, 5xx, dropped connections): found by their
reference, never sent twice."""

from __future__ import annotations

import pytest

from poweroffice.client.client import OUTGOING_INVOICE_VOUCHER_PATH
from poweroffice.client.errors import TransientError
from tests.poweroffice.client.support import api_log, salary_body, voucher_body, wait_for_log

# --- creates after ambiguous failures ------------------------------------------------------------


def test_timeout_after_customer_create_leaves_no_duplicate(po, fast_sandbox, client_info):
    po.timeout = 0.5
    # PowerOffice creates the customer, then the answer is lost.
    fast_sandbox.faults(
        action="delay", delay_ms=1500, when="after", method="POST", path="^/Customers$"
    )
    created = po.create_customer({"Name": "Kari", "ExternalImportReference": "bitnet-c-9"})

    assert created["ExternalImportReference"] == "bitnet-c-9"
    customers = fast_sandbox.data(client_info["client_key"], "customers")
    assert [c["ExternalImportReference"] for c in customers] == ["bitnet-c-9"]
    calls = [(c["method"], c["route"]) for c in wait_for_log(fast_sandbox, 2)]
    # Looked up, not sent again (the held POST is logged when it is finally answered).
    assert sorted(calls) == [("GET", "/Customers"), ("POST", "/Customers")]
    assert po.stats.transport_errors == 1


def test_5xx_before_create_is_retried_after_lookup(po, fast_sandbox, client_info):
    fast_sandbox.faults(status=503, count=1, method="POST", path="^/Customers$")
    created = po.create_customer({"Name": "Ola", "ExternalImportReference": "bitnet-c-10"})

    assert created["Name"] == "Ola"
    calls = [(c["method"], c["route"], c["status"]) for c in api_log(fast_sandbox)]
    # Looked up (asked again for a while: reads may lag), then sent again.
    assert calls[0] == ("POST", "/Customers", 503) and calls[-1] == ("POST", "/Customers", 201)
    assert calls[1:-1] and set(calls[1:-1]) == {("GET", "/Customers", 204)}
    assert len(fast_sandbox.data(client_info["client_key"], "customers")) == 1


def test_create_processed_after_our_lookup_is_found_not_duplicated(po, fast_sandbox, client_info):
    # The first POST is held 2 s before PowerOffice processes it. We time out after 1.5 s, look
    # (nothing there yet) and send again; the second POST is held 1 s, so it is processed after
    # the first and gets "already in use", upon which we look again and return the first one.
    po.timeout = 1.5
    po.backoff_base = 0.2
    po.backoff_max = 0.2
    po.lookup_patience = 0  # one look, so that the second POST is sent
    post = {"action": "delay", "method": "POST", "path": "^/Customers$"}
    # A rule counts the requests it is asked about; the first matching rule fires.
    fast_sandbox.faults(
        rules=[{**post, "delay_ms": 1000, "nth": 2}, {**post, "delay_ms": 2000, "nth": 1}]
    )
    created = po.create_customer({"Name": "Per", "ExternalImportReference": "bitnet-c-11"})

    assert created["ExternalImportReference"] == "bitnet-c-11"
    customers = fast_sandbox.data(client_info["client_key"], "customers")
    assert [c["ExternalImportReference"] for c in customers] == ["bitnet-c-11"]
    log = wait_for_log(fast_sandbox, 4)
    calls = [(c["method"], c["status"]) for c in sorted(log, key=lambda c: c["id"])]
    # In the order PowerOffice answered them.
    assert calls == [("GET", 204), ("POST", 201), ("POST", 400), ("GET", 200)]


def test_look_up_after_an_ambiguous_create_allows_for_read_lag(
    po, fast_sandbox, client_info, read_lag
):
    # PowerOffice creates the customer, then answers 500; GETs see it only after the lag.
    fast_sandbox.faults(status=500, when="after", method="POST", path="^/Customers$")
    po.lookup_patience = 2.0
    created = po.create_customer({"Name": "Kari", "ExternalImportReference": "bitnet-c-20"})

    assert created["ExternalImportReference"] == "bitnet-c-20"
    customers = fast_sandbox.data(client_info["client_key"], "customers")
    assert [c["ExternalImportReference"] for c in customers] == ["bitnet-c-20"]
    calls = [(c["method"], c["status"]) for c in api_log(fast_sandbox)]
    # Asked again until the replica had it; never sent again.
    assert calls[0] == ("POST", 500) and calls[-1] == ("GET", 200)
    assert ("GET", 204) in calls and calls.count(("POST", 500)) == 1
    assert len(calls) == calls.count(("GET", 204)) + 2
    assert po.stats.lookups_repeated >= 1


def test_already_in_use_after_a_resend_is_never_a_rejection(
    po, fast_sandbox, client_info, read_lag
):
    # The object exists (our reference is in use) but cannot be read back within our patience:
    # that is worth another try later, not a rejection a person must act on.
    fast_sandbox.config(read_lag_ms=10_000)
    fast_sandbox.faults(status=500, when="after", method="POST", path="^/Products$")
    po.lookup_patience = 0.3
    with pytest.raises(TransientError) as caught:
        po.create_product({"Code": "B-77", "Name": "Urne"})

    assert caught.value.retryable is True
    assert "already in use" in caught.value.detail
    assert [p["Code"] for p in fast_sandbox.data(client_info["client_key"], "products")] == ["B-77"]
    posts = [c["status"] for c in api_log(fast_sandbox, method="POST")]
    assert posts == [500, 400]


def test_timeout_after_voucher_create_leaves_no_duplicate(po, fast_sandbox, client_info):
    body = voucher_body(po, invoice_no="300001", reference="bitnet-invoice-300001")
    fast_sandbox.clear_requests()
    po.timeout = 0.5
    fast_sandbox.faults(
        action="delay",
        delay_ms=1500,
        when="after",
        method="POST",
        path="^" + OUTGOING_INVOICE_VOUCHER_PATH + "$",
    )
    voucher = po.create_outgoing_invoice_voucher(body)

    assert voucher["InvoiceNo"] == "300001"
    vouchers = fast_sandbox.data(client_info["client_key"], "vouchers")
    assert [v["InvoiceNo"] for v in vouchers] == ["300001"]
    log = wait_for_log(fast_sandbox, 3)
    assert sorted((c["method"], c["route"]) for c in log) == [
        ("GET", "/OutgoingInvoices"),
        ("GET", f"{OUTGOING_INVOICE_VOUCHER_PATH}/{voucher['Id']}"),
        ("POST", OUTGOING_INVOICE_VOUCHER_PATH),
    ]
    lookup = next(c for c in log if c["route"] == "/OutgoingInvoices")
    assert lookup["query"]["invoiceNos"] == "300001"


def test_timeout_after_salary_line_create_leaves_no_duplicate(po, fast_sandbox, client_info):
    body = salary_body(po, reference="bitnet-export-9-line-1")
    po.timeout = 0.5
    fast_sandbox.faults(
        action="delay", delay_ms=1500, when="after", method="POST", path="^/SalaryLines$"
    )
    line = po.create_salary_line(body)

    lines = fast_sandbox.data(client_info["client_key"], "salarylines")
    assert [x["Id"] for x in lines] == [line["Id"]]


def test_timeout_after_product_create_leaves_no_duplicate(po, fast_sandbox, client_info):
    po.timeout = 0.5
    fast_sandbox.faults(
        action="delay", delay_ms=1500, when="after", method="POST", path="^/Products$"
    )
    product = po.create_product({"Code": "B-8811", "Name": "Urne"})

    assert product["Code"] == "B-8811"
    products = fast_sandbox.data(client_info["client_key"], "products")
    assert [p["Code"] for p in products] == ["B-8811"]


def test_a_create_is_not_blindly_resent(po, fast_sandbox, client_info):
    # A permanent error after the first attempt is raised, not retried.
    po.timeout = 0.5
    fast_sandbox.faults(
        action="delay", delay_ms=1500, when="after", method="POST", path="^/Customers$"
    )
    po.max_attempts = 1
    with pytest.raises(TransientError):
        po.create_customer({"Name": "Kari", "ExternalImportReference": "bitnet-c-12"})
    assert len(wait_for_log(fast_sandbox, 1, method="POST")) == 1
    assert [(c["method"], c["route"]) for c in api_log(fast_sandbox)] == [("POST", "/Customers")]


def test_reversal_answered_with_an_error_after_it_went_through_is_not_asked_again(
    po, fast_sandbox, client_info
):
    voucher = po.create_outgoing_invoice_voucher(
        voucher_body(po, invoice_no="300020", reference="bitnet-invoice-300020")
    )
    fast_sandbox.clear_requests()
    # PowerOffice reverses the voucher, then the answer is lost.
    fast_sandbox.faults(status=500, when="after", method="POST", path="^/Vouchers/Reverse/")

    po.reverse_outgoing_invoice_voucher(voucher["Id"])

    assert po.get_outgoing_invoice_voucher(voucher["Id"])["IsReversed"] is True
    posts = [c["status"] for c in api_log(fast_sandbox, method="POST")]
    assert posts == [500]  # read, found reversed, not sent again


def test_reversal_refused_in_transit_is_sent_again(po, fast_sandbox, client_info):
    voucher = po.create_outgoing_invoice_voucher(
        voucher_body(po, invoice_no="300021", reference="bitnet-invoice-300021")
    )
    fast_sandbox.clear_requests()
    fast_sandbox.faults(status=503, count=1, method="POST", path="^/Vouchers/Reverse/")
    po.lookup_patience = 0.3

    po.reverse_outgoing_invoice_voucher(voucher["Id"])

    assert po.get_outgoing_invoice_voucher(voucher["Id"])["IsReversed"] is True
    posts = [c["status"] for c in api_log(fast_sandbox, method="POST")]
    assert posts == [503, 202]
