"""The /v2 endpoints of the sandbox, written from PowerOffice Go's v2 contract.

Each handler runs under ``state.lock`` with an authenticated client and answers a ``Response``
or raises ``ApiError``. Validation is deliberately as strict as PowerOffice (or stricter where
the contract is silent): unknown or misspelled properties, wrong JSON types, missing required
values, duplicates and references to objects that do not exist are all refused with a problem
detail that says what to fix.
"""

import base64
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP

from .contract import FIELDS
from .query import Query, after, in_ranges, list_response
from .responses import (
    ApiError,
    Problems,
    Response,
    empty_response,
    json_response,
    now_iso,
)
from .serialize import serialize
from .state import SandboxState
from .values import (
    canonical_uuid,
    check_money,
    check_object,
    dec,
    is_uuid,
    money,
    parse_date,
    writable,
)

MAX_DOCUMENT_BYTES = 30 * 1024 * 1024
CURRENCIES = ("NOK", "SEK", "DKK", "EUR", "USD", "GBP")
JSON_TYPES = ("application/json", "text/json", "application/json-patch+json")

CUSTOMER_TITLE = "Customer validation error(s)"
PRODUCT_TITLE = "Product validation error(s)"
VOUCHER_TITLE = "Outgoing invoice voucher validation error(s)"
SALARY_TITLE = "Salary line validation error(s)"
DOCUMENTATION_TITLE = "Voucher documentation validation error(s)"
NOT_FOUND_TITLE = "Object(s) not found"


@dataclass
class Ctx:
    state: SandboxState
    client: dict
    token: dict
    method: str
    route: str
    params: dict
    pairs: list[tuple[str, str]]
    headers: Message
    body: bytes
    instance: str

    @property
    def data(self) -> dict[str, dict[str, dict]]:
        return self.client["data"]

    @property
    def app_key(self) -> str:
        return self.token["application_key"]

    def query(self, *allowed: str) -> Query:
        return Query(self.pairs, allowed)

    def no_query(self) -> None:
        Query(self.pairs, ()).page()

    def json(self, title: str, *, patch: bool = False):
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if patch:
            if content_type != "application/json-patch+json":
                raise ApiError(
                    415,
                    "Unsupported Media Type",
                    "PATCH takes a JSON Patch document with Content-Type "
                    "application/json-patch+json.",
                )
        elif not (
            content_type in JSON_TYPES or re.fullmatch(r"application/[\w.-]+\+json", content_type)
        ):
            raise ApiError(
                415,
                "Unsupported Media Type",
                f"Content-Type '{content_type or '(none)'}' is not supported; send "
                "application/json.",
            )
        return parse_json(self.body, title)


def parse_json(raw: bytes, title: str):
    if not raw.strip():
        raise ApiError(400, title, "A non-empty request body is required.")

    def pairs_hook(pairs):
        seen = {}
        for key, value in pairs:
            if key in seen:
                raise ApiError(400, title, f"Property '{key}' appears twice in the same object.")
            seen[key] = value
        return seen

    def constant(name):
        raise ApiError(400, title, f"'{name}' is not valid JSON.")

    try:
        return json.loads(
            raw.decode("utf-8"),
            parse_float=Decimal,
            object_pairs_hook=pairs_hook,
            parse_constant=constant,
        )
    except UnicodeDecodeError as exc:
        raise ApiError(400, title, "The request body is not UTF-8.") from exc
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, title, f"The request body is not valid JSON: {exc.msg} at position {exc.pos}."
        ) from exc


# -- lookups -------------------------------------------------------------------------------


def get(ctx_or_client, collection: str, key) -> dict | None:
    client = ctx_or_client.client if isinstance(ctx_or_client, Ctx) else ctx_or_client
    if key is None:
        return None
    return client["data"][collection].get(str(key))


def records(client: dict, collection: str) -> list[dict]:
    return list(client["data"][collection].values())


def int_param(ctx: Ctx, name: str = "id") -> int:
    value = ctx.params[name]
    if not re.fullmatch(r"\d{1,18}", value):
        raise ApiError(400, "Invalid request", f"The value '{value}' is not a valid id.")
    return int(value)


def uuid_param(ctx: Ctx, name: str = "id") -> str:
    value = ctx.params[name]
    if not is_uuid(value):
        raise ApiError(400, "Invalid request", f"The value '{value}' is not a valid uuid.")
    return canonical_uuid(value)


def not_found(what: str, key) -> ApiError:
    return ApiError(404, NOT_FOUND_TITLE, f"{what} with id = {key} not found.")


def found(ctx: Ctx, collection: str, what: str, key) -> dict:
    """The record with this id, or 404 ``<what> with id = <id> not found.``"""
    record = get(ctx, collection, key)
    if record is None:
        raise not_found(what, key)
    return record


def fetch(ctx: Ctx, collection: str, what: str, dto, id_param=int_param, name: str = "id"):
    """A GET of one record: no query parameters, the record or 404, 200 with its DTO."""
    ctx.no_query()
    record = found(ctx, collection, what, id_param(ctx, name))
    return json_response(200, dto(ctx.client, record))


def posted_body(ctx: Ctx, dto: str, title: str) -> tuple[dict, Problems]:
    """A POST body: no query parameters, JSON of the right shape; the problems to add to."""
    ctx.no_query()
    body = ctx.json(title)
    problems = Problems(title)
    check_object(body, dto, problems)
    problems.raise_if_any()
    return body, problems


def patched_body(ctx: Ctx, view: dict, dto: str, patch_dto: str, title: str):
    """A PATCH body applied to the POST view of a record; the result checked as a POST."""
    operations = ctx.json(title, patch=True)
    patched = apply_json_patch(view, operations, dto, patch_dto, title)
    problems = Problems(title)
    check_object({k: v for k, v in patched.items() if v is not None}, dto, problems)
    problems.raise_if_any()
    return patched, problems


def created(ctx: Ctx, record: dict, dto: dict) -> Response:
    return json_response(201, dto, headers={"Location": f"{ctx.instance}/{record['Id']}"})


def new_record(ctx: Ctx, **values) -> dict:
    """A record this integration creates now: a new Id, both timestamps, ``values``."""
    now = now_iso()
    return {
        "Id": ctx.state.new_id(ctx.client),
        "CreatedDateTimeOffset": now,
        "LastChangedDateTimeOffset": now,
        **values,
        "_created_by": ctx.app_key,
    }


def in_use(what: str, key) -> ApiError:
    return ApiError(
        409, f"{what} conflict", f"{what} with id = {key} is in use and cannot be deleted."
    )


def _derived(record: dict, name: str, source):
    return source if source is not None else record.get(name)


# -- list filters: each is None when its query parameter is not given -----------------------


def _field(name: str, view=None):
    """A record's own value, or (with ``view``) the value of the DTO ``view`` makes of it."""
    if view is None:
        return lambda record: record.get(name)
    return lambda record: view(record).get(name)


def since(name: str, stamp):
    """A ``...GreaterThan`` timestamp filter."""
    if not stamp:
        return None
    value = _field(name)
    return lambda record: after(value(record), stamp)


def among(name: str, values):
    if values is None:
        return None
    return lambda record: record.get(name) in values


def equal(name: str, wanted, view=None):
    if wanted is None:
        return None
    value = _field(name, view)
    return lambda record: value(record) == wanted


def flag(name: str, wanted: bool | None):
    if wanted is None:
        return None
    return lambda record: bool(record.get(name)) == wanted


def within(name: str, ranges, view=None):
    if ranges is None:
        return None
    value = _field(name, view)
    return lambda record: in_ranges(value(record), ranges)


def code_among(name: str, codes, view=None):
    """A code filter where "-1" asks for the records without a code."""
    if codes is None:
        return None
    value = _field(name, view)

    def test(record: dict) -> bool:
        code = value(record)
        return (code is None and "-1" in codes) or (code is not None and code in codes)

    return test


def listing(q: Query, rows: list[dict], dto, *tests) -> Response:
    """The DTOs of the records every given filter keeps, ordered and paged."""
    tests = [test for test in tests if test is not None]
    return list_response(q, [dto(record) for record in rows if all(t(record) for t in tests)])


# -- DTOs ----------------------------------------------------------------------------------


def vat_direction(record: dict) -> str:
    direction = record.get("_direction")
    if direction:
        return direction
    description = (record.get("Description") or "").lower()
    if description.startswith("inngående"):
        return "purchase"
    return "sales"


# Values PowerOffice shows beside a reference: (property, collection, id property, field).
DEPARTMENT_CODE = ("DepartmentCode", "departments", "DepartmentId", "Code")
MANAGER_NO = ("ManagerEmployeeNo", "employees", "ManagerEmployeeId", "Number")


def with_references(client: dict, record: dict, dto: str, *references, **values) -> dict:
    """The DTO of a record, each reference's value taken from the object it points to (a value
    stored on the record itself wins when the object is not there)."""
    for name, collection, id_key, field in references:
        target = get(client, collection, record.get(id_key))
        values[name] = _derived(record, name, target and target[field])
    return serialize(record, dto, **values)


def _hidden(record: dict, key: str) -> str | None:
    # PowerOffice hides national identity numbers behind a special privilege.
    return "hidden" if record.get(key) else None


def customer_dto(client: dict, record: dict) -> dict:
    return with_references(
        client,
        record,
        "CustomerDto",
        DEPARTMENT_CODE,
        ("SalesPersonEmployeeNumber", "employees", "SalesPersonEmployeeId", "Number"),
        IsActive=not record.get("IsArchived"),
        NationalIdNumber=_hidden(record, "NationalIdNumber"),
    )


def product_dto(client: dict, record: dict) -> dict:
    return with_references(
        client,
        record,
        "ProductDto",
        ("StandardSalesAccount", "accounts", "StandardSalesAccountId", "AccountNo"),
        ("OptionalSalesAccount", "accounts", "OptionalSalesAccountId", "AccountNo"),
    )


def department_dto(client: dict, record: dict) -> dict:
    return with_references(client, record, "DepartmentDto", MANAGER_NO)


def employee_dto(client: dict, record: dict) -> dict:
    return with_references(
        client,
        record,
        "EmployeeDto",
        DEPARTMENT_CODE,
        MANAGER_NO,
        NationalIdNumber=_hidden(record, "NationalIdNumber"),
        InternationalIdNumber=_hidden(record, "InternationalIdNumber"),
    )


