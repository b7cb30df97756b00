"""The Endringslogg: who changed a client key, an option, a department sync, payroll activation,
a wage code, a user or an office's "Ekstern avdeling", when, and from what to what; recorded
by the services, shown on the page each change concerns, of the reader's agency only, and
never with a client key in it."""

import html

import pytest

from bitnet.agencies.services import office_update
from bitnet.audit.services import audit_actor_name
from bitnet.models import AuditArea, AuditEntry, Role
from poweroffice.datadeling.services import connection_settings_update
from poweroffice.models import Connection
from tests.factories import OfficeFactory, SubgroupFactory
from tests.fixtures.payroll import WAGE_CODES, connect_subgroup

pytestmark = pytest.mark.django_db

DATADELING = "/administrasjon/datadeling/"
INTEGRATIONS = "/administrasjon/integrasjoner/"


def _page(response) -> str:
    return html.unescape(response.content.decode())


def _datadeling(client, subgroup, **fields):
    prefix = f"sg{subgroup.pk}-"
    data = {"subgroup": subgroup.pk}
    for key, value in fields.items():
        if value is True:
            data[prefix + key] = "on"
        elif value not in (False, None):
            data[prefix + key] = value
    return client.post(DATADELING, data)


def _changes(entry) -> list[tuple[str, str, str]]:
    return [(c["field"], c["old"], c["new"]) for c in entry.changes]


def _log_of(page: str, anchor: str) -> str:
    """The part of a page from ``anchor`` to the end of its Endringslogg."""
    start = page.index(anchor)
    log = page.index("data-audit-log", start)
    return page[log : page.index("</details>", log)]


def test_datadeling_key_and_options_are_logged_with_who_and_never_the_key(
    client, admin_a, subgroup_a, sandbox, sandbox_settings
):
    first = sandbox.create_client("Hansen Oslo AS")["client_key"]
    client.force_login(admin_a)
    assert _datadeling(client, subgroup_a, enabled=True, client_key=first).status_code == 302
    assert (
        _datadeling(
            client, subgroup_a, enabled=True, auto_export=True, include_department=True
        ).status_code
        == 302
    )
    second = sandbox.create_client("Hansen Oslo AS")["client_key"]
    assert (
        _datadeling(
            client,
            subgroup_a,
            enabled=True,
            auto_export=True,
            include_department=True,
            client_key=second,
        ).status_code
        == 302
    )
    # Saving the same values again is no change.
    _datadeling(client, subgroup_a, enabled=True, auto_export=True, include_department=True)

    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.area, e.action, e.summary) for e in entries] == [
        (AuditArea.DATADELING, "client_key", f"Klientnøkkel lagt inn (…{first[-4:]})"),
        (AuditArea.DATADELING, "options", "Innstillinger endret"),
        (AuditArea.DATADELING, "options", "Innstillinger endret"),
        (AuditArea.DATADELING, "client_key", f"Klientnøkkel byttet (…{second[-4:]})"),
    ]
    assert _changes(entries[0]) == [("Klient i PowerOffice", "(tom)", "Hansen Oslo AS")]
    assert _changes(entries[1]) == [("PowerOffice som regnskapssystem", "Av", "På")]
    assert _changes(entries[2]) == [
        ("Eksporter automatisk nye fakturaer til PowerOffice", "Av", "På"),
        ("Send med avdeling for fakturaer", "Av", "På"),
    ]
    for entry in entries:
        assert entry.agency_id == subgroup_a.agency_id and entry.subgroup_id == subgroup_a.pk
        assert entry.actor_id == admin_a.pk
        assert (
            entry.actor_name
            == audit_actor_name(admin_a)
            == f"Admin_A {admin_a.last_name} (admin_a)"
        )
    # The keys themselves are nowhere in the log.
    stored = str(list(AuditEntry.objects.values()))
    assert first not in stored and second not in stored

    page = _page(client.get(DATADELING))
    log = _log_of(page, f'id="undergruppe-{subgroup_a.pk}"')
    assert "Endringslogg" in log
    assert "Sist endret" in log and f"av {audit_actor_name(admin_a)}" in log
    assert f"Klientnøkkel byttet (…{second[-4:]})" in log
    assert "Eksporter automatisk nye fakturaer til PowerOffice:" in log
    assert first not in page and second not in page
    # "lagret og godkjent …" now says by whom.
    stored_line = page[page.index('data-testid="stored-key"') :]
    stored_line = stored_line[: stored_line.index("</div>")]
    assert f"av {audit_actor_name(admin_a)}" in stored_line


