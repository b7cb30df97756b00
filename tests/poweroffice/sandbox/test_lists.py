"""Lists (204, paging, OData, unknown parameters), filters and the seed."""

from poweroffice.sandbox.seed import ACCOUNTS, EMPLOYEES, PAY_ITEMS
from tests.poweroffice.sandbox.support import new_customer, problem

# -- lists: 204, paging, OData, unknown parameters ------------------------------------------


def test_empty_lists_are_204_without_body(po, conform):
    for path in ("/Customers", "/Products", "/OutgoingInvoices", "/SalaryLines"):
        response = conform(po.api.get(path), path)
        assert response.status_code == 204
        assert response.content == b""
    assert po.api.get("/Employees", params={"employeeNos": "99"}).status_code == 204


def test_none_found_can_be_404_where_the_contract_declares_it(po, conform):
    po.sandbox.config(empty_list_404=True)
    for path, params in (
        ("/Customers", {"customerNos": "99999"}),
        ("/Employees", {"employeeNos": "99"}),
        ("/OutgoingInvoices", {}),
    ):
        response = conform(po.api.get(path, params=params), path)
        assert problem(response, 404, "Object(s) not found")
    assert conform(po.api.get("/Products"), "/Products").status_code == 204
    assert po.api.get("/Employees", params={"employeeNos": "1"}).status_code == 200


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
