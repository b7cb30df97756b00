"""The PowerOffice Go sandbox over real HTTP, with plain ``requests`` (never our client).

Where ``../shared/poweroffice/openapi-v2.yaml`` (relative to the repository root) is present,
answers are validated against the contract's response schemas; without it those checks are
skipped.
"""

import base64
import multiprocessing
import os
import re
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from poweroffice.sandbox.seed import (
    ACCOUNTS,
    EMPLOYEES,
    PAY_ITEMS,
    default_application_key,
    default_subscription_key,
)
from poweroffice.sandbox.server import start_sandbox

SPEC_PATH = Path(
    os.environ.get("POWEROFFICE_OPENAPI")
    or Path(__file__).resolve().parents[4] / "shared" / "poweroffice" / "openapi-v2.yaml"
)
RATE_LIMIT_BODY = {
    "statusCode": "429",
    "message": "Rate limit is exceeded. Try again in 1 seconds.",
}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# -- the contract ---------------------------------------------------------------------------


class Contract:
    """OpenAPI 3.0 response schemas of the contract, as JSON Schema, with $refs resolved."""

    _DROP = {"nullable", "example", "readOnly", "writeOnly", "xml", "externalDocs", "deprecated"}

    def __init__(self, spec: dict):
        from jsonschema import FormatChecker

        self.spec = spec
        self.defs = {n: self._convert(s) for n, s in spec["components"]["schemas"].items()}
        self.checker = FormatChecker()
        timestamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?(Z|[+-]\d\d:\d\d)$")

        @self.checker.checks("date-time", raises=ValueError)
        def _date_time(value):
            if isinstance(value, str) and not timestamp.match(value):
                raise ValueError(value)
            return True

        @self.checker.checks("date", raises=ValueError)
        def _date(value):
            if isinstance(value, str):
                if not re.fullmatch(r"\d{4}-\d\d-\d\d", value):
                    raise ValueError(value)
                date.fromisoformat(value)
            return True

    def _convert(self, node):
        if isinstance(node, list):
            return [self._convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "$ref":
                out["$ref"] = value.replace("#/components/schemas/", "#/$defs/")
            elif key == "properties":
                out[key] = {name: self._convert(prop) for name, prop in value.items()}
            elif key not in self._DROP:
                out[key] = self._convert(value)
        if node.get("nullable"):
            if "$ref" in out:
                out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
            elif "type" in out:
                out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        return out

    def validate(self, instance, schema: dict) -> None:
        from jsonschema import Draft202012Validator

        root = {**self._convert(schema), "$defs": self.defs}
        Draft202012Validator(root, format_checker=self.checker).validate(instance)

    def check(self, response: requests.Response, path: str, method: str) -> requests.Response:
        """The status is one the contract documents for the operation; the body fits its schema."""
        operation = self.spec["paths"][path][method.lower()]
        status = str(response.status_code)
        # Errors may fall under "default" (a ProblemDetail); success codes must be documented.
        documented = status in operation["responses"] or (
            response.status_code >= 400 and "default" in operation["responses"]
        )
        assert documented, (
            f"{method} {path} answered {status}; the contract documents "
            f"{sorted(operation['responses'])}: {response.text[:300]}"
        )
        if response.status_code == 204:
            assert response.content == b""
            return response
        documentation = operation["responses"].get(status) or operation["responses"]["default"]
        content = documentation.get("content", {}).get("application/json")
        if content and "schema" in content:
            self.validate(response.json(), content["schema"])
        return response

    def check_schema(self, instance, name: str) -> None:
        self.validate(instance, {"$ref": f"#/components/schemas/{name}"})


@pytest.fixture(scope="session")
def _contract():
    if not SPEC_PATH.exists():
        return None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return Contract(yaml.load(fh, Loader=loader))


@pytest.fixture
def contract(_contract):
    if _contract is None:
        pytest.skip(f"{SPEC_PATH} is not present")
    return _contract


@pytest.fixture
def conform(_contract):
    """Validate an answer against the contract when the contract is present."""

    def check(response, path, method="GET"):
        if _contract is not None:
            _contract.check(response, path, method)
        return response

    return check


# -- helpers --------------------------------------------------------------------------------


def basic(application_key: str, client_key: str) -> str:
    return "Basic " + base64.b64encode(f"{application_key}:{client_key}".encode()).decode()


@pytest.fixture
def po(sandbox):
    """A client in the sandbox with the rate limit off, and its ids by number and code."""
    sandbox.config(rate_limit=0)
    client = sandbox.create_client("Hansen Oslo")
    api = sandbox.api(client["client_key"])
    return SimpleNamespace(
        sandbox=sandbox,
        client=client,
        key=client["client_key"],
        api=api,
        accounts={a["AccountNo"]: a for a in api.get("/GeneralLedgerAccounts").json()},
        vats={v["Code"]: v for v in api.get("/VatCodes").json()},
        departments={d["Code"]: d for d in api.get("/Departments").json()},
        employees={e["Number"]: e for e in api.get("/Employees").json()},
        pay_items={p["Code"]: p for p in api.get("/PayItems").json()},
    )


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
    "case",
    ["client_key", "application_key", "subscription_key", "no_subscription_key", "no_basic"],
)
def test_token_wrong_keys_are_invalid_client(sandbox, case):
    client = sandbox.create_client()
    application_key, client_key = sandbox.application_key, client["client_key"]
    headers = {"Ocp-Apim-Subscription-Key": sandbox.subscription_key}
    if case == "client_key":
        client_key = str(uuid.uuid4())
    elif case == "application_key":
        application_key = "someone-elses-application"
    elif case == "subscription_key":
        headers["Ocp-Apim-Subscription-Key"] = "wrong"
    elif case == "no_subscription_key":
        del headers["Ocp-Apim-Subscription-Key"]
    if case != "no_basic":
        headers["Authorization"] = basic(application_key, client_key)
    response = requests.post(
        sandbox.token_url, data={"grant_type": "client_credentials"}, headers=headers
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("Client integration not found.")


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
    for headers in (
        {},
        {"Ocp-Apim-Subscription-Key": sandbox.subscription_key},
        {"Authorization": f"Bearer {token}"},
        {**good, "Authorization": "Bearer not-a-token"},
        {**good, "Ocp-Apim-Subscription-Key": "another-subscription"},
    ):
        response = requests.get(url, headers=headers)
        assert response.status_code == 401
        assert response.content == b""


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


# -- lists: 204, paging, OData, unknown parameters ------------------------------------------


def test_empty_lists_are_204_without_body(po, conform):
    for path in ("/Customers", "/Products", "/OutgoingInvoices", "/SalaryLines"):
        response = conform(po.api.get(path), path)
        assert response.status_code == 204
        assert response.content == b""
    assert po.api.get("/Employees", params={"employeeNos": "99"}).status_code == 204


def test_paging(po, conform):
    for n in range(5):
        assert po.api.post("/Products", json={"Name": f"Vare {n}", "Code": f"B-{n}"}).ok
    sizes = []
    for page in (1, 2, 3):
        response = po.api.get("/Products", params={"PageNumber": page, "PageSize": 2})
        conform(response, "/Products")
        sizes.append([p["Code"] for p in response.json()])
    assert sizes == [["B-0", "B-1"], ["B-2", "B-3"], ["B-4"]]
    assert po.api.get("/Products", params={"PageNumber": 4, "PageSize": 2}).status_code == 204
    assert len(po.api.get("/Products", params={"resourceParameter.PageSize": 3}).json()) == 3
    assert len(po.api.get("/Products").json()) == 5  # default page size 5000
    for params in ({"PageSize": 0}, {"PageSize": 20001}, {"PageNumber": 0}, {"PageSize": "x"}):
        problem(po.api.get("/Products", params=params), 400, "Invalid resourceParameter")
    assert po.api.get("/Products", params={"PageSize": 20000}).status_code == 200


def test_odata_and_unknown_parameters_are_400(po):
    for params in ({"$filter": "Code eq 'B-1'"}, {"$top": "1"}, {"code": "B-1"}):
        problem(po.api.get("/Products", params=params), 400)
    # Names bind case-insensitively, as in ASP.NET.
    assert po.api.get("/Products", params={"Codes": "B-1"}).status_code == 204


def test_fields_and_order_by(po):
    for name, code in (("Kiste", "B-2"), ("Urne", "B-1")):
        po.api.post("/Products", json={"Name": name, "Code": code})
    response = po.api.get("/Products", params={"Fields": "Code,Name", "OrderBy": "Code desc"})
    assert response.json() == [{"Code": "B-2", "Name": "Kiste"}, {"Code": "B-1", "Name": "Urne"}]
    problem(po.api.get("/Products", params={"Fields": "Nope"}), 400)


# -- filters --------------------------------------------------------------------------------


def test_customer_filters(po, conform):
    for number in (10000, 10001, 10002, 12000, 13000):
        new_customer(po, Number=number, ExternalImportReference=f"c-{number}")

    def numbers(**params):
        response = conform(po.api.get("/Customers", params=params), "/Customers")
        return [] if response.status_code == 204 else [c["Number"] for c in response.json()]

    assert numbers(customerNos="10000-10001,12000") == [10000, 10001, 12000]
    assert numbers(customerNos="10002, 12500-") == [10002, 13000]
    assert numbers(externalImportReference="c-12000") == [12000]
    assert numbers(externalImportReference="  ") == [10000, 10001, 10002, 12000, 13000]
    assert numbers(customerNos="99999") == []
    problem(
        po.api.get("/Customers", params={"customerNos": "abc"}), 400, "Unable to cast object(s)"
    )
    problem(po.api.get("/Customers", params={"contactGroupIds": "1-3"}), 400)
    problem(po.api.get("/Customers", params={"contactGroupIds": "7"}), 404)


def test_reference_data_filters(po, conform):
    api = po.api
    employees = conform(api.get("/Employees", params={"employeeNos": "1,3-4"}), "/Employees")
    assert [(e["Number"], e["FirstName"]) for e in employees.json()] == [
        (1, "Astrid"),
        (3, "Marte"),
        (4, "Jonas"),
    ]
    accounts = conform(
        api.get("/GeneralLedgerAccounts", params={"accountNos": "3000,3100-3200"}),
        "/GeneralLedgerAccounts",
    )
    assert [(a["AccountNo"], a["VatCode"], a["IsVatCodeLocked"]) for a in accounts.json()] == [
        (3000, "3", True),
        (3100, "5", True),
        (3200, "6", True),
    ]
    pay_items = conform(api.get("/PayItems", params={"codes": "7100,7140"}), "/PayItems")
    assert [p["Name"] for p in pay_items.json()] == ["Kilometergodtgjørelse", "Bompenger"]
    inactive = api.get("/PayItems", params={"isActive": "false"}).json()
    assert [p["Code"] for p in inactive] == ["7199"]

    vat_codes = conform(api.get("/VatCodes"), "/VatCodes").json()
    rates = {v["Code"]: v["Rate"] for v in vat_codes}
    assert rates["3"] == 0.25 and rates["31"] == 0.15 and rates["33"] == 0.12
    assert rates["5"] == 0 and rates["6"] == 0
    with_expired = api.get("/VatCodes", params={"includeExpired": "true"}).json()
    assert len(with_expired) == len(vat_codes) + 1
    assert all(v["IsActive"] for v in api.get("/VatCodes", params={"isActive": "true"}).json())

    series = conform(
        api.get("/SubLedgerNumberSeries", params={"subLedgerNumberSeriesType": "Customer"}),
        "/SubLedgerNumberSeries",
    ).json()
    assert [
        (s["FromInclusive"], s["ToInclusive"], s["GeneralLedgerAccountNo"]) for s in series
    ] == [(10000, 19999, 1500)]
    problem(
        api.get("/SubLedgerNumberSeries", params={"subLedgerNumberSeriesType": "customer"}), 400
    )
    po.sandbox.update(po.key, "departments", po.departments["3"]["Id"], IsActive=False)
    departments = conform(api.get("/Departments", params={"isActive": "true"}), "/Departments")
    assert [(d["Code"], d["Name"]) for d in departments.json()] == [
        ("1", "Oslo"),
        ("2", "Bærum"),
        ("4", "Drammen"),
    ]


def test_seed_is_deterministic_and_ids_do_not_overlap(sandbox):
    first = sandbox.create_client("Hansen Oslo")
    accounts = sandbox.data(first["client_key"], "accounts")
    pay_items = sandbox.data(first["client_key"], "payitems")
    assert [a["AccountNo"] for a in accounts] == [a[0] for a in ACCOUNTS]
    assert [p["Code"] for p in pay_items] == [p[0] for p in PAY_ITEMS]
    assert len(sandbox.data(first["client_key"], "employees")) == len(EMPLOYEES)
    other = sandbox.create_client("Hansen Bærum")
    ids = {a["Id"] for a in accounts}
    assert not ids & {a["Id"] for a in sandbox.data(other["client_key"], "accounts")}

    sandbox.reset()
    again = sandbox.create_client("Hansen Oslo")
    assert again["client_id"] == first["client_id"]
    assert sandbox.data(again["client_key"], "accounts") == accounts
    assert sandbox.data(again["client_key"], "payitems") == pay_items


# -- customers ------------------------------------------------------------------------------


def test_create_customer(po, conform):
    response = po.api.post(
        "/Customers",
        json={
            "IsPerson": True,
            "FirstName": "Kari",
            "LastName": "Nordmann",
            "EmailAddress": "kari@example.no",
            "ExternalImportReference": "bitnet-customer-7",
            "MailAddress": {"AddressLine1": "Storgata 1", "ZipCode": "0155", "City": "Oslo"},
        },
    )
    conform(response, "/Customers", "POST")
    assert response.status_code == 201
    customer = response.json()
    assert customer["Name"] == "Kari Nordmann"
    assert customer["Number"] == 10000  # first free number of the default customer series
    assert customer["SubledgerAccountId"] != customer["Id"]
    assert customer["MailAddress"]["CountryCode"] == "NO"
    assert response.headers["Location"].endswith(f"/v2/Customers/{customer['Id']}")
    fetched = conform(po.api.get(f"/Customers/{customer['Id']}"), "/Customers/{id}")
    assert fetched.json() == customer
    assert new_customer(po)["Number"] == 10001


def test_customer_external_import_reference_reuse_is_400(po, conform):
    first = new_customer(po, ExternalImportReference="bitnet-customer-1")
    response = po.api.post(
        "/Customers", json={"Name": "Someone else", "ExternalImportReference": "bitnet-customer-1"}
    )
    conform(response, "/Customers", "POST")
    body = problem(response, 400, "Customer validation error(s)")
    assert body["detail"] == (
        "ExternalImportReference is already in use. 'bitnet-customer-1' is used on "
        f"(contact) Id = {first['Id']}."
    )


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({}, 400, "Name is required"),
        ({"IsPerson": True, "FirstName": "Kari"}, 400, "LastName is required"),
        ({"Name": "A", "Number": 9999}, 400, "outside the customer sub-ledger number series"),
        ({"Name": "A", "Number": 20000}, 400, "outside the customer sub-ledger number series"),
        ({"name": "A"}, 400, "must be spelled 'Name'"),
        ({"Name": "A", "CustomerNo": 10000}, 400, "not a property of CustomerPostDto"),
        ({"Name": "A", "Number": "10000"}, 400, "Number must be a whole number"),
        ({"Name": "A", "Id": 5}, 400, "not a property"),
        ({"Name": "A", "EmailAddress": "nope"}, 400, "not a valid e-mail"),
        ({"Name": "A", "OrganizationNumber": "123456789"}, 400, "not a valid Norwegian"),
        ({"Name": "A", "MailAddress": {"City": "Oslo"}}, 400, "MailAddress.ZipCode is required"),
        ({"Name": "A", "InvoiceDeliveryType": "Email"}, 400, "InvoiceDeliveryType must be one of"),
        ({"Name": "A", "DepartmentCode": "Avdeling10"}, 404, "Department with code = 'Avdeling10'"),
        ({"Name": "A", "SalesPersonEmployeeId": 1}, 404, "Employee with id = 1 not found"),
    ],
)
def test_customer_validation(po, conform, body, status, needle):
    response = po.api.post("/Customers", json=body)
    conform(response, "/Customers", "POST")
    assert needle in problem(response, status, "Customer validation error(s)")["detail"]


