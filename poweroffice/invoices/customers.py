"""Our customers in PowerOffice: found by customer number, created when missing.

A customer keeps its Bitnet number in PowerOffice (inside PowerOffice's customer number series),
so people find the same customer under the same number in both systems (manual, "Viktig!" 4).
"""

from __future__ import annotations

from accounting.models import Customer, CustomerKind
from poweroffice.invoices.reference import Dto, ExportCache, ExportProblem


def customer_reference(customer: Customer) -> str:
    """Deterministic ExternalImportReference: a retried create finds the first one."""
    return f"bitnet-cust-{customer.subgroup_id}-{customer.number}"


def _series_for(cache: ExportCache, number: int) -> Dto:
    series = cache.customer_series()
    for item in series:
        if int(item.get("FromInclusive", 0)) <= number <= int(item.get("ToInclusive", -1)):
            return item
    ranges = (
        ", ".join(f"{s.get('FromInclusive')}–{s.get('ToInclusive')}" for s in series) or "ingen"
    )
    raise ExportProblem(
        f"Kundenummer {number} ligger utenfor kundenummerserien i PowerOffice ({ranges}). "
        "Juster kundenummerserien for undergruppen i Bitnet eller i PowerOffice.",
        kind="customer_number_series",
        refresh=("customer_series",),
    )


def customer_number_series(cache: ExportCache, number: int) -> Dto:
    """PowerOffice's customer number series ``number`` falls in; ExportProblem when none."""
    return _series_for(cache, number)


# PowerOffice refuses a person without both names (CustomerPostDto: FirstName and LastName are
# "required if the customer is a person"); Bitnet keeps one name field. A one-word name is taken
# as the last name (what lists sort and search by), with this for the first name.
MISSING_FIRST_NAME = "-"


def person_names(name: str) -> tuple[str, str]:
    """(FirstName, LastName) of a person's name: the last word is the last name."""
    words = name.split()
    if not words:
        return MISSING_FIRST_NAME, MISSING_FIRST_NAME
    if len(words) == 1:
        return MISSING_FIRST_NAME, words[0]
    return " ".join(words[:-1]), words[-1]


def customer_body(customer: Customer, *, series_id: str | None) -> Dto:
    """CustomerPostDto for one of our customers."""
    body: Dto = {
        "Number": customer.number,
        "Name": customer.name,
        "IsPerson": customer.kind == CustomerKind.PERSON,
        "ExternalImportReference": customer_reference(customer),
    }
    if series_id:
        body["SubLedgerNumberSeriesId"] = series_id
    if customer.org_number:
        body["OrganizationNumber"] = customer.org_number
    if customer.email:
        body["EmailAddress"] = customer.email
    if customer.phone:
        body["PhoneNumber"] = customer.phone
    if customer.kind == CustomerKind.PERSON:
        body["FirstName"], body["LastName"] = person_names(customer.name)
    # ContactAddressPostDto requires City and ZipCode: send the address only when both are known.
    if customer.postal_code and customer.city:
        body["MailAddress"] = {
            "AddressLine1": customer.address or None,
            "ZipCode": customer.postal_code,
            "City": customer.city,
            "CountryCode": "NO",
        }
    return body


def customer_ensure(*, cache: ExportCache, customer: Customer) -> Dto:
    """PowerOffice's customer for ``customer`` (``CustomerDto``), created when missing."""
    found = cache.customer(customer.number)
    if found is not None:
        return found
    with cache.creating:
        # Another thread of the run may have created it meanwhile.
        found = cache.customer(customer.number)
        if found is not None:
            return found
        series = _series_for(cache, customer.number)
        body = customer_body(customer, series_id=series.get("Id"))
        created = cache.client.create_customer(body)
        cache.remember_customer(created)
        return created
