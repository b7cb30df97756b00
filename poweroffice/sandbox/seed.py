"""Seed data of a sandbox client: a typical Norwegian funeral agency in PowerOffice Go.

One module, plain data; the VAT codes and accounts are those of accounting/standard_chart.py,
which the demo and the test fixtures read too; the departments and employees are the demo
agency's (bitnet/demo_staff.py). ``build_client_data`` is deterministic: the same id base and
seed give the same ids, uuids and timestamps.
"""

import hashlib
import uuid
from decimal import Decimal

from accounting import standard_chart
from bitnet import demo_staff

DEFAULT_APPLICATION_KEY = "bitnet-dev-application-key"
DEFAULT_SUBSCRIPTION_KEY = "bitnet-dev-subscription-key"

# Fixed timestamp of everything seeded, so two runs give identical data.
SEED_TIME = "2024-01-02T08:00:00+00:00"

_NAMESPACE = uuid.UUID("5b1e0f7a-8c3d-4d6e-9f20-7a1b2c3d4e5f")


# A new client's keys, unless the hook that creates it names others. Never read from the
# environment: the sandbox must not learn (and hand out) an installation's real keys.
def default_application_key() -> str:
    return DEFAULT_APPLICATION_KEY


def default_subscription_key() -> str:
    return DEFAULT_SUBSCRIPTION_KEY


# The VAT codes and the chart of accounts come from the one shared table
# (accounting/standard_chart.py, plain data), in the shapes build_client_data reads.
# (code, name, description, rate as a fraction, is_active, valid_from, valid_to, direction)
# direction: "sales" (outgoing VAT or no VAT on sales), "purchase" (input VAT), "none".
VAT_CODES = [
    (
        vat.code,
        vat.name,
        vat.description,
        (vat.rate / 100).normalize(),
        vat.is_active,
        vat.valid_from,
        vat.valid_to,
        vat.direction,
    )
    for vat in standard_chart.VAT_CODES
]

# Chart of accounts (NS 4102) of a funeral agency.
# (account no, name, type, vat code, vat code locked, active, department required)
ACCOUNTS = [
    (
        row.number,
        row.name,
        row.kind,
        row.vat_code,
        row.is_vat_code_locked,
        row.is_active,
        row.is_department_required,
    )
    for row in standard_chart.ACCOUNTS
]

# The departments and employees are the demo agency's (bitnet/demo_staff.py, plain data), so
# an employee number in the demo names the same person here.
# (code, name, active)
DEPARTMENTS = list(demo_staff.DEPARTMENTS)

# (number, first name, last name, department code, job title)
EMPLOYEES = [
    (p.number, p.first_name, p.last_name, p.department, p.job_title) for p in demo_staff.STAFF
]


def _mileage(code, name, description, *, active=True):
    """A kilometre allowance: quantity (km) × rate, posted to 7100."""
    return (code, name, "QuantityAndRate", "ExpenseAllowance", description, None, active, 7100)


def _refund(code, name):
    """A refunded outlay (toll, parking, ferry), posted to 7140."""
    return (code, name, "ExpenseRefund", "ExpenseAllowance", "RefusjonUtlegg", None, True, 7140)


# (code, name, processing type, benefit, benefit description, rate, active, account no)
PAY_ITEMS = [
    ("1000", "Fastlønn", "FixedSalary", "Cash", "Fastloenn", None, True, 5000),
    ("1010", "Timelønn", "HourlyWage", "Cash", "Timeloenn", None, True, 5000),
    _mileage("7100", "Kilometergodtgjørelse", "KilometergodtgjoerelseBil"),
    _mileage("7101", "Passasjertillegg", "KilometergodtgjoerelsePassasjertillegg"),
    _mileage("7102", "Tillegg for tilhenger og utstyr", "KilometergodtgjoerelseBil"),
    _refund("7140", "Bompenger"),
    _refund("7141", "Parkering"),
    _refund("7142", "Ferje"),
    _mileage("7199", "Kilometergodtgjørelse (utgått)", "KilometergodtgjoerelseBil", active=False),
]

# (type, name, from, to, general ledger account no, default)
NUMBER_SERIES = [
    ("Customer", "Kunder", 10000, 19999, 1500, True),
    ("Supplier", "Leverandører", 20000, 29999, 2400, True),
    ("Employee", "Ansatte", 1, 9999, 2930, True),
]

COLLECTIONS = (
    "vatcodes",
    "accounts",
    "customers",
    "products",
    "departments",
    "employees",
    "payitems",
    "numberseries",
    "outgoinginvoices",
    "vouchers",
    "salarylines",
)


def client_id_base(seed: str) -> int:
    """A deterministic id base for a client; every id of the client is above it.

    Most ids are int64 in the contract and land above 2**31 here, so a client that keeps them
    in 32 bits fails in the sandbox as it would in PowerOffice.
    """
    digest = int(hashlib.sha256(seed.encode()).hexdigest()[:12], 16)
    return (digest % 89_000 + 1_000) * 100_000


VAT_IDS_PER_CLIENT = 1_000


def vat_id_base(id_base: int) -> int:
    """Where a client's VAT code ids start: VAT code ids are int32 wherever the contract refers
    to them (``GeneralLedgerAccountDto.VatCodeId``, the voucher lines' ``VatId``), so each client
    has its own block of ids far below 2,147,483,647 (at most ~90 million)."""
    return id_base // 100_000 * VAT_IDS_PER_CLIENT


