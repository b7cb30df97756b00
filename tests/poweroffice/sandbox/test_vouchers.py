"""Outgoing invoice vouchers, their documentation, and the open items and payments they leave."""

import uuid

import pytest

from tests.poweroffice.sandbox.support import PDF, new_customer, post_voucher, problem, voucher

# -- outgoing invoice vouchers --------------------------------------------------------------


def test_post_outgoing_invoice_voucher_books_an_unpaid_invoice(po, contract):
    customer = new_customer(po, ExternalImportReference="bitnet-customer-1")
    response = post_voucher(po, voucher(po, customer, SalesPersonEmployeeId=po.employees[2]["Id"]))
    assert response.status_code == 201, response.text
    posted = response.json()
    contract.check_schema(posted, "OutgoingInvoiceVoucherDto")
    assert posted["InvoiceNo"] == "1001"
    assert posted["VoucherNo"] == 1
    assert posted["IsReversed"] is False
    assert len(posted["OutgoingInvoiceLines"]) == 2

    fetched = po.api.get(f"/Vouchers/OutgoingInvoiceJournals/{posted['Id']}")
    contract.check(fetched, "/Vouchers/OutgoingInvoiceJournals/{id}", "GET")
    assert fetched.json() == posted

    invoices = contract.check(po.api.get("/OutgoingInvoices"), "/OutgoingInvoices", "GET").json()
    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice["Id"] == posted["Id"]
    assert invoice["InvoiceNo"] == 1001
    assert invoice["CustomerNo"] == customer["Number"]
    assert invoice["CustomerId"] == customer["Id"]
    assert invoice["TotalAmount"] == 1350
    assert invoice["Balance"] == 1350
    assert invoice["NetAmount"] == 1100  # 1250 incl. 25 % VAT is 1000 net; 100 outside VAT
    assert invoice["VoucherType"] == "OutgoingInvoice"
    assert invoice["IsCreatedByCurrentIntegration"] is True
    assert invoice["SellersReferenceEmployeeNo"] == 2
    assert invoice["PaymentTerm"] == 14
    assert invoice["BalanceLastChangedDateTimeOffset"]
    lines = po.api.get(f"/OutgoingInvoices/{posted['Id']}/Lines")
    contract.check(lines, "/OutgoingInvoices/{id}/Lines", "GET")
    assert [(line["VatCode"], line["VatAmount"], line["NetAmount"]) for line in lines.json()] == [
        ("3", 250, 1000),
        ("6", 0, 100),
    ]


def test_credit_note_with_negative_amounts(po):
    customer = new_customer(po)
    body = voucher(po, customer, "1002", CurrencyAmount=-125.0)
    body["OutgoingInvoiceLines"] = [
        {
            "AccountId": po.accounts[3000]["Id"],
            "VatId": po.vats["3"]["Id"],
            "CurrencyAmount": -125.0,
        }
    ]
    assert post_voucher(po, body).status_code == 201
    invoice = po.api.get("/OutgoingInvoices", params={"invoiceNos": "1002"}).json()[0]
    assert invoice["VoucherType"] == "OutgoingCreditNote"
    assert invoice["Balance"] == -125
    assert invoice["NetAmount"] == -100


def _credit_note(po, customer, invoice_no: str, amount: float, reference: str) -> dict:
    body = voucher(
        po, customer, invoice_no, CurrencyAmount=amount, CustomMatchingReference=reference
    )
    body["OutgoingInvoiceLines"] = [
        {
            "AccountId": po.accounts[3000]["Id"],
            "VatId": po.vats["3"]["Id"],
            "CurrencyAmount": amount,
        }
    ]
    return body


