"""The client's resource methods: customers, paging, reference data, products, vouchers
with documentation, outgoing invoices and salary lines."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal

import pytest

from poweroffice.client.client import MAX_DOCUMENTATION_BYTES, OUTGOING_INVOICE_VOUCHER_PATH
from poweroffice.client.errors import InvalidDocumentError, NotFoundError, ValidationError
from tests.poweroffice.client.support import PDF, api_log, salary_body, voucher_body, wait_for_log

# --- customers -----------------------------------------------------------------------------------


def test_customers_create_get_list_patch(po, fast_sandbox):
    created = po.create_customer(
        {
            "Name": "Dødsbo etter Kari Nordmann",
            "ExternalImportReference": "bitnet-customer-17",
            "EmailAddress": "arving@eksempel.no",
            "MailAddress": {"AddressLine1": "Storgata 1", "ZipCode": "0155", "City": "Oslo"},
        }
    )
    assert created["Id"]
    assert 10000 <= created["Number"] <= 19999
    assert created["SubledgerAccountId"]
    post = api_log(fast_sandbox, method="POST")[0]
    assert post["route"] == "/Customers"
    assert post["status"] == 201
    assert post["body"] == {
        "Name": "Dødsbo etter Kari Nordmann",
        "ExternalImportReference": "bitnet-customer-17",
        "EmailAddress": "arving@eksempel.no",
        "MailAddress": {"AddressLine1": "Storgata 1", "ZipCode": "0155", "City": "Oslo"},
    }

    assert po.get_customer(created["Id"])["Name"] == "Dødsbo etter Kari Nordmann"
    by_reference = po.list_customers(external_import_reference="bitnet-customer-17")
    assert [c["Id"] for c in by_reference] == [created["Id"]]
    by_number = po.list_customers(customer_nos=[(10000, 19999)])
    assert [c["Id"] for c in by_number] == [created["Id"]]
    assert po.list_customers(customer_nos=[20000]) == []
    assert po.find_customer(external_import_reference="nope") is None

    patched = po.patch_customer(
        created["Id"], [{"op": "replace", "path": "/EmailAddress", "value": "ny@eksempel.no"}]
    )
    assert patched["EmailAddress"] == "ny@eksempel.no"
    patch = api_log(fast_sandbox, method="PATCH")[0]
    assert patch["route"] == f"/Customers/{created['Id']}"
    assert patch["body"] == [{"op": "replace", "path": "/EmailAddress", "value": "ny@eksempel.no"}]
    queries = [c["query"] for c in api_log(fast_sandbox, method="GET", path="^/Customers$")]
    assert queries[0] == {
        "externalImportReference": "bitnet-customer-17",
        "PageNumber": "1",
        "PageSize": "5000",
    }
    assert queries[1]["customerNos"] == "10000-19999"


def test_create_requires_its_deduplication_key(po, fast_sandbox):
    with pytest.raises(ValueError):
        po.create_customer({"Name": "Uten referanse"})
    with pytest.raises(ValueError):
        po.create_product({"Name": "Uten kode"})
    with pytest.raises(ValueError):
        po.create_salary_line({"EmployeeId": 1, "PayItemId": str(uuid.uuid4())})
    with pytest.raises(ValueError):
        po.create_outgoing_invoice_voucher({"ExternalImportReference": "x"})
    assert api_log(fast_sandbox) == []


def test_paging_reads_until_a_short_page(po, fast_sandbox, client_info):
    key = client_info["client_key"]
    for n in range(7):
        fast_sandbox.seed(key, "customers", Name=f"Kunde {n}", Number=10100 + n)
    customers = po.list_customers(page_size=3)

    assert sorted(c["Number"] for c in customers) == list(range(10100, 10107))
    pages = [
        (c["query"]["PageNumber"], c["query"]["PageSize"], c["status"])
        for c in api_log(fast_sandbox)
    ]
    assert pages == [("1", "3", 200), ("2", "3", 200), ("3", "3", 200)]


def test_paging_stops_at_204_after_a_full_page(po, fast_sandbox, client_info):
    key = client_info["client_key"]
    for n in range(6):
        fast_sandbox.seed(key, "customers", Name=f"Kunde {n}", Number=10200 + n)
    iterator = po.iter_customers(page_size=3)
    assert next(iterator)["Number"] in range(10200, 10206)  # lazily, one page at a time
    assert len(api_log(fast_sandbox)) == 1
    rest = list(iterator)

    assert len(rest) == 5
    assert [c["status"] for c in api_log(fast_sandbox)] == [200, 200, 204]


def test_long_filter_lists_are_split_to_keep_urls_under_2000_characters(
    po, fast_sandbox, client_info
):
    codes = [f"B-{100_000 + n}" for n in range(300)]
    for code in (codes[0], codes[150], codes[-1]):
        po.create_product({"Code": code, "Name": f"Vare {code}"})
    numbers = list(range(10_000, 11_000, 2))  # 500 numbers, no runs to join
    for number in (numbers[0], numbers[250], numbers[-1]):
        po.create_customer(
            {"Name": f"Kunde {number}", "Number": number, "ExternalImportReference": f"c-{number}"}
        )
    fast_sandbox.clear_requests()

    products = po.list_products(codes=codes)
    customers = po.list_customers(customer_nos=numbers)

    assert sorted(p["Code"] for p in products) == [codes[0], codes[150], codes[-1]]
    assert sorted(c["Number"] for c in customers) == [numbers[0], numbers[250], numbers[-1]]
    log = api_log(fast_sandbox, method="GET")
    lengths = [len(fast_sandbox.url + entry["target"]) for entry in log]
    assert max(lengths) < 2000
    asked = [e["query"].get("codes") or e["query"].get("customerNos") for e in log]
    assert len([e for e in log if e["route"] == "/Products"]) >= 2
    assert len([e for e in log if e["route"] == "/Customers"]) >= 3
    # Each code and number asked for exactly once.
    assert sorted(",".join(a for a in asked if a.startswith("B-")).split(",")) == sorted(codes)
    assert sorted(int(n) for a in asked if not a.startswith("B-") for n in a.split(",")) == numbers


def test_404_for_none_found_on_a_list_means_none(po, fast_sandbox):
    fast_sandbox.config(empty_list_404=True)
    assert po.list_customers(customer_nos=[99_999]) == []
    assert po.find_customer(external_import_reference="nobody") is None
    assert po.list_employees(employee_nos=[99]) == []
    assert po.list_outgoing_invoices(invoice_nos=[1]) == []
    assert po.find_outgoing_invoice(invoice_no=1) is None
    assert [e["status"] for e in api_log(fast_sandbox)] == [404] * 5
    # A 404 for one object is still "not found".
    with pytest.raises(NotFoundError):
        po.get_customer(1)


def test_page_size_is_bounded(po):
    with pytest.raises(ValueError):
        po.list_customers(page_size=20001)


# --- reference data ------------------------------------------------------------------------------


def test_reference_data_calls(po, fast_sandbox):
    series = po.list_sub_ledger_number_series(series_type="Customer")
    assert [(s["FromInclusive"], s["ToInclusive"]) for s in series] == [(10000, 19999)]

    departments = po.list_departments()
    assert {d["Code"] for d in departments} == {"1", "2", "3", "4"}
    assert [d["Code"] for d in po.list_departments(codes=["2"])] == ["2"]

    employees = po.list_employees(employee_nos=[1, 2, 3, 9])
    assert sorted(e["Number"] for e in employees) == [1, 2, 3, 9]

    accounts = po.list_general_ledger_accounts(account_nos=[range(3000, 3100), 3200])
    assert {a["AccountNo"] for a in accounts} == {3000, 3010, 3020, 3030, 3040, 3200}
    assert {"AccountNo", "Name", "VatCode", "VatCodeId", "IsVatCodeLocked", "IsActive"} <= set(
        accounts[0]
    )

    vat = {v["Code"]: v for v in po.list_vat_codes(is_active=True)}
    assert Decimal(str(vat["3"]["Rate"])) == Decimal("0.25")
    assert Decimal(str(vat["31"]["Rate"])) == Decimal("0.15")

    pay_items = po.list_pay_items(codes=["7100", "7140"])
    assert sorted(p["Code"] for p in pay_items) == ["7100", "7140"]
    assert all(uuid.UUID(p["Id"]) for p in pay_items)

    queries = {c["route"]: c["query"] for c in api_log(fast_sandbox)}
    assert queries["/SubLedgerNumberSeries"]["subLedgerNumberSeriesType"] == "Customer"
    assert queries["/Employees"]["employeeNos"] == "1-3,9"
    assert queries["/GeneralLedgerAccounts"]["accountNos"] == "3000-3099,3200"
    assert queries["/VatCodes"]["isActive"] == "true"
    assert queries["/PayItems"]["codes"] == "7100,7140"


# --- products ------------------------------------------------------------------------------------


def test_products_create_and_list_by_code(po, fast_sandbox):
    created = po.create_product(
        {"Code": "B-7720", "Name": "Kiste, hvit", "UnitPrice": Decimal("8900.00")}
    )
    assert created["Code"] == "B-7720"
    post = api_log(fast_sandbox, method="POST")[0]
    assert (post["route"], post["status"]) == ("/Products", 200)
    assert post["body"] == {"Code": "B-7720", "Name": "Kiste, hvit", "UnitPrice": 8900.0}

    found = po.list_products(codes=["B-7720", "B-9999"])
    assert [p["Id"] for p in found] == [created["Id"]]
    assert po.find_product(code="B-9999") is None


# --- outgoing invoice vouchers -------------------------------------------------------------------


def test_voucher_create_get_find_and_documentation(po, fast_sandbox, client_info):
    body = voucher_body(po, invoice_no="100017", reference="bitnet-invoice-17")
    voucher = po.create_outgoing_invoice_voucher(body)

    assert voucher["InvoiceNo"] == "100017"
    assert voucher["ExternalImportReference"] == "bitnet-invoice-17"
    post = api_log(fast_sandbox, method="POST", path="Vouchers")[0]
    assert post["route"] == OUTGOING_INVOICE_VOUCHER_PATH
    assert post["status"] == 201
    assert post["body"]["CurrencyAmount"] == 1750.0
    assert [line["CurrencyAmount"] for line in post["body"]["OutgoingInvoiceLines"]] == [
        1250.0,
        500.0,
    ]

    assert po.get_outgoing_invoice_voucher(voucher["Id"])["Id"] == voucher["Id"]
    found = po.find_outgoing_invoice_voucher(
        invoice_no="100017", external_import_reference="bitnet-invoice-17"
    )
    assert found["Id"] == voucher["Id"]
    assert (
        po.find_outgoing_invoice_voucher(invoice_no="100017", external_import_reference="other")
        is None
    )
    assert po.find_outgoing_invoice_voucher(invoice_no="999999") is None

    po.upload_voucher_documentation(voucher["Id"], PDF, "faktura-100017.pdf")
    put = api_log(fast_sandbox, method="PUT")[0]
    assert (put["route"], put["query"], put["status"]) == (
        "/VoucherDocumentation",
        {"id": voucher["Id"]},
        204,
    )
    stored = fast_sandbox.hook(
        "GET", f"clients/{client_info['client_key']}/vouchers/{voucher['Id']}/documentation"
    )
    assert stored == PDF


def test_documentation_is_checked_before_sending(po, fast_sandbox):
    voucher_id = str(uuid.uuid4())
    with pytest.raises(InvalidDocumentError):
        po.upload_voucher_documentation(voucher_id, b"<html>not a pdf</html>", "x.pdf")
    too_big = b"%PDF-" + b"0" * (MAX_DOCUMENTATION_BYTES - 4)
    with pytest.raises(InvalidDocumentError) as caught:
        po.upload_voucher_documentation(voucher_id, too_big, "big.pdf")
    assert isinstance(caught.value, ValidationError)
    assert api_log(fast_sandbox) == []
    assert po.stats.requests == 0


def test_outgoing_invoices_filters_and_paging(po, fast_sandbox, client_info):
    customer = po.create_customer({"Name": "Felles kunde", "ExternalImportReference": "C-all"})
    for n in range(5):
        po.create_outgoing_invoice_voucher(
            voucher_body(po, invoice_no=str(200 + n), reference=f"inv-{n}", customer=customer)
        )
    fast_sandbox.clear_requests()

    invoices = po.list_outgoing_invoices(page_size=2)
    assert sorted(i["InvoiceNo"] for i in invoices) == [200, 201, 202, 203, 204]
    assert [c["query"]["PageNumber"] for c in api_log(fast_sandbox)] == ["1", "2", "3"]

    before_payment = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    fast_sandbox.pay(client_info["client_key"], 201, "1750.00")
    fast_sandbox.clear_requests()

    unpaid = po.list_outgoing_invoices(invoice_nos=[range(200, 205)], only_unpaid=True)
    assert sorted(i["InvoiceNo"] for i in unpaid) == [200, 202, 203, 204]
    changed = po.list_outgoing_invoices(balance_changed_after=before_payment)
    assert [(i["InvoiceNo"], i["Balance"]) for i in changed] == [(201, 0)]
    queries = [c["query"] for c in api_log(fast_sandbox)]
    assert queries[0]["invoiceNos"] == "200-204"
    assert queries[0]["onlyUnpaidInvoices"] == "true"
    assert queries[1]["balanceLastChangedDateTimeOffsetGreaterThan"] == before_payment.isoformat()

    with pytest.raises(ValueError):
        po.list_outgoing_invoices(balance_changed_after=dt.datetime(2025, 1, 1))  # naive


# --- payroll -------------------------------------------------------------------------------------


def test_salary_lines_create_list_delete(po, fast_sandbox):
    body = salary_body(po, reference="bitnet-export-3-line-1")
    line = po.create_salary_line(body)

    assert line["ExternalImportReference"] == "bitnet-export-3-line-1"
    post = api_log(fast_sandbox, method="POST")[0]
    assert (post["route"], post["status"]) == ("/SalaryLines", 201)
    assert post["body"] == {
        "EmployeeId": body["EmployeeId"],
        "PayItemId": body["PayItemId"],
        "Quantity": 42.0,
        "Rate": 5.0,
        "Comment": "Kjørebok mars 2025",
        "ExternalImportReference": "bitnet-export-3-line-1",
    }
    assert [x["Id"] for x in po.list_salary_lines()] == [line["Id"]]

    po.delete_salary_line(line["Id"])
    assert po.list_salary_lines() == []
    delete = api_log(fast_sandbox, method="DELETE")[0]
    assert (delete["route"], delete["status"]) == (f"/SalaryLines/{line['Id']}", 200)
    with pytest.raises(NotFoundError):
        po.delete_salary_line(line["Id"])


def test_delete_that_timed_out_but_happened_counts_as_deleted(po, fast_sandbox):
    line = po.create_salary_line(salary_body(po, reference="bitnet-del-1"))
    po.timeout = 0.5
    fast_sandbox.faults(
        action="delay", delay_ms=1500, when="after", method="DELETE", path="^/SalaryLines/"
    )
    po.delete_salary_line(line["Id"])

    deletes = wait_for_log(fast_sandbox, 2, method="DELETE")
    assert sorted(c["status"] for c in deletes) == [200, 404]
    assert po.list_salary_lines() == []