def test_customer_number_is_unique(po):
    first = new_customer(po, Number=10500)
    body = problem(po.api.post("/Customers", json={"Name": "B", "Number": 10500}), 400)
    assert (
        body["detail"]
        == f"Customer number 10500 is already in use on (contact) Id = {first['Id']}."
    )


def test_customer_department_and_seller_resolve(po):
    customer = new_customer(po, DepartmentCode="2", SalesPersonEmployeeNumber=3)
    assert customer["DepartmentId"] == po.departments["2"]["Id"]
    assert customer["DepartmentCode"] == "2"
    assert customer["SalesPersonEmployeeId"] == po.employees[3]["Id"]
    assert customer["SalesPersonEmployeeNumber"] == 3
    drammen = po.departments["4"]
    po.sandbox.update(po.key, "departments", drammen["Id"], IsActive=False)
    inactive = po.api.post("/Customers", json={"Name": "A", "DepartmentCode": "4"})
    assert "is not active" in problem(inactive, 400)["detail"]


def test_customer_get_unknown_is_404(po, conform):
    response = conform(po.api.get("/Customers/123"), "/Customers/{id}")
    assert problem(response, 404, "Object(s) not found")["detail"] == (
        "Customer with id = 123 not found."
    )


def test_customer_patch_is_json_patch(po, conform):
    customer = new_customer(po, ExternalImportReference="c-1")
    other = new_customer(po, ExternalImportReference="c-2")
    patch = [{"op": "replace", "path": "/Name", "value": "Dødsbo etter Kari Nordmann"}]
    as_json = po.api.patch(f"/Customers/{customer['Id']}", json=patch)
    assert as_json.status_code == 415
    response = po.api.patch(
        f"/Customers/{customer['Id']}",
        data=__import__("json").dumps(patch),
        headers={"Content-Type": "application/json-patch+json"},
    )
    conform(response, "/Customers/{id}", "PATCH")
    assert response.status_code == 200
    assert response.json()["Name"] == "Dødsbo etter Kari Nordmann"
    assert response.json()["LastChangedDateTimeOffset"] > customer["LastChangedDateTimeOffset"]

    def patch_with(operations):
        return po.api.patch(
            f"/Customers/{other['Id']}",
            data=__import__("json").dumps(operations),
            headers={"Content-Type": "application/json-patch+json"},
        )

    taken = patch_with([{"op": "replace", "path": "/ExternalImportReference", "value": "c-1"}])
    assert "already in use" in problem(taken, 400)["detail"]
    unknown = patch_with([{"op": "replace", "path": "/Nickname", "value": "x"}])
    assert "path segment 'Nickname' was not found" in problem(unknown, 400)["detail"]
    city = patch_with([{"op": "add", "path": "/MailAddress", "value": {"City": "Asker"}}])
    assert "MailAddress.ZipCode is required" in problem(city, 400)["detail"]


