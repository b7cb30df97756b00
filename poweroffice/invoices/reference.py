"""Reference data of one PowerOffice client, read once per export run.

An export needs PowerOffice's ids for VAT codes, accounts, products, customers, departments and
employees. :class:`ExportCache` asks for each of them at most once per run, and in bulk when it
is told the whole batch up front (:meth:`ExportCache.prefetch`), so that a batch costs close to
one request per invoice (the voucher) plus one for the PDF (SPEC "Running and scale").

Problems found here are :class:`ExportProblem`: permanent, in words a finance person understands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from poweroffice.chart.vatcodes import vat_code_valid_on
from poweroffice.client.client import PowerOfficeClient
from poweroffice.models import Connection, Department

if TYPE_CHECKING:
    from poweroffice.invoices.batch import PdfPipeline

# One object of PowerOffice's answer (a DTO), as the client returns it.
Dto = dict[str, Any]


class ExportProblem(Exception):
    """Something in Bitnet or PowerOffice must be fixed by a person before the export can work."""

    def __init__(self, message: str, *, kind: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.retryable = retryable


def _rate_text(rate: Decimal) -> str:
    return f"{rate.normalize():f}".replace(".", ",") + " %"


def _valid_on(vat: Dto, day: dt.date) -> bool:
    return vat_code_valid_on(vat, day)


class ExportCache:
    """PowerOffice ids for one connection (one client), filled lazily and in bulk.

    Absent objects are remembered too (``None``), so a second invoice asking for the same missing
    account does not ask PowerOffice again.
    """

    def __init__(self, *, connection: Connection, client: PowerOfficeClient) -> None:
        self.connection = connection
        self.client = client
        self._vat_codes: list[Dto] | None = None
        self._accounts: dict[int, Dto | None] = {}
        self._products: dict[str, Dto | None] = {}
        self._customers: dict[int, Dto | None] = {}
        self._employees: dict[int, Dto | None] = {}
        self._departments: dict[str, Dto] | None = None
        self._local_departments: dict[str, Department] | None = None
        self._customer_series: list[Dto] | None = None
        # Specification PDFs rendered ahead of time by a batch (see batch.PdfPipeline).
        self.pdfs: PdfPipeline | None = None

    @property
    def subgroup_id(self) -> int:
        return self.connection.subgroup_id

    # --- bulk ----------------------------------------------------------------------------------

    def prefetch(
        self,
        *,
        account_numbers: Iterable[int] = (),
        product_codes: Iterable[str] = (),
        customer_numbers: Iterable[int] = (),
        employee_numbers: Iterable[int] = (),
    ) -> None:
        """Read everything a batch will need, one request per kind."""
        self.vat_codes()
        self._fetch_accounts(account_numbers)
        self._fetch_products(product_codes)
        self._fetch_customers(customer_numbers)
        self._fetch_employees(employee_numbers)

    def _fetch_accounts(self, numbers: Iterable[int]) -> None:
        wanted = sorted({int(n) for n in numbers} - self._accounts.keys())
        if not wanted:
            return
        found = {
            a.get("AccountNo"): a
            for a in self.client.list_general_ledger_accounts(account_nos=wanted)
        }
        for number in wanted:
            self._accounts[number] = found.get(number)

    # A long list of codes or numbers would make a long URL: the client asks in parts.
    def _fetch_products(self, codes: Iterable[str]) -> None:
        wanted = sorted(set(codes) - self._products.keys())
        if not wanted:
            return
        found = {p.get("Code"): p for p in self.client.list_products(codes=wanted)}
        for code in wanted:
            self._products[code] = found.get(code)

    def _fetch_customers(self, numbers: Iterable[int]) -> None:
        wanted = sorted({int(n) for n in numbers} - self._customers.keys())
        if not wanted:
            return
        found = {c.get("Number"): c for c in self.client.list_customers(customer_nos=wanted)}
        for number in wanted:
            self._customers[number] = found.get(number)

    def _fetch_employees(self, numbers: Iterable[int]) -> None:
        wanted = sorted({int(n) for n in numbers} - self._employees.keys())
        if not wanted:
            return
        found = {e.get("Number"): e for e in self.client.list_employees(employee_nos=wanted)}
        for number in wanted:
            self._employees[number] = found.get(number)

    # --- VAT codes -----------------------------------------------------------------------------

    def vat_codes(self) -> list[Dto]:
        if self._vat_codes is None:
            self._vat_codes = self.client.list_vat_codes()
        return self._vat_codes

    def vat_id(self, *, code: str, rate: Decimal, on: dt.date) -> int:
        """PowerOffice's id of our VAT code, checking that the rates agree."""
        candidates = [v for v in self.vat_codes() if str(v.get("Code")) == str(code)]
        if not candidates:
            raise ExportProblem(f"MVA-kode {code} mangler i PowerOffice.", kind="vat_missing")
        current = [v for v in candidates if _valid_on(v, on)] or candidates
        active = [v for v in current if v.get("IsActive", True)]
        if not active:
            raise ExportProblem(
                f"MVA-kode {code} er ikke aktiv i PowerOffice.", kind="vat_inactive"
            )
        fraction = rate / Decimal(100)
        for vat in active:
            if Decimal(str(vat.get("Rate", 0))) == fraction:
                return int(vat["Id"])
        theirs = Decimal(str(active[0].get("Rate", 0))) * 100
        raise ExportProblem(
            f"MVA-kode {code} har sats {_rate_text(rate)} i Bitnet, men {_rate_text(theirs)} i "
            "PowerOffice. Rett satsen under Administrasjon > MVA-koder.",
            kind="vat_rate",
        )

    def vat_code_of_id(self, vat_id: int | None) -> str:
        for vat in self.vat_codes():
            if vat.get("Id") == vat_id:
                return str(vat.get("Code"))
        return "?"

    # --- accounts ------------------------------------------------------------------------------

    def account(self, number: int) -> Dto:
        if number not in self._accounts:
            self._fetch_accounts([number])
        account = self._accounts.get(number)
        if account is None:
            raise ExportProblem(
                f"Konto {number} finnes ikke i PowerOffice. Opprett kontoen i PowerOffice "
                "(Innstillinger > Kontoplan) eller velg en annen konto på varen.",
                kind="account_missing",
            )
        if account.get("IsActive") is False:
            raise ExportProblem(
                f"Konto {number} er deaktivert i PowerOffice. Aktiver den i PowerOffice eller "
                "velg en annen konto på varen.",
                kind="account_inactive",
            )
        return account

    # --- products ------------------------------------------------------------------------------

    def product(self, code: str) -> Dto | None:
        if code not in self._products:
            self._fetch_products([code])
        return self._products.get(code)

    def remember_product(self, product: Dto) -> None:
        self._products[str(product.get("Code"))] = product

    # --- customers -----------------------------------------------------------------------------

    def customer(self, number: int) -> Dto | None:
        if number not in self._customers:
            self._fetch_customers([number])
        return self._customers.get(number)

    def remember_customer(self, customer: Dto) -> None:
        self._customers[int(customer["Number"])] = customer

    def customer_series(self) -> list[Dto]:
        if self._customer_series is None:
            self._customer_series = self.client.list_sub_ledger_number_series(
                series_type="Customer"
            )
        return self._customer_series

    # --- employees -----------------------------------------------------------------------------

    def employee(self, number: int) -> Dto | None:
        if number not in self._employees:
            self._fetch_employees([number])
        return self._employees.get(number)

    # --- departments ---------------------------------------------------------------------------

    def department_id(self, code: str) -> int:
        """The id of department ``code``: from "Synkroniser avdelinger" when we have it (no
        request), else from PowerOffice once per run."""
        if self._local_departments is None:
            self._local_departments = {
                d.code: d for d in Department.objects.filter(subgroup_id=self.subgroup_id)
            }
        local = self._local_departments.get(code)
        if local is not None and local.is_active:
            return int(local.external_id)
        if self._departments is None:
            self._departments = {str(d.get("Code")): d for d in self.client.list_departments()}
        remote = self._departments.get(code)
        if remote is None:
            raise ExportProblem(
                f"Avdeling {code} finnes ikke i PowerOffice. Klikk «Synkroniser avdelinger» under "
                "Administrasjon > Datadeling og velg ekstern avdeling for byrået på nytt.",
                kind="department_missing",
            )
        if remote.get("IsActive") is False:
            raise ExportProblem(
                f"Avdeling {code} er deaktivert i PowerOffice. Velg en annen ekstern avdeling "
                "for byrået under Administrasjon > Byrå.",
                kind="department_inactive",
            )
        return int(remote["Id"])
