"""Reference data of one PowerOffice client for an export run.

An export needs PowerOffice's ids for VAT codes, accounts, products, customers, departments and
employees. :class:`ExportCache` looks each of them up in this order: what this run already knows,
what earlier runs kept (refcache.py, shared by every process), and only then PowerOffice, in bulk
(:meth:`ExportCache.prefetch_invoices`: one request per kind at most for everything the run's
invoices need). In the steady state an invoice then costs the voucher and its PDF alone (SPEC
"Running and scale"), whether it is exported on its own or in a batch.

Kept data can be wrong: an account deleted in PowerOffice, a VAT code added there. So a problem
found with kept data (:attr:`ExportProblem.refresh` names the kinds it depends on) and a 404 from
PowerOffice on a kept id make the export read those kinds again, once (:meth:`ExportCache.refresh`)
and try again before anything is reported.

One cache serves the threads of a run: :meth:`ExportCache.for_thread` gives each thread its own
HTTP client over the same data. Problems found here are :class:`ExportProblem`: permanent, in
words a finance person understands.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from accounting.models import Invoice, InvoiceLine
from poweroffice.chart.vatcodes import vat_code_valid_on
from poweroffice.client.client import PowerOfficeClient
from poweroffice.invoices.refcache import ITEM_KINDS, KINDS, Key, ReferenceStore
from poweroffice.models import Connection, Department

if TYPE_CHECKING:
    from poweroffice.invoices.pdfs import PdfPipeline

# One object of PowerOffice's answer (a DTO), as the client returns it.
Dto = dict[str, Any]


class ExportProblem(Exception):
    """Something in Bitnet or PowerOffice must be fixed by a person before the export can work.

    ``refresh`` names the kinds of reference data the problem was found in: read again, they may
    show it fixed already (a VAT code added in PowerOffice since we last looked)."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        retryable: bool = False,
        refresh: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.retryable = retryable
        self.refresh = refresh


def _rate_text(rate: Decimal) -> str:
    return f"{rate.normalize():f}".replace(".", ",") + " %"


def _valid_on(vat: Dto, day: dt.date) -> bool:
    return vat_code_valid_on(vat, day)


def _by(
    field_name: str, dtos: Iterable[Dto], convert: Callable[[Any], Key] = int
) -> dict[Key, Dto]:
    found: dict[Key, Dto] = {}
    for dto in dtos:
        value = dto.get(field_name)
        if value is not None:
            found[convert(value)] = dto
    return found


@dataclass
class RunData:
    """What one run knows, shared by its threads. Absent objects are remembered too (``None``),
    so a second invoice asking for the same missing account does not ask PowerOffice again."""

    items: dict[str, dict[Key, Dto | None]] = field(
        default_factory=lambda: {kind: {} for kind in ITEM_KINDS}
    )
    lists: dict[str, list[Dto]] = field(default_factory=dict)
    # Kinds of which something came from the kept data (not read from PowerOffice in this run).
    kept: set[str] = field(default_factory=set)
    refreshed: set[str] = field(default_factory=set)
    local_departments: dict[str, Department] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)