# -- products -------------------------------------------------------------------------------


def test_create_product_answers_200(po, conform):
    response = po.api.post(
        "/Products",
        json={
            "Code": "B-7720",
            "Name": "Kiste, hvit",
            "UnitPrice": 8950.0,
            "StandardSalesAccountId": po.accounts[3020]["Id"],
        },
    )
    conform(response, "/Products", "POST")
    assert response.status_code == 200
    product = response.json()
    assert product["StandardSalesAccount"] == 3020
    assert product["ProductType"] == "Product"
    found = po.api.get("/Products", params={"codes": "B-7720,B-1"}).json()
    assert [p["Id"] for p in found] == [product["Id"]]
    duplicate = po.api.post("/Products", json={"Code": "B-7720", "Name": "Other"})
    assert "already in use" in problem(duplicate, 400, "Product validation error(s)")["detail"]
    assert (
        "Name is required" in problem(po.api.post("/Products", json={"Code": "B-1"}), 400)["detail"]
    )
    missing = po.api.post("/Products", json={"Name": "X", "StandardSalesAccountId": 1})
    problem(missing, 404)
    not_income = po.api.post("/Products", json={"Name": "X", "StandardSalesAccount": 1920})
    assert "not a sales (income) account" in problem(not_income, 400)["detail"]


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


