"""The chart: GET /GeneralLedgerAccounts, /VatCodes and /SubLedgerNumberSeries (read-only)."""

from datetime import date

from ..query import Filter, Query, flag, since, within
from ..responses import ApiError, Response
from ..serialize import serialize
from .common import DEPARTMENT_CODE, fetch, listing, records, uuid_param, with_references
from .context import Ctx

_AGRICULTURE_DEPARTMENTS = {
    "none",
    "finance",
    "farming",
    "forestry",
    "furanimals",
    "otherindustries",
    "private",
}


def vat_direction(record: dict) -> str:
    direction = record.get("_direction")
    if direction:
        return direction
    description = (record.get("Description") or "").lower()
    if description.startswith("inngående"):
        return "purchase"
    return "sales"


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


# -- Sub-ledger number series --------------------------------------------------------------

NUMBER_SERIES_FILTERS = (
    within("generalLedgerAccountNos", "GeneralLedgerAccountNo", on_view=True),
    flag("isDefault", "IsDefault"),
    Filter(
        "subLedgerNumberSeriesType",
        lambda q, name: q.enum(name, ("Customer", "Supplier", "Employee")),
        lambda kinds, item: item.get("SubLedgerNumberSeriesType") in kinds,
    ),
)


def list_number_series(ctx: Ctx) -> Response:
    return listing(
        ctx,
        NUMBER_SERIES_FILTERS,
        records(ctx.client, "numberseries"),
        lambda record: series_dto(ctx.client, record),
    )


def get_number_series(ctx: Ctx) -> Response:
    return fetch(ctx, "numberseries", "Sub-ledger number series", series_dto, uuid_param)


# -- VAT codes -----------------------------------------------------------------------------


def _not_expired(today: str, record: dict) -> bool:
    return not (record.get("ValidTo") and str(record["ValidTo"])[:10] < today)


VAT_CODE_FILTERS = (
    # Expired codes are left out unless includeExpired is true.
    Filter(
        "includeExpired",
        Query.boolean,
        _not_expired,
        active=lambda include: not include,
        prepare=lambda _include: date.today().isoformat(),
    ),
    flag("isActive", "IsActive"),
)


def list_vat_codes(ctx: Ctx) -> Response:
    return listing(
        ctx,
        VAT_CODE_FILTERS,
        records(ctx.client, "vatcodes"),
        lambda record: serialize(record, "VatCodeDto"),
    )


# -- General ledger accounts ---------------------------------------------------------------


def _agriculture_departments(values: list[str]) -> set[str]:
    for value in values:
        if value.lower() not in _AGRICULTURE_DEPARTMENTS:
            raise ApiError(
                400,
                "Unable to cast object(s)",
                f"agricultureDepartments has an invalid value '{value}'.",
            )
    return {value.lower() for value in values}


ACCOUNT_FILTERS = (
    within("accountNos", "AccountNo"),
    Filter(
        "agricultureDepartments",
        Query.strings,
        lambda departments, item: (
            (item.get("AgricultureDepartment") or "None").lower() in departments
        ),
        prepare=_agriculture_departments,
    ),
    since("lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset"),
)


def list_accounts(ctx: Ctx) -> Response:
    return listing(
        ctx,
        ACCOUNT_FILTERS,
        records(ctx.client, "accounts"),
        lambda record: account_dto(ctx.client, record),
    )


def get_account(ctx: Ctx) -> Response:
    return fetch(ctx, "accounts", "General ledger account", account_dto)