class ExportCache:
    """PowerOffice ids for one connection (one client): this run's, kept ones, or asked for."""

    def __init__(
        self,
        *,
        connection: Connection,
        client: PowerOfficeClient,
        store: ReferenceStore | None = None,
        data: RunData | None = None,
    ) -> None:
        self.connection = connection
        self.client = client
        self.store = store if store is not None else ReferenceStore.for_connection(connection)
        self.data = data if data is not None else RunData()
        # Specification PDFs rendered ahead of time (see pdfs.PdfPipeline).
        self.pdfs: PdfPipeline | None = None

    def for_thread(self, client: PowerOfficeClient) -> ExportCache:
        """The same data (and PDFs) with another HTTP client, for another thread of the run."""
        other = ExportCache(
            connection=self.connection, client=client, store=self.store, data=self.data
        )
        other.pdfs = self.pdfs
        return other

    @property
    def subgroup_id(self) -> int:
        return self.connection.subgroup_id

    @property
    def creating(self) -> threading.RLock:
        """Held while a product or customer is looked up and created: two threads of a run
        never create the same one twice."""
        return self.data.lock

    # --- kept, or asked for --------------------------------------------------------------------

    def _load(
        self, kind: str, keys: Iterable[Key], fetch: Callable[[list[Key]], dict[Key, Dto]]
    ) -> None:
        """Make sure this run knows ``keys`` of ``kind``: kept ones first, the rest in bulk."""
        known = self.data.items[kind]
        wanted = sorted(set(keys) - known.keys(), key=str)
        if not wanted:
            return
        kept = self.store.get_items(kind, wanted)
        if kept:
            self.data.kept.add(kind)
            known.update(kept)
        missing = [key for key in wanted if key not in kept]
        if not missing:
            return
        found = fetch(missing)
        for key in missing:
            known[key] = found.get(key)
        self.store.put_items(kind, found)

    def _list(self, kind: str, fetch: Callable[[], list[Dto]]) -> list[Dto]:
        items = self.data.lists.get(kind)
        if items is None:
            items = self.store.get_list(kind)
            if items is not None:
                self.data.kept.add(kind)
            else:
                items = list(fetch() or [])
                self.store.put_list(kind, items)
            self.data.lists[kind] = items
        return items

    def _remember(self, kind: str, key: Key, dto: Dto) -> None:
        self.data.items[kind][key] = dto
        self.store.put_items(kind, {key: dto})

    def refresh(self, kinds: Iterable[str]) -> bool:
        """Forget what this run and earlier runs knew of ``kinds`` (each once per run), so the
        next look-up asks PowerOffice. Whether a new look-up can give another answer: False when
        all of it was read from PowerOffice in this run already."""
        wanted = [kind for kind in kinds if kind in KINDS]
        if not wanted:
            return False
        with self.data.lock:
            stale = [k for k in wanted if k in self.data.kept and k not in self.data.refreshed]
            for kind in stale:
                if kind in ITEM_KINDS:
                    self.data.items[kind].clear()
                else:
                    self.data.lists.pop(kind, None)
                self.data.kept.discard(kind)
                self.data.refreshed.add(kind)
            if stale:
                self.store.drop(stale)
            return bool(stale) or any(kind in self.data.refreshed for kind in wanted)

    # --- bulk ----------------------------------------------------------------------------------

    def prefetch(
        self,
        *,
        account_numbers: Iterable[int] = (),
        product_codes: Iterable[str] = (),
        customer_numbers: Iterable[int] = (),
        employee_numbers: Iterable[int] = (),
    ) -> None:
        """Know everything a run will need, at most one request per kind."""
        self.vat_codes()
        self._load("accounts", {int(n) for n in account_numbers}, self._fetch_accounts)
        self._load("products", set(product_codes), self._fetch_products)
        self._load("customers", {int(n) for n in customer_numbers}, self._fetch_customers)
        self._load("employees", {int(n) for n in employee_numbers}, self._fetch_employees)

    def prefetch_invoices(self, invoice_ids: list[int]) -> None:
        """Know every id a list of invoices will need (two SQL queries, a request per kind)."""
        # Imported here: products.py imports this module.
        from poweroffice.invoices.products import product_code

        lines = InvoiceLine.objects.filter(invoice_id__in=invoice_ids).values_list(
            "account__number", "article_id"
        )
        accounts: set[int] = set()
        articles: set[int] = set()
        for number, article_id in lines.distinct():
            accounts.add(number)
            articles.add(article_id)
        heads = Invoice.objects.filter(pk__in=invoice_ids).values_list(
            "customer__number", "created_by__employee_number"
        )
        customers: set[int] = set()
        employees: set[int] = set()
        for customer_number, employee_number in heads.distinct():
            customers.add(customer_number)
            if employee_number:
                employees.add(employee_number)
        self.prefetch(
            account_numbers=accounts,
            product_codes=[product_code(a) for a in articles],
            customer_numbers=customers,
            employee_numbers=employees if self.connection.include_employee_number else (),
        )

    def _fetch_accounts(self, numbers: list[Key]) -> dict[Key, Dto]:
        return _by("AccountNo", self.client.list_general_ledger_accounts(account_nos=numbers))

    # A long list of codes or numbers would make a long URL: the client asks in parts.
    def _fetch_products(self, codes: list[Key]) -> dict[Key, Dto]:
        return _by("Code", self.client.list_products(codes=[str(code) for code in codes]), str)

    def _fetch_customers(self, numbers: list[Key]) -> dict[Key, Dto]:
        return _by("Number", self.client.list_customers(customer_nos=numbers))

    def _fetch_employees(self, numbers: list[Key]) -> dict[Key, Dto]:
        return _by("Number", self.client.list_employees(employee_nos=numbers))

    # --- VAT codes -----------------------------------------------------------------------------

    def vat_codes(self) -> list[Dto]:
        return self._list("vat_codes", self.client.list_vat_codes)

    def vat_id(self, *, code: str, rate: Decimal, on: dt.date) -> int:
        """PowerOffice's id of our VAT code, checking that the rates agree."""
        candidates = [v for v in self.vat_codes() if str(v.get("Code")) == str(code)]
        if not candidates:
            raise ExportProblem(
                f"MVA-kode {code} mangler i PowerOffice.",
                kind="vat_missing",
                refresh=("vat_codes",),
            )
        current = [v for v in candidates if _valid_on(v, on)] or candidates
        active = [v for v in current if v.get("IsActive", True)]
        if not active:
            raise ExportProblem(
                f"MVA-kode {code} er ikke aktiv i PowerOffice.",
                kind="vat_inactive",
                refresh=("vat_codes",),
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
            refresh=("vat_codes",),
        )

    def vat_code_of_id(self, vat_id: int | None) -> str:
        for vat in self.vat_codes():
            if vat.get("Id") == vat_id:
                return str(vat.get("Code"))
        return "?"

    # --- accounts ------------------------------------------------------------------------------

    def account(self, number: int) -> Dto:
        self._load("accounts", [number], self._fetch_accounts)
        account = self.data.items["accounts"].get(number)
        if account is None:
            raise ExportProblem(
                f"Konto {number} finnes ikke i PowerOffice. Opprett kontoen i PowerOffice "
                "(Innstillinger > Kontoplan) eller velg en annen konto på varen.",
                kind="account_missing",
                refresh=("accounts",),
            )
        if account.get("IsActive") is False:
            raise ExportProblem(
                f"Konto {number} er deaktivert i PowerOffice. Aktiver den i PowerOffice eller "
                "velg en annen konto på varen.",
                kind="account_inactive",
                refresh=("accounts",),
            )
        return account

    # --- products ------------------------------------------------------------------------------

    def product(self, code: str) -> Dto | None:
        self._load("products", [code], self._fetch_products)
        return self.data.items["products"].get(code)

    def remember_product(self, product: Dto) -> None:
        self._remember("products", str(product.get("Code")), product)

    # --- customers -----------------------------------------------------------------------------

    def customer(self, number: int) -> Dto | None:
        self._load("customers", [number], self._fetch_customers)
        return self.data.items["customers"].get(number)

    def remember_customer(self, customer: Dto) -> None:
        self._remember("customers", int(customer["Number"]), customer)

    def customer_series(self) -> list[Dto]:
        return self._list(
            "customer_series",
            lambda: self.client.list_sub_ledger_number_series(series_type="Customer"),
        )

    # --- employees -----------------------------------------------------------------------------

    def employee(self, number: int) -> Dto | None:
        self._load("employees", [number], self._fetch_employees)
        return self.data.items["employees"].get(number)

    # --- departments ---------------------------------------------------------------------------

    def department_id(self, code: str) -> int:
        """The id of department ``code``: from "Synkroniser avdelinger" when we have it (no
        request), else from PowerOffice's list (kept between runs)."""
        if self.data.local_departments is None:
            self.data.local_departments = {
                d.code: d for d in Department.objects.filter(subgroup_id=self.subgroup_id)
            }
        local = self.data.local_departments.get(code)
        if local is not None and local.is_active:
            return int(local.external_id)
        departments = self._list("departments", self.client.list_departments)
        remote = next((d for d in departments if str(d.get("Code")) == code), None)
        if remote is None:
            raise ExportProblem(
                f"Avdeling {code} finnes ikke i PowerOffice. Klikk «Synkroniser avdelinger» under "
                "Administrasjon > Datadeling og velg ekstern avdeling for byrået på nytt.",
                kind="department_missing",
                refresh=("departments",),
            )
        if remote.get("IsActive") is False:
            raise ExportProblem(
                f"Avdeling {code} er deaktivert i PowerOffice. Velg en annen ekstern avdeling "
                "for byrået under Administrasjon > Byrå.",
                kind="department_inactive",
                refresh=("departments",),
            )
        return int(remote["Id"])