# -- salary lines ---------------------------------------------------------------------------


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


def test_salary_lines_create_list_delete(po, conform):
    response = conform(po.api.post("/SalaryLines", json=salary_line(po)), "/SalaryLines", "POST")
    assert response.status_code == 201
    line = response.json()
    assert line["Amount"] == 617.5
    assert line["IsLocked"] is False
    listed = conform(po.api.get("/SalaryLines"), "/SalaryLines").json()
    assert [item["Id"] for item in listed] == [line["Id"]]
    conform(po.api.get(f"/SalaryLines/{line['Id']}"), "/SalaryLines/{id}")

    toll = po.api.post(
        "/SalaryLines",
        json=salary_line(
            po,
            PayItemId=po.pay_items["7140"]["Id"],
            Quantity=None,
            Rate=None,
            Amount=58.0,
            ExternalImportReference="bitnet-drive-1-7140",
        ),
    )
    assert toll.status_code == 201

    deleted = conform(po.api.delete(f"/SalaryLines/{line['Id']}"), "/SalaryLines/{id}", "DELETE")
    assert deleted.status_code == 200
    gone = conform(po.api.delete(f"/SalaryLines/{line['Id']}"), "/SalaryLines/{id}", "DELETE")
    assert problem(gone, 404)["detail"] == f"Salary line with id = {line['Id']} not found."


