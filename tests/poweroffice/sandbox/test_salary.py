"""Salary lines: create, list, delete, validation and the rules of pay items."""

import uuid

import pytest

from tests.poweroffice.sandbox.support import problem, salary_line

# -- salary lines ---------------------------------------------------------------------------


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
        ({"Amount": 617.5}, 400, "Amount is not used by pay item 7100 (QuantityAndRate)"),
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


@pytest.mark.parametrize(
    ("processing", "fields", "needle"),
    [
        ("QuantityAndRateReportingZeroAsQuantity", {"Amount": 617.5}, "Amount is not used"),
        ("QuantityAndRateReportingZeroAsQuantity", {"Rate": None}, "Rate is required"),
        ("QuantityAndFixedRate", {"Quantity": None}, "Quantity is required"),
        ("ExpenseRefund", {"Amount": 58.0}, "Quantity is not used"),
        ("FixedAmountWithQuantity", {"Rate": None}, "Amount is required"),
        (
            "CommuterWithNumberOfJourneys",
            {"Amount": 58.0, "Quantity": None, "Rate": None},
            "Number is required",
        ),
        (
            "FreeCarStandardRule",
            {"Quantity": None, "Rate": None},
            "CarRegistrationNo or IsCarPool is required",
        ),
    ],
)
def test_salary_lines_carry_what_their_pay_items_processing_type_needs(
    po, processing, fields, needle
):
    pay_item = po.pay_items["7100"]
    po.sandbox.update(po.key, "payitems", pay_item["Id"], ProcessingType=processing)
    body = {k: v for k, v in salary_line(po, **fields).items() if v is not None}
    response = po.api.post("/SalaryLines", json=body)
    assert needle in problem(response, 400, "Salary line validation error(s)")["detail"]


@pytest.mark.parametrize(
    ("processing", "fields", "amount"),
    [
        ("QuantityAndRateReportingZeroAsQuantity", {}, 617.5),
        ("QuantityAndFixedRate", {"Rate": None}, None),  # the pay item has no rate to give
        ("FixedAmountWithQuantity", {"Rate": None, "Amount": 617.5}, 617.5),
        ("ExpenseRefund", {"Rate": None, "Quantity": None, "Amount": 58.0}, 58.0),
    ],
)
def test_salary_lines_with_the_fields_of_their_type_are_taken(po, processing, fields, amount):
    pay_item = po.pay_items["7100"]
    po.sandbox.update(po.key, "payitems", pay_item["Id"], ProcessingType=processing)
    body = {k: v for k, v in salary_line(po, **fields).items() if v is not None}
    response = po.api.post("/SalaryLines", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["Amount"] == amount
