"""The /v2 routes: which handler answers a path and method, and the checks before it runs
(bearer token and subscription key, 401; the privilege the route needs, 403)."""

import re
from email.message import Message

from ..replica import keys_before, replica_view, stamp_created
from ..responses import ApiError, Response, empty_response
from ..state import SandboxState
from . import (
    accounts,
    customers,
    departments,
    documentation,
    employees,
    integration,
    invoices,
    payroll,
    products,
    transactions,
    vouchers,
)
from .context import Ctx

_ID = r"(?P<id>[^/]+)"

_COMMON = ("CommonServices", "CommonServices_Full")
_ACCOUNTS = ("GeneralLedgerAccount", "GeneralLedgerAccount_Full")
_DOCUMENTATION = ("VoucherDocumentation", "VoucherDocumentation_Full")
_INVOICES = ("OutgoingInvoice", "OutgoingInvoice_Full")

# (method, path pattern, handler, privileges of which one is needed; empty = any valid token)
ROUTES = [
    ("GET", r"/ClientIntegrationInformation", integration.get_client_information, ()),
    ("GET", r"/Customers", customers.list_customers, ("Customer", "Customer_Full")),
    ("POST", r"/Customers", customers.post_customer, ("Customer_Full",)),
    ("GET", rf"/Customers/{_ID}", customers.get_customer, ("Customer", "Customer_Full")),
    ("PATCH", rf"/Customers/{_ID}", customers.patch_customer, ("Customer_Full",)),
    ("DELETE", rf"/Customers/{_ID}", customers.delete_customer, ("Customer_Full",)),
    ("GET", r"/SubLedgerNumberSeries", accounts.list_number_series, _COMMON),
    ("GET", rf"/SubLedgerNumberSeries/{_ID}", accounts.get_number_series, _COMMON),
    ("GET", r"/VatCodes", accounts.list_vat_codes, _COMMON),
    ("GET", r"/Products", products.list_products, ("Product", "Product_Full")),
    ("POST", r"/Products", products.post_product, ("Product_Full",)),
    ("GET", rf"/Products/{_ID}", products.get_product, ("Product", "Product_Full")),
    ("PATCH", rf"/Products/{_ID}", products.patch_product, ("Product_Full",)),
    ("DELETE", rf"/Products/{_ID}", products.delete_product, ("Product_Full",)),
    ("GET", r"/Departments", departments.list_departments, ("Department", "Department_Full")),
    (
        "GET",
        rf"/Departments/{_ID}",
        departments.get_department,
        ("Department", "Department_Full"),
    ),
    ("GET", r"/Employees", employees.list_employees, ("Employee", "Employee_Full")),
    (
        "GET",
        r"/Employees/(?P<employeeId>[^/]+)",
        employees.get_employee,
        ("Employee", "Employee_Full"),
    ),
    ("GET", r"/GeneralLedgerAccounts", accounts.list_accounts, _ACCOUNTS),
    ("GET", rf"/GeneralLedgerAccounts/{_ID}", accounts.get_account, _ACCOUNTS),
    (
        "POST",
        r"/Vouchers/OutgoingInvoiceJournals",
        vouchers.post_voucher,
        ("OutgoingInvoiceVoucher_Full",),
    ),
    (
        "GET",
        rf"/Vouchers/OutgoingInvoiceJournals/{_ID}",
        vouchers.get_voucher,
        ("OutgoingInvoiceVoucher_Full",),
    ),
    ("POST", rf"/Vouchers/Reverse/{_ID}", vouchers.post_reverse, ("YearEndVoucher_Full",)),
    ("GET", r"/VoucherDocumentation", documentation.list_documentation, _DOCUMENTATION),
    (
        "PUT",
        r"/VoucherDocumentation",
        documentation.put_documentation,
        ("VoucherDocumentation_Full",),
    ),
    (
        "GET",
        r"/VoucherDocumentation/Download",
        documentation.download_documentation,
        _DOCUMENTATION,
    ),
    ("GET", r"/OutgoingInvoices", invoices.list_invoices, _INVOICES),
    (
        "GET",
        r"/AccountTransactions",
        transactions.list_transactions,
        ("AccountTransaction", "AccountTransaction_Full"),
    ),
    ("GET", rf"/OutgoingInvoices/{_ID}", invoices.get_invoice, _INVOICES),
    ("GET", rf"/OutgoingInvoices/{_ID}/Lines", invoices.list_invoice_lines, _INVOICES),
    ("GET", r"/PayItems", payroll.list_pay_items, ("PayItem", "PayItem_Full")),
    ("GET", rf"/PayItems/{_ID}", payroll.get_pay_item, ("PayItem", "PayItem_Full")),
    ("GET", r"/SalaryLines", payroll.list_salary_lines, ("SalaryLine", "SalaryLine_Full")),
    ("POST", r"/SalaryLines", payroll.post_salary_line, ("SalaryLine_Full",)),
    ("GET", rf"/SalaryLines/{_ID}", payroll.get_salary_line, ("SalaryLine", "SalaryLine_Full")),
    ("PATCH", rf"/SalaryLines/{_ID}", payroll.patch_salary_line, ("SalaryLine_Full",)),
    ("DELETE", rf"/SalaryLines/{_ID}", payroll.delete_salary_line, ("SalaryLine_Full",)),
]