def test_locked_salary_line_cannot_be_deleted(po, conform):
    line = po.api.post("/SalaryLines", json=salary_line(po)).json()
    po.sandbox.lock_salary_line(po.key, line["Id"])
    response = conform(po.api.delete(f"/SalaryLines/{line['Id']}"), "/SalaryLines/{id}", "DELETE")
    body = problem(response, 409, "Salary line conflict")
    assert body["detail"].startswith(f"Salary line with id = {line['Id']} is in use")
    assert po.api.get(f"/SalaryLines/{line['Id']}").json()["IsLocked"] is True


@pytest.mark.parametrize(
    ("fields", "status", "needle"),
    [
        ({"EmployeeId": None}, 400, "EmployeeId is required"),
        ({"PayItemId": None}, 400, "PayItemId is required"),
        ({"EmployeeId": 1}, 404, "Employee with id = 1 not found"),
        ({"PayItemId": str(uuid.UUID(int=1))}, 404, "Pay item with id ="),
        ({"PayItemId": "7100"}, 400, "must be a uuid"),
        ({"Amount": 600.0}, 400, "does not equal Quantity × Rate"),
        ({"Quantity": None}, 400, "Quantity is required"),
        ({"Quantity": "123,5"}, 400, "must be a JSON number"),
        ({"employeeId": 5}, 400, "must be spelled 'EmployeeId'"),
        ({"DepartmentId": 1}, 404, "Department with id = 1"),
    ],
)
def test_salary_line_validation(po, conform, fields, status, needle):
    body = {k: v for k, v in salary_line(po, **fields).items() if v is not None}
    response = conform(po.api.post("/SalaryLines", json=body), "/SalaryLines", "POST")
    assert needle in problem(response, status, "Salary line validation error(s)")["detail"]