def account_dto(client: dict, record: dict) -> dict:
    return with_references(
        client,
        record,
        "GeneralLedgerAccountDto",
        ("VatCode", "vatcodes", "VatCodeId", "Code"),
        DEPARTMENT_CODE,
    )


def series_dto(client: dict, record: dict) -> dict:
    return with_references(
        client,
        record,
        "SubLedgerNumberSeriesDto",
        ("GeneralLedgerAccountNo", "accounts", "GeneralLedgerAccountId", "AccountNo"),
    )


def invoice_dto(client: dict, record: dict, app_key: str) -> dict:
    return with_references(
        client,
        record,
        "OutgoingInvoiceDto",
        DEPARTMENT_CODE,
        IsCreatedByCurrentIntegration=record.get("_created_by") == app_key,
    )


def voucher_dto(record: dict) -> dict:
    return serialize(record, "OutgoingInvoiceVoucherDto")


# -- ClientIntegrationInformation ----------------------------------------------------------


def get_client_information(ctx: Ctx) -> Response:
    ctx.no_query()
    client = ctx.client
    return json_response(
        200,
        serialize(
            {
                "ActiveClientSubscriptions": list(client["subscriptions"]),
                "ClientId": client["client_id"],
                "ClientName": client["name"],
                "InvalidPrivileges": SandboxState.invalid_privileges(client),
                "ValidPrivileges": SandboxState.valid_privileges(client),
            },
            "ClientIntegrationInformationDto",
        ),
    )


# -- Customers -----------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")


