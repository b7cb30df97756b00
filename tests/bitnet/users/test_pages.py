"""Administrasjon > Brukere: list, create and edit users.

Administrators only, every query scoped to the user's agency (a foreign id is a 404), Norwegian
messages beside the field for bad input, and nothing saved when input is rejected.
"""

import pytest

from bitnet.models import Role, User
from tests.factories import OfficeFactory, UserFactory

pytestmark = pytest.mark.django_db

EMPLOYEE_NUMBER_MESSAGE = "Ansettelsesnr. må være et positivt heltall."


def _errors(response, field: str) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get(field, [])]


# Brukere


def _user_post(**overrides) -> dict:
    data = {
        "first_name": "Per",
        "last_name": "Hansen",
        "email": "per@example.no",
        "role": Role.FINANCE,
        "office": "",
        "employee_number": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def _new_user_post(**overrides) -> dict:
    data = _user_post(username="per", password1="Gravferd-2026!", password2="Gravferd-2026!")
    data.update(overrides)
    return data


def test_user_list_shows_columns_and_employee_number(admin_client, data_a):
    colleague = data_a["colleague"]
    colleague.employee_number = 104711
    colleague.save()
    html = admin_client.get("/administrasjon/brukere/").content.decode()
    assert "Ansettelsesnr. (PowerOffice)" in html
    assert ">104711<" in html  # not "104 711": it is an identifier, not an amount
    assert "Majorstuen" in html
    assert "Bruker" in html


def test_user_create_saves_in_own_agency(admin_client, data_a, agency_a):
    office = data_a["office"]
    response = admin_client.post(
        "/administrasjon/brukere/ny/",
        _new_user_post(office=office.pk, employee_number="17"),
    )
    assert response.status_code == 302
    assert response["Location"] == "/administrasjon/brukere/"
    user = User.objects.get(username="per")
    assert user.agency == agency_a
    assert user.office == office
    assert user.role == Role.FINANCE
    assert user.employee_number == 17
    assert user.is_active
    assert user.check_password("Gravferd-2026!")


@pytest.mark.parametrize("bad", ["0", "-3", "abc", "1.5"])
def test_user_create_rejects_bad_employee_number(admin_client, data_a, bad):
    before = User.objects.count()
    response = admin_client.post("/administrasjon/brukere/ny/", _new_user_post(employee_number=bad))
    assert response.status_code == 200
    assert _errors(response, "employee_number") == [EMPLOYEE_NUMBER_MESSAGE]
    assert EMPLOYEE_NUMBER_MESSAGE in response.content.decode()
    assert User.objects.count() == before


@pytest.mark.parametrize("too_large", ["2147483648", "99999999999999999999"])
def test_too_large_employee_number_is_called_too_large(admin_client, data_a, too_large):
    response = admin_client.post(
        "/administrasjon/brukere/ny/", _new_user_post(employee_number=too_large)
    )
    assert response.status_code == 200
    assert _errors(response, "employee_number") == [
        "Ansettelsesnr. er for stort: høyst 2147483647. Bruk nummeret fra kolonnen «Ansattnr.» "
        "under Brukere i PowerOffice."
    ]
    assert not User.objects.filter(username="per").exists()


def test_employee_number_is_unique_in_the_agency(admin_client, data_a, admin_b):
    colleague = data_a["colleague"]
    colleague.first_name, colleague.last_name, colleague.employee_number = "Per", "Olsen", 4
    colleague.save()
    taken = (
        f"Ansettelsesnr. 4 brukes allerede av Per Olsen ({colleague.username}). Hver ansatt i "
        "PowerOffice har sitt eget nummer."
    )
    response = admin_client.post("/administrasjon/brukere/ny/", _new_user_post(employee_number="4"))
    assert response.status_code == 200
    assert _errors(response, "employee_number") == [taken]
    assert not User.objects.filter(username="per").exists()

    other = UserFactory(agency=colleague.agency, username="jonas", first_name="Jonas")
    response = admin_client.post(
        f"/administrasjon/brukere/{other.pk}/", _user_post(employee_number="4")
    )
    assert _errors(response, "employee_number") == [taken]
    other.refresh_from_db()
    assert other.employee_number is None

    # Saving a user with their own number again is fine, and another agency may use it.
    response = admin_client.post(
        f"/administrasjon/brukere/{colleague.pk}/", _user_post(employee_number="4")
    )
    assert response.status_code == 302
    UserFactory(agency=admin_b.agency, username="per.b", employee_number=4)


def test_employee_number_unique_in_services_and_database(data_a):
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    from bitnet.users.services import user_create, user_update

    colleague = data_a["colleague"]
    colleague.employee_number = 7
    colleague.save()
    agency = colleague.agency
    with pytest.raises(ValidationError) as excinfo:
        user_create(agency=agency, username="ny", password="Gravferd-2026!", employee_number=7)
    assert "Ansettelsesnr. 7 brukes allerede av" in excinfo.value.message_dict["employee_number"][0]
    other = UserFactory(agency=agency, username="other")
    with pytest.raises(ValidationError):
        user_update(user=other, role=Role.USER, employee_number=7)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=other.pk).update(employee_number=7)