def test_salary_line_rules_of_pay_items(po):
    inactive = po.api.post(
        "/SalaryLines", json=salary_line(po, PayItemId=po.pay_items["7199"]["Id"])
    )
    assert "is not active" in problem(inactive, 400)["detail"]
    parking = {
        k: v
        for k, v in salary_line(po, PayItemId=po.pay_items["7141"]["Id"]).items()
        if k not in ("Quantity", "Rate")
    }
    assert "Amount is required" in problem(po.api.post("/SalaryLines", json=parking), 400)["detail"]
    first = po.api.post("/SalaryLines", json=salary_line(po)).json()
    reused = po.api.post("/SalaryLines", json=salary_line(po))
    assert problem(reused, 400)["detail"] == (
        "ExternalImportReference is already in use. 'bitnet-drive-1-7100' is used on salary line "
        f"with Id = {first['Id']}."
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


# -- hooks ----------------------------------------------------------------------------------


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
    page = requests.get(po.sandbox.url + "/")
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
    link = re.search(r'href="(/_sandbox/clients/[^"]+/documentation)"', html).group(1)
    assert requests.get(po.sandbox.url + link).content == PDF


# -- concurrency and persistence ------------------------------------------------------------


def test_concurrent_creates_get_distinct_numbers(po):
    def create(n):
        return po.api.post(
            "/Customers", json={"Name": f"Kunde {n}", "ExternalImportReference": f"c-{n}"}
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, range(24)))
    assert {r.status_code for r in responses} == {201}
    numbers = sorted(r.json()["Number"] for r in responses)
    assert numbers == list(range(10000, 10024))


