"""Writes of Administrasjon in bitnet: users, offices (byråer) and the subgroups' number series.

Every write runs in one transaction; a rule broken at the last moment (a username taken by a
parallel request, an invoice number used meanwhile) raises ``ValidationError`` keyed by field,
so the form can show the message beside the field and nothing is saved.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Model

from bitnet.models import Agency, Office, Role, Subgroup, User

USERNAME_TAKEN = "Brukernavnet er allerede i bruk. Velg et annet."


def _assign(row: Model, values: dict[str, Any]) -> list[str]:
    """Set ``values`` on a locked row; returns the fields to save."""
    for field, value in values.items():
        setattr(row, field, value)
    return list(values)


def _check_office(*, agency: Agency, office: Office | None) -> None:
    if office is not None and office.agency_id != agency.pk:
        raise ValidationError({"office": "Velg et byrå i din etat."})


def user_create(
    *,
    agency: Agency,
    username: str,
    password: str,
    role: str = Role.USER,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    office: Office | None = None,
    employee_number: int | None = None,
    is_active: bool = True,
) -> User:
    """Create a user of ``agency`` with a hashed password."""
    _check_office(agency=agency, office=office)
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError({"username": USERNAME_TAKEN})
        user = User(
            agency=agency,
            username=username,
            first_name=first_name,
            last_name=last_name,
            email=email,
            role=role,
            office=office,
            employee_number=employee_number,
            is_active=is_active,
        )
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            # A parallel request took the username between the check and the insert.
            raise ValidationError({"username": USERNAME_TAKEN}) from None
    return user


def user_update(
    *,
    user: User,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    office: Office | None = None,
    employee_number: int | None = None,
    is_active: bool = True,
    password: str | None = None,
) -> User:
    """Update a user's role, office, PowerOffice employee number, status and, optionally,
    password. The username is not changed here."""
    agency = user.agency
    _check_office(agency=agency, office=office)
    values = {
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "role": role,
        "office": office,
        "employee_number": employee_number,
        "is_active": is_active,
    }
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk, agency=agency)
        fields = _assign(locked, values)
        if password:
            locked.set_password(password)
            fields.append("password")
        locked.save(update_fields=fields)
    return locked


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

    The row is locked like number allocation does (bitnet/services.py), and the rules are
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


def _check_subgroup(*, agency: Agency, subgroup: Subgroup) -> None:
    if subgroup.agency_id != agency.pk:
        raise ValidationError({"subgroup": "Velg en undergruppe i din etat."})


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
) -> Office:
    """Create an office (byrå/kontor) in one of the agency's subgroups."""
    _check_subgroup(agency=agency, subgroup=subgroup)
    with transaction.atomic():
        return Office.objects.create(
            agency=agency,
            subgroup=subgroup,
            name=name,
            address=address,
            postal_code=postal_code,
            city=city,
            phone=phone,
            external_department_code=external_department_code,
        )


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
) -> Office:
    """Update an office, including its "Ekstern avdeling" (PowerOffice department code)."""
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
        locked.save(update_fields=_assign(locked, values))
    return locked
