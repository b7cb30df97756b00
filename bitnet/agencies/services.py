"""Writes of Administrasjon > Byrå: offices (byråer), the subgroups' number series, and the
allocation of invoice and customer numbers from those series.

Every write runs in one transaction; a rule broken at the last moment (an invoice number used
meanwhile) raises ``ValidationError`` keyed by field, so the form can show the message beside the
field and nothing is saved.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Model

from bitnet import hooks, identifiers
from bitnet.audit.services import EMPTY, Change, audit_record
from bitnet.models import Agency, AuditArea, Office, Subgroup, User


def _assign(row: Model, values: dict[str, Any]) -> list[str]:
    """Set ``values`` on a locked row; returns the fields to save."""
    for field, value in values.items():
        setattr(row, field, value)
    return list(values)


# Number series: allocation


class NumberSeriesExhausted(Exception):
    """The subgroup's series has no numbers left."""


def subgroup_allocate_invoice_number(*, subgroup_id: int) -> int:
    """The next invoice number of the subgroup's series.

    The subgroup row is locked (SELECT … FOR UPDATE) until the caller's transaction ends, so
    parallel invoices get consecutive numbers with no gaps and no duplicates; the unique
    constraint on (subgroup, number) is the last line of defence. Must run inside a transaction.
    """
    with transaction.atomic():
        subgroup = Subgroup.objects.select_for_update().get(pk=subgroup_id)
        number = max(subgroup.next_invoice_number, subgroup.invoice_series_start)
        if number > subgroup.invoice_series_end:
            raise NumberSeriesExhausted(
                f"Fakturanummerserien for {subgroup.name} er brukt opp "
                f"({subgroup.invoice_series_start}–{subgroup.invoice_series_end})."
            )
        Subgroup.objects.filter(pk=subgroup_id).update(next_invoice_number=number + 1)
        return number


def subgroup_allocate_customer_number(*, subgroup_id: int) -> int:
    """The next free customer number of the subgroup's series, under the same row lock."""
    with transaction.atomic():
        subgroup = Subgroup.objects.select_for_update().get(pk=subgroup_id)
        number = max(subgroup.next_customer_number, subgroup.customer_series_start)
        # Skip numbers taken by hand-entered customers (read through the reverse relation:
        # accounting depends on bitnet, not the other way round).
        taken = set(subgroup.customers.filter(number__gte=number).values_list("number", flat=True))
        while number in taken:
            number += 1
        if number > subgroup.customer_series_end:
            raise NumberSeriesExhausted(
                f"Kundenummerserien for {subgroup.name} er brukt opp "
                f"({subgroup.customer_series_start}–{subgroup.customer_series_end})."
            )
        Subgroup.objects.filter(pk=subgroup_id).update(next_customer_number=number + 1)
        return number


# Number series: settings


def subgroup_number_series_errors(
    *,
    subgroup: Subgroup,
    invoice_series_start: int,
    invoice_series_end: int,
    next_invoice_number: int,
    customer_series_start: int,
    customer_series_end: int,
    next_customer_number: int,
) -> dict[str, str]:
    """Field -> Norwegian message for every broken rule of the two number series."""
    errors: dict[str, str] = {}
    for kind, start, end, nxt, prefix in (
        ("Fakturanummer", invoice_series_start, invoice_series_end, next_invoice_number, "invoice"),
        (
            "Kundenummer",
            customer_series_start,
            customer_series_end,
            next_customer_number,
            "customer",
        ),
    ):
        end_field = f"{prefix}_series_end"
        next_field = f"next_{prefix}_number"
        if start > end:
            errors[end_field] = f"«Til» kan ikke være lavere enn «Fra» ({start})."
        elif not start <= nxt <= end:
            errors[next_field] = f"Neste {kind.lower()} må ligge i serien ({start}–{end})."

    if "next_invoice_number" not in errors and "invoice_series_end" not in errors:
        # Going back below an invoice number already issued would make the next invoice
        # collide with it.
        highest = subgroup.invoices.filter(
            number__gte=invoice_series_start, number__lte=invoice_series_end
        ).aggregate(m=Max("number"))["m"]
        if highest is not None and next_invoice_number <= highest:
            errors["next_invoice_number"] = (
                f"Fakturanummer {highest} er allerede brukt. "
                f"Neste fakturanummer må være minst {highest + 1}."
            )
    return errors


