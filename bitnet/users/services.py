"""Writes of Administrasjon > Brukere: create and update the users of an agency.

Every write runs in one transaction; a username taken by a parallel request raises
``ValidationError`` keyed by field, so the form can show the message beside the field and nothing
is saved.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bitnet.audit.services import audit_changes, audit_record
from bitnet.models import Agency, AuditArea, Office, Role, User

USERNAME_TAKEN = "Brukernavnet er allerede i bruk. Velg et annet."


def employee_number_holder(
    *, agency_id: int | None, employee_number: int | None, exclude_id: int | None = None
) -> User | None:
    """The other user of the agency who has ``employee_number``, if any."""
    if agency_id is None or employee_number is None:
        return None
    others = User.objects.filter(agency_id=agency_id, employee_number=employee_number)
    if exclude_id is not None:
        others = others.exclude(pk=exclude_id)
    return others.order_by("pk").first()


def employee_number_taken(*, holder: User) -> str:
    """The message for an Ansettelsesnr. that another user of the agency already has."""
    name = holder.get_full_name()
    who = f"{name} ({holder.username})" if name else holder.username
    return (
        f"Ansettelsesnr. {holder.employee_number} brukes allerede av {who}. Hver ansatt i "
        "PowerOffice har sitt eget nummer."
    )


def _check_employee_number(
    *, agency_id: int | None, employee_number: int | None, exclude_id: int | None = None
) -> None:
    holder = employee_number_holder(
        agency_id=agency_id, employee_number=employee_number, exclude_id=exclude_id
    )
    if holder is not None:
        raise ValidationError({"employee_number": employee_number_taken(holder=holder)})


def _integrity_error(*, user: User, username_check: bool) -> ValidationError:
    """What a unique constraint broken by a parallel request means for the form."""
    holder = employee_number_holder(
        agency_id=user.agency_id, employee_number=user.employee_number, exclude_id=user.pk
    )
    if holder is not None:
        return ValidationError({"employee_number": employee_number_taken(holder=holder)})
    if username_check:
        return ValidationError({"username": USERNAME_TAKEN})
    return ValidationError("Brukeren ble endret samtidig av en annen. Prøv igjen.")


def _check_office(*, agency_id: int | None, office: Office | None) -> None:
    if office is not None and office.agency_id != agency_id:
        raise ValidationError({"office": "Velg et byrå i din etat."})


# What the Endringslogg of a user page follows, as labelled on the page.
AUDITED = {
    "role": "Rolle",
    "office": "Byrå",
    "employee_number": "Ansettelsesnr. (PowerOffice)",
    "status": "Status",
    "first_name": "Fornavn",
    "last_name": "Etternavn",
    "email": "E-post",
}


def _shown(user: User) -> dict[str, Any]:
    return {
        "role": user.get_role_display(),
        "office": user.office.name if user.office else None,
        "employee_number": user.employee_number,
        "status": "Aktiv" if user.is_active else "Inaktiv",
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
    }


def _record(
    user: User, action: str, summary: str, before: dict[str, Any], actor: User | None
) -> None:
    if user.agency_id is None:
        return  # a superuser outside every agency: no agency's log to write to
    audit_record(
        agency_id=user.agency_id,
        area=AuditArea.USERS,
        action=action,
        summary=summary,
        actor=actor,
        object_id=user.pk,
        changes=audit_changes(before, _shown(user), AUDITED),
    )


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
    actor: User | None = None,
) -> User:
    """Create a user of ``agency`` with a hashed password (recorded in the user's
    Endringslogg, by ``actor``)."""
    _check_office(agency_id=agency.pk, office=office)
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError({"username": USERNAME_TAKEN})
        _check_employee_number(agency_id=agency.pk, employee_number=employee_number)
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
            # A parallel request took the username or the number between check and insert.
            raise _integrity_error(user=user, username_check=True) from None
        _record(user, "created", f"Bruker {user.username} opprettet", {}, actor)
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
    actor: User | None = None,
) -> User:
    """Update a user's role, office, PowerOffice employee number, status and, optionally,
    password. The username is not changed here. What changed goes to the user's Endringslogg,
    by ``actor`` (a new password only as "Passord endret", never its value)."""
    _check_office(agency_id=user.agency_id, office=office)
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
        locked = (
            User.objects.select_for_update(of=("self",))
            .select_related("office")
            .get(pk=user.pk, agency=user.agency)
        )
        before = _shown(locked)
        _check_employee_number(
            agency_id=locked.agency_id, employee_number=employee_number, exclude_id=locked.pk
        )
        for field, value in values.items():
            setattr(locked, field, value)
        fields = list(values)
        if password:
            locked.set_password(password)
            fields.append("password")
        try:
            with transaction.atomic():
                locked.save(update_fields=fields)
        except IntegrityError:
            raise _integrity_error(user=locked, username_check=False) from None
        changed = audit_changes(before, _shown(locked), AUDITED)
        if changed or password:
            summary = "Bruker endret" if changed else "Passord endret"
            if changed and password:
                summary += ", og passord endret"
            _record(locked, "updated", summary, before, actor)
    return locked
