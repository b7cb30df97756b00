"""PowerOffice's reference data of one client, kept between export runs in Django's cache.

An automatic export runs for one invoice at a time, all day long. Without a memory between runs
each of them would ask PowerOffice again for the VAT codes, the accounts, the products and the
customer (some 10 requests per invoice instead of the voucher alone). So what an export learns is
kept here, in Django's cache (Redis when ``REDIS_URL`` is set, the file cache otherwise), shared by
every process:

- **Keyed by the client**, never by its key: the PowerOffice API's address (production, demo or a
  sandbox) and the connection's client id (``ClientIntegrationInformation.ClientId``). A
  connection without a client id keeps nothing between runs.
- **Only what exists.** Absent objects are never kept (an account created in PowerOffice a minute
  ago is found at once), and only the fields the export reads are kept of customers, employees
  and products (no names or addresses in the cache).
- **Fresh enough.** Each kind has a generation: :meth:`ReferenceStore.drop` starts a new one and
  everything kept before is forgotten at once (Valider kontoplan, Synkroniser avdelinger, a new
  client key, or an export that found the cache wrong). Entries also age out: accounts, VAT codes,
  departments, employees and number series after ``POWEROFFICE_REFERENCE_TTL`` seconds, products
  and customers (which we created ourselves, and which change only when a person edits them in
  PowerOffice) after ``POWEROFFICE_REFERENCE_TTL_OWN``.

How a run uses it (a miss or a 404 refreshes that kind once) is in reference.py.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache

from poweroffice.models import Connection

logger = logging.getLogger(__name__)

Dto = dict[str, Any]
Key = int | str

# Kinds kept per item (looked up by number or code) and kinds kept as one list.
ITEM_KINDS = ("accounts", "products", "customers", "employees")
LIST_KINDS = ("vat_codes", "departments", "customer_series")
KINDS = ITEM_KINDS + LIST_KINDS
# Kinds that only we create in PowerOffice: they live longer (POWEROFFICE_REFERENCE_TTL_OWN).
OWN_KINDS = ("products", "customers")
# What the export reads of the kinds that carry personal data or much text; others are kept whole.
KEPT_FIELDS = {
    "customers": ("Id", "Number", "SubledgerAccountId", "ExternalImportReference", "IsArchived"),
    "employees": ("Id", "Number", "IsArchived"),
    "products": ("Id", "Code", "IsArchived"),
}

PREFIX = "poweroffice:ref"


def client_scope(connection: Connection) -> str | None:
    """The name of the connection's PowerOffice client in cache keys, or None without a client id.

    The API address is part of it: the same client id in the demo environment (or in a sandbox)
    is another client's data."""
    if not connection.client_id:
        return None
    api = hashlib.sha256(str(settings.POWEROFFICE_API_URL).encode("utf-8")).hexdigest()[:12]
    return f"{api}:{connection.client_id}"


def _ttl(kind: str) -> float:
    if kind in OWN_KINDS:
        return float(settings.POWEROFFICE_REFERENCE_TTL_OWN)
    return float(settings.POWEROFFICE_REFERENCE_TTL)


def _kept(kind: str, dto: Dto) -> Dto:
    fields = KEPT_FIELDS.get(kind)
    if fields is None:
        return dto
    return {name: dto[name] for name in fields if name in dto}


class ReferenceStore:
    """The kept reference data of one PowerOffice client (a no-op without a client scope).

    Thread-safe: it holds nothing but the generations it has read, and cache calls are atomic.
    Cache failures never stop an export: they are logged and count as misses.
    """

    def __init__(self, scope: str | None) -> None:
        self.scope = scope
        self._generations: dict[str, str] = {}

    @classmethod
    def for_connection(cls, connection: Connection) -> ReferenceStore:
        return cls(client_scope(connection))

    @property
    def enabled(self) -> bool:
        return self.scope is not None

    # --- generations ---------------------------------------------------------------------------

    def _generation_key(self, kind: str) -> str:
        return f"{PREFIX}:{self.scope}:{kind}:generation"

    def _generation(self, kind: str) -> str:
        generation = self._generations.get(kind)
        if generation is not None:
            return generation
        keys = {self._generation_key(k): k for k in KINDS if k not in self._generations}
        found = cache.get_many(list(keys))
        for key, name in keys.items():
            value = found.get(key)
            if value is None:
                # add() is atomic: of two processes starting a generation at once, one wins and
                # both read the winner's.
                cache.add(key, uuid.uuid4().hex[:12], timeout=None)
                value = cache.get(key)
            if value is not None:
                self._generations[name] = str(value)
        return self._generations.get(kind, "none")

    def _item_key(self, kind: str, key: Key) -> str:
        return f"{PREFIX}:{self.scope}:{kind}:{self._generation(kind)}:{key}"

    # --- items ---------------------------------------------------------------------------------

    def get_items(self, kind: str, keys: Iterable[Key]) -> dict[Key, Dto]:
        """The kept, fresh entries among ``keys`` (the others are misses)."""
        if not self.enabled:
            return {}
        try:
            wanted = {self._item_key(kind, key): key for key in keys}
            found = cache.get_many(list(wanted)) if wanted else {}
        except Exception:  # a cache outage is a miss, never a failed export
            logger.warning("Reference cache unavailable (get %s)", kind, exc_info=True)
            return {}
        oldest = time.time() - _ttl(kind)
        return {
            wanted[cache_key]: entry[1]
            for cache_key, entry in found.items()
            if isinstance(entry, tuple) and len(entry) == 2 and entry[0] >= oldest
        }

    def put_items(self, kind: str, items: Mapping[Key, Dto | None]) -> None:
        """Keep the entries that exist (absent ones are never kept)."""
        if not self.enabled:
            return
        now = time.time()
        try:
            values = {
                self._item_key(kind, key): (now, _kept(kind, dto))
                for key, dto in items.items()
                if dto
            }
            if values:
                cache.set_many(values, timeout=max(1, int(_ttl(kind))))
        except Exception:
            logger.warning("Reference cache unavailable (set %s)", kind, exc_info=True)

    # --- lists ---------------------------------------------------------------------------------

    def get_list(self, kind: str) -> list[Dto] | None:
        found = self.get_items(kind, ["all"])
        entry = found.get("all")
        return entry.get("items") if entry is not None else None

    def put_list(self, kind: str, items: list[Dto]) -> None:
        self.put_items(kind, {"all": {"items": [_kept(kind, dto) for dto in items]}})

    # --- forgetting ----------------------------------------------------------------------------

    def drop(self, kinds: Iterable[str] = KINDS) -> None:
        """Forget every kept entry of these kinds (a new generation for each)."""
        if not self.enabled:
            return
        for kind in kinds:
            generation = uuid.uuid4().hex[:12]
            try:
                cache.set(self._generation_key(kind), generation, timeout=None)
            except Exception:
                logger.warning("Reference cache unavailable (drop %s)", kind, exc_info=True)
                continue
            self._generations[kind] = generation


def reference_cache_refresh(
    *, connection: Connection, kinds: Iterable[str] = ("accounts", "vat_codes")
) -> None:
    """Make the next export ask PowerOffice again for these kinds of reference data.

    Called when PowerOffice's chart was just read by a person's action (Valider kontoplan,
    Synkroniser avdelinger): what they saw there is what the export uses from now on."""
    ReferenceStore.for_connection(connection).drop(kinds)


def reference_cache_clear(*, connection: Connection) -> None:
    """Forget everything kept of the connection's client (a new client key)."""
    ReferenceStore.for_connection(connection).drop(KINDS)
