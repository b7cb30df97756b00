"""The sandbox's memory: clients and their data, tokens, rate windows, faults and the request log.

Everything is guarded by one re-entrant lock (``state.lock``); handlers run under it, so each
request sees and leaves a consistent state. The rate limiter has its own small lock so that
counting never waits behind a slow handler.
"""

import base64
import bisect
import json
import math
import os
import re
import secrets
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

from .seed import (
    build_client_data,
    client_id_base,
    default_application_key,
    default_subscription_key,
    seeded_uuid,
    vat_id_base,
)

SUBSCRIPTIONS = ("Accounting", "Payroll")

# Privileges each Go subscription makes valid (the "Auth roles" of the endpoints in the spec).
PRIVILEGES_BY_SUBSCRIPTION = {
    "Accounting": (
        "AccountTransaction",
        "AccountTransaction_Full",
        "CommonServices",
        "CommonServices_Full",
        "Customer",
        "Customer_Full",
        "Department",
        "Department_Full",
        "Employee",
        "Employee_Full",
        "GeneralLedgerAccount",
        "GeneralLedgerAccount_Full",
        "OutgoingInvoice",
        "OutgoingInvoice_Full",
        "OutgoingInvoiceVoucher_Full",
        "Product",
        "Product_Full",
        "VoucherDocumentation",
        "VoucherDocumentation_Full",
        "YearEndVoucher_Full",
    ),
    "Payroll": (
        "CommonServices",
        "Department",
        "Employee",
        "Employee_Full",
        "PayItem",
        "PayItem_Full",
        "SalaryLine",
        "SalaryLine_Full",
    ),
}

ALL_PRIVILEGES = tuple(sorted({p for ps in PRIVILEGES_BY_SUBSCRIPTION.values() for p in ps}))

LOG_LIMIT = 20_000


