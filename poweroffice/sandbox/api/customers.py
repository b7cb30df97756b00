"""/Customers: list, get, POST, PATCH (JSON Patch) and DELETE, with PowerOffice's rules."""

import re

from ..contract import FIELDS
from ..responses import ApiError, Problems, Response, empty_response, json_response, now_iso
from ..values import canonical_uuid, writable
from .common import (
    CURRENCIES,
    DEPARTMENT_CODE,
    check_department_ref,
    check_unique,
    created,
    fetch,
    found,
    get,
    hidden,
    in_use,
    int_param,
    listing,
    patched_body,
    post_view,
    posted_body,
    records,
    with_references,
)
from .contacts import contact_filters
from .context import Ctx

CUSTOMER_TITLE = "Customer validation error(s)"
CUSTOMER_FILTERS = contact_filters("customer")

_EMAIL_RE = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")


def customer_dto(client: dict, record: dict) -> dict:
    return with_references(
        client,
        record,
        "CustomerDto",
        DEPARTMENT_CODE,
        ("SalesPersonEmployeeNumber", "employees", "SalesPersonEmployeeId", "Number"),
        IsActive=not record.get("IsArchived"),
        NationalIdNumber=hidden(record, "NationalIdNumber"),
    )


def customer_series(client: dict) -> list[dict]:
    return [
        s
        for s in records(client, "numberseries")
        if s.get("SubLedgerNumberSeriesType") == "Customer"
    ]


def customer_has_entries(client: dict, customer: dict) -> bool:
    return any(i.get("CustomerId") == customer["Id"] for i in records(client, "outgoinginvoices"))


# -- the rules of a customer (POST, or the result of a PATCH), in the order they are told ---


def _check_customer(
    ctx: Ctx, body: dict, problems: Problems, *, current: dict | None = None
) -> dict | None:
    """Business rules of a customer (POST or the result of a PATCH). Returns the chosen series."""
    client = ctx.client
    others = [
        c for c in records(client, "customers") if current is None or c["Id"] != current["Id"]
    ]
    _check_name(body, problems)
    if body.get("ExternalImportReference"):
        check_unique(problems, body, "ExternalImportReference", others, "(contact)")
    if body.get("ExternalNumber") is not None:
        check_unique(problems, body, "ExternalNumber", others, "(contact)")
    series = _check_series(client, body, problems)
    _check_number(client, body, problems, series, others, current)
    check_department_ref(ctx, body, problems)
    _check_sales_person(client, body, problems)
    _check_terms_and_groups(body, problems)
    _check_email_addresses(body, problems)
    _check_delivery(body, problems)
    _check_identity_and_address(body, problems)
    _check_amounts(body, problems)
    return series


def _check_name(body: dict, problems: Problems) -> None:
    if body.get("IsPerson"):
        for key in ("FirstName", "LastName"):
            if not (body.get(key) or "").strip():
                problems.add(key, f"{key} is required when IsPerson is true.")
    elif not (body.get("Name") or "").strip():
        problems.add(
            "Name", "Name is required for a customer that is not a person (IsPerson is false)."
        )


def _check_series(client: dict, body: dict, problems: Problems) -> dict | None:
    """The customer number series asked for, if any (None when it is missing or not one)."""
    series_id = body.get("SubLedgerNumberSeriesId")
    if not series_id:
        return None
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
    return series


def _series_text(series: list[dict]) -> str:
    return ", ".join(f"{s['FromInclusive']}-{s['ToInclusive']}" for s in series) or "none"


def _check_number(
    client: dict,
    body: dict,
    problems: Problems,
    series: dict | None,
    others: list[dict],
    current: dict | None,
) -> None:
    all_series = customer_series(client)
    number = body.get("Number")
    if number is None:
        if not all_series:
            problems.add(
                "Number",
                "The client has no customer sub-ledger number series; Number cannot be assigned.",
            )
        return
    candidates = [series] if series else all_series
    if number <= 0 or not any(s["FromInclusive"] <= number <= s["ToInclusive"] for s in candidates):
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
        and customer_has_entries(client, current)
    ):
        problems.add("Number", "Number cannot be changed on a customer that has ledger entries.")


def _check_sales_person(client: dict, body: dict, problems: Problems) -> None:
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


def _check_terms_and_groups(body: dict, problems: Problems) -> None:
    # The sandbox holds no payment or delivery terms, branding themes or contact groups.
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


def _check_email(body: dict, key: str, problems: Problems) -> None:
    value = body.get(key)
    if value and not _EMAIL_RE.match(value):
        problems.add(key, f"{key} '{value}' is not a valid e-mail address.")


def _check_email_addresses(body: dict, problems: Problems) -> None:
    for key in ("EmailAddress", "InvoiceEmailAddress", "PaymentReminderEmailAddress"):
        _check_email(body, key, problems)
    cc = body.get("InvoiceEmailAddressCC")
    if not cc:
        return
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


def _check_delivery(body: dict, problems: Problems) -> None:
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


def _valid_org_no(value: str) -> bool:
    if not re.fullmatch(r"\d{9}", value):
        return False
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    remainder = sum(int(d) * w for d, w in zip(value[:8], weights, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return check != 10 and check == int(value[8])


def _check_identity_and_address(body: dict, problems: Problems) -> None:
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
    if not address:
        return
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


def _check_amounts(body: dict, problems: Problems) -> None:
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


# -- storing -------------------------------------------------------------------------------


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


# -- handlers ------------------------------------------------------------------------------


def list_customers(ctx: Ctx) -> Response:
    return listing(
        ctx,
        CUSTOMER_FILTERS,
        records(ctx.client, "customers"),
        lambda record: customer_dto(ctx.client, record),
    )


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


def patch_customer(ctx: Ctx) -> Response:
    ctx.no_query()
    record = found(ctx, "customers", "Customer", int_param(ctx))
    view = post_view(record, "CustomerPostDto")
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
    if customer_has_entries(ctx.client, record):
        raise in_use("Customer", customer_id)
    del ctx.data["customers"][str(customer_id)]
    return empty_response(200)
