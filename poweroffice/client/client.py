"""PowerOfficeClient: PowerOffice Go API v2, one resource method per call we make.

One :class:`PowerOfficeClient` per client key (one PowerOffice client, i.e. one company). It
speaks HTTP and nothing else: it returns PowerOffice's JSON as parsed (dicts with PascalCase keys)
and raises the typed errors of :mod:`poweroffice.client.errors`. The methods here say what to send
(path, query, body) and what is unique about it; :mod:`poweroffice.client.transport` sends it
(token, rate limiter, timeout, retries, paging, creates that survive an ambiguous failure) and
:mod:`poweroffice.client.params` writes the query values.

Paths, query parameter names and DTO names are PowerOffice's own, from their v2 OpenAPI description.
The contract declares 404 beside 204 on the list calls of customers, employees and outgoing
invoices: for those, a 404 means "none found".
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar, cast

import requests
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from .errors import InvalidDocumentError, NotFoundError, TransientError
from .params import (
    CodeFilter,
    NumberFilter,
    format_bool,
    format_code_list,
    format_number_list,
    format_timestamp,
)
from .ratelimit import Lane, RateLimiter, default_rate_limiter
from .stats import ClientStats
from .transport import JsonObject, Timeout, Transport

__all__ = [
    "MAX_DOCUMENTATION_BYTES",
    "OUTGOING_INVOICE_VOUCHER_PATH",
    "PowerOfficeClient",
]

# The POST for outgoing invoice vouchers is not in PowerOffice's public OpenAPI files; only the
# object (OutgoingInvoiceVoucherDto) and its GET /Vouchers/OutgoingInvoiceJournals/{id} are. We post
# to the collection of that GET. Kept here alone so that a correction is one line.
OUTGOING_INVOICE_VOUCHER_PATH = "/Vouchers/OutgoingInvoiceJournals"

# PUT /VoucherDocumentation: PDF only, at most 30 MB.
MAX_DOCUMENTATION_BYTES = 30 * 1024 * 1024

T = TypeVar("T")


class _OnTransport(Generic[T]):
    """An attribute of the client that lives on its transport: read there and set there, so that
    ``po.timeout = 0.5`` applies to the next call."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.name or name

    def __get__(self, client: PowerOfficeClient, owner: type | None = None) -> T:
        return cast(T, getattr(client.transport, self.name))

    def __set__(self, client: PowerOfficeClient, value: T) -> None:
        setattr(client.transport, self.name, value)


def _timeout(value: Timeout | str) -> Timeout:
    # A setting read from the environment may be text; a (connect, read) pair stays as it is.
    return float(value) if isinstance(value, (int, float, str)) else value