def subgroup_update_number_series(
    *,
    subgroup: Subgroup,
    invoice_series_start: int,
    invoice_series_end: int,
    next_invoice_number: int,
    customer_series_start: int,
    customer_series_end: int,
    next_customer_number: int,
) -> Subgroup:
    """Change a subgroup's invoice and customer number series.

    The row is locked like number allocation does (above), and the rules are
    checked again under the lock, so an invoice created meanwhile cannot be numbered twice.
    """
    values = {
        "invoice_series_start": invoice_series_start,
        "invoice_series_end": invoice_series_end,
        "next_invoice_number": next_invoice_number,
        "customer_series_start": customer_series_start,
        "customer_series_end": customer_series_end,
        "next_customer_number": next_customer_number,
    }
    with transaction.atomic():
        locked = Subgroup.objects.select_for_update().get(pk=subgroup.pk)
        errors = subgroup_number_series_errors(subgroup=locked, **values)
        if errors:
            raise ValidationError(errors)
        locked.save(update_fields=_assign(locked, values))
    return locked


def subgroup_update(
    *,
    subgroup: Subgroup,
    org_number: str,
    vat_number: str,
    bank_account: str,
    **series: int,
) -> Subgroup:
    """Change a subgroup's company details (organisation number, MVA number, bank account,
    checked by python-stdnum) and its number series, in one transaction."""
    try:
        details = {
            "org_number": identifiers.org_number_clean(org_number),
            "vat_number": identifiers.vat_number_clean(vat_number),
            "bank_account": identifiers.bank_account_clean(bank_account),
        }
    except ValidationError:
        raise ValidationError("Et av numrene er ugyldig. Sjekk feltene.") from None
    with transaction.atomic():
        locked = subgroup_update_number_series(subgroup=subgroup, **series)
        locked.save(update_fields=_assign(locked, details))
    return locked


# Offices


def _check_subgroup(*, agency: Agency, subgroup: Subgroup) -> None:
    if subgroup.agency_id != agency.pk:
        raise ValidationError({"subgroup": "Velg en undergruppe i din etat."})


def _department_label(subgroup_id: int, code: str) -> str:
    if not code:
        return EMPTY
    return dict(hooks.department_choices(subgroup_id)).get(code, code)


def _record_department(office: Office, action: str, old: str, actor: User | None) -> None:
    """An office's "Ekstern avdeling" is a PowerOffice setting: its changes are logged."""
    new = office.external_department_code
    if old == new:
        return
    audit_record(
        agency_id=office.agency_id,
        area=AuditArea.OFFICES,
        action=action,
        summary=f"{office.name}: ekstern avdeling endret",
        actor=actor,
        subgroup_id=office.subgroup_id,
        object_id=office.pk,
        changes=[
            Change(
                "Ekstern avdeling",
                _department_label(office.subgroup_id, old),
                _department_label(office.subgroup_id, new),
            )
        ],
    )


def office_create(
    *,
    agency: Agency,
    subgroup: Subgroup,
    name: str,
    address: str = "",
    postal_code: str = "",
    city: str = "",
    phone: str = "",
    external_department_code: str = "",
    actor: User | None = None,
) -> Office:
    """Create an office (byrå/kontor) in one of the agency's subgroups. An "Ekstern avdeling"
    chosen at once is recorded in the Endringslogg, by ``actor``."""
    _check_subgroup(agency=agency, subgroup=subgroup)
    with transaction.atomic():
        office = Office.objects.create(
            agency=agency,
            subgroup=subgroup,
            name=name,
            address=address,
            postal_code=postal_code,
            city=city,
            phone=phone,
            external_department_code=external_department_code,
        )
        _record_department(office, "created", "", actor)
    return office


def office_update(
    *,
    office: Office,
    subgroup: Subgroup,
    name: str,
    address: str = "",
    postal_code: str = "",
    city: str = "",
    phone: str = "",
    external_department_code: str = "",
    actor: User | None = None,
) -> Office:
    """Update an office, including its "Ekstern avdeling" (PowerOffice department code), whose
    change is recorded in the Endringslogg, by ``actor``."""
    _check_subgroup(agency=office.agency, subgroup=subgroup)
    values = {
        "subgroup": subgroup,
        "name": name,
        "address": address,
        "postal_code": postal_code,
        "city": city,
        "phone": phone,
        "external_department_code": external_department_code,
    }
    with transaction.atomic():
        locked = Office.objects.select_for_update().get(pk=office.pk, agency_id=office.agency_id)
        old = locked.external_department_code
        locked.save(update_fields=_assign(locked, values))
        _record_department(locked, "department", old, actor)
    return locked
