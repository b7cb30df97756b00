"""Test and demo hooks under /_sandbox/ (never under /v2): clients, data, faults, log, config.

The data hooks write records as given (no PowerOffice validation), so tests can seed the
mismatches PowerOffice clients have in real life: a VAT code with another rate, an inactive
account, an invoice number already taken, a pay item that is switched off.
"""

import base64
import re
from decimal import Decimal
from typing import Any

from . import tamper
from .api.common import get
from .api.invoices import invoice_dto
from .api.vouchers import reverse_voucher
from .contract import FIELDS
from .responses import ApiError, Response, empty_response, json_response, now_iso
from .serialize import serialize
from .state import ALL_PRIVILEGES, SUBSCRIPTIONS, SandboxState
from .values import canonical_uuid, dec, decimals_of, is_uuid, money

COLLECTION_DTOS = {
    "vatcodes": "VatCodeDto",
    "accounts": "GeneralLedgerAccountDto",
    "customers": "CustomerDto",
    "products": "ProductDto",
    "departments": "DepartmentDto",
    "employees": "EmployeeDto",
    "payitems": "PayItemDto",
    "numberseries": "SubLedgerNumberSeriesDto",
    "outgoinginvoices": "OutgoingInvoiceDto",
    "vouchers": "OutgoingInvoiceVoucherDto",
    "salarylines": "SalaryLineDto",
}
UUID_COLLECTIONS = ("payitems", "numberseries", "outgoinginvoices", "vouchers")

DEFAULTS: dict[str, dict[str, Any]] = {
    "vatcodes": {
        "IsActive": True,
        "IsCustom": False,
        "ValidFrom": "2017-01-01",
        "Rate": Decimal(0),
    },
    "accounts": {
        "IsActive": True,
        "IsVatCodeLocked": False,
        "IsDepartmentRequired": False,
        "IsProjectRequired": False,
        "CurrencyCode": "NOK",
    },
    "customers": {"IsArchived": False, "IsPerson": False, "CurrencyCode": "NOK"},
    "products": {"IsArchived": False, "IsStockItem": False, "ProductType": "Product"},
    "departments": {"IsActive": True},
    "employees": {"IsArchived": False},
    "payitems": {
        "IsActive": True,
        "EmployerContributionBasis": False,
        "FullTaxOnHalfTaxPayrolls": False,
        "HolidayPayBasis": False,
        "IncludeInIncomeReport": True,
        "PensionBasis": False,
        "TradeUnionBasis": False,
    },
    "numberseries": {"IsDefault": False, "IsClientTrust": False},
    "outgoinginvoices": {"IsReversed": False, "CurrencyCode": "NOK"},
    "vouchers": {"IsReversed": False, "CurrencyCode": "NOK"},
    "salarylines": {"IsLocked": False, "IsDeletedByUser": False},
}


def bad(detail: str, status: int = 400) -> ApiError:
    return ApiError(status, "Sandbox hook error", detail)


def only_keys(body: dict, allowed, what: str = "key(s)") -> None:
    """Refuse a hook body with a key the hook does not know."""
    unknown = set(body) - set(allowed)
    if unknown:
        raise bad(f"Unknown {what}: {', '.join(sorted(unknown))}.")


def handle(state: SandboxState, method: str, path: str, query: dict[str, str], body) -> Response:
    parts = [p for p in path.split("/") if p][1:]  # drop "_sandbox"
    with state.lock:
        response = _dispatch(state, method, parts, query, body)
        if method != "GET":
            state.save()
        return response


def _dispatch(
    state: SandboxState, method: str, parts: list[str], query: dict[str, str], body
) -> Response:
    if parts == ["health"]:
        return json_response(200, {"status": "ok", "clients": len(state.clients)})
    if parts == ["reset"] and method == "POST":
        state.reset()
        return json_response(200, {"status": "reset"})
    if parts == ["config"]:
        if method == "POST":
            _set_config(state, body or {})
        elif method != "GET":
            raise bad("Use GET or POST on /_sandbox/config.", 405)
        return json_response(200, dict(state.config))
    if parts == ["faults"]:
        return _faults(state, method, body)
    if parts == ["requests"]:
        if method == "DELETE":
            state.log.clear()
            return empty_response(204)
        return json_response(200, _requests(state, query))
    if parts and parts[0] == "clients":
        return _clients(state, method, parts[1:], body)
    raise bad(f"Unknown hook /_sandbox/{'/'.join(parts)}.", 404)


# -- config, faults, log -------------------------------------------------------------------


def _number(body: dict, key: str, *, minimum: float = 0):
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or value < minimum:
        raise bad(f"{key} must be a number of at least {minimum}.")
    return int(value) if dec(value) == dec(value).to_integral_value() else float(value)


