"""Administrasjon > Datadeling: the application key, client keys verified on save and stored
encrypted, the options, "Synkroniser avdelinger" and the offices' "Ekstern avdeling"."""

import pytest

from bitnet.hooks import department_choices
from poweroffice.crypto import decrypt_secret
from poweroffice.models import Connection, Department

URL = "/administrasjon/datadeling/"

pytestmark = pytest.mark.django_db


def _post(client, subgroup, **fields):
    prefix = f"sg{subgroup.pk}-"
    data = {"subgroup": subgroup.pk}
    for key, value in fields.items():
        if value is True:
            data[prefix + key] = "on"
        elif value not in (False, None):
            data[prefix + key] = value
    return client.post(URL, data)


def test_administrators_only(client, personas, subgroup_a):
    for name in ("finance_a", "payroll_a", "user_a"):
        client.force_login(personas[name])
        assert client.get(URL).status_code == 403
        assert _post(client, subgroup_a, enabled=True).status_code == 403
    assert not Connection.objects.filter(subgroup=subgroup_a, enabled=True).exists()


def test_other_agencys_subgroup_is_a_404(client, admin_b, subgroup_a):
    client.force_login(admin_b)
    assert _post(client, subgroup_a, enabled=True).status_code == 404
    response = client.post(f"/administrasjon/datadeling/{subgroup_a.pk}/avdelinger/")
    assert response.status_code == 404


def test_page_shows_the_application_key_with_a_copy_button(client, admin_a, subgroup_a, settings):
    settings.POWEROFFICE_APPLICATION_KEY = "bitnet-app-key-1234"
    client.force_login(admin_a)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-copy="bitnet-app-key-1234"' in html
    for label in (
        "PowerOffice som regnskapssystem",
        "Klientnøkkel",
        "Ta med Ansattnr ved eksport av fakturaer",
        "Eksporter automatisk nye fakturaer til PowerOffice",
        "Send med fakturaspesifikasjon ved eksport til PowerOffice",
        "Send med avdeling for fakturaer",
        "Synkroniser avdelinger",
    ):
        assert label in html
    assert "Hansen Oslo" in html


def test_saving_a_valid_key_verifies_stores_encrypted_and_masks(
    client, admin_a, subgroup_a, sandbox, sandbox_settings
):
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    client.force_login(admin_a)

    response = _post(client, subgroup_a, enabled=True, client_key=key, auto_export=True)

    assert response.status_code == 302
    connection = Connection.objects.get(subgroup=subgroup_a)
    assert connection.enabled and connection.auto_export
    assert not connection.include_specification
    assert connection.client_key_encrypted and key not in connection.client_key_encrypted
    assert decrypt_secret(connection.client_key_encrypted) == key
    assert connection.client_key_last4 == key[-4:]
    assert connection.client_name == "Hansen Oslo AS"
    assert sandbox.requests_log(path="ClientIntegrationInformation")
    page = client.get(response["Location"]).content.decode()
    assert "Koblet til «Hansen Oslo AS»" in page
    assert connection.masked_client_key in page
    assert key not in page  # never shown again