class SandboxState:
    def __init__(
        self,
        *,
        rate_limit: float = 10,
        latency_ms: int = 0,
        latency_jitter_ms: int = 0,
        token_lifetime: int = 1200,
        read_lag_ms: int = 0,
        state_file: str | None = None,
    ):
        self.lock = threading.RLock()
        self.defaults: dict[str, Any] = {
            "rate_limit": rate_limit,
            "latency_ms": latency_ms,
            "latency_jitter_ms": latency_jitter_ms,
            "token_lifetime": token_lifetime,
            "read_lag_ms": read_lag_ms,
            # Answer 404 instead of 204 for "none found" where the contract declares it.
            "empty_list_404": False,
            # How a credit note's CustomMatchingReference is matched: "settle" (as much of the
            # invoice's open balance as the credit note covers) or "exact" (only an entry of
            # exactly the opposite open amount; a partial credit note stays open beside its
            # invoice). The contract's "opposite amount" reads either way.
            "credit_matching": "settle",
        }
        self.config = dict(self.defaults)
        self.clients: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.faults: list[dict] = []
        self.fault_seq = 0
        self.log: list[dict] = []
        self.log_seq = 0
        self._rate: dict[str, list[float]] = {}
        self._rate_lock = threading.Lock()
        self.state_file = state_file
        self._save_timer: threading.Timer | None = None
        if state_file and os.path.exists(state_file):
            self.load()

    # -- lifecycle ---------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.config = dict(self.defaults)
            self.clients.clear()
            self.tokens.clear()
            self.faults.clear()
            self.log.clear()
            with self._rate_lock:
                self._rate.clear()
            self.save()

    # -- clients -----------------------------------------------------------------------------

    def create_client(
        self,
        *,
        name: str,
        application_key: str | None = None,
        subscription_key: str | None = None,
        subscriptions: list[str] | None = None,
        privileges: list[str] | None = None,
        client_key: str | None = None,
        seed: str | None = None,
        organization_no: str | None = None,
    ) -> dict:
        with self.lock:
            seed = seed or name
            used = {c["id_base"] for c in self.clients.values()}
            id_base = client_id_base(seed)
            while id_base in used:
                id_base += 100_000
            data, next_id, next_vat_id = build_client_data(id_base=id_base)
            client: dict[str, Any] = {
                "name": name,
                "seed": seed,
                "id_base": id_base,
                "client_id": seeded_uuid(id_base, "client", seed),
                "client_key": client_key or str(uuid.uuid4()),
                "application_key": application_key or default_application_key(),
                "subscription_key": subscription_key or default_subscription_key(),
                "subscriptions": list(SUBSCRIPTIONS if subscriptions is None else subscriptions),
                "privileges": list(ALL_PRIVILEGES if privileges is None else privileges),
                "organization_no": organization_no,
                "next_id": next_id,
                "next_vat_id": next_vat_id,
                "next_voucher_no": 1,
                "data": data,
                "attachments": {},
            }
            self.clients[client["client_key"]] = client
            self.save()
            return client

    def find_client(self, key_or_id: str) -> dict | None:
        with self.lock:
            client = self.clients.get(key_or_id)
            if client:
                return client
            for candidate in self.clients.values():
                if candidate["client_id"] == key_or_id:
                    return candidate
            return None

    def new_id(self, client: dict) -> int:
        client["next_id"] += 1
        return client["next_id"]

    def new_vat_id(self, client: dict) -> int:
        """A new VAT code id: int32, from the client's own block (``seed.vat_id_base``)."""
        client["next_vat_id"] += 1
        return client["next_vat_id"]

    def new_uuid(self, client: dict, kind: str) -> str:
        return seeded_uuid(client["id_base"], kind, str(self.new_id(client)))

    @staticmethod
    def valid_privileges(client: dict) -> list[str]:
        allowed = {
            p for s in client["subscriptions"] for p in PRIVILEGES_BY_SUBSCRIPTION.get(s, ())
        }
        return [p for p in client["privileges"] if p in allowed]

    @staticmethod
    def invalid_privileges(client: dict) -> list[str]:
        valid = set(SandboxState.valid_privileges(client))
        return [p for p in client["privileges"] if p not in valid]

    def known_subscription_key(self, key: str) -> bool:
        """Whether the gateway knows ``key``: the developer's (default) key or a client's."""
        with self.lock:
            known = {default_subscription_key()}
            known.update(c["subscription_key"] for c in self.clients.values())
            return key in known

    # -- tokens ------------------------------------------------------------------------------

    def issue_token(self, client: dict, *, subscription_key: str, env: str) -> tuple[str, int]:
        with self.lock:
            lifetime = int(self.config["token_lifetime"])
            token = secrets.token_urlsafe(48)
            now = time.time()
            self.tokens = {t: v for t, v in self.tokens.items() if v["expires_at"] > now}
            self.tokens[token] = {
                "client_key": client["client_key"],
                "application_key": client["application_key"],
                "subscription_key": subscription_key,
                "env": env,
                "issued_at": now,
                "expires_at": now + lifetime,
                "revoked": False,
            }
            return token, lifetime

    def token_client(self, token: str) -> dict | None:
        """The client a bearer token names, without judging the token (for logs and faults)."""
        record = self.tokens.get(token)
        return self.clients.get(record["client_key"]) if record else None

    def authenticate(self, token: str | None, subscription_key: str | None, env: str):
        """Return (client, token record) or (None, reason)."""
        with self.lock:
            record = self.tokens.get(token or "")
            if record is None:
                return None, "invalid_token"
            if record["revoked"]:
                return None, "revoked"
            if time.time() >= record["expires_at"]:
                return None, "expired"
            if record["subscription_key"] != subscription_key or record["env"] != env:
                return None, "invalid_token"
            client = self.clients.get(record["client_key"])
            if client is None or client["application_key"] != record["application_key"]:
                return None, "invalid_token"
            return client, record

    def revoke_tokens(self, *, client_key: str | None = None, expire: bool = False) -> int:
        with self.lock:
            count = 0
            for record in self.tokens.values():
                if client_key and record["client_key"] != client_key:
                    continue
                if expire:
                    record["expires_at"] = min(record["expires_at"], time.time() - 1)
                else:
                    record["revoked"] = True
                count += 1
            return count

    # -- rate limit --------------------------------------------------------------------------

    def rate_hit(self, subscription_key: str, *, at: float | None = None) -> int | None:
        """Count one request, as it arrives, in the sliding one-second window of its
        subscription key (PowerOffice's gateway counts arrivals: it cannot see when we sent).

        ``at`` is the arrival (``time.monotonic()``; now when not given). Requests may be
        counted a little out of their order of arrival (threads), so a request is refused when
        taking it would put more than the limit into any one second around it. Returns None
        when allowed, otherwise the whole seconds to wait. Refused requests are not counted, so
        a client that backs off for the advertised time gets through.
        """
        limit = self.config["rate_limit"]
        if not limit:
            return None
        now = time.monotonic() if at is None else at
        with self._rate_lock:
            arrivals = self._rate.setdefault(subscription_key, [])
            while arrivals and arrivals[0] <= now - 2.0:
                arrivals.pop(0)
            taken = sorted([*arrivals, now])
            first = bisect.bisect_left(taken, now)
            for end in taken[first : bisect.bisect_left(taken, now + 1.0)]:
                start = bisect.bisect_right(taken, end - 1.0)
                if bisect.bisect_right(taken, end) - start > limit:
                    return max(1, math.ceil(taken[start] + 1.0 - now))
            bisect.insort(arrivals, now)
            return None

    # -- faults ------------------------------------------------------------------------------

    def add_fault(self, rule: dict) -> dict:
        with self.lock:
            self.fault_seq += 1
            normalized = {
                "id": self.fault_seq,
                "action": rule.get("action") or ("status" if rule.get("status") else "delay"),
                "status": rule.get("status"),
                "body": rule.get("body"),
                "method": (rule.get("method") or "").upper() or None,
                "path": rule.get("path"),
                "client_id": rule.get("client_id"),
                "count": rule.get("count", 1),
                "nth": rule.get("nth"),
                "when": rule.get("when") or "before",
                "delay_ms": int(rule.get("delay_ms") or 0),
                "seen": 0,
                "fired": 0,
            }
            self.faults.append(normalized)
            return normalized

    def match_fault(self, *, method: str, route: str, client_id: str | None, when: str):
        with self.lock:
            for rule in list(self.faults):
                if rule["when"] != when:
                    continue
                if rule["method"] and rule["method"] != method:
                    continue
                if rule["path"] and not re.search(rule["path"], route, re.IGNORECASE):
                    continue
                if rule["client_id"] and rule["client_id"] != client_id:
                    continue
                rule["seen"] += 1
                if rule["nth"]:
                    if rule["seen"] != int(rule["nth"]):
                        continue
                    self.faults.remove(rule)
                else:
                    if rule["count"] is not None:
                        rule["count"] = int(rule["count"]) - 1
                        if rule["count"] <= 0:
                            self.faults.remove(rule)
                rule["fired"] += 1
                return dict(rule)
            return None

    # -- request log -------------------------------------------------------------------------

    def log_request(self, entry: dict) -> None:
        with self.lock:
            self.log_seq += 1
            entry["id"] = self.log_seq
            self.log.append(entry)
            if len(self.log) > LOG_LIMIT:
                del self.log[: len(self.log) - LOG_LIMIT]

    # -- persistence -------------------------------------------------------------------------

    def save(self) -> None:
        """Persist soon: at most one write per half second, however many changes."""
        if not self.state_file:
            return
        with self.lock:
            if self._save_timer is None:
                self._save_timer = threading.Timer(0.5, self.flush)
                self._save_timer.daemon = True
                self._save_timer.start()

    def flush(self) -> None:
        """Persist now (also at shutdown)."""
        if not self.state_file:
            return
        with self.lock:
            if self._save_timer is not None:
                self._save_timer.cancel()
                self._save_timer = None
            payload = json.dumps(
                {"version": 1, "clients": self.clients}, default=_json_default, ensure_ascii=False
            )
            directory = os.path.dirname(os.path.abspath(self.state_file))
            fd, tmp = tempfile.mkstemp(prefix=".sandbox-", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
            os.replace(tmp, self.state_file)

    def load(self) -> None:
        if not self.state_file:
            return
        with open(self.state_file, encoding="utf-8") as fh:
            payload = json.load(fh)
        with self.lock:
            self.clients = payload.get("clients", {})
            for client in self.clients.values():
                if "next_vat_id" not in client:
                    _renumber_vat_codes(client)


def _renumber_vat_codes(client: dict) -> None:
    """Give the VAT codes of a client kept by an older sandbox int32 ids, and follow them
    everywhere they are referred to (accounts, voucher and invoice lines, salary lines)."""
    data = client["data"]
    client["next_vat_id"] = vat_id_base(client["id_base"])
    renumbered: dict[int, int] = {}
    vat_codes = {}
    for old_id, record in sorted(data["vatcodes"].items(), key=lambda item: int(item[0])):
        client["next_vat_id"] += 1
        renumbered[int(old_id)] = client["next_vat_id"]
        record["Id"] = client["next_vat_id"]
        vat_codes[str(record["Id"])] = record

    def follow(record: dict, key: str) -> None:
        if record.get(key) is not None:
            record[key] = renumbered.get(int(record[key]), record[key])

    data["vatcodes"] = vat_codes
    for record in vat_codes.values():
        follow(record, "BaseVatCodeId")
    for record in data["accounts"].values():
        follow(record, "VatCodeId")
    for record in data["salarylines"].values():
        follow(record, "VatCodeId")
    for voucher in data["vouchers"].values():
        for line in voucher.get("OutgoingInvoiceLines") or []:
            follow(line, "VatId")
    for invoice in data["outgoinginvoices"].values():
        for line in invoice.get("_lines") or []:
            follow(line, "VatId")


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
