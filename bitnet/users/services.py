"""Writes of Administrasjon > Brukere: create and update the users of an agency.

Every write runs in one transaction; a username taken by a parallel request raises
``ValidationError`` keyed by field, so the form can show the message beside the field and nothing
is saved.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bitnet.models import Agency, Office, Role, User

USERNAME_TAKEN = "Brukernavnet er allerede i bruk. Velg et annet."


def _check_office(*, agency_id: int | None, office: Office | None) -> None:
    if office is not None and office.agency_id != agency_id:
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
    _check_office(agency_id=agency.pk, office=office)
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
        locked = User.objects.select_for_update().get(pk=user.pk, agency=user.agency)
        for field, value in values.items():
            setattr(locked, field, value)
        fields = list(values)
        if password:
            locked.set_password(password)
            fields.append("password")
        locked.save(update_fields=fields)
    return locked