def test_a_wrong_key_says_why_and_saves_nothing(
    client, admin_a, subgroup_a, sandbox, sandbox_settings
):
    good = sandbox.create_client("Hansen Oslo AS")["client_key"]
    client.force_login(admin_a)
    _post(client, subgroup_a, enabled=True, client_key=good)

    response = _post(
        client, subgroup_a, enabled=True, client_key="feil-nokkel-123456", auto_export=True
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "PowerOffice kjenner ikke igjen klientnøkkelen" in html
    assert "feil-nokkel-123456" not in html
    connection = Connection.objects.get(subgroup=subgroup_a)
    assert decrypt_secret(connection.client_key_encrypted) == good  # the working key stays
    assert connection.auto_export is False  # nothing half-saved


def test_options_are_saved_without_touching_the_key(
    client, admin_a, subgroup_a, sandbox, sandbox_settings
):
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    client.force_login(admin_a)
    _post(client, subgroup_a, enabled=True, client_key=key)
    stored = Connection.objects.get(subgroup=subgroup_a).client_key_encrypted

    _post(
        client,
        subgroup_a,
        enabled=True,
        include_employee_number=True,
        auto_export=True,
        include_specification=True,
        include_department=True,
    )

    connection = Connection.objects.get(subgroup=subgroup_a)
    assert connection.client_key_encrypted == stored
    assert (
        connection.include_employee_number,
        connection.auto_export,
        connection.include_specification,
        connection.include_department,
    ) == (True, True, True, True)

    _post(client, subgroup_a, enabled=False)
    connection.refresh_from_db()
    assert not connection.enabled and not connection.auto_export


def test_synchronise_departments_and_office_choices(
    client, admin_a, subgroup_a, office_a, sandbox, sandbox_settings
):
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    drammen = sandbox.find(key, "departments", Code="4")
    sandbox.update(key, "departments", drammen["Id"], IsActive=False)  # closed in PowerOffice
    client.force_login(admin_a)
    _post(client, subgroup_a, enabled=True, client_key=key)

    response = client.post(f"/administrasjon/datadeling/{subgroup_a.pk}/avdelinger/", follow=True)

    assert "Hentet 4 avdelinger fra PowerOffice" in response.content.decode()
    rows = {d.code: (d.name, d.is_active) for d in Department.objects.filter(subgroup=subgroup_a)}
    assert rows == {
        "1": ("Oslo", True),
        "2": ("Bærum", True),
        "3": ("Asker", True),
        "4": ("Drammen", False),
    }
    # Administrasjon > Byrå offers the active ones as "Ekstern avdeling".
    assert department_choices(subgroup_a.pk) == [
        ("1", "1 Oslo"),
        ("2", "2 Bærum"),
        ("3", "3 Asker"),
    ]
    office_page = client.get(f"/administrasjon/byra/{office_a.pk}/").content.decode()
    assert "2 Bærum" in office_page and "4 Drammen" not in office_page

    # A department removed in PowerOffice is kept, inactive; a second sync changes nothing else.
    oslo = sandbox.find(key, "departments", Code="1")
    sandbox.remove(key, "departments", oslo["Id"])
    client.post(f"/administrasjon/datadeling/{subgroup_a.pk}/avdelinger/")
    assert Department.objects.get(subgroup=subgroup_a, code="1").is_active is False
    assert Department.objects.filter(subgroup=subgroup_a).count() == 4


def test_sync_without_a_key_says_so(client, admin_a, subgroup_a):
    client.force_login(admin_a)
    response = client.post(f"/administrasjon/datadeling/{subgroup_a.pk}/avdelinger/", follow=True)
    assert "har ingen klientnøkkel" in response.content.decode()


def test_a_key_of_another_subgroups_client_is_refused_naming_both(
    client, admin_a, subgroup_a, sandbox, sandbox_settings
):
    from poweroffice.datadeling.connection import (
        connection_for_subgroup,
        connection_store_client_key,
    )
    from tests.factories import SubgroupFactory

    viken = SubgroupFactory(agency=subgroup_a.agency, name="Viken")
    viken_key = sandbox.create_client("Hansen Viken AS")["client_key"]
    assert connection_store_client_key(
        connection=connection_for_subgroup(viken), client_key=viken_key
    ).ok
    client.force_login(admin_a)

    response = _post(client, subgroup_a, enabled=True, client_key=viken_key)

    assert response.status_code == 400
    html = response.content.decode()
    assert "«Hansen Viken AS»" in html and "allerede er koblet til Viken" in html
    assert "Hansen Oslo og Viken kan ikke dele PowerOffice-klient" in html
    assert not Connection.objects.get(subgroup=subgroup_a).has_client_key