def test_a_refused_key_changes_nothing_and_logs_nothing(
    client, admin_a, subgroup_a, sandbox, sandbox_settings
):
    client.force_login(admin_a)
    response = _datadeling(client, subgroup_a, enabled=True, client_key="feil-nøkkel-12345678")
    assert response.status_code == 400
    assert not AuditEntry.objects.exists()


def test_department_sync_and_an_offices_ekstern_avdeling_are_logged(
    client, admin_a, subgroup_a, office_a, sandbox, sandbox_settings
):
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    client.force_login(admin_a)
    _datadeling(client, subgroup_a, enabled=True, client_key=key)
    response = client.post(f"/administrasjon/datadeling/{subgroup_a.pk}/avdelinger/")
    assert response.status_code == 302
    sync = AuditEntry.objects.get(action="departments_sync")
    assert sync.summary == "Avdelinger synkronisert: hentet 4 (4 nye)"
    assert ("Avdeling 2", "(tom)", "2 Bærum") in _changes(sync)
    assert ("Avdeling 4", "(tom)", "4 Drammen") in _changes(sync)

    response = client.post(
        f"/administrasjon/byra/{office_a.pk}/",
        {
            "name": office_a.name,
            "subgroup": subgroup_a.pk,
            "address": "",
            "postal_code": "",
            "city": "",
            "phone": "",
            "external_department_code": "2",
        },
    )
    assert response.status_code == 302
    department = AuditEntry.objects.get(area=AuditArea.OFFICES)
    assert department.summary == "Majorstuen: ekstern avdeling endret"
    assert _changes(department) == [("Ekstern avdeling", "(tom)", "2 Bærum")]
    assert department.object_id == office_a.pk and department.actor_id == admin_a.pk
    # The address changing alone is not a PowerOffice setting: not logged.
    office_update(
        office=office_a,
        subgroup=subgroup_a,
        name="Majorstuen",
        city="Oslo",
        external_department_code="2",
        actor=admin_a,
    )
    assert AuditEntry.objects.filter(area=AuditArea.OFFICES).count() == 1

    office_page = _page(client.get(f"/administrasjon/byra/{office_a.pk}/"))
    assert "Ekstern avdeling:" in _log_of(office_page, "audit-card")
    log = _log_of(_page(client.get(DATADELING)), f'id="undergruppe-{subgroup_a.pk}"')
    assert "Avdelinger synkronisert: hentet 4 (4 nye)" in log
    assert "Majorstuen: ekstern avdeling endret" in log


def test_payroll_activation_and_wage_codes_are_logged_on_their_pages(
    client, po, subgroup_a, admin_a, payroll_a
):
    key = po.create_client(name="Hansen Oslo AS")["client_key"]
    client.force_login(admin_a)
    response = client.post(
        f"{INTEGRATIONS}{subgroup_a.pk}/aktiver/",
        {f"s{subgroup_a.pk}-source": "ny", f"s{subgroup_a.pk}-client_key": key},
    )
    assert response.status_code == 302
    client.post(f"{INTEGRATIONS}{subgroup_a.pk}/deaktiver/")
    client.post(f"{INTEGRATIONS}{subgroup_a.pk}/deaktiver/")  # already off: no change
    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.area, e.action, e.summary) for e in entries] == [
        (
            AuditArea.DATADELING,
            "client_key",
            f"Klientnøkkel lagt inn (…{key[-4:]}) under Integrasjoner",
        ),
        (
            AuditArea.INTEGRATIONS,
            "activated",
            f"PowerOffice Go aktivert med ny klientnøkkel (…{key[-4:]}), klient «Hansen Oslo AS»",
        ),
        (
            AuditArea.INTEGRATIONS,
            "deactivated",
            "PowerOffice Go deaktivert (klientnøkkelen beholdes for Datadeling)",
        ),
    ]
    assert _changes(entries[1]) == [("Lønn i PowerOffice Go", "Av", "På")]
    assert key not in str(list(AuditEntry.objects.values()))
    page = _page(client.get(INTEGRATIONS))
    log = _log_of(page, "audit-card")
    assert "PowerOffice Go deaktivert" in log and "PowerOffice Go aktivert" in log
    assert "Hansen Oslo" in log  # the subgroup of each entry
    assert key not in page

    client.post(
        f"{INTEGRATIONS}{subgroup_a.pk}/aktiver/", {f"s{subgroup_a.pk}-source": "datadeling"}
    )
    client.force_login(payroll_a)
    codes = {kind: code for kind, code in WAGE_CODES.items()}
    response = client.post(
        "/lonn/lonnskoder/", {"undergruppe": subgroup_a.pk, **{str(k): v for k, v in codes.items()}}
    )
    assert response.status_code == 302
    codes.pop("toll")
    client.post(
        "/lonn/lonnskoder/", {"undergruppe": subgroup_a.pk, **{str(k): v for k, v in codes.items()}}
    )
    first, second = AuditEntry.objects.filter(area=AuditArea.WAGE_CODES).order_by("id")
    assert ("Kilometergodtgjørelse", "(tom)", "7100") in _changes(first)
    assert _changes(second) == [("Bompenger", "7140", "(tom)")]
    assert second.actor_id == payroll_a.pk
    page = _page(client.get(f"/lonn/lonnskoder/?undergruppe={subgroup_a.pk}"))
    assert "Bompenger:" in _log_of(page, "audit-card")