# The list calls on which the contract declares 404 ("Given when resource was not found") beside
# the 204 of an empty result. With the config's ``empty_list_404`` on, they answer 404 for none.
NOT_FOUND_LISTS = {
    "/customers": "customers",
    "/employees": "employees",
    "/outgoinginvoices": "invoices",
}

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


def _unauthorized(reason: str | None) -> Response:
    description = {
        "expired": "The token expired",
        "revoked": "The token was revoked",
    }.get(reason or "", "The token is invalid")
    return empty_response(
        401,
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'
        },
    )


def dispatch(
    state: SandboxState,
    *,
    method: str,
    path: str,
    route: str,
    env: str,
    pairs: list[tuple[str, str]],
    headers: Message,
    body: bytes,
    subscription_key: str | None,
) -> Response:
    """Answer one /v2 call (``route`` is the path below /v2): route, authenticate, authorize,
    run the handler under the state lock, and keep the state when something changed."""
    with state.lock:
        handler, params, privileges = resolve(method, route)
        scheme, _, value = (headers.get("Authorization") or "").partition(" ")
        bearer = value.strip() if scheme.lower() == "bearer" else None
        if not subscription_key or not bearer:
            return empty_response(401, headers={"WWW-Authenticate": "Bearer"})
        client, token = state.authenticate(bearer, subscription_key, env)
        if client is None:
            return _unauthorized(token)
        valid = SandboxState.valid_privileges(client)
        if privileges and not any(p in valid for p in privileges):
            raise ApiError(
                403,
                "Forbidden",
                f"The integration does not have the privilege {' or '.join(privileges)} on "
                "this client "
                f"(active subscriptions: {', '.join(client['subscriptions']) or 'none'}).",
            )
        lag = state.config.get("read_lag_ms") or 0
        before = keys_before(client) if lag and method != "GET" else None
        ctx = Ctx(
            state=state,
            client=replica_view(client) if lag and method == "GET" else client,
            token=token,
            method=method,
            route=route,
            params=params,
            pairs=pairs,
            headers=headers,
            body=body,
            instance=path.rstrip("/"),
        )
        response = handler(ctx)
        listed = NOT_FOUND_LISTS.get(route.rstrip("/").lower())
        if response.status == 204 and listed and state.config.get("empty_list_404"):
            raise ApiError(404, "Object(s) not found", f"No {listed} found.")
        if method != "GET" and response.status < 400:
            if before is not None:
                stamp_created(client, before, lag)
            state.save()
        return response