def _set_config(state: SandboxState, body: dict) -> None:
    only_keys(
        body,
        (
            "rate_limit",
            "latency_ms",
            "latency_jitter_ms",
            "token_lifetime",
            "read_lag_ms",
            "empty_list_404",
            "credit_matching",
        ),
        "config key(s)",
    )
    if "credit_matching" in body:
        if body["credit_matching"] not in ("settle", "exact"):
            raise bad('credit_matching must be "settle" or "exact".')
        state.config["credit_matching"] = body["credit_matching"]
    if "empty_list_404" in body:
        if not isinstance(body["empty_list_404"], bool):
            raise bad("empty_list_404 must be true or false.")
        state.config["empty_list_404"] = body["empty_list_404"]
    for key in ("rate_limit", "latency_ms", "latency_jitter_ms", "read_lag_ms"):
        if key in body:
            state.config[key] = _number(body, key)
    if "token_lifetime" in body:
        state.config["token_lifetime"] = _number(body, "token_lifetime", minimum=1)


_RULE_KEYS = {
    "action",
    "status",
    "body",
    "method",
    "path",
    "client_id",
    "count",
    "nth",
    "when",
    "delay_ms",
}


def _faults(state: SandboxState, method: str, body) -> Response:
    if method == "GET":
        return json_response(
            200,
            {"latency_ms": state.config["latency_ms"], "rules": [dict(r) for r in state.faults]},
        )
    if method == "DELETE":
        state.faults.clear()
        state.config["latency_ms"] = state.defaults["latency_ms"]
        return empty_response(204)
    if method != "POST":
        raise bad("Use GET, POST or DELETE on /_sandbox/faults.", 405)
    body = body or {}
    if not isinstance(body, dict):
        raise bad("The body must be a JSON object.")
    created = []
    result: dict = {}
    top = {
        "latency_ms",
        "rules",
        "revoke_tokens",
        "expire_tokens",
        "client_key",
        "rate_limit_burst",
    }
    rules = list(body.get("rules") or [])
    single = {k: v for k, v in body.items() if k not in top}
    if single:
        rules.append(single)
    for rule in rules:
        created.append(state.add_fault({**rule, "action": _rule_action(rule)})["id"])
    if body.get("rate_limit_burst"):
        created.append(
            state.add_fault({"status": 429, "count": int(body["rate_limit_burst"])})["id"]
        )
    if "latency_ms" in body:
        state.config["latency_ms"] = _number(body, "latency_ms")
    client_key = None
    if body.get("client_key"):
        client = state.find_client(body["client_key"])
        if client is None:
            raise bad("Unknown client_key.", 404)
        client_key = client["client_key"]
    if body.get("revoke_tokens"):
        result["revoked_tokens"] = state.revoke_tokens(client_key=client_key)
    if body.get("expire_tokens"):
        result["expired_tokens"] = state.revoke_tokens(client_key=client_key, expire=True)
    result["rules"] = created
    result["latency_ms"] = state.config["latency_ms"]
    return json_response(201, result)


def _rule_action(rule: dict) -> str:
    """The action of a fault rule (status, delay or close), once the rule is found sound."""
    only_keys(rule, _RULE_KEYS, "fault rule key(s)")
    action = rule.get("action") or ("status" if rule.get("status") else None)
    if action not in ("status", "delay", "close"):
        raise bad("A fault rule needs a status, or action 'delay' or 'close'.")
    if action == "status" and not isinstance(rule.get("status"), int):
        raise bad("A status fault needs an integer status (e.g. 503 or 429).")
    if action == "delay" and not rule.get("delay_ms"):
        raise bad("A delay fault needs delay_ms.")
    if rule.get("when", "before") not in ("before", "after"):
        raise bad(
            "when must be 'before' (answer instead of handling) or 'after' (handle, then fault)."
        )
    if rule.get("path"):
        try:
            re.compile(rule["path"])
        except re.error as exc:
            raise bad(f"path is not a valid regular expression: {exc}") from exc
    return action


def _requests(state: SandboxState, query: dict[str, str]) -> list[dict]:
    entries = state.log
    if query.get("since"):
        entries = [e for e in entries if e["id"] > int(query["since"])]
    if query.get("method"):
        entries = [e for e in entries if e["method"] == query["method"].upper()]
    if query.get("path"):
        pattern = re.compile(query["path"], re.IGNORECASE)
        entries = [e for e in entries if pattern.search(e["route"] or "")]
    if query.get("client_id"):
        entries = [e for e in entries if e["client_id"] == query["client_id"]]
    name = query.get("client") or query.get("client_name")
    if name:
        entries = [e for e in entries if e["client"] == name]
    if query.get("status"):
        entries = [e for e in entries if str(e["status"]) == query["status"]]
    return [dict(e) for e in entries]


