"""The /_sandbox hooks: request log, data, reset, client listing and the overview page."""

import re
import time

import requests

from tests.poweroffice.sandbox.support import (
    PDF,
    new_customer,
    post_voucher,
    problem,
    salary_line,
    voucher,
)

# -- hooks ----------------------------------------------------------------------------------


def test_reads_lag_writes_when_asked_to(po):
    po.sandbox.config(read_lag_ms=3000)
    created = new_customer(po, ExternalImportReference="bitnet-cust-lag")
    # The primary knows it at once: the reference is taken ...
    reused = po.api.post(
        "/Customers", json={"Name": "Igjen", "ExternalImportReference": "bitnet-cust-lag"}
    )
    assert "ExternalImportReference is already in use" in problem(reused, 400)["detail"]
    # ... while GETs, answered from the replica, do not see it yet.
    by_reference = {"externalImportReference": "bitnet-cust-lag"}
    assert po.api.get("/Customers", params=by_reference).status_code == 204
    assert po.api.get(f"/Customers/{created['Id']}").status_code == 404
    deadline = time.monotonic() + 15
    while po.api.get("/Customers", params=by_reference).status_code == 204:
        assert time.monotonic() < deadline, "the replica never caught up"
        time.sleep(0.2)
    assert po.api.get(f"/Customers/{created['Id']}").json()["Id"] == created["Id"]
    # Seeded data and objects that existed before are read at once.
    assert po.api.get("/Departments").status_code == 200
    po.sandbox.reset()
    assert po.sandbox.config()["read_lag_ms"] == 0


def test_request_log_shows_what_poweroffice_received(po):
    po.sandbox.clear_requests()
    customer = new_customer(po, ExternalImportReference="c-1")
    body = voucher(po, customer)
    post_voucher(po, body)
    log = po.sandbox.requests_log(method="POST", path="OutgoingInvoiceJournals")
    assert len(log) == 1
    entry = log[0]
    assert entry["status"] == 201
    assert entry["path"] == "/v2/Vouchers/OutgoingInvoiceJournals"
    assert entry["client"] == "Hansen Oslo"
    assert entry["client_id"] == po.client["client_id"]
    assert entry["body"] == body
    assert entry["response"]["InvoiceNo"] == "1001"
    everything = po.sandbox.requests_log()
    assert [e["route"] for e in everything] == ["/Customers", "/Vouchers/OutgoingInvoiceJournals"]
    assert po.sandbox.requests_log(client="Nobody") == []
    po.sandbox.clear_requests()
    assert po.sandbox.requests_log() == []


def test_data_hooks_seed_mismatches(po):
    vat_3 = po.vats["3"]
    po.sandbox.update(po.key, "vatcodes", vat_3["Id"], Rate=0.24)
    assert po.api.get("/VatCodes").json()[2]["Rate"] == 0.24
    account = po.accounts[3020]
    po.sandbox.update(
        po.key, "accounts", account["Id"], VatCodeId=po.vats["5"]["Id"], IsActive=False
    )
    changed = po.api.get("/GeneralLedgerAccounts", params={"accountNos": "3020"}).json()[0]
    assert (changed["VatCode"], changed["IsActive"]) == ("5", False)
    pay_item = po.sandbox.find(po.key, "payitems", Code="7140")
    po.sandbox.update(po.key, "payitems", pay_item["Id"], IsActive=False)
    assert po.api.get("/PayItems", params={"codes": "7140"}).json()[0]["IsActive"] is False
    employee = po.employees[10]
    po.sandbox.remove(po.key, "employees", employee["Id"])
    assert po.api.get("/Employees", params={"employeeNos": "10"}).status_code == 204
    seeded = po.sandbox.seed(po.key, "customers", Name="Eksisterende kunde", Number=10000)
    assert po.api.get("/Customers", params={"customerNos": "10000"}).json()[0]["Id"] == seeded["Id"]
    assert new_customer(po)["Number"] == 10001
    assert po.sandbox.hook(
        "POST", f"clients/{po.key}/data/customers", json={"Nmae": "x"}, expect=400
    )


def test_reset_and_client_listing(sandbox):
    sandbox.create_client("A")
    sandbox.create_client("B", subscriptions=["Accounting"], client_key="fixed-key-for-demo")
    listing = sandbox.hook("GET", "clients")
    assert [c["name"] for c in listing] == ["A", "B"]
    assert sandbox.client("fixed-key-for-demo")["subscriptions"] == ["Accounting"]
    sandbox.hook(
        "POST", "clients", json={"name": "C", "client_key": "fixed-key-for-demo"}, expect=409
    )
    sandbox.reset()
    assert sandbox.hook("GET", "clients") == []


def test_overview_page_shows_what_was_received(po):
    customer = new_customer(po, Name="Dødsbo etter Per Hansen")
    po.api.post("/Products", json={"Name": "Kiste, eik", "Code": "B-7720"})
    posted = post_voucher(po, voucher(po, customer, "4711")).json()
    po.api.put(
        "/VoucherDocumentation",
        params={"id": posted["Id"]},
        files={"file": ("spesifikasjon-4711.pdf", PDF, "application/pdf")},
    )
    po.api.post("/SalaryLines", json=salary_line(po))
    page = requests.get(po.sandbox.url + "/", params={"token": po.sandbox.handle.hook_token})
    assert page.status_code == 200
    html = page.text
    for text in (
        "Hansen Oslo",
        "Dødsbo etter Per Hansen",
        "4711",
        "Kiste, eik",
        "B-7720",
        "spesifikasjon-4711.pdf",
        "Kilometergodtgjørelse",
        "Seremoni",
        po.client["client_key"][-4:],
    ):
        assert text in html
    assert po.client["client_key"] not in html
    link = re.search(r'href="(/_sandbox/clients/[^"]+/documentation[^"]*)"', html).group(1)
    token = po.sandbox.handle.hook_token
    assert link.endswith(f"?token={token}")
    assert requests.get(po.sandbox.url + link).content == PDF