class PowerOfficeClient:
    """PowerOffice Go v2 for one client key.

    None for an argument means the Django setting of the same name (``POWEROFFICE_*``, defined in
    bitnet/settings.py). The keys live on the instance only; ``repr()`` shows the last four
    characters of the client key. ``lane`` is the rate limiter's queue its requests wait in:
    ``Lane.INTERACTIVE`` (a person or one automatic export waits) unless it is bulk work
    (``Lane.BULK``: "Eksporter alle", the payment check, payroll exports).
    """

    api_url = _OnTransport[str]()
    token_url = _OnTransport[str]()
    timeout = _OnTransport[Timeout]()
    max_attempts = _OnTransport[int]()
    max_429_retries = _OnTransport[int]()
    backoff_base = _OnTransport[float]()
    backoff_max = _OnTransport[float]()
    token_renew_margin = _OnTransport[float]()
    lookup_patience = _OnTransport[float]()
    rate_limiter = _OnTransport[RateLimiter]()
    lane = _OnTransport[Lane]()
    session = _OnTransport[requests.Session]()
    stats = _OnTransport[ClientStats]()
    _token_cache_key = _OnTransport[str]("token_cache_key")

    @sensitive_variables("client_key", "application_key", "subscription_key")
    def __init__(
        self,
        client_key: str,
        *,
        application_key: str | None = None,
        subscription_key: str | None = None,
        api_url: str | None = None,
        token_url: str | None = None,
        timeout: Timeout | None = None,
        session: requests.Session | None = None,
        rate_limit: float | None = None,
        rate_limiter: RateLimiter | None = None,
        lane: Lane | str = Lane.INTERACTIVE,
        max_attempts: int | None = None,
        max_429_retries: int | None = None,
        backoff_base: float | None = None,
        backoff_max: float | None = None,
        token_renew_margin: float | None = None,
        lookup_patience: float | None = None,
    ) -> None:
        if not client_key or not isinstance(client_key, str):
            raise ValueError("a client key is required")
        if application_key is None:
            application_key = str(settings.POWEROFFICE_APPLICATION_KEY)
        if subscription_key is None:
            subscription_key = str(settings.POWEROFFICE_SUBSCRIPTION_KEY)
        if rate_limiter is None:
            rate_limiter = default_rate_limiter(subscription_key, rate=rate_limit)
        self.transport = Transport(
            client_key.strip(),
            application_key=application_key,
            subscription_key=subscription_key,
            api_url=str(settings.POWEROFFICE_API_URL if api_url is None else api_url),
            token_url=str(settings.POWEROFFICE_TOKEN_URL if token_url is None else token_url),
            timeout=_timeout(settings.POWEROFFICE_TIMEOUT if timeout is None else timeout),
            session=session,
            rate_limiter=rate_limiter,
            lane=Lane(lane),
            max_attempts=int(
                settings.POWEROFFICE_MAX_ATTEMPTS if max_attempts is None else max_attempts
            ),
            max_429_retries=int(
                settings.POWEROFFICE_MAX_429_RETRIES if max_429_retries is None else max_429_retries
            ),
            backoff_base=float(
                settings.POWEROFFICE_BACKOFF_BASE if backoff_base is None else backoff_base
            ),
            backoff_max=float(
                settings.POWEROFFICE_BACKOFF_MAX if backoff_max is None else backoff_max
            ),
            token_renew_margin=float(
                settings.POWEROFFICE_TOKEN_RENEW_MARGIN
                if token_renew_margin is None
                else token_renew_margin
            ),
            lookup_patience=float(
                settings.POWEROFFICE_LOOKUP_PATIENCE if lookup_patience is None else lookup_patience
            ),
        )

    def __repr__(self) -> str:
        return (
            f"<PowerOfficeClient client_key=…{self.transport.client_key_tail} "
            f"api_url={self.api_url!r}>"
        )

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> PowerOfficeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def client_key_fingerprint(self) -> str:
        return self.transport.client_key_fingerprint

    def look_patiently(self, lookup: Callable[[], JsonObject | None]) -> JsonObject | None:
        """``lookup()`` asked again for a while (``lookup_patience``) while it finds nothing:
        reads lag writes in PowerOffice, so an object created a moment ago may not show yet."""
        return self.transport.look_patiently(lookup)

    # --- ClientIntegrationInformation ----------------------------------------------------------

    def get_client_integration_information(self) -> JsonObject:
        """``GET /ClientIntegrationInformation``: which client the key is for, its subscriptions and
        privileges. The natural "verify key" call."""
        return self.transport.get("/ClientIntegrationInformation")

    # --- Customers -----------------------------------------------------------------------------

    def iter_customers(
        self,
        *,
        customer_nos: NumberFilter = None,
        external_import_reference: str | None = None,
        external_nos: NumberFilter = None,
        last_changed_after: dt.datetime | None = None,
        page_size: int | None = None,
    ) -> Iterator[JsonObject]:
        params = {
            "customerNos": format_number_list(customer_nos),
            "externalImportReference": external_import_reference or None,
            "externalNos": format_number_list(external_nos),
            "lastChangedDateTimeOffsetGreaterThan": format_timestamp(last_changed_after),
        }
        return self.transport.paginate(
            "/Customers", params, page_size=page_size, none_found_404=True
        )

    def list_customers(self, **filters: Any) -> list[JsonObject]:
        """``GET /Customers`` (all pages). Filters: ``customer_nos``, ``external_import_reference``,
        ``external_nos``, ``last_changed_after``, ``page_size``."""
        return list(self.iter_customers(**filters))

    def get_customer(self, customer_id: int) -> JsonObject:
        return self.transport.get(f"/Customers/{int(customer_id)}")

    def find_customer(self, *, external_import_reference: str) -> JsonObject | None:
        """The customer with this ``ExternalImportReference``, or None."""
        for customer in self.iter_customers(external_import_reference=external_import_reference):
            if customer.get("ExternalImportReference") == external_import_reference:
                return customer
        return None

    def create_customer(self, body: JsonObject) -> JsonObject:
        """``POST /Customers`` (CustomerPostDto; 201 CustomerDto).

        ``ExternalImportReference`` is required: it is what we look the customer up by after an
        ambiguous failure."""
        reference = _required(body, "ExternalImportReference")
        return self.transport.create(
            "/Customers",
            body,
            lookup=lambda: self.find_customer(external_import_reference=reference),
            what="customer",
            unique_keys=("ExternalImportReference",),
        )

    def patch_customer(self, customer_id: int, operations: list[JsonObject]) -> JsonObject:
        """``PATCH /Customers/{id}`` with a JSON Patch document
        (``[{"op": "replace", "path": "/Name", "value": ...}]``)."""
        return self._patch(f"/Customers/{int(customer_id)}", operations)

    def _patch(self, path: str, operations: list[JsonObject]) -> JsonObject:
        if not isinstance(operations, list) or not all(
            isinstance(o, dict) and "op" in o for o in operations
        ):
            raise ValueError("a JSON Patch document is a list of operations with 'op' and 'path'")
        # replace/test set a value: sending them twice does no harm; add/remove/move/copy may.
        idempotent = all(o["op"] in ("replace", "test") for o in operations)
        answer = self.transport.request(
            "PATCH",
            path,
            json_body=operations,
            content_type="application/json-patch+json",
            idempotent=idempotent,
        )
        return cast(JsonObject, answer)

    # --- Reference data ------------------------------------------------------------------------

    def list_sub_ledger_number_series(
        self, *, series_type: str | None = None, is_default: bool | None = None
    ) -> list[JsonObject]:
        """``GET /SubLedgerNumberSeries`` (``FromInclusive``, ``ToInclusive``,
        ``SubLedgerNumberSeriesType``). ``series_type`` e.g. ``"Customer"`` (case-sensitive)."""
        return self.transport.read_all(
            "/SubLedgerNumberSeries",
            {"subLedgerNumberSeriesType": series_type, "isDefault": format_bool(is_default)},
        )

    def list_departments(
        self, *, codes: CodeFilter = None, is_active: bool | None = None
    ) -> list[JsonObject]:
        """``GET /Departments``."""
        return self.transport.read_all(
            "/Departments", {"codes": format_code_list(codes), "isActive": format_bool(is_active)}
        )

    def list_employees(
        self,
        *,
        employee_nos: NumberFilter = None,
        external_import_reference: str | None = None,
        page_size: int | None = None,
    ) -> list[JsonObject]:
        """``GET /Employees`` (``Number`` is the employee number)."""
        params = {
            "employeeNos": format_number_list(employee_nos),
            "externalImportReference": external_import_reference or None,
        }
        return self.transport.read_all("/Employees", params, page_size, none_found_404=True)

    def list_general_ledger_accounts(
        self, *, account_nos: NumberFilter = None, page_size: int | None = None
    ) -> list[JsonObject]:
        """``GET /GeneralLedgerAccounts``."""
        return self.transport.read_all(
            "/GeneralLedgerAccounts", {"accountNos": format_number_list(account_nos)}, page_size
        )

    def list_vat_codes(
        self, *, is_active: bool | None = None, include_expired: bool | None = None
    ) -> list[JsonObject]:
        """``GET /VatCodes`` (``Rate`` is a fraction: 0.25)."""
        return self.transport.read_all(
            "/VatCodes",
            {"isActive": format_bool(is_active), "includeExpired": format_bool(include_expired)},
        )

    # --- Products ------------------------------------------------------------------------------

    def list_products(
        self, *, codes: CodeFilter = None, page_size: int | None = None
    ) -> list[JsonObject]:
        """``GET /Products?codes=B-7720,B-7721``."""
        return self.transport.read_all("/Products", {"codes": format_code_list(codes)}, page_size)

    def find_product(self, *, code: str) -> JsonObject | None:
        for product in self.list_products(codes=[code]):
            if product.get("Code") == code:
                return product
        return None

    def create_product(self, body: JsonObject) -> JsonObject:
        """``POST /Products`` (ProductPostDto; 200 ProductDto). ``Code`` required.

        ProductPostDto has no ExternalImportReference: the product code (``B-<article id>``) is the
        unique key we look it up by after an ambiguous failure.
        """
        code = _required(body, "Code")
        return self.transport.create(
            "/Products",
            body,
            lookup=lambda: self.find_product(code=code),
            what="product",
            unique_keys=("Code",),
        )

    # --- Outgoing invoice vouchers -------------------------------------------------------------

    def create_outgoing_invoice_voucher(self, body: JsonObject) -> JsonObject:
        """``POST /Vouchers/OutgoingInvoiceJournals`` (OutgoingInvoiceVoucherDto's writable fields).

        ``InvoiceNo`` is required (unique per client). PowerOffice has no list or search of outgoing
        invoice vouchers (only GET by id), so after an ambiguous failure we look the voucher up
        through ``GET /OutgoingInvoices?invoiceNos=`` (posted vouchers appear there, with their
        ``ExternalImportReference``) and then read it by id.
        """
        invoice_no = _required(body, "InvoiceNo")
        reference = body.get("ExternalImportReference")
        return self.transport.create(
            OUTGOING_INVOICE_VOUCHER_PATH,
            body,
            lookup=lambda: self.find_outgoing_invoice_voucher(
                invoice_no=invoice_no, external_import_reference=reference
            ),
            what="outgoing invoice voucher",
            # Only our reference: the invoice number may be taken by somebody else's voucher.
            unique_keys=("ExternalImportReference",) if reference else (),
        )

    def get_outgoing_invoice_voucher(self, voucher_id: str) -> JsonObject:
        """``GET /Vouchers/OutgoingInvoiceJournals/{id}``."""
        return self.transport.get(f"{OUTGOING_INVOICE_VOUCHER_PATH}/{uuid.UUID(str(voucher_id))}")

    def find_outgoing_invoice(
        self, *, invoice_no: int | str, external_import_reference: str | None = None
    ) -> JsonObject | None:
        """The outgoing invoice (``OutgoingInvoiceDto``) with this number and, when given, this
        ``ExternalImportReference``; reversed invoices are skipped (reversal frees the number)."""
        number = str(invoice_no).strip()
        if not number.isdigit():
            # invoiceNos only takes numbers; a non-numeric invoice number cannot be searched for.
            return None
        for invoice in self.iter_outgoing_invoices(invoice_nos=number):
            if str(invoice.get("InvoiceNo")) != number or invoice.get("IsReversed"):
                continue
            if (
                external_import_reference
                and invoice.get("ExternalImportReference") != external_import_reference
            ):
                continue
            return invoice
        return None

    def find_outgoing_invoice_voucher(
        self, *, invoice_no: int | str, external_import_reference: str | None = None
    ) -> JsonObject | None:
        """The outgoing invoice voucher (OutgoingInvoiceVoucherDto) for this invoice, or None."""
        invoice = self.find_outgoing_invoice(
            invoice_no=invoice_no, external_import_reference=external_import_reference
        )
        if invoice is None or not invoice.get("Id"):
            return None
        try:
            return self.get_outgoing_invoice_voucher(invoice["Id"])
        except NotFoundError:
            return None

    def reverse_outgoing_invoice_voucher(self, voucher_id: str) -> None:
        """``POST /Vouchers/Reverse/{id}`` (202): PowerOffice books a reversal voucher, and the
        invoice number and ``ExternalImportReference`` may be used again. Only for vouchers this
        integration posted. After a transient failure the voucher is read first: when the
        reversal got through, it is not asked for twice."""
        voucher_id = str(uuid.UUID(str(voucher_id)))
        path = f"/Vouchers/Reverse/{voucher_id}"
        try:
            self.transport.request("POST", path, idempotent=False)
            return
        except TransientError:
            voucher = self.look_patiently(lambda: self._reversed_voucher(voucher_id))
            if voucher is not None:
                return
        self.transport.request("POST", path, idempotent=False)

    def _reversed_voucher(self, voucher_id: str) -> JsonObject | None:
        voucher = self.get_outgoing_invoice_voucher(voucher_id)
        return voucher if voucher.get("IsReversed") else None

    def upload_voucher_documentation(self, voucher_id: str, pdf: bytes, filename: str) -> None:
        """``PUT /VoucherDocumentation?id=<voucher id>``: replace the voucher's documentation with
        one PDF (multipart field ``file``, at most 30 MB, checked before sending)."""
        if not isinstance(pdf, (bytes, bytearray)) or not bytes(pdf[:5]) == b"%PDF-":
            raise InvalidDocumentError(
                title="Not a PDF", detail="voucher documentation must be a PDF file"
            )
        if len(pdf) > MAX_DOCUMENTATION_BYTES:
            raise InvalidDocumentError(
                title="Too large",
                detail=f"voucher documentation is {len(pdf)} bytes, at most 30 MB allowed",
            )
        name = os.path.basename(filename or "document.pdf")
        if not name.lower().endswith(".pdf"):
            name += ".pdf"
        self.transport.request(
            "PUT",
            "/VoucherDocumentation",
            params={"id": str(uuid.UUID(str(voucher_id)))},
            files={"file": (name, bytes(pdf), "application/pdf")},
        )

    # --- Outgoing invoices (payment status) ----------------------------------------------------

    def iter_outgoing_invoices(
        self,
        *,
        invoice_nos: NumberFilter = None,
        only_unpaid: bool | None = None,
        balance_changed_after: dt.datetime | None = None,
        only_created_by_current_integration: bool | None = None,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        page_size: int | None = None,
    ) -> Iterator[JsonObject]:
        """``GET /OutgoingInvoices``, page by page. ``Balance`` 0 means paid; ``IsReversed``.
        ``balance_changed_after`` is exclusive (``balanceLastChangedDateTimeOffsetGreaterThan``);
        ``from_date``/``to_date`` bound the voucher date, both inclusive."""
        params = {
            "fromDate": from_date.isoformat() if from_date else None,
            "toDate": to_date.isoformat() if to_date else None,
            "invoiceNos": format_number_list(invoice_nos),
            "onlyUnpaidInvoices": format_bool(only_unpaid),
            "balanceLastChangedDateTimeOffsetGreaterThan": format_timestamp(balance_changed_after),
            "onlyCreatedByCurrentIntegration": format_bool(only_created_by_current_integration),
        }
        return self.transport.paginate(
            "/OutgoingInvoices", params, page_size=page_size, none_found_404=True
        )

    def list_outgoing_invoices(self, **filters: Any) -> list[JsonObject]:
        """All pages of :meth:`iter_outgoing_invoices`."""
        return list(self.iter_outgoing_invoices(**filters))

    # --- Account transactions (reconciliation) -------------------------------------------------

    def iter_account_transactions(
        self,
        *,
        from_date: dt.date,
        to_date: dt.date,
        voucher_nos: NumberFilter = None,
        account_nos: NumberFilter = None,
        vat_codes: CodeFilter = None,
        page_size: int | None = None,
    ) -> Iterator[JsonObject]:
        """``GET /AccountTransactions``, page by page: the postings whose posting date is between
        ``from_date`` and ``to_date`` (both inclusive, both required by PowerOffice)."""
        params = {
            "fromDate": from_date.isoformat(),
            "toDate": to_date.isoformat(),
            "voucherNos": format_number_list(voucher_nos),
            "accountNos": format_number_list(account_nos),
            "vatCodes": format_code_list(vat_codes),
        }
        return self.transport.paginate("/AccountTransactions", params, page_size=page_size)

    # --- Payroll -------------------------------------------------------------------------------

    def list_pay_items(
        self, *, codes: CodeFilter = None, is_active: bool | None = None
    ) -> list[JsonObject]:
        """``GET /PayItems?codes=…`` (``Id`` is a uuid)."""
        return self.transport.read_all(
            "/PayItems", {"codes": format_code_list(codes), "isActive": format_bool(is_active)}
        )

    def iter_salary_lines(self, *, page_size: int | None = None) -> Iterator[JsonObject]:
        """``GET /SalaryLines`` (no filters in PowerOffice's API), page by page."""
        return self.transport.paginate("/SalaryLines", page_size=page_size)

    def list_salary_lines(self, *, page_size: int | None = None) -> list[JsonObject]:
        return list(self.iter_salary_lines(page_size=page_size))

    def get_salary_line(self, salary_line_id: int) -> JsonObject:
        return self.transport.get(f"/SalaryLines/{int(salary_line_id)}")

    def find_salary_line(self, *, external_import_reference: str) -> JsonObject | None:
        """``GET /SalaryLines`` has no filter, so this reads all lines and matches the reference."""
        return self.find_salary_lines(references=[external_import_reference]).get(
            external_import_reference
        )

    def find_salary_lines(self, *, references: Iterable[str]) -> dict[str, JsonObject]:
        """The salary lines with these ExternalImportReferences, by reference.

        The contract's ``GET /SalaryLines`` takes no filter (only paging), and returns only the
        lines this integration created; so one pass over its pages finds any number of them.
        """
        wanted = set(references)
        found: dict[str, JsonObject] = {}
        if not wanted:
            return found
        for line in self.iter_salary_lines():
            reference = line.get("ExternalImportReference")
            if reference in wanted:
                found[str(reference)] = line
                if len(found) == len(wanted):
                    break
        return found

    def create_salary_line(self, body: JsonObject) -> JsonObject:
        """``POST /SalaryLines`` (SalaryLinePostDto: ``EmployeeId``, ``PayItemId`` required; 201
        SalaryLineDto). ``ExternalImportReference`` required."""
        _required(body, "EmployeeId")
        _required(body, "PayItemId")
        reference = _required(body, "ExternalImportReference")
        return self.transport.create(
            "/SalaryLines",
            body,
            lookup=lambda: self.find_salary_line(external_import_reference=reference),
            what="salary line",
            unique_keys=("ExternalImportReference",),
        )

    def delete_salary_line(self, salary_line_id: int) -> None:
        """``DELETE /SalaryLines/{id}``. ConflictError (409) when the line is locked in a pay run.

        A 404 after an earlier attempt failed in transit means that attempt deleted it: success.
        """
        self.transport.delete(f"/SalaryLines/{int(salary_line_id)}")


def _required(body: JsonObject, name: str) -> Any:
    value = body.get(name) if isinstance(body, dict) else None
    if value is None or value == "":
        raise ValueError(f"{name} is required")
    return value