def _create_customers(api_url: str, headers: dict, worker: int) -> list[int]:
    with requests.Session() as http:
        return [
            http.post(
                api_url + "/Customers",
                json={"Name": f"Kunde {worker}-{n}", "ExternalImportReference": f"p{worker}-{n}"},
                headers=headers,
                timeout=30,
            ).status_code
            for n in range(5)
        ]


def test_four_processes_at_once(po):
    headers = {
        "Authorization": f"Bearer {po.sandbox.token(po.key)}",
        "Ocp-Apim-Subscription-Key": po.sandbox.subscription_key,
    }
    # "spawn": a forked child would inherit the test process's open Redis connections.
    with ProcessPoolExecutor(
        max_workers=4, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        results = list(
            pool.map(_create_customers, [po.sandbox.api_url] * 4, [headers] * 4, range(4))
        )
    assert results == [[201] * 5] * 4
    numbers = sorted(c["Number"] for c in po.sandbox.data(po.key, "customers"))
    assert numbers == list(range(10000, 10020))


def test_state_file_survives_restart(tmp_path):
    state_file = tmp_path / "sandbox.json"
    first = start_sandbox(port=0, rate_limit=0, state_file=str(state_file))
    try:
        client = requests.post(first.url + "/_sandbox/clients", json={"name": "Demo"}).json()
        basic_auth = basic(default_application_key(), client["client_key"])
        headers = {"Ocp-Apim-Subscription-Key": default_subscription_key()}
        token = requests.post(
            first.url + "/OAuth/Token",
            data={"grant_type": "client_credentials"},
            headers={**headers, "Authorization": basic_auth},
        ).json()["access_token"]
        created = requests.post(
            first.url + "/v2/Products",
            json={"Name": "Urne", "Code": "B-1", "UnitPrice": 1250.5},
            headers={**headers, "Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 200
    finally:
        first.stop()
    second = start_sandbox(port=0, rate_limit=0, state_file=str(state_file))
    try:
        products = requests.get(
            second.url + f"/_sandbox/clients/{client['client_key']}/data/products"
        ).json()
        assert [(p["Code"], float(p["UnitPrice"])) for p in products] == [("B-1", 1250.5)]
    finally:
        second.stop()
