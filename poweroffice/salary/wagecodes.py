"""Lønn > Lønnskoder: one PowerOffice pay item code per kind of reimbursement, checked against
``GET /PayItems`` when saved ("Lagre"), on demand ("Kontroller") and before every export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from bitnet.audit.services import audit_changes, audit_record
from bitnet.models import AuditArea, Subgroup, User
from payroll.models import WageCodeMapping
from payroll.reimbursements import DISTANCE_KINDS, KIND_LABELS, KIND_ORDER
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.errors import PowerOfficeError
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected, connection_client
from poweroffice.datadeling.selectors import connection_get
from poweroffice.messages import Context, error_message
from poweroffice.salary.problems import not_active_text
from poweroffice.salary.processing import processing_type_problem

PayItem = dict[str, Any]  # PowerOffice's PayItemDto


@dataclass
class WageCodeResult:
    ok: bool
    message: str
    errors: dict[str, str] = field(default_factory=dict)  # kind -> message beside the field
    checked: bool = False


def pay_items_by_code(client: PowerOfficeClient, codes: Iterable[str]) -> dict[str, PayItem]:
    """PowerOffice's pay items with these codes (one request), by code."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    items = client.list_pay_items(codes=wanted)
    return {str(item.get("Code")): item for item in items if item.get("Code") is not None}


def pay_item_problem(code: str, item: PayItem | None) -> str:
    """Empty when PowerOffice has the code as an active pay item of a type our lines can use."""
    if item is None:
        return f"Lønnsart {code} finnes ikke i PowerOffice Go."
    if not item.get("IsActive", True):
        return f"Lønnsart {code} ({item.get('Name') or 'uten navn'}) er inaktiv i PowerOffice Go."
    return processing_type_problem(
        code, str(item.get("Name") or ""), str(item.get("ProcessingType") or "")
    )


def wage_code_mappings_refresh(
    mappings: Iterable[WageCodeMapping], items: dict[str, PayItem], now: dt.datetime
) -> list[tuple[WageCodeMapping, str]]:
    """Store what PowerOffice answered on the mappings; returns the mappings with a problem."""
    problems = []
    changed = []
    for mapping in mappings:
        item = items.get(mapping.pay_item_code)
        problem = pay_item_problem(mapping.pay_item_code, item)
        mapping.pay_item_id = str((item or {}).get("Id") or "")
        mapping.pay_item_name = (item or {}).get("Name") or ""
        mapping.pay_item_processing_type = (item or {}).get("ProcessingType") or ""
        mapping.check_error = problem
        mapping.checked_at = now
        changed.append(mapping)
        if problem:
            problems.append((mapping, problem))
    WageCodeMapping.objects.bulk_update(
        changed,
        ["pay_item_id", "pay_item_name", "pay_item_processing_type", "check_error", "checked_at"],
    )
    return problems


# --- "Lagre" --------------------------------------------------------------------------------------


def _shared_distance_codes(codes: dict[str, str]) -> dict[str, str]:
    """Distance kinds each have their own rate, so each needs a code of its own."""
    errors: dict[str, str] = {}
    for kind in DISTANCE_KINDS:
        code = codes[kind]
        if not code:
            continue
        others = [KIND_LABELS[k] for k in KIND_ORDER if k != kind and codes[k] == code]
        if others:
            errors[kind] = (
                f"Lønnsart {code} er også valgt for {', '.join(others)}. Kilometerbaserte "
                "godtgjørelser har hver sin sats og trenger hver sin lønnsart."
            )
    return errors


def _ask_pay_items(subgroup: Subgroup, codes: Iterable[str]) -> tuple[dict[str, PayItem], str]:
    """The pay items, or why PowerOffice could not be asked ("Ikke kontrollert: ...")."""
    connection = connection_get(subgroup)
    if connection is None or not connection.payroll_enabled:
        return {}, f"Ikke kontrollert: {not_active_text(subgroup)}"
    try:
        with connection_client(connection) as client:
            return pay_items_by_code(client, codes), ""
    except (NotConnected, SecretUnreadable) as exc:
        return {}, f"Ikke kontrollert: {exc}"
    except PowerOfficeError as exc:
        return {}, f"Ikke kontrollert: {error_message(exc, context=Context.KEY_CHECK)}"


