"""PowerOfficeClient against the sandbox, over loopback HTTP.

Every test talks to a real sandbox server (the ``sandbox`` fixture) and asserts what PowerOffice
received (the sandbox's request log) and what the client returned. The sandbox's own rate limit is
switched off where a test is not about rate limiting, and such clients get a fast private limiter,
so that the suite does not spend its time being polite.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from decimal import Decimal

import pytest
import redis
from django.core.cache import cache

from poweroffice.client.client import (
    MAX_DOCUMENTATION_BYTES,
    OUTGOING_INVOICE_VOUCHER_PATH,
    PowerOfficeClient,
)
from poweroffice.client.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidClientError,
    InvalidDocumentError,
    NotFoundError,
    PowerOfficeError,
    RateLimitedError,
    TransientError,
    ValidationError,
)
from poweroffice.client.params import format_code_list, format_number_list
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


@pytest.fixture
def po_settings(sandbox, sandbox_settings):
    """Settings pointing at the sandbox, and a private in-memory cache for tokens."""
    sandbox_settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"client-tests-{uuid.uuid4()}",
        }
    }
    return sandbox_settings


@pytest.fixture
def fast_sandbox(sandbox, po_settings):
    sandbox.config(rate_limit=0)
    return sandbox


def new_client(sandbox, name: str = "Hansen Begravelsesbyrå AS", **options) -> dict:
    """A sandbox client with ids of its own (the seed decides them)."""
    return sandbox.create_client(name, seed=f"client-tests-{uuid.uuid4()}", **options)


@pytest.fixture
def client_info(fast_sandbox):
    return new_client(fast_sandbox)


@pytest.fixture
def make_client(po_settings):
    made = []

    def make(client_key: str, **options) -> PowerOfficeClient:
        options.setdefault("rate_limiter", CountingLimiter())
        options.setdefault("backoff_base", 0.01)
        options.setdefault("backoff_max", 0.05)
        options.setdefault("timeout", 5)
        po = PowerOfficeClient(client_key, **options)
        made.append(po)
        return po

    yield make
    for po in made:
        po.close()


@pytest.fixture
def po(client_info, make_client):
    return make_client(client_info["client_key"])


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


# --- filters -------------------------------------------------------------------------------------


def test_format_number_list_ranges_and_runs():
    assert format_number_list("10000-10999, 12000") == "10000-10999,12000"
    assert format_number_list([range(10000, 11000), 12000]) == "10000-10999,12000"
    assert format_number_list([3, 1, 2, 7, 5, 6, 10]) == "1-3,5-7,10"
    assert format_number_list([(13000, None), 12000]) == "12000,13000-"
    assert format_number_list(42) == "42"
    assert format_number_list([]) is None
    assert format_number_list(None) is None
    with pytest.raises(ValueError):
        format_number_list(["B-7720"])


def test_format_code_list():
    assert format_code_list(["B-7720", "B-7721", "B-7720"]) == "B-7720,B-7721"
    assert format_code_list("7100") == "7100"
    with pytest.raises(ValueError):
        format_code_list(["a,b"])


# --- authentication ------------------------------------------------------------------------------


def test_token_request_is_client_credentials_with_basic_auth_and_subscription_key(
    fast_sandbox, client_info, make_client
):
    po = make_client(client_info["client_key"])
    info = po.get_client_integration_information()

    assert info["ClientName"] == "Hansen Begravelsesbyrå AS"
    assert info["ClientId"] == client_info["client_id"]
    assert set(info["ActiveClientSubscriptions"]) == {"Accounting", "Payroll"}
    assert "OutgoingInvoiceVoucher_Full" in info["ValidPrivileges"]
    tokens = token_log(fast_sandbox)
    assert len(tokens) == 1
    assert tokens[0]["method"] == "POST"
    assert tokens[0]["status"] == 200
    assert tokens[0]["body"] == {"grant_type": "client_credentials"}
    assert tokens[0]["client_id"] == client_info["client_id"]  # Basic auth named this client
    calls = api_log(fast_sandbox)
    assert [(c["method"], c["route"], c["status"]) for c in calls] == [
        ("GET", "/ClientIntegrationInformation", 200)
    ]
    assert po.stats.requests == 2
    assert po.stats.token_requests == 1


def test_token_is_cached_and_shared_between_clients_of_the_same_key(
    fast_sandbox, client_info, make_client
):
    first = make_client(client_info["client_key"])
    second = make_client(client_info["client_key"])  # e.g. another task in the same worker
    first.list_departments()
    second.list_departments()
    second.list_vat_codes()

    assert len(token_log(fast_sandbox)) == 1
    assert second.stats.token_requests == 0


def test_token_shared_through_redis_cache_keyed_by_a_hash(
    fast_sandbox, client_info, make_client, po_settings
):
    po_settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"client-tests-{uuid.uuid4()}",
        }
    }
    key = client_info["client_key"]
    make_client(key).list_departments()
    # A client built elsewhere (another worker process reads the same Redis) reuses the token.
    other = make_client(key)
    other.list_departments()

    assert len(token_log(fast_sandbox)) == 1
    assert other.stats.token_requests == 0
    names = [k.decode() for k in redis.Redis.from_url(REDIS_URL).keys("*poweroffice:token:*")]
    assert names
    assert not any(key in name for name in names)


def test_token_renewed_before_it_expires(fast_sandbox, client_info, make_client):
    fast_sandbox.config(token_lifetime=2)  # the client renews after half of a short lifetime
    po = make_client(client_info["client_key"])
    po.list_departments()
    cache_entry = cache.get(po._token_cache_key)
    assert cache_entry["expires_at"] - dt.datetime.now().timestamp() <= 1.0
    threading.Event().wait(1.2)
    po.list_departments()

    assert len(token_log(fast_sandbox)) == 2
    assert [c["status"] for c in api_log(fast_sandbox)] == [200, 200]  # never a 401


@pytest.mark.parametrize("hook", ["expire_tokens", "revoke_tokens"])
def test_token_expiring_mid_run_is_renewed_once_and_the_call_repeated(
    fast_sandbox, client_info, make_client, hook
):
    po = make_client(client_info["client_key"])
    assert len(po.list_departments()) == 4
    fast_sandbox.faults(**{hook: True, "client_key": client_info["client_key"]})
    assert len(po.list_departments()) == 4
    assert len(po.list_vat_codes()) > 10

    assert [c["status"] for c in api_log(fast_sandbox)] == [200, 401, 200, 200]
    assert len(token_log(fast_sandbox)) == 2
    assert po.stats.retries == 1


def test_401_after_renewal_is_authentication_error(fast_sandbox, client_info, make_client):
    po = make_client(client_info["client_key"])
    fast_sandbox.faults(status=401, count=2, path="^/Departments$")
    with pytest.raises(AuthenticationError) as caught:
        po.list_departments()

    assert caught.value.status == 401
    assert caught.value.retryable is False
    assert [c["status"] for c in api_log(fast_sandbox)] == [401, 401]
    assert len(token_log(fast_sandbox)) == 2


def test_wrong_client_key_is_invalid_client_error(fast_sandbox, make_client):
    wrong = "00000000-aaaa-bbbb-cccc-" + "1234567890ab"
    po = make_client(wrong)
    with pytest.raises(InvalidClientError) as caught:
        po.get_client_integration_information()

    error = caught.value
    assert error.status == 400
    assert error.retryable is False
    assert error.title == "invalid_client"
    assert "Client integration not found" in error.detail
    assert wrong not in str(error)
    assert api_log(fast_sandbox) == []


def test_wrong_subscription_key_is_invalid_client_error(fast_sandbox, client_info, make_client):
    po = make_client(client_info["client_key"], subscription_key="not-our-subscription")
    with pytest.raises(InvalidClientError):
        po.list_departments()


# --- errors --------------------------------------------------------------------------------------


def test_missing_module_is_forbidden_error(fast_sandbox, make_client):
    info = new_client(fast_sandbox, "Uten lønn AS", subscriptions=["Accounting"])
    po = make_client(info["client_key"])
    with pytest.raises(ForbiddenError) as caught:
        po.list_pay_items(codes=["7100"])

    assert caught.value.status == 403
    assert caught.value.retryable is False
    assert "PayItem" in caught.value.detail
    assert "PayItem" in str(caught.value)


def test_unknown_id_is_not_found_error(po, fast_sandbox):
    with pytest.raises(NotFoundError) as caught:
        po.get_customer(1)
    assert caught.value.status == 404
    assert caught.value.title
    assert api_log(fast_sandbox)[0]["route"] == "/Customers/1"


def test_duplicate_reference_is_validation_error_with_problem_details(po, fast_sandbox):
    po.create_customer({"Name": "Kari Nordmann", "ExternalImportReference": "bitnet-cust-1"})
    with pytest.raises(ValidationError) as caught:
        po.create_customer({"Name": "Ola Nordmann", "ExternalImportReference": "bitnet-cust-1"})

    error = caught.value
    assert error.status == 400
    assert error.retryable is False
    assert error.title == "Customer validation error(s)"
    assert "ExternalImportReference is already in use" in error.detail
    assert error.title in str(error) and error.detail in str(error)
    assert isinstance(error.body, dict)
    # A permanent error is not retried: one POST.
    assert len(api_log(fast_sandbox, method="POST")) == 2


def test_locked_salary_line_is_conflict_error(po, fast_sandbox, client_info):
    line = po.create_salary_line(salary_body(po, reference="bitnet-trip-1"))
    fast_sandbox.lock_salary_line(client_info["client_key"], line["Id"])
    with pytest.raises(ConflictError) as caught:
        po.delete_salary_line(line["Id"])

    assert caught.value.status == 409
    assert caught.value.retryable is False
    assert po.get_salary_line(line["Id"])["IsLocked"] is True


def test_persistent_5xx_on_a_read_is_transient_error_after_bounded_retries(po, fast_sandbox):
    fast_sandbox.faults(status=503, count=10, path="^/Departments$")
    with pytest.raises(TransientError) as caught:
        po.list_departments()

    assert caught.value.status == 503
    assert caught.value.retryable is True
    assert len(api_log(fast_sandbox)) == po.max_attempts
    assert po.stats.retries == po.max_attempts - 1
    assert po.stats.by_status == {200: 1, 503: po.max_attempts}  # 200: the token


def test_read_recovers_from_transient_5xx(po, fast_sandbox):
    fast_sandbox.faults(status=502, count=2, path="^/VatCodes$")
    assert len(po.list_vat_codes()) > 10
    assert [c["status"] for c in api_log(fast_sandbox)] == [502, 502, 200]


def test_dropped_connection_on_a_read_is_retried(po, fast_sandbox):
    fast_sandbox.faults(action="close", count=1, path="^/Departments$")
    assert len(po.list_departments()) == 4
    assert po.stats.transport_errors == 1


def test_connection_refused_is_transient_error(make_client, po_settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    po = make_client(
        "any-key-1234",
        api_url=f"http://127.0.0.1:{port}/v2",
        token_url=f"http://127.0.0.1:{port}/OAuth/Token",
        max_attempts=2,
    )
    with pytest.raises(TransientError) as caught:
        po.list_departments()
    assert caught.value.status is None
    assert caught.value.never_left is True
    assert po.stats.transport_errors == 2
    assert "any-key-1234" not in str(caught.value)


def test_read_timeout_is_transient_error(po, fast_sandbox):
    po.timeout = 0.3
    po.max_attempts = 2
    fast_sandbox.faults(action="delay", delay_ms=1500, count=2, path="^/Departments$")
    with pytest.raises(TransientError) as caught:
        po.list_departments()
    assert caught.value.title == "Timeout"
    assert po.stats.transport_errors == 2


# --- 429 -----------------------------------------------------------------------------------------


def test_429_waits_and_retries_and_tells_the_shared_limiter(po, fast_sandbox):
    fast_sandbox.faults(status=429, count=1, path="^/Departments$")
    assert len(po.list_departments()) == 4

    assert [c["status"] for c in api_log(fast_sandbox)] == [429, 200]
    assert po.stats.rate_limited_429 == 1
    assert po.stats.retries == 1
    assert po.rate_limiter.penalties == [1.0]  # "Try again in 1 seconds", at least one second


def test_429_on_a_create_is_retried_without_duplicate(po, fast_sandbox, client_info):
    fast_sandbox.faults(status=429, count=1, method="POST", path="^/Customers$")
    created = po.create_customer({"Name": "Kari", "ExternalImportReference": "bitnet-c-429"})

    assert created["ExternalImportReference"] == "bitnet-c-429"
    assert [c["status"] for c in api_log(fast_sandbox)] == [429, 201]
    customers = fast_sandbox.data(client_info["client_key"], "customers")
    assert [c["ExternalImportReference"] for c in customers] == ["bitnet-c-429"]


def test_429_that_does_not_stop_is_rate_limited_error(po, fast_sandbox):
    po.max_429_retries = 1
    fast_sandbox.faults(status=429, count=5, path="^/Departments$")
    with pytest.raises(RateLimitedError) as caught:
        po.list_departments()

    assert caught.value.status == 429
    assert caught.value.retryable is True
    assert caught.value.retry_after == 1.0
    assert "Rate limit is exceeded" in str(caught.value)
    assert len(api_log(fast_sandbox)) == 2


def test_real_throttling_by_the_sandbox_is_absorbed(sandbox, po_settings, make_client):
    # The client's own limiter is far above PowerOffice's: the sandbox throttles, the client waits.
    sandbox.config(rate_limit=3)
    info = new_client(sandbox, "Travel AS")
    po = make_client(info["client_key"])
    for _ in range(6):
        assert len(po.list_departments()) == 4

    statuses = [c["status"] for c in api_log(sandbox)]
    assert statuses.count(200) == 6
    assert statuses.count(429) == po.stats.rate_limited_429 >= 1


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


# --- creates after ambiguous failures ------------------------------------------------------------


def test_timeout_after_customer_create_leaves_no_duplicate(po, fast_sandbox, client_info):
    po.timeout = 0.5
    # PowerOffice creates the customer, then the answer is lost.
    fast_sandbox.faults(
        action="delay", delay_ms=1500, when="after", method="POST", path="^/Customers$"
    )
    created = po.create_customer({"Name": "Kari", "ExternalImportReference": "bitnet-c-9"})

    assert created["ExternalImportReference"] == "bitnet-c-9"
    customers = fast_sandbox.data(client_info["client_key"], "customers")
    assert [c["ExternalImportReference"] for c in customers] == ["bitnet-c-9"]
    calls = [(c["method"], c["route"]) for c in wait_for_log(fast_sandbox, 2)]
    # Looked up, not sent again (the held POST is logged when it is finally answered).
    assert sorted(calls) == [("GET", "/Customers"), ("POST", "/Customers")]
    assert po.stats.transport_errors == 1


def test_5xx_before_create_is_retried_after_lookup(po, fast_sandbox, client_info):
    fast_sandbox.faults(status=503, count=1, method="POST", path="^/Customers$")
    created = po.create_customer({"Name": "Ola", "ExternalImportReference": "bitnet-c-10"})

    assert created["Name"] == "Ola"
    calls = [(c["method"], c["route"], c["status"]) for c in api_log(fast_sandbox)]
    assert calls == [
        ("POST", "/Customers", 503),
        ("GET", "/Customers", 204),
        ("POST", "/Customers", 201),
    ]
    assert len(fast_sandbox.data(client_info["client_key"], "customers")) == 1


def test_create_processed_after_our_lookup_is_found_not_duplicated(po, fast_sandbox, client_info):
    # The first POST is held 2 s before PowerOffice processes it. We time out after 1.5 s, look
    # (nothing there yet) and send again; the second POST is held 1 s, so it is processed after
    # the first and gets "already in use", upon which we look again and return the first one.
    po.timeout = 1.5
    po.backoff_base = 0.2
    po.backoff_max = 0.2
    post = {"action": "delay", "method": "POST", "path": "^/Customers$"}
    # A rule counts the requests it is asked about; the first matching rule fires.
    fast_sandbox.faults(
        rules=[{**post, "delay_ms": 1000, "nth": 2}, {**post, "delay_ms": 2000, "nth": 1}]
    )
    created = po.create_customer({"Name": "Per", "ExternalImportReference": "bitnet-c-11"})

    assert created["ExternalImportReference"] == "bitnet-c-11"
    customers = fast_sandbox.data(client_info["client_key"], "customers")
    assert [c["ExternalImportReference"] for c in customers] == ["bitnet-c-11"]
    log = wait_for_log(fast_sandbox, 4)
    calls = [(c["method"], c["status"]) for c in sorted(log, key=lambda c: c["id"])]
    # In the order PowerOffice answered them.
    assert calls == [("GET", 204), ("POST", 201), ("POST", 400), ("GET", 200)]


def test_timeout_after_voucher_create_leaves_no_duplicate(po, fast_sandbox, client_info):
    body = voucher_body(po, invoice_no="300001", reference="bitnet-invoice-300001")
    fast_sandbox.clear_requests()
    po.timeout = 0.5
    fast_sandbox.faults(
        action="delay",
        delay_ms=1500,
        when="after",
        method="POST",
        path="^" + OUTGOING_INVOICE_VOUCHER_PATH + "$",
    )
    voucher = po.create_outgoing_invoice_voucher(body)

    assert voucher["InvoiceNo"] == "300001"
    vouchers = fast_sandbox.data(client_info["client_key"], "vouchers")
    assert [v["InvoiceNo"] for v in vouchers] == ["300001"]
    log = wait_for_log(fast_sandbox, 3)
    assert sorted((c["method"], c["route"]) for c in log) == [
        ("GET", "/OutgoingInvoices"),
        ("GET", f"{OUTGOING_INVOICE_VOUCHER_PATH}/{voucher['Id']}"),
        ("POST", OUTGOING_INVOICE_VOUCHER_PATH),
    ]
    lookup = next(c for c in log if c["route"] == "/OutgoingInvoices")
    assert lookup["query"]["invoiceNos"] == "300001"


def test_timeout_after_salary_line_create_leaves_no_duplicate(po, fast_sandbox, client_info):
    body = salary_body(po, reference="bitnet-export-9-line-1")
    po.timeout = 0.5
    fast_sandbox.faults(
        action="delay", delay_ms=1500, when="after", method="POST", path="^/SalaryLines$"
    )
    line = po.create_salary_line(body)

    lines = fast_sandbox.data(client_info["client_key"], "salarylines")
    assert [x["Id"] for x in lines] == [line["Id"]]


def test_timeout_after_product_create_leaves_no_duplicate(po, fast_sandbox, client_info):
    po.timeout = 0.5
    fast_sandbox.faults(
        action="delay", delay_ms=1500, when="after", method="POST", path="^/Products$"
    )
    product = po.create_product({"Code": "B-8811", "Name": "Urne"})

    assert product["Code"] == "B-8811"
    products = fast_sandbox.data(client_info["client_key"], "products")
    assert [p["Code"] for p in products] == ["B-8811"]


def test_a_create_is_not_blindly_resent(po, fast_sandbox, client_info):
    # A permanent error after the first attempt is raised, not retried.
    po.timeout = 0.5
    fast_sandbox.faults(
        action="delay", delay_ms=1500, when="after", method="POST", path="^/Customers$"
    )
    po.max_attempts = 1
    with pytest.raises(TransientError):
        po.create_customer({"Name": "Kari", "ExternalImportReference": "bitnet-c-12"})
    assert len(wait_for_log(fast_sandbox, 1, method="POST")) == 1
    assert [(c["method"], c["route"]) for c in api_log(fast_sandbox)] == [("POST", "/Customers")]


# --- secrets hygiene, logs and stats -------------------------------------------------------------


def test_no_key_or_token_in_logs_errors_or_repr(fast_sandbox, client_info, make_client, caplog):
    key = client_info["client_key"]
    caplog.set_level(logging.DEBUG)  # everything, urllib3's connection logs included
    po = make_client(key)
    po.list_departments()
    token = cache.get(po._token_cache_key)["access_token"]
    fast_sandbox.faults(expire_tokens=True, client_key=key)
    po.list_vat_codes()
    token_2 = cache.get(po._token_cache_key)["access_token"]
    assert token_2 != token
    po.create_customer({"Name": "x", "ExternalImportReference": "r"})
    fast_sandbox.faults(status=401, count=2, path="^/Departments$")
    errors = []
    for call in (
        lambda: po.get_customer(1),
        lambda: po.create_customer({"Name": "x", "ExternalImportReference": "r"}),
        lambda: make_client("wrong-key-5678").list_departments(),
        po.list_departments,
    ):
        with pytest.raises(PowerOfficeError) as caught:
            call()
        errors.append(caught.value)

    assert [type(e) for e in errors] == [
        NotFoundError,
        ValidationError,
        InvalidClientError,
        AuthenticationError,
    ]
    secrets = [key, token, token_2, fast_sandbox.application_key, fast_sandbox.subscription_key]
    secrets.append("wrong-key-5678")
    texts = [caplog.text, repr(po), str(po.stats.as_dict())]
    texts += [str(e) for e in errors] + [repr(e) for e in errors] + [str(e.body) for e in errors]
    for secret in secrets:
        for text in texts:
            assert secret not in text
    assert "GET /v2/Departments -> 200" in caplog.text
    assert "POST /OAuth/Token -> 200" in caplog.text
    assert repr(po).endswith(f"client_key=…{key[-4:]} api_url='{fast_sandbox.api_url}'>")


def test_echoed_secret_in_an_error_body_is_masked(po, fast_sandbox, client_info):
    key = client_info["client_key"]
    fast_sandbox.faults(
        status=400,
        path="^/Departments$",
        body={"title": "Bad request", "detail": f"client {key} did something"},
    )
    with pytest.raises(ValidationError) as caught:
        po.list_departments()
    assert key not in str(caught.value)
    assert key not in str(caught.value.body)
    assert "client *** did something" in str(caught.value)


def test_stats_count_every_request(po, fast_sandbox):
    fast_sandbox.faults(status=503, count=1, path="^/VatCodes$")
    po.list_departments()
    po.list_vat_codes()
    stats = po.stats.as_dict()
    assert stats["requests"] == 4 == len(fast_sandbox.requests_log())
    assert stats["token_requests"] == 1
    assert stats["retries"] == 1
    assert stats["by_status"] == {200: 3, 503: 1}
    po.stats.reset()
    assert po.stats.requests == 0


# --- rate limiter --------------------------------------------------------------------------------


def test_every_request_token_included_goes_through_the_limiter(po, fast_sandbox):
    po.list_departments()
    po.list_vat_codes()
    fast_sandbox.faults(action="close", count=1, path="^/Departments$")
    po.list_departments()
    # Every slot let go is reported sent, also of the request whose connection was closed.
    assert po.rate_limiter.acquired == po.rate_limiter.sent_count == po.stats.requests == 5
    assert po.rate_limiter.lanes == [Lane.INTERACTIVE] * 5  # the default lane
    assert len(fast_sandbox.requests_log()) == 5


def test_a_request_is_reported_sent_before_its_answer_is_read(po, fast_sandbox):
    events: list[str] = []
    sent = po.rate_limiter.sent

    def note_sent(ticket: str) -> None:
        events.append("sent")
        sent(ticket)

    po.rate_limiter.sent = note_sent
    po.session.hooks["response"].append(lambda response, **kwargs: events.append("answer"))
    fast_sandbox.config(latency_ms=50)
    po.list_departments()
    # The token request and the call: each counted from when it left, not from its answer.
    assert events == ["sent", "answer", "sent", "answer"]


def test_bulk_lane_is_set_on_the_client_and_used_for_every_request(make_client, client_info):
    po = make_client(client_info["client_key"], lane=Lane.BULK)
    po.list_departments()
    po.lane = Lane.INTERACTIVE  # read on every request
    po.list_departments()
    assert po.rate_limiter.lanes == [Lane.BULK, Lane.BULK, Lane.INTERACTIVE]


def test_settings_defaults_apply_without_arguments(settings, sandbox_settings):
    settings.POWEROFFICE_TIMEOUT = 12.5
    settings.POWEROFFICE_RATE_LIMIT = 7
    po = PowerOfficeClient("abc-1234")
    assert po.api_url == sandbox_settings.POWEROFFICE_API_URL
    assert po.token_url == sandbox_settings.POWEROFFICE_TOKEN_URL
    assert po.timeout == 12.5
    assert po.rate_limiter.rate == 7
    # The defaults live in one place, bitnet/settings.py.
    from bitnet import settings as project_settings

    assert project_settings.POWEROFFICE_RATE_LIMIT == 10.0