def test_credit_note_is_matched_with_its_invoice_at_once(po, conform):
    customer = new_customer(po)
    other_customer = new_customer(po, Name="Kari Hansen")
    invoice = voucher(po, customer, "2001", CustomMatchingReference="bitnet-match-2001")
    assert post_voucher(po, invoice).status_code == 201
    # Not matched: another reference, another customer's sub-ledger.
    for number, amount, reference, owner in (
        ("2003", -1350.0, "bitnet-match-other", customer),
        ("2004", -1350.0, "bitnet-match-2001", other_customer),
    ):
        assert post_voucher(po, _credit_note(po, owner, number, amount, reference)).ok
    unpaid = po.api.get("/OutgoingInvoices", params={"onlyUnpaidInvoices": "true"}).json()
    assert sorted(i["InvoiceNo"] for i in unpaid) == [2001, 2003, 2004]

    response = post_voucher(po, _credit_note(po, customer, "2005", -1350.0, "bitnet-match-2001"))
    assert response.status_code == 201
    listed = conform(
        po.api.get("/OutgoingInvoices", params={"invoiceNos": "2001,2005"}), "/OutgoingInvoices"
    ).json()
    by_no = {i["InvoiceNo"]: i for i in listed}
    assert by_no[2001]["Balance"] == 0 and by_no[2005]["Balance"] == 0
    assert by_no[2001]["MatchId"] == by_no[2005]["MatchId"] is not None
    assert by_no[2001]["TotalAmount"] == 1350 and by_no[2005]["VoucherType"] == "OutgoingCreditNote"
    assert by_no[2001]["BalanceLastChangedDateTimeOffset"] >= by_no[2001]["CreatedDateTimeOffset"]
    unpaid = po.api.get("/OutgoingInvoices", params={"onlyUnpaidInvoices": "true"}).json()
    assert sorted(i["InvoiceNo"] for i in unpaid) == [2003, 2004]
    # Once matched out, a second credit note with the same reference stays open.
    assert post_voucher(po, _credit_note(po, customer, "2006", -1350.0, "bitnet-match-2001")).ok
    [second] = po.api.get("/OutgoingInvoices", params={"invoiceNos": "2006"}).json()
    assert second["Balance"] == -1350 and second["MatchId"] is None


def test_partial_credit_note_reduces_its_invoice_balance_at_once(po, conform):
    customer = new_customer(po)
    invoice = voucher(po, customer, "2101", CustomMatchingReference="bitnet-match-2101")
    assert post_voucher(po, invoice).status_code == 201

    assert post_voucher(po, _credit_note(po, customer, "2102", -350.0, "bitnet-match-2101")).ok
    listed = conform(
        po.api.get("/OutgoingInvoices", params={"invoiceNos": "2101,2102"}), "/OutgoingInvoices"
    ).json()
    by_no = {i["InvoiceNo"]: i for i in listed}
    # The credit settles its amount of the invoice; the rest stays open.
    assert by_no[2101]["Balance"] == 1000 and by_no[2101]["TotalAmount"] == 1350
    assert by_no[2102]["Balance"] == 0 and by_no[2102]["TotalAmount"] == -350
    assert by_no[2101]["MatchId"] == by_no[2102]["MatchId"] is not None
    unpaid = po.api.get("/OutgoingInvoices", params={"onlyUnpaidInvoices": "true"}).json()
    assert [i["InvoiceNo"] for i in unpaid] == [2101]

    # A credit note for more than is open settles the rest; its excess stays open on it.
    assert post_voucher(po, _credit_note(po, customer, "2103", -1200.0, "bitnet-match-2101")).ok
    by_no = {
        i["InvoiceNo"]: i
        for i in po.api.get("/OutgoingInvoices", params={"invoiceNos": "2101,2103"}).json()
    }
    assert by_no[2101]["Balance"] == 0 and by_no[2103]["Balance"] == -200
    assert by_no[2103]["MatchId"] == by_no[2101]["MatchId"]


