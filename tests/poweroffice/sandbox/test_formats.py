"""The sandbox's answers fit the formats the contract declares (int32, int64, …)."""

from types import SimpleNamespace

import pytest

from tests.poweroffice.sandbox.support import new_customer, post_voucher, problem, voucher


def _contract_kind(prop: dict, schemas: dict) -> str:
    """A property of the contract as the sandbox's DTO tables write its type."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[1]
        return f"enum:{name}" if "enum" in schemas[name] else f"obj:{name}"
    if prop.get("type") == "array":
        return "list:" + _contract_kind(prop["items"], schemas)
    kind, fmt = prop.get("type"), prop.get("format")
    if kind == "integer":
        return fmt
    if kind == "string":
        return {"date": "date", "date-time": "datetime", "uuid": "uuid"}.get(fmt, "str")
    return {"number": "num", "boolean": "bool"}.get(kind, "any")


def test_dto_tables_have_the_contracts_types_and_formats(contract):
    from poweroffice.sandbox.contract import FIELDS

    schemas = contract.spec["components"]["schemas"]
    wrong = []
    for dto, fields in FIELDS.items():
        properties = schemas[dto]["properties"]
        for name, (kind, _flags, _max) in fields.items():
            expected = _contract_kind(properties[name], schemas)
            if kind != expected:
                wrong.append(f"{dto}.{name}: {kind}, the contract says {expected}")
    assert wrong == []


@pytest.mark.parametrize(
    "name", ["Hansen Oslo", "Hansen Bærum", "Testklient AS", "Fjord Begravelsesbyrå"]
)
def test_ids_fit_the_formats_of_the_contract_whatever_the_client(sandbox, contract, name):
    sandbox.config(rate_limit=0)
    client = sandbox.create_client(name)
    api = sandbox.api(client["client_key"])
    accounts = contract.check(api.get("/GeneralLedgerAccounts"), "/GeneralLedgerAccounts", "GET")
    vat_codes = contract.check(api.get("/VatCodes"), "/VatCodes", "GET").json()
    assert all(0 < a["VatCodeId"] < 2**31 for a in accounts.json())
    assert {a["VatCodeId"] for a in accounts.json()} <= {v["Id"] for v in vat_codes}
    po = SimpleNamespace(
        api=api,
        accounts={a["AccountNo"]: a for a in accounts.json()},
        vats={v["Code"]: v for v in vat_codes},
    )
    customer = new_customer(po)
    response = post_voucher(po, voucher(po, customer))
    assert response.status_code == 201, response.text
    contract.check_schema(response.json(), "OutgoingInvoiceVoucherDto")
    [invoice] = api.get("/OutgoingInvoices").json()
    lines = api.get(f"/OutgoingInvoices/{invoice['Id']}/Lines")
    contract.check(lines, "/OutgoingInvoices/{id}/Lines", "GET")


def test_numbers_that_do_not_fit_their_format_are_refused(po):
    customer = new_customer(po)
    body = voucher(po, customer)
    body["OutgoingInvoiceLines"][0]["VatId"] = 2**31
    detail = problem(post_voucher(po, body), 400)["detail"]
    assert "could not be converted to System.Int32" in detail
    assert problem(po.api.post("/Customers", json={"Name": "X", "Number": 2**63}), 400)


def test_an_answer_that_does_not_fit_the_contract_fails_loudly(po):
    account = po.accounts[3000]
    po.sandbox.update(po.key, "accounts", account["Id"], VatCodeId=2**31)
    response = po.api.get(f"/GeneralLedgerAccounts/{account['Id']}")
    assert response.status_code == 500
    assert "GeneralLedgerAccountDto.VatCodeId = 2147483648 does not fit its format (int32)" in (
        response.text
    )
