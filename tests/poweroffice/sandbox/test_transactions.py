"""GET /AccountTransactions (the postings of the vouchers the client holds), its filters, and
the hooks that delete a voucher or change an amount, validated against the contract."""

from decimal import Decimal

from tests.poweroffice.sandbox.support import new_customer, post_voucher, problem, voucher

MARCH = {"fromDate": "2025-03-01", "toDate": "2025-03-31"}


def _postings(po, conform, **params):
    response = conform(
        po.api.get("/AccountTransactions", params={**MARCH, **params}), "/AccountTransactions"
    )
    return [] if response.status_code == 204 else response.json()


def _book(po, number: str, **overrides) -> dict:
    customer = new_customer(po, Number=int(number) + 10000, ExternalImportReference=f"c{number}")
    response = post_voucher(po, voucher(po, customer, number, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


def test_postings_of_a_voucher(po, conform):
    booked = _book(po, "1001")
    rows = _postings(po, conform)
    assert {row["VoucherNo"] for row in rows} == {booked["VoucherNo"]}
    by_account = {row["AccountNo"]: row for row in rows}
    # The receivable is the gross total; sales are credits (negative), net, with the VAT code.
    assert by_account[1500]["Amount"] == 1350.0 and by_account[1500]["IsNoteMainEntry"]
    assert (by_account[3000]["Amount"], by_account[3000]["VatAmount"]) == (-1000.0, -250.0)
    assert by_account[3000]["VatCode"] == "3" and by_account[3000]["PostingDate"] == "2025-03-03"
    assert (by_account[3200]["Amount"], by_account[3200]["VatCode"]) == (-100.0, "6")
    assert by_account[2700]["Amount"] == -250.0
    assert sum(Decimal(str(row["Amount"])) for row in rows) == 0  # the voucher balances


def test_filters_and_required_dates(po, conform):
    first = _book(po, "1001")
    second = _book(po, "1002", VoucherDate="2025-04-02", DueDate="2025-04-16")
    assert {r["VoucherNo"] for r in _postings(po, conform, toDate="2025-04-30")} == {
        first["VoucherNo"],
        second["VoucherNo"],
    }
    assert {r["AccountNo"] for r in _postings(po, conform, accountNos="3000-3999")} == {3000, 3200}
    assert {r["AccountNo"] for r in _postings(po, conform, vatCodes="6")} == {3200}
    assert _postings(po, conform, voucherNos=str(second["VoucherNo"])) == []
    for missing in ("fromDate", "toDate"):
        params = {k: v for k, v in MARCH.items() if k != missing}
        problem(po.api.get("/AccountTransactions", params=params), 400)
    problem(po.api.get("/AccountTransactions", params={**MARCH, "voucherNos": "x"}), 400)


def test_reversal_deletion_and_changed_amount(po, conform):
    reversed_ = _book(po, "1001")
    deleted = _book(po, "1002")
    changed = _book(po, "1003")
    po.sandbox.reverse(po.key, 1001)
    po.sandbox.delete_voucher(po.key, 1002)
    invoice = po.sandbox.change_amount(po.key, 1003, "1300.00", line=0)
    assert invoice["TotalAmount"] == 1400.0 and invoice["Balance"] == 1400.0

    rows = _postings(po, conform)
    of_reversed = [r for r in rows if r["VoucherNo"] == reversed_["VoucherNo"]]
    reversal = [r for r in rows if r["ReversedVoucherNo"] == reversed_["VoucherNo"]]
    assert of_reversed and all(r["IsReversed"] for r in of_reversed)
    assert sum(Decimal(str(r["Amount"])) for r in of_reversed + reversal) == 0
    assert len(reversal) == len(of_reversed)
    assert not [r for r in rows if r["VoucherNo"] == deleted["VoucherNo"]]
    sales = next(
        r for r in rows if r["VoucherNo"] == changed["VoucherNo"] and r["AccountNo"] == 3000
    )
    assert (sales["Amount"], sales["VatAmount"]) == (-1040.0, -260.0)  # 1300 incl. 25 %
    listed = po.api.get("/OutgoingInvoices", params={"invoiceNos": "1002"})
    assert listed.status_code == 204