def seeded_uuid(id_base: int, kind: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{id_base}/{kind}/{key}"))


def build_client_data(*, id_base: int) -> tuple[dict[str, dict[str, dict]], int, int]:
    """Return (collections, last id used, last VAT code id used) of a freshly seeded client."""
    next_id = id_base
    next_vat_id = vat_id_base(id_base)
    data: dict[str, dict[str, dict]] = {name: {} for name in COLLECTIONS}

    def new_id() -> int:
        nonlocal next_id
        next_id += 1
        return next_id

    vat_ids: dict[str, int] = {}
    for code, name, description, rate, active, valid_from, valid_to, direction in VAT_CODES:
        next_vat_id += 1
        vat_id = next_vat_id
        if valid_to is None:
            vat_ids[code] = vat_id
        data["vatcodes"][str(vat_id)] = {
            "BaseVatCodeId": None,
            "Code": code,
            "Description": description,
            "Id": vat_id,
            "IsActive": active,
            "IsCustom": False,
            "Name": name,
            "Rate": Decimal(rate),
            "ValidFrom": valid_from,
            "ValidTo": valid_to,
            "VatBasisRatio": None,
            "VatBasisRatioValidFrom": None,
            "VatBasisRatios": None,
            "_direction": direction,
        }

    account_ids: dict[int, int] = {}
    for number, name, kind, vat_code, locked, active, department_required in ACCOUNTS:
        account_id = new_id()
        account_ids[number] = account_id
        data["accounts"][str(account_id)] = {
            "AccountNo": number,
            "AgricultureDepartment": "None",
            "CurrencyCode": "NOK",
            "DepartmentId": None,
            "GeneralLedgerAccountType": kind,
            "Id": account_id,
            "IsActive": active,
            "IsDepartmentRequired": department_required,
            "IsProjectRequired": False,
            "IsVatCodeLocked": locked,
            "LastChangedDateTimeOffset": SEED_TIME,
            "Name": name,
            "VatCodeId": vat_ids[vat_code],
            "VatReturnSpecification": "None",
        }

    department_ids: dict[str, int] = {}
    for code, name, active in DEPARTMENTS:
        department_id = new_id()
        department_ids[code] = department_id
        data["departments"][str(department_id)] = {
            "Code": code,
            "CreatedDateTimeOffset": SEED_TIME,
            "CreatedFromImportJournalId": None,
            "Id": department_id,
            "IsActive": active,
            "LastChangedDateTimeOffset": SEED_TIME,
            "ManagerEmployeeId": None,
            "Name": name,
        }

    for number, first_name, last_name, department_code, job_title in EMPLOYEES:
        employee_id = new_id()
        data["employees"][str(employee_id)] = {
            "ContactCreatedDateTimeOffset": SEED_TIME,
            "ContactGroupIds": [],
            "CreatedFromImportJournalId": None,
            "DateOfBirth": None,
            "DepartmentId": department_ids[department_code],
            "EmailAddress": f"{first_name}.{last_name}@eksempel.no".lower(),
            "EmployeeCreatedDateTimeOffset": SEED_TIME,
            "EndDate": None,
            "ExternalImportReference": None,
            "ExternalNumber": None,
            "FirstName": first_name,
            "HiredDate": "2020-01-01",
            "Id": employee_id,
            "IsArchived": False,
            "JobTitle": job_title,
            "LastChangedDateTimeOffset": SEED_TIME,
            "LastName": last_name,
            "MailAddress": None,
            "ManagerEmployeeId": None,
            "NationalIdNumber": None,
            "Number": number,
            "PhoneNumber": None,
            "StartDate": "2020-01-01",
            "SubledgerAccountId": new_id(),
        }

    for code, name, processing, benefit, description, rate, active, account_no in PAY_ITEMS:
        pay_item_id = seeded_uuid(id_base, "payitem", code)
        data["payitems"][pay_item_id] = {
            "AccountId": account_ids[account_no],
            "Benefit": benefit,
            "BenefitDescription": description,
            "Code": code,
            "CreatedDateTimeOffset": SEED_TIME,
            "DeductionPayItemId": None,
            "EarnedContinentalShelf": None,
            "EarnedSupportVessel": None,
            "EarningsCountryCode": None,
            "EmployerContributionBasis": processing in ("FixedSalary", "HourlyWage"),
            "FullTaxOnHalfTaxPayrolls": False,
            "HolidayPayBasis": processing in ("FixedSalary", "HourlyWage"),
            "Id": pay_item_id,
            "IncludeInIncomeReport": True,
            "IsActive": active,
            "LastChangedDateTimeOffset": SEED_TIME,
            "Name": name,
            "OppositeAccountId": account_ids[2930],
            "PensionBasis": processing in ("FixedSalary", "HourlyWage"),
            "Percentage": None,
            "PostingType": "GeneralLedgerAccount",
            "ProcessingType": processing,
            "Rate": rate,
            "TaxCountryCode": None,
            "TaxDeduction": "TaxTable" if benefit == "Cash" else "NoTax",
            "TradeUnionBasis": False,
        }

    for kind, name, low, high, account_no, default in NUMBER_SERIES:
        series_id = seeded_uuid(id_base, "numberseries", kind)
        data["numberseries"][series_id] = {
            "FromInclusive": low,
            "GeneralLedgerAccountId": account_ids[account_no],
            "Id": series_id,
            "IsClientTrust": False,
            "IsDefault": default,
            "Name": name,
            "SubLedgerNumberSeriesType": kind,
            "ToInclusive": high,
        }

    return data, next_id, next_vat_id
