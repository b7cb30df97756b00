"""Customers (create, validation, JSON Patch) and products."""

import pytest

from tests.poweroffice.sandbox.support import new_customer, problem

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