def test_voucher_invoice_no_and_reference_are_unique_until_reversed(po):
    customer = new_customer(po)
    first = post_voucher(po, voucher(po, customer, "1001"))
    assert first.status_code == 201
    again = problem(post_voucher(po, voucher(po, customer, "1001")), 400)
    assert "InvoiceNo 1001 is already in use" in again["detail"]
    assert "ExternalImportReference is already in use. 'bitnet-invoice-1001'" in again["detail"]
    reference_only = post_voucher(
        po, voucher(po, customer, "1002", ExternalImportReference="bitnet-invoice-1001")
    )
    assert "ExternalImportReference is already in use" in problem(reference_only, 400)["detail"]

    reversed_ = po.api.post(f"/Vouchers/Reverse/{first.json()['Id']}")
    assert reversed_.status_code == 202
    old = po.api.get("/OutgoingInvoices", params={"invoiceNos": "1001"}).json()[0]
    assert old["IsReversed"] is True and old["Balance"] == 0
    assert post_voucher(po, voucher(po, customer, "1001")).status_code == 201
    assert problem(po.api.post(f"/Vouchers/Reverse/{first.json()['Id']}"), 400)

    # The hook reverses as a user in Go would.
    po.sandbox.reverse(po.key, 1001)
    assert post_voucher(po, voucher(po, customer, "1001")).status_code == 201


def test_invoice_numbers_taken_in_poweroffice_block_the_voucher(po):
    po.sandbox.seed(po.key, "outgoinginvoices", InvoiceNo=5000, TotalAmount=100, CustomerNo=10000)
    customer = new_customer(po)
    response = post_voucher(po, voucher(po, customer, "5000"))
    assert "InvoiceNo 5000 is already in use" in problem(response, 400)["detail"]


def _line(po, **fields):
    return {
        "AccountId": po.accounts[3000]["Id"],
        "VatId": po.vats["3"]["Id"],
        "CurrencyAmount": 1350.0,
        **fields,
    }


@pytest.mark.parametrize(
    ("change", "status", "needle"),
    [
        (lambda po, b: b.pop("InvoiceNo"), 400, "InvoiceNo is required"),
        (lambda po, b: b.update(InvoiceNo=1001), 400, "InvoiceNo must be a string"),
        (lambda po, b: b.update(InvoiceNo="01001"), 400, "positive whole number"),
        (lambda po, b: b.pop("VoucherDate"), 400, "VoucherDate is required"),
        (lambda po, b: b.update(VoucherDate="03.03.2025"), 400, "YYYY-MM-DD"),
        (lambda po, b: b.update(CurrencyAmount="1350.00"), 400, "must be a JSON number"),
        (lambda po, b: b.update(CurrencyAmount=1350.001), 400, "at most 2 decimals"),
        (lambda po, b: b.update(CurrencyAmount=1300.0), 400, "does not balance"),
        (lambda po, b: b.update(Id=str(uuid.uuid4())), 400, "Id is read-only"),
        (lambda po, b: b.update(VoucherNo=7), 400, "VoucherNo is read-only"),
        (lambda po, b: b.update(CustomerNo=10000), 400, "not a property of"),
        (lambda po, b: b.update(DueDate="2025-03-01"), 400, "is before VoucherDate"),
        (lambda po, b: b.update(Cid="12345678"), 400, "invalid check digit"),
        (lambda po, b: b.update(CurrencyCode="EUR"), 400, "CurrencyExchangeRate is required"),
        (lambda po, b: b.update(OutgoingInvoiceLines=[]), 400, "at least one line"),
        (lambda po, b: b.pop("CustomerAccountId"), 400, "CustomerAccountId"),
        (
            lambda po, b: b.update(OutgoingInvoiceLines=[_line(po, VatId=po.vats["5"]["Id"])]),
            400,
            "Account 3000 is locked to VAT code 3; VAT code 5 cannot be used",
        ),
        (
            lambda po, b: b.update(OutgoingInvoiceLines=[_line(po, VatId=po.vats["1"]["Id"])]),
            400,
            "input VAT code",
        ),
        (
            lambda po, b: b.update(
                OutgoingInvoiceLines=[
                    _line(po, AccountId=po.accounts[3020]["Id"], VatId=po.vats["33"]["Id"])
                ],
                VoucherDate="2017-06-01",
                DueDate=None,
            ),
            400,
            "is not valid on VoucherDate",
        ),
        (
            lambda po, b: b.update(
                OutgoingInvoiceLines=[_line(po, AccountId=po.accounts[3010]["Id"])]
            ),
            400,
            "is not active",
        ),
        (
            lambda po, b: b.update(
                OutgoingInvoiceLines=[_line(po, AccountId=po.accounts[1500]["Id"])]
            ),
            400,
            "sub-ledger control account",
        ),
        (
            lambda po, b: b.update(
                OutgoingInvoiceLines=[_line(po, AccountId=po.accounts[3900]["Id"])]
            ),
            400,
            "requires a department",
        ),
        (
            lambda po, b: b.update(OutgoingInvoiceLines=[_line(po, VatId=None)]),
            400,
            "VatId is required",
        ),
        (
            lambda po, b: b.update(OutgoingInvoiceLines=[_line(po, AccountId=1)]),
            404,
            "account with id = 1",
        ),
        (
            lambda po, b: b.update(OutgoingInvoiceLines=[_line(po, VatId=1)]),
            404,
            "VAT code with id = 1",
        ),
        (
            lambda po, b: b.update(OutgoingInvoiceLines=[_line(po, ProductId=1)]),
            404,
            "Product with id = 1",
        ),
        (
            lambda po, b: b.update(OutgoingInvoiceLines=[_line(po, DepartmentId=1)]),
            404,
            "Department with id = 1",
        ),
        (lambda po, b: b.update(DepartmentId=1), 404, "Department with id = 1"),
        (lambda po, b: b.update(SalesPersonEmployeeId=1), 404, "Employee with id = 1"),
        (lambda po, b: b.update(ProjectId=1), 404, "Project with id = 1"),
        (lambda po, b: b.update(CustomerAccountId=1), 404, "sub-ledger account with id = 1"),
    ],
)
def test_voucher_validation(po, change, status, needle):
    customer = new_customer(po)
    body = voucher(po, customer)
    change(po, body)
    response = post_voucher(po, body)
    detail = problem(response, status, "Outgoing invoice voucher validation error(s)")["detail"]
    assert needle in detail
    assert po.sandbox.data(po.key, "vouchers") == []


