"""Helpers of the PowerOfficeClient tests: a counting rate limiter, sandbox clients of their
own, the sandbox's request log of this test's clients, and request bodies."""

from __future__ import annotations

import os
import time
import uuid
from decimal import Decimal

from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.ratelimit import Lane, LocalRateLimiter

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/2"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


class CountingLimiter(LocalRateLimiter):
    """A fast limiter that counts the slots handed out (every request must take one)."""

    def __init__(self, rate: float = 10_000) -> None:
        super().__init__(rate)
        self.acquired = 0
        self.sent_count = 0
        self.lanes: list[Lane] = []
        self.penalties: list[float] = []

    def acquire(self, *, lane: Lane = Lane.INTERACTIVE, client: str = "") -> str:
        self.acquired += 1
        self.lanes.append(lane)
        return super().acquire(lane=lane, client=client)

    def sent(self, ticket: str) -> None:
        self.sent_count += 1
        super().sent(ticket)

    def penalize(self, seconds: float) -> None:
        self.penalties.append(seconds)
        super().penalize(seconds)


def new_client(sandbox, name: str = "Hansen Begravelsesbyrå AS", **options) -> dict:
    """A sandbox client with ids of its own (the seed decides them)."""
    return sandbox.create_client(name, seed=f"client-tests-{uuid.uuid4()}", **options)


def api_log(sandbox, **filters):
    """The sandbox's log of /v2 calls of this test's clients (token calls left out).

    Every test's clients have their own ids (a fresh seed), so a request an earlier test gave up
    on, answered after the sandbox's reset, does not show up here.
    """
    ours = {c["client_id"] for c in sandbox.hook("GET", "clients")}
    return [
        e
        for e in sandbox.requests_log(**filters)
        if e["route"] != "/OAuth/Token" and e["client_id"] in ours
    ]


def wait_for_log(sandbox, count: int, **filters) -> list[dict]:
    """The log once it holds ``count`` entries: a held request is logged when it is answered."""
    deadline = time.monotonic() + 10
    while True:
        entries = api_log(sandbox, **filters)
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def token_log(sandbox):
    return [e for e in sandbox.requests_log() if e["route"] == "/OAuth/Token"]


def by_no(items, key="AccountNo"):
    return {item[key]: item for item in items}


def voucher_body(po: PowerOfficeClient, *, invoice_no: str, reference: str, customer=None):
    """A balanced outgoing invoice voucher: 1000 + 25 % VAT on 3000, and 500 outside VAT on 3200."""
    if customer is None:
        customer = po.create_customer(
            {
                "Name": f"Dødsbo etter kunde {invoice_no}",
                "ExternalImportReference": f"C-{reference}",
            }
        )
    accounts = by_no(po.list_general_ledger_accounts(account_nos="3000,3200"))
    vat = {v["Code"]: v for v in po.list_vat_codes(is_active=True)}
    return {
        "InvoiceNo": invoice_no,
        "ExternalImportReference": reference,
        "VoucherDate": "2025-03-14",
        "DueDate": "2025-03-28",
        "CurrencyCode": "NOK",
        "CurrencyAmount": Decimal("1750.00"),
        "CustomerAccountId": customer["SubledgerAccountId"],
        "OutgoingInvoiceLines": [
            {
                "AccountId": accounts[3000]["Id"],
                "VatId": vat["3"]["Id"],
                "CurrencyAmount": Decimal("1250.00"),
                "Description": "Seremoni",
                "Quantity": 1,
            },
            {
                "AccountId": accounts[3200]["Id"],
                "VatId": vat["6"]["Id"],
                "CurrencyAmount": Decimal("500.00"),
                "Description": "Kirkegårdsavgift",
                "Quantity": 1,
            },
        ],
    }


def salary_body(po: PowerOfficeClient, *, reference: str, employee_no: int = 2):
    employee = po.list_employees(employee_nos=[employee_no])[0]
    pay_item = po.list_pay_items(codes=["7100"])[0]
    return {
        "EmployeeId": employee["Id"],
        "PayItemId": pay_item["Id"],
        "Quantity": Decimal("42"),
        "Rate": Decimal("5.00"),
        "Comment": "Kjørebok mars 2025",
        "ExternalImportReference": reference,
    }