def test_user_changes_are_logged_on_the_users_page(client, admin_a, office_a, agency_a):
    client.force_login(admin_a)
    response = client.post(
        "/administrasjon/brukere/ny/",
        {
            "username": "per",
            "password1": "Gravferd-2026!",
            "password2": "Gravferd-2026!",
            "first_name": "Per",
            "last_name": "Hansen",
            "email": "",
            "role": Role.USER,
            "office": "",
            "employee_number": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    per = agency_a.users.get(username="per")
    response = client.post(
        f"/administrasjon/brukere/{per.pk}/",
        {
            "first_name": "Per",
            "last_name": "Hansen",
            "email": "",
            "role": Role.PAYROLL,
            "office": office_a.pk,
            "employee_number": "17",
            "new_password1": "Nytt-passord-2026!",
            "new_password2": "Nytt-passord-2026!",
        },
    )
    assert response.status_code == 302
    created, updated = AuditEntry.objects.filter(area=AuditArea.USERS).order_by("id")
    assert created.summary == "Bruker per opprettet" and created.object_id == per.pk
    assert ("Rolle", "(tom)", "Bruker") in _changes(created)
    assert updated.summary == "Bruker endret, og passord endret"
    assert _changes(updated) == [
        ("Rolle", "Bruker", "Lønn"),
        ("Byrå", "(tom)", "Majorstuen"),
        ("Ansettelsesnr. (PowerOffice)", "(tom)", "17"),
        ("Status", "Aktiv", "Inaktiv"),
    ]
    assert "Nytt-passord" not in str(list(AuditEntry.objects.values()))
    page = _page(client.get(f"/administrasjon/brukere/{per.pk}/"))
    log = _log_of(page, "audit-card")
    assert "Bruker endret, og passord endret" in log and "Ansettelsesnr. (PowerOffice):" in log
    assert f"av {audit_actor_name(admin_a)}" in log
    # Another user's page shows only that user's entries.
    other = _page(client.get(f"/administrasjon/brukere/{admin_a.pk}/"))
    assert "Ingen endringer registrert ennå" in other


def test_the_log_is_of_the_readers_agency_only(client, po, admin_a, admin_b, subgroup_a, agency_b):
    subgroup_b = SubgroupFactory(agency=agency_b, name="Fjordheim Bergen")
    OfficeFactory(subgroup=subgroup_b, agency=agency_b, name="Sentrum")
    connect_subgroup(po, subgroup_a, activate=False)
    connection = Connection.objects.get(subgroup=subgroup_a)
    connection_settings_update(
        connection=connection,
        enabled=True,
        include_employee_number=True,
        auto_export=False,
        include_specification=False,
        include_department=False,
        actor=admin_a,
    )
    assert AuditEntry.objects.filter(agency=subgroup_a.agency).count() == 2
    # System (no person) for a service called without one, e.g. the demo.
    assert AuditEntry.objects.get(action="client_key").actor_name == "System"

    client.force_login(admin_b)
    for url in (DATADELING, INTEGRATIONS, f"/administrasjon/brukere/{admin_b.pk}/"):
        page = _page(client.get(url))
        assert "Ingen endringer registrert ennå" in page
        assert "Innstillinger endret" not in page and "Klientnøkkel lagt inn" not in page
        assert "Hansen" not in page
    assert client.get(f"/administrasjon/brukere/{admin_a.pk}/").status_code == 404