def test_voucher_with_customer_id_instead_of_sub_ledger_account_is_404(po):
    customer = new_customer(po)
    response = post_voucher(po, voucher(po, customer, CustomerAccountId=customer["Id"]))
    detail = problem(response, 404)["detail"]
    assert f"use its SubledgerAccountId ({customer['SubledgerAccountId']})" in detail


def test_voucher_lines_with_department_and_product(po):
    customer = new_customer(po)
    product = po.api.post("/Products", json={"Name": "Urne", "Code": "B-12"}).json()
    body = voucher(po, customer, DepartmentId=po.departments["1"]["Id"])
    body["OutgoingInvoiceLines"][0].update(ProductId=product["Id"], Quantity=2)
    body["OutgoingInvoiceLines"].append(
        {
            "AccountId": po.accounts[3900]["Id"],
            "VatId": po.vats["3"]["Id"],
            "CurrencyAmount": 0.0,
            "DepartmentId": po.departments["3"]["Id"],
        }
    )
    response = post_voucher(po, body)
    assert response.status_code == 201, response.text
    invoice = po.api.get(f"/OutgoingInvoices/{response.json()['Id']}").json()
    assert invoice["DepartmentCode"] == "1"
    lines = po.api.get(f"/OutgoingInvoices/{invoice['Id']}/Lines").json()
    assert lines[0]["ProductCode"] == "B-12"
    assert lines[0]["ProductUnitPrice"] == 500
    assert lines[2]["DepartmentCode"] == "3"


def test_vouchers_of_another_client_are_not_found(po):
    customer = new_customer(po)
    posted = post_voucher(po, voucher(po, customer)).json()
    other = po.sandbox.create_client("Fjordheim Gravferd")
    other_api = po.sandbox.api(other["client_key"])
    assert other_api.get(f"/Vouchers/OutgoingInvoiceJournals/{posted['Id']}").status_code == 404
    assert other_api.get(f"/OutgoingInvoices/{posted['Id']}").status_code == 404


# -- voucher documentation ------------------------------------------------------------------