@pytest.mark.parametrize("bad", ["0", "-3", "abc"])
def test_user_edit_rejects_bad_employee_number(admin_client, data_a, bad):
    colleague = data_a["colleague"]
    response = admin_client.post(
        f"/administrasjon/brukere/{colleague.pk}/",
        _user_post(employee_number=bad, role=Role.PAYROLL, first_name="Endret"),
    )
    assert response.status_code == 200
    assert _errors(response, "employee_number") == [EMPLOYEE_NUMBER_MESSAGE]
    colleague.refresh_from_db()
    # Nothing of the rejected form was saved.
    assert colleague.employee_number is None
    assert colleague.role == Role.USER
    assert colleague.first_name == "Kari"


def test_user_edit_saves_role_office_number_and_status(admin_client, data_a, agency_a):
    colleague = data_a["colleague"]
    other_office = OfficeFactory(agency=agency_a, subgroup=data_a["subgroup"], name="Ullevål")
    response = admin_client.post(
        f"/administrasjon/brukere/{colleague.pk}/",
        _user_post(role=Role.PAYROLL, office=other_office.pk, employee_number=" 42 ", is_active=""),
    )
    assert response.status_code == 302
    colleague.refresh_from_db()
    assert colleague.role == Role.PAYROLL
    assert colleague.office == other_office
    assert colleague.employee_number == 42
    assert not colleague.is_active
    assert colleague.check_password("passord123")  # unchanged without a new password

    # Empty clears the number.
    admin_client.post(f"/administrasjon/brukere/{colleague.pk}/", _user_post(employee_number=""))
    colleague.refresh_from_db()
    assert colleague.employee_number is None


def test_user_edit_sets_a_new_password(admin_client, data_a):
    colleague = data_a["colleague"]
    response = admin_client.post(
        f"/administrasjon/brukere/{colleague.pk}/",
        _user_post(new_password1="Ny-Kiste-2026!", new_password2="Ny-Kiste-2026!"),
    )
    assert response.status_code == 302
    colleague.refresh_from_db()
    assert colleague.check_password("Ny-Kiste-2026!")


def test_user_edit_rejects_mismatched_passwords(admin_client, data_a):
    colleague = data_a["colleague"]
    response = admin_client.post(
        f"/administrasjon/brukere/{colleague.pk}/",
        _user_post(new_password1="Ny-Kiste-2026!", new_password2="Annet-2026!", role=Role.PAYROLL),
    )
    assert response.status_code == 200
    assert _errors(response, "new_password2") == ["Passordene er ikke like."]
    colleague.refresh_from_db()
    assert colleague.check_password("passord123")
    assert colleague.role == Role.USER


@pytest.mark.parametrize("username", ["kari", "KARI", "b_user"])
def test_user_create_rejects_duplicate_username(admin_client, data_a, data_b, username):
    before = User.objects.count()
    response = admin_client.post("/administrasjon/brukere/ny/", _new_user_post(username=username))
    assert response.status_code == 200
    assert _errors(response, "username") == ["Brukernavnet er allerede i bruk. Velg et annet."]
    assert User.objects.count() == before


def test_user_create_requires_password(admin_client, data_a):
    before = User.objects.count()
    response = admin_client.post(
        "/administrasjon/brukere/ny/", _new_user_post(password1="", password2="")
    )
    assert _errors(response, "password1") == ["Skriv inn et passord."]
    short = admin_client.post(
        "/administrasjon/brukere/ny/", _new_user_post(password1="kort", password2="kort")
    )
    assert _errors(short, "password1") == ["Passordet er for kort. Det må ha minst 8 tegn."]
    common = admin_client.post(
        "/administrasjon/brukere/ny/", _new_user_post(password1="password", password2="password")
    )
    assert _errors(common, "password1") == ["Passordet er for vanlig. Velg et annet."]
    assert User.objects.count() == before


def test_user_office_choices_only_from_own_agency(admin_client, data_a, data_b):
    response = admin_client.get("/administrasjon/brukere/ny/")
    offices = list(response.context["form"].fields["office"].queryset)
    assert offices == [data_a["office"]]
    before = User.objects.count()
    response = admin_client.post(
        "/administrasjon/brukere/ny/", _new_user_post(office=data_b["office"].pk)
    )
    assert _errors(response, "office") == ["Velg et byrå fra listen."]
    assert User.objects.count() == before


def test_admin_cannot_demote_or_deactivate_self(admin_client, admin_a):
    url = f"/administrasjon/brukere/{admin_a.pk}/"
    response = admin_client.post(url, _user_post(role=Role.USER, is_active=""))
    assert _errors(response, "role") == ["Du kan ikke fjerne din egen administratorrolle."]
    assert _errors(response, "is_active") == ["Du kan ikke deaktivere din egen bruker."]
    admin_a.refresh_from_db()
    assert admin_a.role == Role.ADMINISTRATOR
    assert admin_a.is_active


def test_user_list_filters_and_pages(admin_client, agency_a, data_a):
    for n in range(30):
        UserFactory(agency=agency_a, username=f"ansatt{n:02d}", first_name="Ansatt")
    first = admin_client.get("/administrasjon/brukere/")
    assert len(first.context["page_obj"]) == 25
    assert "Side 1 av 2" in first.content.decode()
    second = admin_client.get("/administrasjon/brukere/?page=2")
    assert second.status_code == 200
    assert len(second.context["page_obj"]) == 7  # admin_a, kari and 30 more: 32
    search = admin_client.get("/administrasjon/brukere/?q=kari")
    assert [u.username for u in search.context["page_obj"]] == ["kari"]
    role = admin_client.get("/administrasjon/brukere/?rolle=administrator")
    assert [u.username for u in role.context["page_obj"]] == ["admin_a"]
