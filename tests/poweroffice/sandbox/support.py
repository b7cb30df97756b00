"""Helpers of the sandbox tests: Basic authorization, request bodies, problem answers."""

import base64

import requests

RATE_LIMIT_BODY = {
    "statusCode": "429",
    "message": "Rate limit is exceeded. Try again in 1 seconds.",
}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def basic(application_key: str, client_key: str) -> str:
    return "Basic " + base64.b64encode(f"{application_key}:{client_key}".encode()).decode()


def new_customer(po, **fields) -> dict:
    body = {"Name": "Dødsbo etter Ola Nordmann", **fields}
    response = po.api.post("/Customers", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def voucher(po, customer: dict, invoice_no: str = "1001", **overrides) -> dict:
    body = {
        "InvoiceNo": invoice_no,
        "VoucherDate": "2025-03-03",
        "DueDate": "2025-03-17",
        "CurrencyAmount": 1350.00,
        "CustomerAccountId": customer["SubledgerAccountId"],
        "ExternalImportReference": f"bitnet-invoice-{invoice_no}",
        "OutgoingInvoiceLines": [
            {
                "AccountId": po.accounts[3000]["Id"],
                "VatId": po.vats["3"]["Id"],
                "CurrencyAmount": 1250.00,
                "Quantity": 1,
                "Description": "Seremoni",
            },
            {
                "AccountId": po.accounts[3200]["Id"],
                "VatId": po.vats["6"]["Id"],
                "CurrencyAmount": 100.00,
                "Description": "Gravferdsavgift",
            },
        ],
    }
    body.update(overrides)
    return body


def post_voucher(po, body) -> requests.Response:
    return po.api.post("/Vouchers/OutgoingInvoiceJournals", json=body)


def problem(response: requests.Response, status: int, title: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    if title:
        assert body["title"] == title
    return body


def salary_line(po, **fields):
    return {
        "EmployeeId": po.employees[4]["Id"],
        "PayItemId": po.pay_items["7100"]["Id"],
        "Quantity": 123.5,
        "Rate": 5.0,
        "Comment": "Kjørebok mars 2025",
        "ExternalImportReference": "bitnet-drive-1-7100",
        **fields,
    }