def test_voucher_documentation_takes_one_pdf(po, conform):
    customer = new_customer(po)
    posted = post_voucher(po, voucher(po, customer)).json()

    def put(files, voucher_id=posted["Id"]):
        response = po.api.put("/VoucherDocumentation", params={"id": voucher_id}, files=files)
        return conform(response, "/VoucherDocumentation", "PUT")

    assert put({"file": ("spesifikasjon.pdf", PDF, "application/pdf")}).status_code == 204
    assert po.sandbox.hook("GET", f"clients/{po.key}/vouchers/{posted['Id']}/documentation") == PDF
    listed = conform(po.api.get("/VoucherDocumentation"), "/VoucherDocumentation").json()
    assert [(d["VoucherId"], d["HasPdf"], d["IsImported"]) for d in listed] == [
        (posted["Id"], True, True)
    ]
    not_pdf = put({"file": ("a.pdf", b"PK\x03\x04 not a pdf", "application/pdf")})
    assert "Only PDF" in problem(not_pdf, 400)["detail"]
    wrong_type = put({"file": ("a.png", PDF, "image/png")})
    assert "Only PDF" in problem(wrong_type, 400)["detail"]
    wrong_field = put({"document": ("a.pdf", PDF, "application/pdf")})
    assert "'file' is missing" in problem(wrong_field, 400)["detail"]
    problem(put({"file": ("a.pdf", PDF, "application/pdf")}, str(uuid.uuid4())), 404)
    too_big = PDF + b"0" * (30 * 1024 * 1024)
    assert "30 MB" in problem(put({"file": ("big.pdf", too_big, "application/pdf")}), 400)["detail"]
    as_json = po.api.put("/VoucherDocumentation", params={"id": posted["Id"]}, json={"file": "x"})
    assert as_json.status_code == 415


# -- outgoing invoices and payments ---------------------------------------------------------


def test_payments_and_balance_filters(po, conform):
    customer = new_customer(po)
    for number in ("1001", "1002", "1003"):
        assert post_voucher(po, voucher(po, customer, number)).status_code == 201
    invoices = {i["InvoiceNo"]: i for i in po.api.get("/OutgoingInvoices").json()}
    watermark = max(i["BalanceLastChangedDateTimeOffset"] for i in invoices.values())

    def invoice_nos(**params):
        response = conform(po.api.get("/OutgoingInvoices", params=params), "/OutgoingInvoices")
        return [] if response.status_code == 204 else [i["InvoiceNo"] for i in response.json()]

    # ...GreaterThan is exclusive: nothing has changed after the newest timestamp.
    assert invoice_nos(balanceLastChangedDateTimeOffsetGreaterThan=watermark) == []

    partly = po.sandbox.pay(po.key, 1001, "350.00")
    assert partly["Balance"] == 1000
    po.sandbox.pay(po.key, 1002, "1350.00")
    assert invoice_nos(balanceLastChangedDateTimeOffsetGreaterThan=watermark) == [1001, 1002]
    assert invoice_nos(onlyUnpaidInvoices="true") == [1001, 1003]
    assert invoice_nos(invoiceNos="1002-1003", onlyUnpaidInvoices="true") == [1003]
    assert invoice_nos(invoiceNos="1003-", customerNos=str(customer["Number"])) == [1003]
    assert invoice_nos(fromDate="2025-03-04") == []
    assert invoice_nos(departmentCodes="-1") == [1001, 1002, 1003]
    paid = po.api.get(f"/OutgoingInvoices/{invoices[1002]['Id']}").json()
    assert paid["Balance"] == 0 and paid["MatchId"] is not None
    problem(po.api.get("/OutgoingInvoices", params={"onlyUnpaidInvoices": "yes"}), 400)
    problem(
        po.api.get(
            "/OutgoingInvoices", params={"balanceLastChangedDateTimeOffsetGreaterThan": "x"}
        ),
        400,
    )
    assert po.sandbox.hook(
        "POST",
        f"clients/{po.key}/payments",
        json={"invoice_no": 1001, "amount": "5000"},
        expect=400,
    )
    with pytest.raises(AssertionError):
        po.sandbox.reverse(po.key, 1001)  # a paid (matched) invoice cannot be reversed