def _valid_org_no(value: str) -> bool:
    if not re.fullmatch(r"\d{9}", value):
        return False
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    remainder = sum(int(d) * w for d, w in zip(value[:8], weights, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return check != 10 and check == int(value[8])


def _check_email(body: dict, key: str, problems: Problems) -> None:
    value = body.get(key)
    if value and not _EMAIL_RE.match(value):
        problems.add(key, f"{key} '{value}' is not a valid e-mail address.")


def customer_series(client: dict) -> list[dict]:
    return [
        s
        for s in records(client, "numberseries")
        if s.get("SubLedgerNumberSeriesType") == "Customer"
    ]


def _series_text(series: list[dict]) -> str:
    return ", ".join(f"{s['FromInclusive']}-{s['ToInclusive']}" for s in series) or "none"


def _check_customer(
    ctx: Ctx, body: dict, problems: Problems, *, current: dict | None = None
) -> dict | None:
    """Business rules of a customer (POST or the result of a PATCH). Returns the chosen series."""
    client = ctx.client
    others = [
        c for c in records(client, "customers") if current is None or c["Id"] != current["Id"]
    ]
    if body.get("IsPerson"):
        for key in ("FirstName", "LastName"):
            if not (body.get(key) or "").strip():
                problems.add(key, f"{key} is required when IsPerson is true.")
    elif not (body.get("Name") or "").strip():
        problems.add(
            "Name", "Name is required for a customer that is not a person (IsPerson is false)."
        )

    if body.get("ExternalImportReference"):
        _unique(problems, body, "ExternalImportReference", others, "(contact)")
    if body.get("ExternalNumber") is not None:
        _unique(problems, body, "ExternalNumber", others, "(contact)")

    series = None
    series_id = body.get("SubLedgerNumberSeriesId")
    all_series = customer_series(client)
    if series_id:
        series = get(client, "numberseries", canonical_uuid(series_id))
        if series is None:
            problems.not_found(
                "SubLedgerNumberSeriesId",
                f"Sub-ledger number series with id = {series_id} not found.",
            )
        elif series.get("SubLedgerNumberSeriesType") != "Customer":
            problems.add(
                "SubLedgerNumberSeriesId",
                f"Sub-ledger number series {series_id} is a "
                f"{series.get('SubLedgerNumberSeriesType')} series, not a Customer series.",
            )
            series = None
    number = body.get("Number")
    if number is not None:
        candidates = [series] if series else all_series
        if number <= 0 or not any(
            s["FromInclusive"] <= number <= s["ToInclusive"] for s in candidates
        ):
            problems.add(
                "Number",
                f"Customer number {number} is outside the customer sub-ledger number series "
                f"({_series_text(candidates)}).",
            )
        for other in others:
            if other.get("Number") == number:
                problems.add(
                    "Number",
                    f"Customer number {number} is already in use on (contact) Id = {other['Id']}.",
                )
                break
        if (
            current is not None
            and current.get("Number") != number
            and _customer_has_entries(client, current)
        ):
            problems.add(
                "Number", "Number cannot be changed on a customer that has ledger entries."
            )
    elif not all_series:
        problems.add(
            "Number",
            "The client has no customer sub-ledger number series; Number cannot be assigned.",
        )

    _check_department_ref(ctx, body, problems)
    employee_id = body.get("SalesPersonEmployeeId")
    if employee_id is not None and get(client, "employees", employee_id) is None:
        problems.not_found("SalesPersonEmployeeId", f"Employee with id = {employee_id} not found.")
    employee_no = body.get("SalesPersonEmployeeNumber")
    if (
        employee_id is None
        and employee_no is not None
        and not any(e.get("Number") == employee_no for e in records(client, "employees"))
    ):
        problems.not_found(
            "SalesPersonEmployeeNumber", f"Employee with number = {employee_no} not found."
        )
    for key, what in (
        ("PaymentTermId", "Payment term"),
        ("DeliveryTermId", "Delivery term"),
        ("InvoiceBrandingThemeId", "Branding theme"),
    ):
        if body.get(key) is not None:
            problems.not_found(key, f"{what} with id = {body[key]} not found.")
    if body.get("InvoiceBrandingThemeCode"):
        problems.not_found(
            "InvoiceBrandingThemeCode",
            f"Branding theme with code = '{body['InvoiceBrandingThemeCode']}' not found.",
        )
    if body.get("ContactGroupIds"):
        ids = ", ".join(str(i) for i in body["ContactGroupIds"])
        problems.not_found("ContactGroupIds", f"Could not find contact group(s) with id = {ids}.")

    for key in ("EmailAddress", "InvoiceEmailAddress", "PaymentReminderEmailAddress"):
        _check_email(body, key, problems)
    cc = body.get("InvoiceEmailAddressCC")
    if cc:
        addresses = [a.strip() for a in cc.split(";") if a.strip()]
        if len(addresses) > 10 or len(cc) > 2000:
            problems.add(
                "InvoiceEmailAddressCC",
                "InvoiceEmailAddressCC takes at most 10 addresses and 2000 characters.",
            )
        for address in addresses:
            if not _EMAIL_RE.match(address):
                problems.add(
                    "InvoiceEmailAddressCC",
                    f"InvoiceEmailAddressCC '{address}' is not a valid e-mail address.",
                )
    delivery = body.get("InvoiceDeliveryType")
    if delivery == "PdfByEmail" and not (
        body.get("EmailAddress") or body.get("InvoiceEmailAddress")
    ):
        problems.add(
            "InvoiceDeliveryType",
            "InvoiceDeliveryType PdfByEmail needs EmailAddress or InvoiceEmailAddress.",
        )
    if delivery == "EHF" and not body.get("OrganizationNumber"):
        problems.add("InvoiceDeliveryType", "InvoiceDeliveryType EHF needs an OrganizationNumber.")

    address = body.get("MailAddress") or {}
    country = address.get("CountryCode") or "NO"
    org_no = body.get("OrganizationNumber")
    if org_no and country == "NO" and not _valid_org_no(org_no.replace(" ", "")):
        problems.add(
            "OrganizationNumber",
            f"OrganizationNumber '{org_no}' is not a valid Norwegian organization number.",
        )
    national_id = body.get("NationalIdNumber")
    if national_id and not re.fullmatch(r"\d{11}", national_id):
        problems.add("NationalIdNumber", "NationalIdNumber must be 11 digits.")
    if address:
        if not re.fullmatch(r"[A-Z]{2}", country):
            problems.add(
                "MailAddress.CountryCode",
                f"MailAddress.CountryCode '{country}' is not an ISO 3166-1 alpha-2 code.",
            )
        zip_code = address.get("ZipCode")
        if country == "NO" and zip_code and not re.fullmatch(r"\d{4}", zip_code):
            problems.add(
                "MailAddress.ZipCode",
                f"MailAddress.ZipCode '{zip_code}' is not a Norwegian postal code (4 digits).",
            )
    currency = body.get("CurrencyCode")
    if currency is not None and currency not in CURRENCIES:
        problems.add(
            "CurrencyCode", f"CurrencyCode '{currency}' is not an active currency on the client."
        )
    allowance = body.get("Allowance")
    if allowance is not None and not (-1000 <= allowance <= 100):
        problems.add("Allowance", "Allowance must be between -1000 and 100.")
    if body.get("BillableRate") is not None and body["BillableRate"] < 0:
        problems.add("BillableRate", "BillableRate must be a positive number.")
    if body.get("PaymentTerm") is not None and body["PaymentTerm"] < 0:
        problems.add("PaymentTerm", "PaymentTerm cannot be negative.")
    return series


def _unique(problems: Problems, body: dict, key: str, others: list[dict], used_on: str) -> None:
    """The body's ``key`` may not be the value of one of ``others`` (the first is named)."""
    value = body[key]
    for other in others:
        if other.get(key) == value:
            problems.add(
                key,
                f"{key} is already in use. '{value}' is used on {used_on} Id = {other['Id']}.",
            )
            break


def _check_department_ref(
    ctx: Ctx, body: dict, problems: Problems, *, prefix: str = ""
) -> dict | None:
    department_id = body.get("DepartmentId")
    department = None
    if department_id is not None:
        department = get(ctx, "departments", department_id)
        if department is None:
            problems.not_found(
                f"{prefix}DepartmentId", f"Department with id = {department_id} not found."
            )
    elif body.get("DepartmentCode"):
        code = body["DepartmentCode"]
        department = next(
            (d for d in records(ctx.client, "departments") if d.get("Code") == code), None
        )
        if department is None:
            problems.not_found(
                f"{prefix}DepartmentCode", f"Department with code = '{code}' not found."
            )
    if department is not None and not department.get("IsActive"):
        problems.add(
            f"{prefix}DepartmentId",
            f"Department '{department['Code']} {department['Name']}' is not active.",
        )
    return department


def _customer_has_entries(client: dict, customer: dict) -> bool:
    return any(i.get("CustomerId") == customer["Id"] for i in records(client, "outgoinginvoices"))


def _address_record(ctx: Ctx, address: dict | None, previous: dict | None = None) -> dict | None:
    if not address:
        return None
    record = {key: address.get(key) for key in FIELDS["ContactAddressPostDto"]}
    record["CountryCode"] = record.get("CountryCode") or "NO"
    record["Id"] = previous["Id"] if previous else ctx.state.new_id(ctx.client)
    record["LastChangedDateTimeOffset"] = now_iso()
    return record


def _customer_fields(ctx: Ctx, body: dict, record: dict, series: dict | None) -> None:
    for key in writable("CustomerPostDto"):
        if key in ("MailAddress", "SubLedgerNumberSeriesId"):
            continue
        record[key] = body.get(key)
    record["MailAddress"] = _address_record(ctx, body.get("MailAddress"), record.get("MailAddress"))
    record["IsPerson"] = bool(body.get("IsPerson"))
    record["IsArchived"] = bool(body.get("IsArchived"))
    record["CurrencyCode"] = body.get("CurrencyCode") or "NOK"
    if record["IsPerson"]:
        record["Name"] = f"{body['FirstName'].strip()} {body['LastName'].strip()}"
    if body.get("DepartmentId") is None and body.get("DepartmentCode"):
        department = next(
            d for d in records(ctx.client, "departments") if d.get("Code") == body["DepartmentCode"]
        )
        record["DepartmentId"] = department["Id"]
    record.pop("DepartmentCode", None)
    if (
        body.get("SalesPersonEmployeeId") is None
        and body.get("SalesPersonEmployeeNumber") is not None
    ):
        employee = next(
            e
            for e in records(ctx.client, "employees")
            if e.get("Number") == body["SalesPersonEmployeeNumber"]
        )
        record["SalesPersonEmployeeId"] = employee["Id"]
    record.pop("SalesPersonEmployeeNumber", None)
    if record.get("Number") is None:
        record["Number"] = _next_customer_number(ctx, series)


def _next_customer_number(ctx: Ctx, series: dict | None) -> int:
    candidates = [series] if series else customer_series(ctx.client)
    candidates.sort(key=lambda s: not s.get("IsDefault"))
    taken = {c.get("Number") for c in records(ctx.client, "customers")}
    for s in candidates:
        for number in range(s["FromInclusive"], s["ToInclusive"] + 1):
            if number not in taken:
                return number
    raise ApiError(400, CUSTOMER_TITLE, "The customer sub-ledger number series is full.")


def list_contacts(ctx: Ctx, collection: str, kind: str, dto) -> Response:
    """GET /Customers and GET /Employees: both are contacts with the same filters."""
    q = ctx.query(
        "contactGroupIds",
        f"{kind}CreatedDateTimeOffsetGreaterThan",
        f"{kind}Nos",
        "externalImportReference",
        "externalNos",
        "lastChangedDateTimeOffsetGreaterThan",
    )
    groups = q.ids("contactGroupIds")
    created = q.timestamp(f"{kind}CreatedDateTimeOffsetGreaterThan")
    numbers = q.number_ranges(f"{kind}Nos")
    reference = q.raw("externalImportReference")
    external = q.number_ranges("externalNos")
    changed = q.timestamp("lastChangedDateTimeOffsetGreaterThan")
    if groups:
        raise ApiError(
            404,
            NOT_FOUND_TITLE,
            f"Could not find contact group(s) with id = {', '.join(map(str, groups))}.",
        )
    return listing(
        q,
        records(ctx.client, collection),
        lambda record: dto(ctx.client, record),
        since(f"{kind.title()}CreatedDateTimeOffset", created),
        within("Number", numbers),
        equal("ExternalImportReference", reference),
        within("ExternalNumber", external),
        since("LastChangedDateTimeOffset", changed),
    )


def list_customers(ctx: Ctx) -> Response:
    return list_contacts(ctx, "customers", "customer", customer_dto)


def get_customer(ctx: Ctx) -> Response:
    return fetch(ctx, "customers", "Customer", customer_dto)


def post_customer(ctx: Ctx) -> Response:
    body, problems = posted_body(ctx, "CustomerPostDto", CUSTOMER_TITLE)
    series = _check_customer(ctx, body, problems)
    problems.raise_if_any()
    now = now_iso()
    record = {
        "Id": ctx.state.new_id(ctx.client),
        "SubledgerAccountId": ctx.state.new_id(ctx.client),
        "ContactCreatedDateTimeOffset": now,
        "CustomerCreatedDateTimeOffset": now,
        "LastChangedDateTimeOffset": now,
        "CreatedFromImportJournalId": None,
        "_created_by": ctx.app_key,
    }
    _customer_fields(ctx, body, record, series)
    ctx.data["customers"][str(record["Id"])] = record
    return created(ctx, record, customer_dto(ctx.client, record))


def _post_view(ctx: Ctx, record: dict, dto: str) -> dict:
    view = {}
    for key in FIELDS[dto]:
        value = record.get(key)
        if key == "MailAddress" and value:
            value = {k: value.get(k) for k in FIELDS["ContactAddressPostDto"]}
        view[key] = value
    return view


def patch_customer(ctx: Ctx) -> Response:
    ctx.no_query()
    record = found(ctx, "customers", "Customer", int_param(ctx))
    view = _post_view(ctx, record, "CustomerPostDto")
    view.pop("SubLedgerNumberSeriesId", None)
    patched, problems = patched_body(
        ctx, view, "CustomerPostDto", "CustomerPatchDto", CUSTOMER_TITLE
    )
    if patched.get("Number") is None:
        problems.add("Number", "Number cannot be removed from a customer.")
    series = _check_customer(ctx, patched, problems, current=record)
    problems.raise_if_any()
    _customer_fields(ctx, patched, record, series)
    record["LastChangedDateTimeOffset"] = now_iso()
    return json_response(200, customer_dto(ctx.client, record))


def delete_customer(ctx: Ctx) -> Response:
    ctx.no_query()
    customer_id = int_param(ctx)
    record = found(ctx, "customers", "Customer", customer_id)
    if _customer_has_entries(ctx.client, record):
        raise in_use("Customer", customer_id)
    del ctx.data["customers"][str(customer_id)]
    return empty_response(200)


# -- JSON Patch ----------------------------------------------------------------------------


def apply_json_patch(document: dict, operations, dto: str, patch_dto: str, title: str) -> dict:
    """RFC 6902 on a PowerOffice patch DTO: add, replace, remove, test, copy, move."""
    if not isinstance(operations, list) or not operations:
        raise ApiError(400, title, "The body must be a non-empty JSON Patch array of operations.")
    document = json.loads(json.dumps(document, default=str), parse_float=Decimal)
    document = {**document}

    def resolve(path: str, index: int) -> tuple[dict, str, str]:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ApiError(400, title, f"Operation {index}: path '{path}' must start with '/'.")
        segments = [s.replace("~1", "/").replace("~0", "~") for s in path[1:].split("/")]
        fields = FIELDS[dto]
        parent = document
        for depth, segment in enumerate(segments):
            spec = fields.get(segment)
            if spec is None:
                proper = {n.lower(): n for n in fields}.get(segment.lower())
                hint = f" Did you mean '{proper}'?" if proper else ""
                raise ApiError(
                    400,
                    title,
                    f"{patch_dto}: The target location specified by path segment '{segment}' "
                    f"was not found.{hint}",
                )
            if "r" in spec[1]:
                raise ApiError(
                    400, title, f"{patch_dto}: {segment} is read-only and cannot be changed."
                )
            if depth == len(segments) - 1:
                return parent, segment, spec[0]
            if not spec[0].startswith("obj:"):
                raise ApiError(
                    400,
                    title,
                    f"{patch_dto}: path '{path}' goes below a value that is not an object.",
                )
            if not isinstance(parent.get(segment), dict):
                parent[segment] = {}
            nested_dto = spec[0][4:]
            if nested_dto == "ContactAddressDto":
                nested_dto = "ContactAddressPostDto"
            fields = FIELDS[nested_dto]
            parent = parent[segment]
        raise ApiError(400, title, f"Operation {index}: path '{path}' is empty.")

    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise ApiError(400, title, f"Operation {index} must be an object with op and path.")
        unknown = set(operation) - {"op", "path", "value", "from"}
        if unknown:
            raise ApiError(
                400,
                title,
                f"Operation {index} has unknown member(s): {', '.join(sorted(unknown))}.",
            )
        op = operation.get("op")
        parent, key, _kind = resolve(operation.get("path"), index)
        if op in ("add", "replace"):
            if "value" not in operation:
                raise ApiError(400, title, f"Operation {index} ({op}) needs a value.")
            parent[key] = operation["value"]
        elif op == "remove":
            parent[key] = None
        elif op == "test":
            if parent.get(key) != operation.get("value"):
                raise ApiError(
                    400, title, f"Operation {index}: test failed for path '{operation['path']}'."
                )
        elif op in ("copy", "move"):
            source_parent, source_key, _ = resolve(operation.get("from"), index)
            parent[key] = source_parent.get(source_key)
            if op == "move":
                source_parent[source_key] = None
        else:
            raise ApiError(
                400,
                title,
                f"Operation {index}: op '{op}' is not one of add, replace, remove, test, copy, "
                "move.",
            )
    return document


# -- Sub-ledger number series, VAT codes, accounts, departments, employees -----------------


def list_number_series(ctx: Ctx) -> Response:
    q = ctx.query("generalLedgerAccountNos", "isDefault", "subLedgerNumberSeriesType")
    accounts = q.number_ranges("generalLedgerAccountNos")
    is_default = q.boolean("isDefault")
    kinds = q.enum("subLedgerNumberSeriesType", ("Customer", "Supplier", "Employee"))
    return listing(
        q,
        records(ctx.client, "numberseries"),
        lambda record: series_dto(ctx.client, record),
        within("GeneralLedgerAccountNo", accounts, lambda r: series_dto(ctx.client, r)),
        flag("IsDefault", is_default),
        among("SubLedgerNumberSeriesType", kinds),
    )


def get_number_series(ctx: Ctx) -> Response:
    return fetch(ctx, "numberseries", "Sub-ledger number series", series_dto, uuid_param)


def list_vat_codes(ctx: Ctx) -> Response:
    q = ctx.query("includeExpired", "isActive")
    include_expired = q.boolean("includeExpired")
    is_active = q.boolean("isActive")
    today = date.today().isoformat()
    return listing(
        q,
        records(ctx.client, "vatcodes"),
        lambda record: serialize(record, "VatCodeDto"),
        None
        if include_expired
        else lambda record: not (record.get("ValidTo") and str(record["ValidTo"])[:10] < today),
        flag("IsActive", is_active),
    )


def list_accounts(ctx: Ctx) -> Response:
    q = ctx.query("accountNos", "agricultureDepartments", "lastChangedDateTimeOffsetGreaterThan")
    numbers = q.number_ranges("accountNos")
    departments = q.strings("agricultureDepartments")
    changed = q.timestamp("lastChangedDateTimeOffsetGreaterThan")
    if departments is not None:
        known = {
            "none",
            "finance",
            "farming",
            "forestry",
            "furanimals",
            "otherindustries",
            "private",
        }
        for value in departments:
            if value.lower() not in known:
                raise ApiError(
                    400,
                    "Unable to cast object(s)",
                    f"agricultureDepartments has an invalid value '{value}'.",
                )
        departments = {value.lower() for value in departments}
    return listing(
        q,
        records(ctx.client, "accounts"),
        lambda record: account_dto(ctx.client, record),
        within("AccountNo", numbers),
        None
        if departments is None
        else lambda record: (record.get("AgricultureDepartment") or "None").lower() in departments,
        since("LastChangedDateTimeOffset", changed),
    )


def get_account(ctx: Ctx) -> Response:
    return fetch(ctx, "accounts", "General ledger account", account_dto)


def list_departments(ctx: Ctx) -> Response:
    q = ctx.query(
        "codes",
        "createdDateTimeOffsetGreaterThan",
        "createdFromImportJournalId",
        "isActive",
        "lastChangedDateTimeOffsetGreaterThan",
        "managerEmployeeNo",
        "name",
    )
    codes = q.strings("codes")
    created = q.timestamp("createdDateTimeOffsetGreaterThan")
    journal = q.uuids("createdFromImportJournalId")
    is_active = q.boolean("isActive")
    changed = q.timestamp("lastChangedDateTimeOffsetGreaterThan")
    manager = q.integer("managerEmployeeNo")
    name = q.raw("name")
    return listing(
        q,
        records(ctx.client, "departments"),
        lambda record: department_dto(ctx.client, record),
        among("Code", codes),
        since("CreatedDateTimeOffset", created),
        None
        if journal is None
        else lambda record: (record.get("CreatedFromImportJournalId") or "").lower() in journal,
        flag("IsActive", is_active),
        since("LastChangedDateTimeOffset", changed),
        equal("ManagerEmployeeNo", manager, lambda r: department_dto(ctx.client, r)),
        None if name is None else lambda record: (record.get("Name") or "").lower() == name.lower(),
    )


def get_department(ctx: Ctx) -> Response:
    return fetch(ctx, "departments", "Department", department_dto)


def list_employees(ctx: Ctx) -> Response:
    return list_contacts(ctx, "employees", "employee", employee_dto)


def get_employee(ctx: Ctx) -> Response:
    return fetch(ctx, "employees", "Employee", employee_dto, name="employeeId")


# -- Products ------------------------------------------------------------------------------


def list_products(ctx: Ctx) -> Response:
    q = ctx.query(
        "codes",
        "createdDateTimeOffsetGreaterThan",
        "isArchived",
        "lastChangedDateTimeOffsetGreaterThan",
        "stockOnHandLastChangedDatetimeOffsetGreaterThan",
        "names",
        "productGroupCodes",
        "type",
    )
    codes = q.strings("codes")
    created = q.timestamp("createdDateTimeOffsetGreaterThan")
    archived = q.boolean("isArchived")
    changed = q.timestamp("lastChangedDateTimeOffsetGreaterThan")
    stock_changed = q.timestamp("stockOnHandLastChangedDatetimeOffsetGreaterThan")
    names = q.strings("names")
    groups = q.strings("productGroupCodes")
    kinds = q.enum("type", ("Product", "Service"))
    return listing(
        q,
        records(ctx.client, "products"),
        lambda record: product_dto(ctx.client, record),
        among("Code", codes),
        since("CreatedDateTimeOffset", created),
        flag("IsArchived", archived),
        since("LastChangedDateTimeOffset", changed),
        since("StockOnHandLastChangedDatetimeOffset", stock_changed),
        None
        if names is None
        else lambda record: (record.get("Name") or "").lower() in {n.lower() for n in names},
        among("ProductGroupCode", groups),
        None if kinds is None else lambda record: (record.get("ProductType") or "Product") in kinds,
    )


def get_product(ctx: Ctx) -> Response:
    return fetch(ctx, "products", "Product", product_dto)


def _check_sales_account(ctx: Ctx, body: dict, problems: Problems, which: str) -> dict | None:
    account_id = body.get(f"{which}SalesAccountId")
    account_no = body.get(f"{which}SalesAccount")
    account = None
    if account_id is not None:
        account = get(ctx, "accounts", account_id)
        if account is None:
            problems.not_found(
                f"{which}SalesAccountId",
                f"General ledger account with id = {account_id} not found.",
            )
            return None
        if account_no is not None and account.get("AccountNo") != account_no:
            problems.add(
                f"{which}SalesAccount",
                f"{which}SalesAccount {account_no} does not match {which}SalesAccountId "
                f"{account_id} "
                f"(account {account.get('AccountNo')}).",
            )
    elif account_no is not None:
        account = next(
            (a for a in records(ctx.client, "accounts") if a.get("AccountNo") == account_no), None
        )
        if account is None:
            problems.not_found(
                f"{which}SalesAccount",
                f"General ledger account with number = {account_no} not found.",
            )
            return None
    if account is not None:
        if not account.get("IsActive"):
            problems.add(f"{which}SalesAccountId", f"Account {account['AccountNo']} is not active.")
        if account.get("GeneralLedgerAccountType") != "Income":
            problems.add(
                f"{which}SalesAccountId",
                f"Account {account['AccountNo']} is not a sales (income) account.",
            )
    return account


def _check_product(
    ctx: Ctx, body: dict, problems: Problems, *, current: dict | None = None
) -> tuple:
    if not (body.get("Name") or "").strip():
        problems.add("Name", "Name is required.")
    code = body.get("Code")
    if code is not None:
        if not code.strip():
            problems.add("Code", "Code cannot be blank.")
        for other in records(ctx.client, "products"):
            if (current is None or other["Id"] != current["Id"]) and (
                other.get("Code") or ""
            ).lower() == code.lower():
                problems.add(
                    "Code",
                    f"Product code '{code}' is already in use on product with Id = {other['Id']}.",
                )
                break
    standard = _check_sales_account(ctx, body, problems, "Standard")
    optional = _check_sales_account(ctx, body, problems, "Optional")
    if body.get("ProductGroupId") is not None:
        problems.not_found(
            "ProductGroupId", f"Product group with id = {body['ProductGroupId']} not found."
        )
    elif body.get("ProductGroupCode"):
        problems.not_found(
            "ProductGroupCode", f"Product group with code = '{body['ProductGroupCode']}' not found."
        )
    if body.get("StockOnHand") is not None and not body.get("IsStockItem"):
        problems.add(
            "StockOnHand", "StockOnHand can only be set on a stock item (IsStockItem true)."
        )
    return standard, optional


def _product_fields(body: dict, record: dict, standard: dict | None, optional: dict | None) -> None:
    for key in writable("ProductPostDto"):
        record[key] = body.get(key)
    record["StandardSalesAccountId"] = standard["Id"] if standard else None
    record["OptionalSalesAccountId"] = optional["Id"] if optional else None
    record.pop("StandardSalesAccount", None)
    record.pop("OptionalSalesAccount", None)
    record["ProductType"] = body.get("ProductType") or "Product"
    record["IsArchived"] = bool(body.get("IsArchived"))
    record["IsStockItem"] = bool(body.get("IsStockItem"))


def post_product(ctx: Ctx) -> Response:
    body, problems = posted_body(ctx, "ProductPostDto", PRODUCT_TITLE)
    standard, optional = _check_product(ctx, body, problems)
    problems.raise_if_any()
    record = new_record(ctx)
    _product_fields(body, record, standard, optional)
    ctx.data["products"][str(record["Id"])] = record
    # PowerOffice answers a created product with 200, not 201.
    return json_response(200, product_dto(ctx.client, record))


def patch_product(ctx: Ctx) -> Response:
    ctx.no_query()
    record = found(ctx, "products", "Product", int_param(ctx))
    view = _post_view(ctx, record, "ProductPostDto")
    view["StandardSalesAccount"] = None
    view["OptionalSalesAccount"] = None
    patched, problems = patched_body(ctx, view, "ProductPostDto", "ProductPatchDto", PRODUCT_TITLE)
    standard, optional = _check_product(ctx, patched, problems, current=record)
    problems.raise_if_any()
    _product_fields(patched, record, standard, optional)
    record["LastChangedDateTimeOffset"] = now_iso()
    return json_response(200, product_dto(ctx.client, record))


def delete_product(ctx: Ctx) -> Response:
    ctx.no_query()
    product_id = int_param(ctx)
    found(ctx, "products", "Product", product_id)
    for voucher in records(ctx.client, "vouchers"):
        if any(
            line.get("ProductId") == product_id
            for line in voucher.get("OutgoingInvoiceLines") or []
        ):
            raise in_use("Product", product_id)
    del ctx.data["products"][str(product_id)]
    return empty_response(200)


# -- Outgoing invoice vouchers -------------------------------------------------------------


def _valid_cid(cid: str) -> bool:
    """A KID is valid with a MOD10 (Luhn) or a MOD11 check digit."""
    digits = [int(d) for d in cid]
    body, check = digits[:-1], digits[-1]
    total = 0
    for index, digit in enumerate(reversed(body)):
        value = digit * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    if (10 - total % 10) % 10 == check:
        return True
    weights = [2, 3, 4, 5, 6, 7]
    total = sum(d * weights[i % 6] for i, d in enumerate(reversed(body)))
    remainder = 11 - total % 11
    mod11 = 0 if remainder == 11 else remainder
    return mod11 != 10 and mod11 == check


def active_invoice_with(client: dict, key: str, value) -> dict | None:
    for invoice in records(client, "outgoinginvoices"):
        if not invoice.get("IsReversed") and invoice.get(key) == value:
            return invoice
    return None


def _control_account_ids(client: dict) -> set:
    return {s.get("GeneralLedgerAccountId") for s in records(client, "numberseries")}


def _not_held(
    problems: Problems, body: dict, prefix: str, keys: tuple[tuple[str, str], ...]
) -> None:
    for key, what in keys:
        if body.get(key) is not None:
            problems.not_found(f"{prefix}{key}", f"{what} with id = {body[key]} not found.")


def _check_voucher(ctx: Ctx, body: dict, problems: Problems) -> dict:
    client = ctx.client
    found: dict = {"lines": []}
    if body.get("IsReversed"):
        problems.add("IsReversed", "IsReversed cannot be set when posting a voucher.")
    invoice_no = body.get("InvoiceNo")
    if invoice_no is None or (isinstance(invoice_no, str) and not invoice_no.strip()):
        problems.add("InvoiceNo", "InvoiceNo is required.")
    elif not re.fullmatch(r"[1-9]\d{0,17}", invoice_no):
        problems.add(
            "InvoiceNo",
            f"InvoiceNo '{invoice_no}' must be a positive whole number (digits only, no leading "
            "zeros).",
        )
    else:
        taken = active_invoice_with(client, "InvoiceNo", int(invoice_no))
        if taken:
            problems.add(
                "InvoiceNo",
                f"InvoiceNo {invoice_no} is already in use on voucher with Id = {taken['Id']} "
                f"(VoucherNo {taken.get('VoucherNo')}). It can only be reused if that voucher "
                "is reversed.",
            )
    if body.get("VoucherDate") is None:
        problems.add("VoucherDate", "VoucherDate is required.")
    if "CurrencyAmount" not in body:
        problems.add("CurrencyAmount", "CurrencyAmount is required.")
    check_money(body, "CurrencyAmount", problems)
    reference = body.get("ExternalImportReference")
    if reference is not None:
        if not reference.strip():
            problems.add("ExternalImportReference", "ExternalImportReference cannot be blank.")
        taken = active_invoice_with(client, "ExternalImportReference", reference)
        if taken:
            problems.add(
                "ExternalImportReference",
                f"ExternalImportReference is already in use. '{reference}' is used on voucher "
                f"with Id = {taken['Id']}.",
            )
    voucher_date = parse_date(body.get("VoucherDate")) if body.get("VoucherDate") else None
    found["voucher_date"] = voucher_date
    due = parse_date(body.get("DueDate")) if body.get("DueDate") else None
    if voucher_date and due and due < voucher_date:
        problems.add("DueDate", f"DueDate {due} is before VoucherDate {voucher_date}.")
    currency = body.get("CurrencyCode") or "NOK"
    rate = body.get("CurrencyExchangeRate")
    if currency not in CURRENCIES:
        problems.add(
            "CurrencyCode", f"CurrencyCode '{currency}' is not an active currency on the client."
        )
    elif currency == "NOK" and rate is not None and dec(rate) != 1:
        problems.add(
            "CurrencyExchangeRate", "CurrencyExchangeRate must be 1 (or left out) for NOK."
        )
    elif currency != "NOK" and (rate is None or dec(rate) <= 0):
        problems.add(
            "CurrencyExchangeRate", f"CurrencyExchangeRate is required and positive for {currency}."
        )
    cid = body.get("Cid")
    if cid is not None:
        if not re.fullmatch(r"\d{2,25}", cid):
            problems.add("Cid", f"Cid (KID) '{cid}' must be 2 to 25 digits.")
        elif not _valid_cid(cid):
            problems.add("Cid", f"Cid (KID) '{cid}' has an invalid check digit (MOD10 or MOD11).")
    if body.get("SaftSourceId") and len(body["SaftSourceId"]) > 35:
        problems.add("SaftSourceId", "SaftSourceId can be at most 35 characters.")

    account_id = body.get("CustomerAccountId")
    if account_id is None:
        problems.add(
            "CustomerAccountId",
            "CustomerAccountId (the customer's SubledgerAccountId) is required.",
        )
    else:
        customer = next(
            (c for c in records(client, "customers") if c.get("SubledgerAccountId") == account_id),
            None,
        )
        if customer is None:
            by_id = get(client, "customers", account_id)
            hint = (
                f" {account_id} is the customer's Id; use its SubledgerAccountId "
                f"({by_id['SubledgerAccountId']})."
                if by_id
                else ""
            )
            problems.not_found(
                "CustomerAccountId",
                f"Customer sub-ledger account with id = {account_id} not found.{hint}",
            )
        elif customer.get("IsArchived"):
            problems.add("CustomerAccountId", f"Customer {customer.get('Number')} is archived.")
        found["customer"] = customer
    found["department"] = _check_department_ref(
        ctx, {"DepartmentId": body.get("DepartmentId")}, problems
    )
    seller_id = body.get("SalesPersonEmployeeId")
    if seller_id is not None:
        seller = get(client, "employees", seller_id)
        if seller is None:
            problems.not_found(
                "SalesPersonEmployeeId", f"Employee with id = {seller_id} not found."
            )
        elif seller.get("IsArchived"):
            problems.add("SalesPersonEmployeeId", f"Employee {seller.get('Number')} is archived.")
        found["seller"] = seller
    _not_held(
        problems,
        body,
        "",
        (
            ("ProjectId", "Project"),
            ("LocationId", "Location"),
            ("Dim1Id", "Dimension 1 value"),
            ("Dim2Id", "Dimension 2 value"),
            ("Dim3Id", "Dimension 3 value"),
            ("DeliveryTermId", "Delivery term"),
        ),
    )

    lines = body.get("OutgoingInvoiceLines")
    if not lines:
        problems.add("OutgoingInvoiceLines", "OutgoingInvoiceLines must contain at least one line.")
        lines = []
    control_accounts = _control_account_ids(client)
    amounts_ok = "CurrencyAmount" in body and body["CurrencyAmount"] is not None
    for index, line in enumerate(lines):
        prefix = f"OutgoingInvoiceLines[{index}]."
        line_found: dict = {}
        found["lines"].append(line_found)
        if line.get("CurrencyAmount") is None:
            problems.add(f"{prefix}CurrencyAmount", f"{prefix}CurrencyAmount is required.")
            amounts_ok = False
        check_money(line, "CurrencyAmount", problems, prefix=prefix)
        account = None
        if line.get("AccountId") is None:
            problems.add(f"{prefix}AccountId", f"{prefix}AccountId is required.")
        else:
            account = get(client, "accounts", line["AccountId"])
            if account is None:
                problems.not_found(
                    f"{prefix}AccountId",
                    f"General ledger account with id = {line['AccountId']} not found "
                    f"({prefix[:-1]}).",
                )
            elif not account.get("IsActive"):
                problems.add(
                    f"{prefix}AccountId",
                    f"Account {account['AccountNo']} {account['Name']} is not active.",
                )
            elif account["Id"] in control_accounts:
                problems.add(
                    f"{prefix}AccountId",
                    f"Account {account['AccountNo']} is a sub-ledger control account and cannot "
                    "be posted directly.",
                )
        line_found["account"] = account
        vat = None
        if line.get("VatId") is None:
            problems.add(
                f"{prefix}VatId", f"{prefix}VatId is required: every line must carry its VAT code."
            )
        else:
            vat = get(client, "vatcodes", line["VatId"])
            if vat is None:
                problems.not_found(
                    f"{prefix}VatId",
                    f"VAT code with id = {line['VatId']} not found ({prefix[:-1]}).",
                )
            else:
                if not vat.get("IsActive"):
                    problems.add(f"{prefix}VatId", f"VAT code {vat['Code']} is not active.")
                if vat.get("Rate") is None:
                    problems.add(
                        f"{prefix}VatId", f"VAT code {vat['Code']} has no rate on the client."
                    )
                valid_from = (
                    parse_date(str(vat.get("ValidFrom"))[:10]) if vat.get("ValidFrom") else None
                )
                valid_to = parse_date(str(vat.get("ValidTo"))[:10]) if vat.get("ValidTo") else None
                if voucher_date and (
                    (valid_from and voucher_date < valid_from)
                    or (valid_to and voucher_date > valid_to)
                ):
                    problems.add(
                        f"{prefix}VatId",
                        f"VAT code {vat['Code']} ({vat.get('Name')}) is not valid on "
                        f"VoucherDate {voucher_date}.",
                    )
                if vat_direction(vat) == "purchase":
                    problems.add(
                        f"{prefix}VatId",
                        f"VAT code {vat['Code']} is an input VAT code and cannot be used on an "
                        "outgoing invoice.",
                    )
                if (
                    account is not None
                    and account.get("IsVatCodeLocked")
                    and account.get("VatCodeId") != vat["Id"]
                ):
                    locked = get(client, "vatcodes", account.get("VatCodeId"))
                    problems.add(
                        f"{prefix}VatId",
                        f"Account {account['AccountNo']} is locked to VAT code "
                        f"{locked['Code'] if locked else account.get('VatCodeId')}; VAT code "
                        f"{vat['Code']} cannot be used on it.",
                    )
        line_found["vat"] = vat
        product_id = line.get("ProductId")
        if product_id is not None:
            product = get(client, "products", product_id)
            if product is None:
                problems.not_found(
                    f"{prefix}ProductId",
                    f"Product with id = {product_id} not found ({prefix[:-1]}).",
                )
            elif product.get("IsArchived"):
                problems.add(f"{prefix}ProductId", f"Product '{product.get('Code')}' is archived.")
            line_found["product"] = product
        department = _check_department_ref(
            ctx, {"DepartmentId": line.get("DepartmentId")}, problems, prefix=prefix
        )
        line_found["department"] = department
        if (
            account is not None
            and account.get("IsDepartmentRequired")
            and line.get("DepartmentId") is None
            and body.get("DepartmentId") is None
        ):
            problems.add(
                f"{prefix}DepartmentId", f"Account {account['AccountNo']} requires a department."
            )
        _not_held(
            problems,
            line,
            prefix,
            (
                ("ProjectId", "Project"),
                ("LocationId", "Location"),
                ("Dim1Id", "Dimension 1 value"),
                ("Dim2Id", "Dimension 2 value"),
                ("Dim3Id", "Dimension 3 value"),
            ),
        )
        accrual = line.get("Accrual")
        if accrual:
            start, end = (
                parse_date(accrual.get("FromDate") or ""),
                parse_date(accrual.get("ToDate") or ""),
            )
            if not start or not end or end < start:
                problems.add(
                    f"{prefix}Accrual",
                    "Accrual needs FromDate and ToDate, with ToDate not before FromDate.",
                )
            balance_id = accrual.get("BalanceAccountId")
            if balance_id is not None and get(client, "accounts", balance_id) is None:
                problems.not_found(
                    f"{prefix}Accrual.BalanceAccountId",
                    f"General ledger account with id = {balance_id} not found.",
                )

    if amounts_ok and lines:
        total = sum((dec(line["CurrencyAmount"]) for line in lines), Decimal(0))
        if total != dec(body["CurrencyAmount"]):
            problems.add(
                "CurrencyAmount",
                f"The voucher does not balance: the lines sum to {total}, the voucher "
                "CurrencyAmount is "
                f"{dec(body['CurrencyAmount'])}. Line amounts are gross (VAT included).",
            )
    return found


def _vat_amount(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate / (1 + rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def post_voucher(ctx: Ctx) -> Response:
    ctx.no_query()
    body = ctx.json(VOUCHER_TITLE)
    problems = Problems(VOUCHER_TITLE)
    check_object(body, "OutgoingInvoiceVoucherDto", problems)
    problems.raise_if_any()
    found = _check_voucher(ctx, body, problems)
    problems.raise_if_any()

    client = ctx.client
    now = now_iso()
    voucher_id = ctx.state.new_uuid(client, "voucher")
    voucher_no = client["next_voucher_no"]
    client["next_voucher_no"] += 1
    currency = body.get("CurrencyCode") or "NOK"
    rate = dec(body.get("CurrencyExchangeRate") or 1)
    lines = [
        {key: line.get(key) for key in FIELDS["OutgoingInvoiceVoucherLineDto"] if key in line}
        for line in body["OutgoingInvoiceLines"]
    ]
    voucher = {key: body.get(key) for key in writable("OutgoingInvoiceVoucherDto")}
    voucher.update(
        Id=voucher_id,
        VoucherNo=voucher_no,
        CreatedDateTimeOffset=now,
        IsReversed=False,
        CurrencyCode=currency,
        CurrencyExchangeRate=rate,
        OutgoingInvoiceLines=lines,
        _created_by=ctx.app_key,
    )
    ctx.data["vouchers"][voucher_id] = voucher

    total = money(body["CurrencyAmount"])
    invoice_lines = []
    vat_total = Decimal(0)
    for index, (line, line_found) in enumerate(zip(lines, found["lines"], strict=True)):
        amount = money(line["CurrencyAmount"])
        vat_rate = dec(line_found["vat"]["Rate"])
        vat_amount = _vat_amount(amount, vat_rate)
        vat_total += vat_amount
        net = amount - vat_amount
        quantity = line.get("Quantity")
        product = line_found.get("product")
        department = line_found.get("department")
        invoice_lines.append(
            {
                "AccountId": line_found["account"]["Id"],
                "AccountNo": line_found["account"]["AccountNo"],
                "DepartmentCode": department and department["Code"],
                "DepartmentId": department and department["Id"],
                "Description": line.get("Description"),
                "Id": ctx.state.new_id(client),
                "IsAccrued": bool(line.get("Accrual")),
                "LineType": "Normal",
                "NetAmount": net,
                "NetPostedAmount": (net * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
                "ProductCode": product and product.get("Code"),
                "ProductId": product and product["Id"],
                "ProductUnitPrice": (net / dec(quantity)).quantize(
                    Decimal("0.01"), rounding=ROUND_HALF_UP
                )
                if quantity
                else net,
                "Quantity": quantity,
                "SellersReferenceEmployeeId": body.get("SalesPersonEmployeeId"),
                "SellersReferenceEmployeeNo": found.get("seller") and found["seller"]["Number"],
                "SortOrder": index,
                "TotalAmount": amount,
                "TotalPostedAmount": (amount * rate).quantize(
                    Decimal("0.01"), rounding=ROUND_HALF_UP
                ),
                "UnitOfMeasureCode": line.get("UnitOfMeasureType"),
                "VatAmount": vat_amount,
                "VatCode": line_found["vat"]["Code"],
                "VatId": line_found["vat"]["Id"],
                "VatRate": vat_rate,
                "VatReturnSpecification": line.get("VatReturnSpecification"),
            }
        )
    net_total = total - vat_total
    posted = (total * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    customer = found["customer"]
    department = found.get("department")
    seller = found.get("seller")
    voucher_date = found["voucher_date"]
    due = parse_date(body.get("DueDate")) if body.get("DueDate") else None
    ctx.data["outgoinginvoices"][voucher_id] = {
        "Balance": posted,
        "BalanceLastChangedDateTimeOffset": now,
        "Cid": body.get("Cid"),
        "ContractNo": body.get("ContractNo"),
        "CreatedDateTimeOffset": now,
        "CurrencyCode": currency,
        "CurrencyExchangeRate": rate,
        "CustomMatchingReference": body.get("CustomMatchingReference"),
        "CustomerId": customer["Id"],
        "CustomerNo": customer.get("Number"),
        "CustomerReference": body.get("CustomerReference"),
        "DeliveryAddress1": body.get("DeliveryAddress1"),
        "DeliveryAddress2": body.get("DeliveryAddress2"),
        "DeliveryAddressCity": body.get("DeliveryAddressCity"),
        "DeliveryAddressCountryCode": body.get("DeliveryAddressCountryCode"),
        "DeliveryAddressZipCode": body.get("DeliveryAddressZipCode"),
        "DeliveryDate": body.get("DeliveryDate"),
        "DepartmentCode": department and department["Code"],
        "DepartmentId": department and department["Id"],
        "DueDate": body.get("DueDate"),
        "ExternalImportReference": body.get("ExternalImportReference"),
        "Id": voucher_id,
        "ImportedOrderNo": body.get("ImportedOrderNo"),
        "InvoiceNo": int(body["InvoiceNo"]),
        "IsReversed": False,
        "LastChangedDateTimeOffset": now,
        "MatchId": None,
        "NetAmount": net_total,
        "NetPostedAmount": (net_total * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        "PaymentTerm": (due - voucher_date).days if due and voucher_date else None,
        "PurchaseOrderReference": body.get("PurchaseOrderReference"),
        "SellersReferenceEmployeeId": seller and seller["Id"],
        "SellersReferenceEmployeeNo": seller and seller["Number"],
        "TotalAmount": total,
        "TotalPostedAmount": posted,
        "VoucherDate": body["VoucherDate"],
        "VoucherNo": voucher_no,
        "VoucherType": "OutgoingCreditNote" if total < 0 else "OutgoingInvoice",
        "_created_by": ctx.app_key,
        "_lines": invoice_lines,
    }
    return json_response(
        201,
        voucher_dto(voucher),
        headers={"Location": f"{ctx.instance}/{voucher_id}"},
    )


def _own_voucher(ctx: Ctx, voucher_id: str) -> dict:
    voucher = get(ctx, "vouchers", voucher_id)
    # "A response will only be produced for vouchers the integration have created."
    if voucher is None or voucher.get("_created_by") != ctx.app_key:
        raise not_found("Outgoing invoice voucher", voucher_id)
    return voucher


def get_voucher(ctx: Ctx) -> Response:
    ctx.no_query()
    voucher = _own_voucher(ctx, uuid_param(ctx))
    return json_response(200, voucher_dto(voucher))


def reverse_voucher(client: dict, voucher: dict) -> None:
    """Reverse an outgoing invoice voucher: its InvoiceNo and reference become free again."""
    invoice = client["data"]["outgoinginvoices"].get(voucher["Id"])
    if voucher.get("IsReversed"):
        raise ApiError(
            400,
            "Voucher validation error(s)",
            f"Voucher with id = {voucher['Id']} is already reversed.",
        )
    if invoice is not None and money(invoice.get("Balance") or 0) != money(
        invoice.get("TotalPostedAmount") or 0
    ):
        raise ApiError(
            400,
            "Voucher validation error(s)",
            f"Voucher with id = {voucher['Id']} has matched (paid) entries and cannot be reversed.",
        )
    now = now_iso()
    voucher["IsReversed"] = True
    client["next_voucher_no"] += 1  # the reversal voucher takes the next voucher number
    if invoice is not None:
        invoice["IsReversed"] = True
        invoice["Balance"] = Decimal(0)
        invoice["BalanceLastChangedDateTimeOffset"] = now
        invoice["LastChangedDateTimeOffset"] = now


def post_reverse(ctx: Ctx) -> Response:
    ctx.no_query()
    voucher_id = uuid_param(ctx)
    voucher = get(ctx, "vouchers", voucher_id)
    if voucher is None:
        raise not_found("Voucher", voucher_id)
    if voucher.get("_created_by") != ctx.app_key:
        raise ApiError(
            400,
            "Voucher validation error(s)",
            "Only vouchers the integration created with the POST voucher endpoints can be "
            "reversed.",
        )
    reverse_voucher(ctx.client, voucher)
    return empty_response(202)


# -- Voucher documentation -----------------------------------------------------------------


def _parse_multipart(ctx: Ctx) -> dict[str, dict]:
    content_type = ctx.headers.get("Content-Type") or ""
    if (
        not content_type.lower().startswith("multipart/form-data")
        or "boundary=" not in content_type
    ):
        raise ApiError(
            415,
            "Unsupported Media Type",
            "Send the file as multipart/form-data with the form field 'file'.",
        )
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: "
        + content_type.encode("latin-1")
        + b"\r\nMIME-Version: 1.0\r\n\r\n"
        + ctx.body
    )
    if not message.is_multipart():
        raise ApiError(400, DOCUMENTATION_TITLE, "The multipart body could not be read.")
    parts = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        parts[name] = {
            "filename": part.get_filename(),
            "content_type": part.get_content_type() if part.get("Content-Type") else None,
            "data": part.get_payload(decode=True) or b"",
        }
    return parts


def put_documentation(ctx: Ctx) -> Response:
    q = ctx.query("id")
    voucher_id = q.raw("id")
    if voucher_id is None:
        raise ApiError(
            400, DOCUMENTATION_TITLE, "The query parameter id (the voucher id) is required."
        )
    if not is_uuid(voucher_id):
        raise ApiError(
            400, DOCUMENTATION_TITLE, f"The value '{voucher_id}' is not a valid voucher id (uuid)."
        )
    voucher_id = canonical_uuid(voucher_id)
    voucher = get(ctx, "vouchers", voucher_id)
    if voucher is None:
        raise not_found("Voucher", voucher_id)
    if not voucher.get("_created_by"):
        raise ApiError(
            400,
            DOCUMENTATION_TITLE,
            "Documentation can only be added to vouchers imported by the API.",
        )
    previous = ctx.client["attachments"].get(voucher_id)
    if previous and previous.get("application_key") != ctx.app_key:
        raise ApiError(
            400,
            DOCUMENTATION_TITLE,
            "The documentation can only be replaced by the integration that imported it.",
        )
    parts = _parse_multipart(ctx)
    part = parts.get("file")
    if part is None:
        raise ApiError(
            400,
            DOCUMENTATION_TITLE,
            f"The form field 'file' is missing (got: {', '.join(parts) or 'no fields'}).",
        )
    data = part["data"]
    if not data:
        raise ApiError(400, DOCUMENTATION_TITLE, "The file is empty.")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ApiError(
            400, DOCUMENTATION_TITLE, f"The file is {len(data)} bytes; the limit is 30 MB."
        )
    if part["content_type"] not in (None, "application/pdf", "application/octet-stream"):
        raise ApiError(
            400,
            DOCUMENTATION_TITLE,
            f"Only PDF files can be imported (got {part['content_type']}).",
        )
    if not data.startswith(b"%PDF-"):
        raise ApiError(
            400,
            DOCUMENTATION_TITLE,
            "Only PDF files can be imported: the file does not start with %PDF-.",
        )
    ctx.client["attachments"][voucher_id] = {
        "filename": part["filename"] or "dokumentasjon.pdf",
        "content_type": "application/pdf",
        "size": len(data),
        "data": base64.b64encode(data).decode(),
        "uploaded": now_iso(),
        "application_key": ctx.app_key,
    }
    return empty_response(204)


def list_documentation(ctx: Ctx) -> Response:
    q = ctx.query("id", "voucherNo")
    ids = q.uuids("id")
    voucher_no = q.integer("voucherNo")
    return listing(
        q,
        records(ctx.client, "vouchers"),
        lambda voucher: serialize(
            {
                "HasEhf": False,
                "HasImages": False,
                "HasPdf": voucher["Id"] in ctx.client["attachments"],
                "HasSalesOrderAttachments": False,
                "IsImported": bool(voucher.get("_created_by")),
                "VoucherId": voucher["Id"],
                "VoucherNo": voucher.get("VoucherNo"),
                "VoucherType": "OutgoingCreditNote"
                if dec(voucher.get("CurrencyAmount") or 0) < 0
                else "OutgoingInvoice",
            },
            "VoucherDocumentationDto",
        ),
        among("Id", ids),
        equal("VoucherNo", voucher_no),
    )


def download_documentation(ctx: Ctx) -> Response:
    q = ctx.query("id", "documentationType")
    voucher_id = q.raw("id")
    if voucher_id is None or not is_uuid(voucher_id):
        raise ApiError(
            400, DOCUMENTATION_TITLE, "The query parameter id (the voucher id, a uuid) is required."
        )
    kind = q.raw("documentationType")
    voucher_id = canonical_uuid(voucher_id)
    if get(ctx, "vouchers", voucher_id) is None:
        raise not_found("Voucher", voucher_id)
    attachment = ctx.client["attachments"].get(voucher_id)
    if attachment is None or (kind and kind.lower() not in ("pdf",)):
        return empty_response(204)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(attachment["filename"], base64.b64decode(attachment["data"]))
    return Response(status=200, body=buffer.getvalue(), content_type="application/zip")


# -- Outgoing invoices ---------------------------------------------------------------------


def list_invoices(ctx: Ctx) -> Response:
    q = ctx.query(
        "balanceLastChangedDateTimeOffsetGreaterThan",
        "customerNos",
        "customMatchingReferences",
        "departmentCodes",
        "fromDate",
        "includeSubProject",
        "invoiceIds",
        "invoiceNos",
        "onlyCreatedByCurrentIntegration",
        "onlyUnpaidInvoices",
        "projectCodes",
        "sentDateTimeOffsetGreaterThan",
        "toDate",
        "voucherNos",
    )
    balance_changed = q.timestamp("balanceLastChangedDateTimeOffsetGreaterThan")
    customers = q.number_ranges("customerNos")
    matching = q.strings("customMatchingReferences")
    departments = q.strings("departmentCodes")
    from_date = q.day("fromDate")
    q.boolean("includeSubProject")
    invoice_ids = q.uuids("invoiceIds")
    numbers = q.number_ranges("invoiceNos")
    only_ours = q.boolean("onlyCreatedByCurrentIntegration")
    only_unpaid = q.boolean("onlyUnpaidInvoices")
    projects = q.strings("projectCodes")
    sent = q.timestamp("sentDateTimeOffsetGreaterThan")
    to_date = q.day("toDate")
    voucher_nos = q.number_ranges("voucherNos")

    def voucher_date(record: dict):
        value = record.get("VoucherDate")
        return parse_date(str(value)[:10]) if value else None

    def dto(record: dict) -> dict:
        return invoice_dto(ctx.client, record, ctx.app_key)

    return listing(
        q,
        records(ctx.client, "outgoinginvoices"),
        dto,
        since("BalanceLastChangedDateTimeOffset", balance_changed),
        within("CustomerNo", customers),
        among("CustomMatchingReference", matching),
        code_among("DepartmentCode", departments, dto),
        None
        if not from_date
        else lambda record: (day := voucher_date(record)) is not None and day >= from_date,
        None
        if not to_date
        else lambda record: (day := voucher_date(record)) is not None and day <= to_date,
        None if invoice_ids is None else lambda record: str(record["Id"]).lower() in invoice_ids,
        within("InvoiceNo", numbers),
        None if not only_ours else lambda record: dto(record)["IsCreatedByCurrentIntegration"],
        None if not only_unpaid else lambda record: dec(record.get("Balance") or 0) != 0,
        code_among("ProjectCode", projects),
        since("SentDateTimeOffset", sent),
        within("VoucherNo", voucher_nos),
    )


def get_invoice(ctx: Ctx) -> Response:
    return fetch(
        ctx,
        "outgoinginvoices",
        "Outgoing invoice",
        lambda client, record: invoice_dto(client, record, ctx.app_key),
        uuid_param,
    )


def list_invoice_lines(ctx: Ctx) -> Response:
    q = ctx.query()
    record = found(ctx, "outgoinginvoices", "Outgoing invoice", uuid_param(ctx))
    items = [serialize(line, "OutgoingInvoiceLineDto") for line in record.get("_lines") or []]
    return list_response(q, items)


# -- Pay items and salary lines ------------------------------------------------------------


def list_pay_items(ctx: Ctx) -> Response:
    q = ctx.query(
        "codes",
        "createdDateTimeOffsetGreaterThan",
        "isActive",
        "lastChangedDateTimeOffsetGreaterThan",
    )
    codes = q.strings("codes")
    created = q.timestamp("createdDateTimeOffsetGreaterThan")
    is_active = q.boolean("isActive")
    changed = q.timestamp("lastChangedDateTimeOffsetGreaterThan")
    return listing(
        q,
        records(ctx.client, "payitems"),
        lambda record: serialize(record, "PayItemDto"),
        among("Code", codes),
        since("CreatedDateTimeOffset", created),
        flag("IsActive", is_active),
        since("LastChangedDateTimeOffset", changed),
    )


def get_pay_item(ctx: Ctx) -> Response:
    return fetch(
        ctx, "payitems", "Pay item", lambda _, record: serialize(record, "PayItemDto"), uuid_param
    )


def _check_salary_line(
    ctx: Ctx, body: dict, problems: Problems, *, current: dict | None = None
) -> None:
    client = ctx.client
    for key in ("Amount", "StartAmount", "MinAmount", "MaxAmount", "CarListPrice"):
        check_money(body, key, problems)
    employee_id = body.get("EmployeeId")
    if employee_id is not None:
        employee = get(client, "employees", employee_id)
        if employee is None:
            problems.not_found("EmployeeId", f"Employee with id = {employee_id} not found.")
        elif employee.get("IsArchived"):
            problems.add(
                "EmployeeId",
                f"Employee {employee.get('Number')} {employee.get('FirstName')} "
                f"{employee.get('LastName')} is archived.",
            )
    pay_item = None
    pay_item_id = body.get("PayItemId")
    if pay_item_id is not None:
        pay_item = get(client, "payitems", canonical_uuid(pay_item_id))
        if pay_item is None:
            problems.not_found("PayItemId", f"Pay item with id = {pay_item_id} not found.")
        elif not pay_item.get("IsActive"):
            problems.add(
                "PayItemId",
                f"Pay item {pay_item.get('Code')} {pay_item.get('Name')} is not active.",
            )
    _check_department_ref(ctx, {"DepartmentId": body.get("DepartmentId")}, problems)
    for key, collection, what in (
        ("AccountId", "accounts", "General ledger account"),
        ("OppositeAccountId", "accounts", "General ledger account"),
        ("VatCodeId", "vatcodes", "VAT code"),
    ):
        if body.get(key) is not None and get(client, collection, body[key]) is None:
            problems.not_found(key, f"{what} with id = {body[key]} not found.")
    _not_held(
        problems,
        body,
        "",
        (
            ("ProjectId", "Project"),
            ("SupplierAccountId", "Supplier sub-ledger account"),
            ("SupplierBankAccountId", "Supplier bank account"),
        ),
    )
    if body.get("ExternalImportReference"):
        others = [
            line
            for line in records(client, "salarylines")
            if current is None or line["Id"] != current["Id"]
        ]
        _unique(problems, body, "ExternalImportReference", others, "salary line with")
    if pay_item is not None and pay_item.get("IsActive"):
        processing = pay_item.get("ProcessingType")
        quantity, rate, amount = body.get("Quantity"), body.get("Rate"), body.get("Amount")
        if rate is None and pay_item.get("Rate") is not None:
            rate = pay_item["Rate"]
        if processing in ("QuantityAndRate", "QuantityAndFixedRate", "HourlyWage"):
            if quantity is None:
                problems.add(
                    "Quantity",
                    f"Quantity is required for pay item {pay_item.get('Code')} ({processing}).",
                )
            if rate is None:
                problems.add(
                    "Rate", f"Rate is required for pay item {pay_item.get('Code')} ({processing})."
                )
            if quantity is not None and rate is not None and amount is not None:
                expected = money(dec(quantity) * dec(rate))
                if money(amount) != expected:
                    problems.add(
                        "Amount",
                        f"Amount {amount} does not equal Quantity × Rate ({quantity} × {rate} = "
                        f"{expected}).",
                    )
        elif (
            processing in ("ExpenseRefund", "FixedAmount", "FixedAmountWithQuantity")
            and amount is None
        ):
            problems.add(
                "Amount", f"Amount is required for pay item {pay_item.get('Code')} ({processing})."
            )


def _salary_fields(body: dict, record: dict, pay_item: dict | None) -> None:
    for key in writable("SalaryLinePostDto"):
        record[key] = body.get(key)
    if record.get("PayItemId"):
        record["PayItemId"] = canonical_uuid(record["PayItemId"])
    rate = body.get("Rate")
    if rate is None and pay_item is not None and pay_item.get("Rate") is not None:
        rate = pay_item["Rate"]
        record["Rate"] = rate
    if body.get("Amount") is None and body.get("Quantity") is not None and rate is not None:
        record["Amount"] = money(dec(body["Quantity"]) * dec(rate))


def salary_dto(record: dict) -> dict:
    return serialize(record, "SalaryLineDto")


def list_salary_lines(ctx: Ctx) -> Response:
    q = ctx.query()
    # "Will only return salary lines that the integration has created."
    items = [
        salary_dto(record)
        for record in records(ctx.client, "salarylines")
        if record.get("_created_by") == ctx.app_key and not record.get("IsDeletedByUser")
    ]
    return list_response(q, items)


def _own_salary_line(ctx: Ctx) -> dict:
    line_id = int_param(ctx)
    record = get(ctx, "salarylines", line_id)
    if record is None or record.get("_created_by") != ctx.app_key:
        raise not_found("Salary line", line_id)
    return record


def _unlocked_salary_line(ctx: Ctx, refusal: str) -> dict:
    record = _own_salary_line(ctx)
    if record.get("IsLocked"):
        raise ApiError(
            409, "Salary line conflict", f"Salary line with id = {record['Id']} {refusal}"
        )
    return record


def get_salary_line(ctx: Ctx) -> Response:
    ctx.no_query()
    return json_response(200, salary_dto(_own_salary_line(ctx)))


def post_salary_line(ctx: Ctx) -> Response:
    body, problems = posted_body(ctx, "SalaryLinePostDto", SALARY_TITLE)
    _check_salary_line(ctx, body, problems)
    problems.raise_if_any()
    record = new_record(ctx, IsLocked=False, IsDeletedByUser=False)
    _salary_fields(body, record, get(ctx, "payitems", canonical_uuid(body["PayItemId"])))
    ctx.data["salarylines"][str(record["Id"])] = record
    return created(ctx, record, salary_dto(record))


def patch_salary_line(ctx: Ctx) -> Response:
    ctx.no_query()
    record = _unlocked_salary_line(ctx, "is locked and cannot be changed.")
    view = _post_view(ctx, record, "SalaryLinePostDto")
    patched, problems = patched_body(
        ctx, view, "SalaryLinePostDto", "SalaryLinePatchDto", SALARY_TITLE
    )
    _check_salary_line(ctx, patched, problems, current=record)
    problems.raise_if_any()
    _salary_fields(patched, record, get(ctx, "payitems", canonical_uuid(patched["PayItemId"])))
    record["LastChangedDateTimeOffset"] = now_iso()
    return json_response(200, salary_dto(record))


def delete_salary_line(ctx: Ctx) -> Response:
    ctx.no_query()
    record = _unlocked_salary_line(
        ctx, "is in use and cannot be deleted (it is locked in a payroll run)."
    )
    del ctx.data["salarylines"][str(record["Id"])]
    return empty_response(200)


# -- routing -------------------------------------------------------------------------------

_ID = r"(?P<id>[^/]+)"

# (method, path pattern, handler, privileges of which one is needed; empty = any valid token)
ROUTES = [
    ("GET", r"/ClientIntegrationInformation", get_client_information, ()),
    ("GET", r"/Customers", list_customers, ("Customer", "Customer_Full")),
    ("POST", r"/Customers", post_customer, ("Customer_Full",)),
    ("GET", rf"/Customers/{_ID}", get_customer, ("Customer", "Customer_Full")),
    ("PATCH", rf"/Customers/{_ID}", patch_customer, ("Customer_Full",)),
    ("DELETE", rf"/Customers/{_ID}", delete_customer, ("Customer_Full",)),
    (
        "GET",
        r"/SubLedgerNumberSeries",
        list_number_series,
        ("CommonServices", "CommonServices_Full"),
    ),
    (
        "GET",
        rf"/SubLedgerNumberSeries/{_ID}",
        get_number_series,
        ("CommonServices", "CommonServices_Full"),
    ),
    ("GET", r"/VatCodes", list_vat_codes, ("CommonServices", "CommonServices_Full")),
    ("GET", r"/Products", list_products, ("Product", "Product_Full")),
    ("POST", r"/Products", post_product, ("Product_Full",)),
    ("GET", rf"/Products/{_ID}", get_product, ("Product", "Product_Full")),
    ("PATCH", rf"/Products/{_ID}", patch_product, ("Product_Full",)),
    ("DELETE", rf"/Products/{_ID}", delete_product, ("Product_Full",)),
    ("GET", r"/Departments", list_departments, ("Department", "Department_Full")),
    ("GET", rf"/Departments/{_ID}", get_department, ("Department", "Department_Full")),
    ("GET", r"/Employees", list_employees, ("Employee", "Employee_Full")),
    ("GET", r"/Employees/(?P<employeeId>[^/]+)", get_employee, ("Employee", "Employee_Full")),
    (
        "GET",
        r"/GeneralLedgerAccounts",
        list_accounts,
        ("GeneralLedgerAccount", "GeneralLedgerAccount_Full"),
    ),
    (
        "GET",
        rf"/GeneralLedgerAccounts/{_ID}",
        get_account,
        ("GeneralLedgerAccount", "GeneralLedgerAccount_Full"),
    ),
    ("POST", r"/Vouchers/OutgoingInvoiceJournals", post_voucher, ("OutgoingInvoiceVoucher_Full",)),
    (
        "GET",
        rf"/Vouchers/OutgoingInvoiceJournals/{_ID}",
        get_voucher,
        ("OutgoingInvoiceVoucher_Full",),
    ),
    ("POST", rf"/Vouchers/Reverse/{_ID}", post_reverse, ("YearEndVoucher_Full",)),
    (
        "GET",
        r"/VoucherDocumentation",
        list_documentation,
        ("VoucherDocumentation", "VoucherDocumentation_Full"),
    ),
    ("PUT", r"/VoucherDocumentation", put_documentation, ("VoucherDocumentation_Full",)),
    (
        "GET",
        r"/VoucherDocumentation/Download",
        download_documentation,
        ("VoucherDocumentation", "VoucherDocumentation_Full"),
    ),
    ("GET", r"/OutgoingInvoices", list_invoices, ("OutgoingInvoice", "OutgoingInvoice_Full")),
    ("GET", rf"/OutgoingInvoices/{_ID}", get_invoice, ("OutgoingInvoice", "OutgoingInvoice_Full")),
    (
        "GET",
        rf"/OutgoingInvoices/{_ID}/Lines",
        list_invoice_lines,
        ("OutgoingInvoice", "OutgoingInvoice_Full"),
    ),
    ("GET", r"/PayItems", list_pay_items, ("PayItem", "PayItem_Full")),
    ("GET", rf"/PayItems/{_ID}", get_pay_item, ("PayItem", "PayItem_Full")),
    ("GET", r"/SalaryLines", list_salary_lines, ("SalaryLine", "SalaryLine_Full")),
    ("POST", r"/SalaryLines", post_salary_line, ("SalaryLine_Full",)),
    ("GET", rf"/SalaryLines/{_ID}", get_salary_line, ("SalaryLine", "SalaryLine_Full")),
    ("PATCH", rf"/SalaryLines/{_ID}", patch_salary_line, ("SalaryLine_Full",)),
    ("DELETE", rf"/SalaryLines/{_ID}", delete_salary_line, ("SalaryLine_Full",)),
]

_COMPILED = [
    (method, re.compile(pattern, re.IGNORECASE), handler, privileges)
    for method, pattern, handler, privileges in ROUTES
]


def resolve(method: str, route: str):
    """Return (handler, params, privileges), or raise 404/405 for an unknown path or method."""
    path = route.rstrip("/") or "/"
    allowed = []
    for route_method, pattern, handler, privileges in _COMPILED:
        match = pattern.fullmatch(path)
        if match:
            if route_method == method:
                return handler, match.groupdict(), privileges
            allowed.append(route_method)
    if allowed:
        raise ApiError(
            405,
            "Method Not Allowed",
            f"{method} is not allowed on {path}; allowed: {', '.join(sorted(set(allowed)))}.",
            headers={"Allow": ", ".join(sorted(set(allowed)))},
        )
    raise ApiError(404, bare=True)