def _record_changes(
    subgroup: Subgroup, before: dict[str, str], codes: dict[str, str], actor: User | None
) -> None:
    changes = audit_changes(before, codes, {kind: str(KIND_LABELS[kind]) for kind in KIND_ORDER})
    if changes:
        audit_record(
            agency_id=subgroup.agency_id,
            area=AuditArea.WAGE_CODES,
            action="wage_codes",
            summary="Lønnskoder endret",
            actor=actor,
            subgroup_id=subgroup.pk,
            changes=changes,
        )


def _store_mappings(
    subgroup: Subgroup,
    codes: dict[str, str],
    items: dict[str, PayItem],
    check_error: str,
    actor: User | None,
) -> None:
    now = timezone.now()
    with transaction.atomic():
        before = dict(
            WageCodeMapping.objects.select_for_update()
            .filter(subgroup=subgroup)
            .values_list("kind", "pay_item_code")
        )
        WageCodeMapping.objects.filter(
            subgroup=subgroup, kind__in=[k for k, c in codes.items() if not c]
        ).delete()
        for kind, code in codes.items():
            if not code:
                continue
            item = items.get(code) or {}
            WageCodeMapping.objects.update_or_create(
                subgroup=subgroup,
                kind=kind,
                defaults={
                    "pay_item_code": code,
                    "pay_item_id": str(item.get("Id") or ""),
                    "pay_item_name": item.get("Name") or "",
                    "pay_item_processing_type": item.get("ProcessingType") or "",
                    "checked_at": None if check_error else now,
                    "check_error": check_error,
                },
            )
        _record_changes(subgroup, before, codes, actor)


def wage_codes_save(
    *, subgroup: Subgroup, codes: dict[str, str], actor: User | None = None
) -> WageCodeResult:
    """Save the subgroup's pay item codes after checking them against PowerOffice Go.

    A code PowerOffice does not have, or has as inactive, is refused beside its field and nothing
    is saved. When PowerOffice cannot be asked (integration not active, no answer), the codes are
    saved unchecked and say so; the export checks them again on "Søk". What changed goes to
    the Endringslogg of Lønnskoder, by ``actor``.
    """
    codes = {kind: (codes.get(kind) or "").strip() for kind in KIND_ORDER}
    errors = _shared_distance_codes(codes)
    if errors:
        return WageCodeResult(False, "Lønnskodene ble ikke lagret.", errors)

    items, check_error = _ask_pay_items(subgroup, codes.values())
    if not check_error:
        for kind, code in codes.items():
            problem = pay_item_problem(code, items.get(code)) if code else ""
            if problem:
                errors[kind] = problem
        if errors:
            return WageCodeResult(False, "Lønnskodene ble ikke lagret.", errors, checked=True)

    _store_mappings(subgroup, codes, items, check_error, actor)
    if check_error:
        return WageCodeResult(True, f"Lønnskodene er lagret. {check_error}")
    return WageCodeResult(
        True, "Lønnskodene er lagret og kontrollert mot PowerOffice Go.", checked=True
    )


# --- "Kontroller" ---------------------------------------------------------------------------------


def wage_codes_check(
    *, subgroup: Subgroup, client: PowerOfficeClient | None = None
) -> WageCodeResult:
    """Check the saved codes against PowerOffice's pay items now ("Kontroller")."""
    mappings = list(WageCodeMapping.objects.filter(subgroup=subgroup))
    if not mappings:
        return WageCodeResult(False, f"Ingen lønnskoder er satt opp for {subgroup.name}.")
    codes = [m.pay_item_code for m in mappings]
    try:
        if client is not None:
            items = pay_items_by_code(client, codes)
        else:
            connection = connection_get(subgroup)
            if connection is None or not connection.payroll_enabled:
                return WageCodeResult(False, not_active_text(subgroup))
            with connection_client(connection) as own:
                items = pay_items_by_code(own, codes)
    except (NotConnected, SecretUnreadable) as exc:
        return WageCodeResult(False, str(exc))
    except PowerOfficeError as exc:
        return WageCodeResult(False, error_message(exc, context=Context.KEY_CHECK))
    problems = wage_code_mappings_refresh(mappings, items, timezone.now())
    if problems:
        return WageCodeResult(
            False,
            " ".join(p for _, p in problems),
            {m.kind: p for m, p in problems},
            checked=True,
        )
    return WageCodeResult(
        True, "Alle lønnskodene finnes og er aktive i PowerOffice Go.", checked=True
    )