# -- clients -------------------------------------------------------------------------------


def client_summary(client: dict) -> dict:
    return {
        "client_key": client["client_key"],
        "client_id": client["client_id"],
        "name": client["name"],
        "organization_no": client.get("organization_no"),
        "seed": client["seed"],
        "application_key": client["application_key"],
        "subscription_key": client["subscription_key"],
        "subscriptions": list(client["subscriptions"]),
        "privileges": list(client["privileges"]),
        "valid_privileges": SandboxState.valid_privileges(client),
        "counts": {name: len(items) for name, items in client["data"].items()},
        "attachments": len(client["attachments"]),
    }


def _string_list(body: dict, key: str) -> list[str]:
    value = body[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad(f"{key} must be a list of strings.")
    return value


# What a client hook body may set, on creating and on patching a client.
_CLIENT_KEYS = ("name", "application_key", "subscription_key", "subscriptions", "privileges")


def _clients(state: SandboxState, method: str, parts: list[str], body) -> Response:
    if not parts:
        return _client_collection(state, method, body)
    client = state.find_client(parts[0])
    if client is None:
        raise bad(f"No client with key or id '{parts[0]}'.", 404)
    rest = parts[1:]
    if not rest:
        return _client_record(state, client, method, body)
    if rest == ["payments"] and method == "POST":
        return _payment(client, body or {})
    if rest == ["reverse"] and method == "POST":
        return _reverse(client, body or {})
    if rest == ["delete-voucher"] and method == "POST":
        return tamper.delete_voucher(client, body or {})
    if rest == ["change-amount"] and method == "POST":
        return tamper.change_amount(client, body or {})
    if (
        len(rest) == 3
        and rest[0] == "salary-lines"
        and rest[2] in ("lock", "unlock")
        and method == "POST"
    ):
        return _lock_salary_line(client, rest[1], locked=rest[2] == "lock")
    if len(rest) == 3 and rest[0] == "vouchers" and rest[2] == "documentation" and method == "GET":
        return _documentation(client, rest[1])
    if rest and rest[0] == "data":
        return _data(state, client, method, rest[1:], body)
    raise bad(f"Unknown client hook {method} {'/'.join(rest)}.", 404)


def _client_collection(state: SandboxState, method: str, body) -> Response:
    if method == "GET":
        return json_response(200, [client_summary(c) for c in state.clients.values()])
    if method != "POST":
        raise bad("Use GET or POST on /_sandbox/clients.", 405)
    body = body or {}
    only_keys(body, (*_CLIENT_KEYS, "client_key", "seed", "organization_no"))
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        raise bad("name is required.")
    if body.get("client_key") and state.find_client(body["client_key"]):
        raise bad("A client with that client_key exists already.", 409)
    for key in ("subscriptions", "privileges"):
        if key in body:
            body[key] = _string_list(body, key)
    for subscription in body.get("subscriptions") or []:
        if subscription not in SUBSCRIPTIONS:
            raise bad(f"Unknown subscription '{subscription}'; known: {', '.join(SUBSCRIPTIONS)}.")
    for privilege in body.get("privileges") or []:
        if privilege not in ALL_PRIVILEGES:
            raise bad(f"Unknown privilege '{privilege}'.")
    client = state.create_client(**body)
    return json_response(201, client_summary(client))


def _client_record(state: SandboxState, client: dict, method: str, body) -> Response:
    if method == "GET":
        return json_response(200, client_summary(client))
    if method == "DELETE":
        del state.clients[client["client_key"]]
        return empty_response(204)
    if method == "PATCH":
        _patch_client(client, body or {})
        return json_response(200, client_summary(client))
    raise bad("Use GET, PATCH or DELETE on a client.", 405)


def _lock_salary_line(client: dict, line_id: str, *, locked: bool) -> Response:
    line = get(client, "salarylines", line_id)
    if line is None:
        raise bad(f"No salary line with id {line_id}.", 404)
    line["IsLocked"] = locked
    line["LastChangedDateTimeOffset"] = now_iso()
    return json_response(200, serialize(line, "SalaryLineDto"))


def _documentation(client: dict, voucher_id: str) -> Response:
    attachment = client["attachments"].get(voucher_id)
    if attachment is None:
        raise bad("No documentation on that voucher.", 404)
    return Response(
        status=200,
        body=base64.b64decode(attachment["data"]),
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{attachment["filename"]}"'},
    )


def _patch_client(client: dict, body: dict) -> None:
    only_keys(
        body,
        (
            *_CLIENT_KEYS,
            "add_subscriptions",
            "remove_subscriptions",
            "add_privileges",
            "remove_privileges",
            "organization_no",
        ),
    )
    if "organization_no" in body:
        if body["organization_no"] is not None and not isinstance(body["organization_no"], str):
            raise bad("organization_no must be a string or null.")
        client["organization_no"] = body["organization_no"] or None
    for key in ("name", "application_key", "subscription_key"):
        if key in body:
            if not isinstance(body[key], str) or not body[key]:
                raise bad(f"{key} must be a non-empty string.")
            client[key] = body[key]
    if "subscriptions" in body:
        client["subscriptions"] = _string_list(body, "subscriptions")
    if "privileges" in body:
        client["privileges"] = _string_list(body, "privileges")
    for key in ("subscriptions", "privileges"):
        _add_and_remove(client[key], body, key)
    for subscription in client["subscriptions"]:
        if subscription not in SUBSCRIPTIONS:
            raise bad(f"Unknown subscription '{subscription}'; known: {', '.join(SUBSCRIPTIONS)}.")
    for privilege in client["privileges"]:
        if privilege not in ALL_PRIVILEGES:
            raise bad(f"Unknown privilege '{privilege}'.")


def _add_and_remove(values: list[str], body: dict, key: str) -> None:
    """``add_<key>`` and ``remove_<key>`` of a client PATCH, in that order."""
    for value in _string_list(body, f"add_{key}") if f"add_{key}" in body else []:
        if value not in values:
            values.append(value)
    for value in _string_list(body, f"remove_{key}") if f"remove_{key}" in body else []:
        if value in values:
            values.remove(value)


def _invoice_by_no(client: dict, body: dict) -> dict:
    invoice_no: Any = body.get("invoice_no")
    try:
        invoice_no = int(invoice_no)
    except (TypeError, ValueError) as exc:
        raise bad("invoice_no (a whole number) is required.") from exc
    for invoice in client["data"]["outgoinginvoices"].values():
        if (
            invoice.get("InvoiceNo") is not None
            and int(invoice["InvoiceNo"]) == invoice_no
            and not invoice.get("IsReversed")
        ):
            return invoice
    raise bad(f"No open (not reversed) invoice with InvoiceNo {invoice_no}.", 404)


def _payment(client: dict, body: dict) -> Response:
    invoice = _invoice_by_no(client, body)
    try:
        amount = dec(body.get("amount"))
    except Exception as exc:
        raise bad('amount (e.g. "123.45") is required.') from exc
    if not amount.is_finite() or decimals_of(amount) > 2 or amount == 0:
        raise bad("amount must be a non-zero amount with at most 2 decimals.")
    balance = money(invoice.get("Balance") or 0)
    if (
        (balance > 0 and not (0 < amount <= balance))
        or (balance < 0 and not (balance <= amount < 0))
        or balance == 0
    ):
        raise bad(f"amount {amount} does not fit the open balance {balance}.")
    now = now_iso()
    invoice["Balance"] = balance - amount
    invoice["BalanceLastChangedDateTimeOffset"] = now
    invoice["LastChangedDateTimeOffset"] = now
    if invoice.get("MatchId") is None:
        client["next_id"] += 1
        invoice["MatchId"] = client["next_id"]
    invoice.setdefault("_payments", []).append({"amount": str(amount), "time": now})
    return json_response(200, _invoice_out(client, invoice))


def _invoice_out(client: dict, invoice: dict) -> dict:
    return invoice_dto(client, invoice, client["application_key"])


def _reverse(client: dict, body: dict) -> Response:
    if body.get("voucher_id"):
        voucher = get(client, "vouchers", body["voucher_id"])
        if voucher is None:
            raise bad("No voucher with that id.", 404)
        invoice = get(client, "outgoinginvoices", voucher["Id"])
        reverse_voucher(client, voucher)
        return json_response(
            200, _invoice_out(client, invoice) if invoice else {"voucher_id": voucher["Id"]}
        )
    invoice = _invoice_by_no(client, body)
    voucher = get(client, "vouchers", invoice["Id"])
    if voucher is not None:
        reverse_voucher(client, voucher)
    else:
        now = now_iso()
        invoice.update(
            IsReversed=True,
            Balance=Decimal(0),
            BalanceLastChangedDateTimeOffset=now,
            LastChangedDateTimeOffset=now,
        )
    return json_response(200, _invoice_out(client, invoice))


# -- data ----------------------------------------------------------------------------------


def _clean(collection: str, body) -> dict:
    if not isinstance(body, dict):
        raise bad("The body must be a JSON object.")
    fields = FIELDS[COLLECTION_DTOS[collection]]
    # Keys starting with "_" are the sandbox's own (e.g. _created_by, _direction of a VAT code).
    unknown = [key for key in body if key not in fields and not key.startswith("_")]
    if unknown:
        raise bad(f"Unknown property(ies) for {COLLECTION_DTOS[collection]}: {', '.join(unknown)}.")
    return dict(body)


def _data(state: SandboxState, client: dict, method: str, parts: list[str], body) -> Response:
    if not parts or parts[0] not in COLLECTION_DTOS:
        raise bad(f"Unknown collection; known: {', '.join(COLLECTION_DTOS)}.", 404)
    collection = parts[0]
    items = client["data"][collection]
    dto = COLLECTION_DTOS[collection]
    if len(parts) == 1:
        if method == "GET":
            return json_response(200, list(items.values()))
        if method != "POST":
            raise bad("Use GET or POST on a collection.", 405)
        return json_response(201, _insert(state, client, collection, body))
    key = parts[1]
    if collection in UUID_COLLECTIONS and is_uuid(key):
        key = canonical_uuid(key)
    record = items.get(key)
    if record is None:
        raise bad(f"{collection} has no Id {parts[1]}.", 404)
    if method == "GET":
        return json_response(200, record)
    if method == "DELETE":
        del items[key]
        return empty_response(204)
    if method == "PATCH":
        changes = _clean(collection, body)
        changes.pop("Id", None)
        record.update(changes)
        now = now_iso()
        if (
            "LastChangedDateTimeOffset" in FIELDS[dto]
            and "LastChangedDateTimeOffset" not in changes
        ):
            record["LastChangedDateTimeOffset"] = now
        if (
            collection == "outgoinginvoices"
            and "Balance" in changes
            and "BalanceLastChangedDateTimeOffset" not in changes
        ):
            record["BalanceLastChangedDateTimeOffset"] = now
        return json_response(200, record)
    raise bad("Use GET, PATCH or DELETE on a record.", 405)


def _insert(state: SandboxState, client: dict, collection: str, body) -> dict:
    """A raw record as given (its Id, or a new one), with the defaults PowerOffice would set."""
    items = client["data"][collection]
    record = _clean(collection, body)
    key = record.get("Id")
    if key is None:
        if collection in UUID_COLLECTIONS:
            key = state.new_uuid(client, collection)
        elif collection == "vatcodes":
            key = state.new_vat_id(client)
        else:
            key = state.new_id(client)
    elif collection in UUID_COLLECTIONS:
        if not is_uuid(str(key)):
            raise bad("Id must be a uuid in this collection.")
        key = canonical_uuid(str(key))
    if str(key) in items:
        raise bad(f"{collection} already has Id {key}.", 409)
    record["Id"] = key
    _fill_defaults(state, client, collection, COLLECTION_DTOS[collection], record)
    items[str(key)] = record
    return record


def _fill_defaults(
    state: SandboxState, client: dict, collection: str, dto: str, record: dict
) -> None:
    now = now_iso()
    for key, value in DEFAULTS.get(collection, {}).items():
        record.setdefault(key, value)
    for key in FIELDS[dto]:
        if key.endswith("DateTimeOffset") and key.startswith(
            ("Created", "LastChanged", "Contact", "Customer", "Employee")
        ):
            record.setdefault(key, now)
    if collection in ("customers", "employees"):
        record.setdefault("SubledgerAccountId", state.new_id(client))
    if collection == "customers" and record.get("IsPerson") and not record.get("Name"):
        record["Name"] = f"{record.get('FirstName', '')} {record.get('LastName', '')}".strip()
    if collection == "outgoinginvoices":
        total = record.get("TotalAmount")
        if total is not None:
            record.setdefault("TotalPostedAmount", total)
            record.setdefault("Balance", total)
            record.setdefault("NetAmount", total)
            record.setdefault("NetPostedAmount", record["NetAmount"])
            record.setdefault(
                "VoucherType", "OutgoingCreditNote" if dec(total) < 0 else "OutgoingInvoice"
            )
        record.setdefault("BalanceLastChangedDateTimeOffset", now)
        if record.get("VoucherNo") is None:
            record["VoucherNo"] = client["next_voucher_no"]
            client["next_voucher_no"] += 1
    if collection == "vouchers" and record.get("VoucherNo") is None:
        record["VoucherNo"] = client["next_voucher_no"]
        client["next_voucher_no"] += 1
    if collection == "salarylines":
        record.setdefault("_created_by", client["application_key"])
