"""The payroll pages: Integrasjoner (activation), Lønnskoder, Lønnseksport (wizard, validations
with their messages and links, detail, progress), permissions and isolation."""

import html
import logging
import uuid
from decimal import Decimal

import pytest

from payroll.models import (
    PayrollExport,
    PayrollExportStatus,
    WageCodeMapping,
)
from poweroffice.models import Connection
from poweroffice.salary.create import payroll_export_create
from tests.factories import OfficeFactory, SubgroupFactory
from tests.fixtures.payroll import connect_subgroup, make_driver, make_log, may

pytestmark = pytest.mark.django_db

SEARCH = "/lonn/lonnseksport/ny/?subgroup={sg}&date_from=2026-05-01&date_to=2026-05-31"


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def per(payroll_world):
    return make_driver(payroll_world.office, number=4, first="Per", last="Olsen")


@pytest.fixture
def per_log(per):
    return make_log(
        per,
        trips=[
            {"date": may(4), "km": "42.0", "passengers": 1, "toll": "44.00"},
            {"date": may(18), "km": "12.5"},
        ],
    )


def _post_export(client, payroll_world, logs, action="export", token=None):
    data = {
        "subgroup": payroll_world.subgroup.pk,
        "date_from": "2026-05-01",
        "date_to": "2026-05-31",
        "logs": [log.pk for log in logs],
        "action": action,
    }
    if token:
        data["token"] = str(token)
    return client.post("/lonn/lonnseksport/ny/", data)


# --- permissions and isolation ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/lonn/lonnseksport/", "/lonn/lonnseksport/ny/", "/lonn/lonnskoder/"],
)
def test_payroll_pages_for_payroll_and_admins_only(client, personas, url):
    for name, expected in (
        ("payroll_a", 200),
        ("admin_a", 200),
        ("finance_a", 403),
        ("user_a", 403),
    ):
        client.force_login(personas[name])
        assert client.get(url).status_code == expected, name


def test_integrations_for_administrators_only(client, personas):
    for name, expected in (
        ("admin_a", 200),
        ("payroll_a", 403),
        ("finance_a", 403),
        ("user_a", 403),
    ):
        client.force_login(personas[name])
        assert client.get("/administrasjon/integrasjoner/").status_code == expected, name


def test_foreign_ids_are_404(client, payroll_world, per_log, payroll_a, admin_b):
    export = payroll_export_create(
        subgroup=payroll_world.subgroup,
        log_ids=[per_log.pk],
        date_from=may(1),
        date_to=may(31),
        user=payroll_a,
    )
    client.force_login(admin_b)
    sg = payroll_world.subgroup.pk
    assert client.get(f"/lonn/lonnseksport/{export.pk}/").status_code == 404
    assert client.get(f"/lonn/lonnseksport/{export.pk}/status/").status_code == 404
    assert client.post(f"/lonn/lonnseksport/{export.pk}/tilbakerulling/").status_code == 404
    assert client.get(f"/lonn/lonnskoder/?undergruppe={sg}").status_code == 404
    assert client.post(f"/administrasjon/integrasjoner/{sg}/aktiver/", {}).status_code == 404
    assert client.post(f"/administrasjon/integrasjoner/{sg}/deaktiver/").status_code == 404
    assert client.get(SEARCH.format(sg=sg)).status_code == 400  # not a choice for B
    assert payroll_world.subgroup.name not in client.get("/lonn/lonnseksport/").content.decode()
    assert Connection.objects.get(subgroup=payroll_world.subgroup).payroll_enabled


# --- Administrasjon > Integrasjoner ------------------------------------------------------------


def test_activate_with_a_new_key(client, po, subgroup_a, admin_a, caplog):
    caplog.set_level(logging.DEBUG)
    key = po.create_client(name="Hansen Oslo AS")["client_key"]
    client.force_login(admin_a)
    page = text(client.get("/administrasjon/integrasjoner/"))
    assert "ikke aktivert" in page and "Aktiver" in page
    response = client.post(
        f"/administrasjon/integrasjoner/{subgroup_a.pk}/aktiver/",
        {f"s{subgroup_a.pk}-source": "ny", f"s{subgroup_a.pk}-client_key": key},
        follow=True,
    )
    page = text(response)
    assert "PowerOffice Go er aktivert for Hansen Oslo. Integreringen er godkjent" in page
    assert ">aktivert<" in page
    connection = Connection.objects.get(subgroup=subgroup_a)
    assert connection.payroll_enabled and connection.payroll_verified_at
    assert connection.client_name == "Hansen Oslo AS"
    assert connection.client_key_last4 == key[-4:]
    assert key not in connection.client_key_encrypted
    assert key not in page and f"••••••••{key[-4:]}" in page
    assert key not in caplog.text


@pytest.mark.parametrize(
    ("options", "key", "message"),
    [
        ({}, "feil-nøkkel-1234", "PowerOffice kjenner ikke igjen klientnøkkelen"),
        (
            {"subscriptions": ["Accounting"]},
            None,
            "har ikke abonnement på Lønn i PowerOffice Go",
        ),
        (
            {"privileges": ["Employee", "PayItem", "SalaryLine", "CommonServices"]},
            None,
            "Integrasjonen har ikke tilgang til å opprette lønnslinjer hos «Mangler» "
            "(SalaryLine_Full)",
        ),
    ],
)
def test_activation_says_exactly_why_not(client, po, subgroup_a, admin_a, options, key, message):
    if key is None:
        key = po.create_client(name="Mangler", **options)["client_key"]
    client.force_login(admin_a)
    response = client.post(
        f"/administrasjon/integrasjoner/{subgroup_a.pk}/aktiver/",
        {f"s{subgroup_a.pk}-source": "ny", f"s{subgroup_a.pk}-client_key": key},
    )
    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert "data-open-on-load" in page  # the dialog opens again, with the reason
    assert key not in page
    assert not Connection.objects.filter(subgroup=subgroup_a, payroll_enabled=True).exists()
    assert not Connection.objects.filter(subgroup=subgroup_a).exclude(client_key_encrypted="")


def test_activate_with_the_datadeling_key_and_deactivate(client, po, subgroup_a, admin_a):
    connect_subgroup(po, subgroup_a, activate=False)
    client.force_login(admin_a)
    page = text(client.get("/administrasjon/integrasjoner/"))
    assert "Bruk samme klientnøkkel som Datadeling" in page
    response = client.post(
        f"/administrasjon/integrasjoner/{subgroup_a.pk}/aktiver/",
        {f"s{subgroup_a.pk}-source": "datadeling"},
        follow=True,
    )
    assert "Integreringen er godkjent" in text(response)
    assert Connection.objects.get(subgroup=subgroup_a).payroll_enabled

    response = client.post(f"/administrasjon/integrasjoner/{subgroup_a.pk}/deaktiver/", follow=True)
    assert "PowerOffice Go er deaktivert for Hansen Oslo" in text(response)
    connection = Connection.objects.get(subgroup=subgroup_a)
    assert not connection.payroll_enabled and connection.has_client_key


def test_a_key_for_another_company_is_refused(client, po, subgroup_a, admin_a):
    connect_subgroup(po, subgroup_a, activate=False, name="Hansen Oslo AS")
    other = po.create_client(name="Et annet selskap AS")["client_key"]
    client.force_login(admin_a)
    response = client.post(
        f"/administrasjon/integrasjoner/{subgroup_a.pk}/aktiver/",
        {f"s{subgroup_a.pk}-source": "ny", f"s{subgroup_a.pk}-client_key": other},
    )
    assert (
        "Klientnøkkelen gjelder «Et annet selskap AS», men Hansen Oslo er koblet til "
        "«Hansen Oslo AS»" in text(response)
    )
    assert Connection.objects.get(subgroup=subgroup_a).client_name == "Hansen Oslo AS"


# --- Lønnskoder ----------------------------------------------------------------------------


def test_wage_codes_saved_checked_and_named(client, po, subgroup_a, payroll_a):
    connect_subgroup(po, subgroup_a, wage_codes={})
    client.force_login(payroll_a)
    response = client.post(
        "/lonn/lonnskoder/",
        {"undergruppe": subgroup_a.pk, "mileage": "7100", "toll": "7140", "parking": "7140"},
        follow=True,
    )
    page = text(response)
    assert "Lønnskodene er lagret og kontrollert mot PowerOffice Go." in page
    assert "Kilometergodtgjørelse</strong>" in page and "Bompenger" in page
    mapping = WageCodeMapping.objects.get(subgroup=subgroup_a, kind="mileage")
    assert mapping.pay_item_name == "Kilometergodtgjørelse"
    assert mapping.pay_item_processing_type == "QuantityAndRate"
    assert mapping.checked_at and not mapping.check_error
    assert WageCodeMapping.objects.get(kind="parking").pay_item_name == "Bompenger"


def test_wage_codes_missing_or_inactive_are_refused_beside_the_field(
    client, payroll_world, payroll_a
):
    client.force_login(payroll_a)
    response = client.post(
        "/lonn/lonnskoder/",
        {
            "undergruppe": payroll_world.subgroup.pk,
            "mileage": "7199",
            "passenger": "9999",
            "toll": "7140",
        },
    )
    assert response.status_code == 400
    page = text(response)
    assert "Lønnsart 7199 (Kilometergodtgjørelse (utgått)) er inaktiv i PowerOffice Go." in page
    assert "Lønnsart 9999 finnes ikke i PowerOffice Go." in page
    # nothing half-saved
    codes = dict(WageCodeMapping.objects.values_list("kind", "pay_item_code"))
    assert codes["mileage"] == "7100" and codes["passenger"] == "7101"


def test_distance_kinds_need_their_own_code(client, payroll_world, payroll_a):
    client.force_login(payroll_a)
    response = client.post(
        "/lonn/lonnskoder/",
        {"undergruppe": payroll_world.subgroup.pk, "mileage": "7100", "trailer": "7100"},
    )
    assert response.status_code == 400
    assert "Lønnsart 7100 er også valgt for Kilometergodtgjørelse" in text(response)


def test_wage_codes_checked_on_demand(client, po, payroll_world, payroll_a):
    po.patch(
        payroll_world.client_key,
        "payitems",
        po.pay_item(payroll_world.client_key, "7140")["Id"],
        {"IsActive": False},
    )
    client.force_login(payroll_a)
    response = client.post(
        f"/lonn/lonnskoder/kontroller/?undergruppe={payroll_world.subgroup.pk}", follow=True
    )
    page = text(response)
    assert "Lønnsart 7140 (Bompenger) er inaktiv i PowerOffice Go." in page
    mapping = WageCodeMapping.objects.get(kind="toll")
    assert mapping.check_error.startswith("Lønnsart 7140 (Bompenger) er inaktiv")


# --- Lønnseksport: the four validations ----------------------------------------------------------


def _stopped(client, payroll_world, logs):
    """Both "Søk" and "Eksporter" stop: the search shows the problems, the export is refused."""
    search = client.get(SEARCH.format(sg=payroll_world.subgroup.pk))
    assert search.status_code == 200
    export = _post_export(client, payroll_world, logs)
    assert export.status_code == 400
    assert not PayrollExport.objects.exists()
    return text(search), text(export)


def test_validation_1_wage_code_missing_in_poweroffice(
    client, po, payroll_world, per_log, payroll_a
):
    WageCodeMapping.objects.filter(kind="passenger").update(pay_item_code="7777")
    client.force_login(payroll_a)
    search, export = _stopped(client, payroll_world, [per_log])
    message = (
        "Lønnsart 7777 finnes ikke i PowerOffice Go. Den er satt opp for passasjertillegg. "
        f'<a href="/lonn/lonnskoder/?undergruppe={payroll_world.subgroup.pk}">'
        "Gå til Lønnskoder →</a>"
    )
    assert message in search and message in export
    assert po.salary_lines(payroll_world.client_key) == []


def test_validation_1_wage_code_inactive(client, po, payroll_world, per_log, payroll_a):
    po.patch(
        payroll_world.client_key,
        "payitems",
        po.pay_item(payroll_world.client_key, "7100")["Id"],
        {"IsActive": False},
    )
    client.force_login(payroll_a)
    search, _ = _stopped(client, payroll_world, [per_log])
    assert (
        "Lønnsart 7100 (Kilometergodtgjørelse) er inaktiv i PowerOffice Go. Den er satt opp for "
        "kilometergodtgjørelse." in search
    )


def test_validation_2_driver_without_employee_number(client, payroll_world, per_log, payroll_a):
    nora = make_driver(payroll_world.office, number=None, first="Nora", last="Strand")
    nora_log = make_log(nora, trips=[{"date": may(9), "km": "15.0"}])
    client.force_login(payroll_a)
    search, export = _stopped(client, payroll_world, [per_log, nora_log])
    message = (
        "Nora Strand har levert kjørebok, men mangler Ansettelsesnr. (PowerOffice). "
        f'<a href="/administrasjon/brukere/{nora.pk}/">Gå til Brukere / Nora Strand →</a>'
    )
    assert message in search and message in export
    # Without Nora's logbook the export goes ahead.
    assert _post_export(client, payroll_world, [per_log]).status_code == 302


def test_validation_3_employee_not_in_poweroffice(client, po, payroll_world, payroll_a):
    ukjent = make_driver(payroll_world.office, number=44, first="Ukjent", last="Sjåfør")
    log = make_log(ukjent, trips=[{"date": may(9), "km": "15.0"}])
    client.force_login(payroll_a)
    search, export = _stopped(client, payroll_world, [log])
    message = (
        "Ukjent Sjåfør (ansattnr. 44) finnes ikke som ansatt i PowerOffice Go. Kontroller "
        "ansattnummeret, eller opprett den ansatte i PowerOffice Go. "
        f'<a href="/administrasjon/brukere/{ukjent.pk}/">Gå til Brukere / Ukjent Sjåfør →</a>'
    )
    assert message in search and message in export
    employees = po.requests(path="^/Employees$", client_id=payroll_world.client["client_id"])
    assert employees[-1]["query"]["employeeNos"] == "44"


def test_validation_4_kind_without_wage_code(client, payroll_world, per_log, payroll_a):
    WageCodeMapping.objects.filter(kind="toll").delete()
    client.force_login(payroll_a)
    search, export = _stopped(client, payroll_world, [per_log])
    message = (
        "Bompenger har ingen lønnskode: 1 tur i utvalget har bompenger, men ingen lønnsart er satt "
        f'opp for det. <a href="/lonn/lonnskoder/?undergruppe={payroll_world.subgroup.pk}">Gå til '
        "Lønnskoder →</a>"
    )
    assert message in search and message in export


def test_not_activated_stops_with_a_link_to_integrations(
    client, po, subgroup_a, office_a, payroll_a
):
    driver = make_driver(office_a, number=4, first="Per", last="Olsen")
    make_log(driver, trips=[{"date": may(9)}])
    client.force_login(payroll_a)
    page = text(client.get(SEARCH.format(sg=subgroup_a.pk)))
    assert (
        "PowerOffice Go er ikke aktivert for Hansen Oslo. Aktiver integrasjonen før eksport."
        in page
    )
    assert '<a href="/administrasjon/integrasjoner/">' in page


# --- Lønnseksport: the wizard ------------------------------------------------------------------


def test_wizard_search_preview_export(client, po, payroll_world, per_log, payroll_a):
    other = make_driver(payroll_world.office, number=6, first="Lars", last="Andersen")
    draft = make_log(other, status="draft", trips=[{"date": may(2)}])
    client.force_login(payroll_a)

    search = text(client.get(SEARCH.format(sg=payroll_world.subgroup.pk)))
    assert 'id="problems"' not in search
    assert f'name="logs" value="{per_log.pk}"' in search
    assert f'value="{draft.pk}"' not in search
    assert "1 kjørebok i perioden er ikke levert ennå og er ikke med." in search
    assert "Per Olsen" in search and "54,5" in search  # km
    assert "Lønnskoder" in search  # the configuration is reachable from here

    preview = _post_export(client, payroll_world, [per_log], action="preview")
    assert preview.status_code == 200
    page = text(preview)
    assert "Kjøring 04.05–18.05.2026, 2 turer" in page
    assert "288,85" in page and "Passasjertillegg 04.05.2026, 1 tur" in page
    token = preview.context["token"]
    assert [line.code for line in preview.context["lines"]] == ["7100", "7101", "7140"]

    response = _post_export(client, payroll_world, [per_log], token=token)
    assert response.status_code == 302 and response.url == "/lonn/lonnseksport/"
    export = PayrollExport.objects.get()
    assert export.status == PayrollExportStatus.EXPORTED
    assert export.created_by == payroll_a
    assert len(po.salary_lines(payroll_world.client_key)) == 3
    listing = text(client.get("/lonn/lonnseksport/"))
    assert "Eksportert" in listing and f'href="/lonn/lonnseksport/{export.pk}/"' in listing
    detail = text(client.get(f"/lonn/lonnseksport/{export.pk}/"))
    for line in export.lines.all():
        assert f"id {line.po_salary_line_id}" in detail
    # The logbook is gone from the next search.
    assert f'name="logs" value="{per_log.pk}"' not in text(
        client.get(SEARCH.format(sg=payroll_world.subgroup.pk))
    )

    # The same wizard submitted again: the same export, no new lines.
    again = _post_export(client, payroll_world, [per_log], token=token)
    assert again.status_code == 302
    assert PayrollExport.objects.count() == 1
    assert len(po.salary_lines(payroll_world.client_key)) == 3


def test_wizard_second_export_of_the_same_logbook_is_refused(
    client, po, payroll_world, per_log, payroll_a
):
    client.force_login(payroll_a)
    assert _post_export(client, payroll_world, [per_log], token=uuid.uuid4()).status_code == 302
    response = _post_export(client, payroll_world, [per_log], token=uuid.uuid4())
    assert response.status_code == 400
    export = PayrollExport.objects.get()
    assert (
        "Kjøreboken til Per Olsen for 01.05.2026–31.05.2026 er allerede med i lønnseksport "
        f"{export.pk}." in text(response)
    )
    assert len(po.salary_lines(payroll_world.client_key)) == 3


def test_large_export_runs_in_the_background_with_progress(
    client, po, payroll_world, per_log, payroll_a, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from bitnet.celery import app

    app.conf.task_always_eager = True
    settings.PAYROLL_EXPORT_INLINE_MAX_LINES = 1
    client.force_login(payroll_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _post_export(client, payroll_world, [per_log], token=uuid.uuid4())
    export = PayrollExport.objects.get()
    assert response.status_code == 302 and response.url == f"/lonn/lonnseksport/{export.pk}/"
    status = client.get(f"/lonn/lonnseksport/{export.pk}/status/").json()
    assert status == {
        "id": export.pk,
        "status": "draft",
        "status_label": "Klar",
        "active": True,
        "total": 3,
        "created": 0,
        "deleted": 0,
        "percent": 0,
        "error": "",
        "stale": False,
    }
    page = text(client.get(f"/lonn/lonnseksport/{export.pk}/"))
    assert 'class="progress"' in page and f"/lonn/lonnseksport/{export.pk}/status/" in page
    try:
        for callback in callbacks:
            callback()  # the task, enqueued on commit, runs (eagerly)
    finally:
        app.conf.task_always_eager = False
    status = client.get(f"/lonn/lonnseksport/{export.pk}/status/").json()
    assert (status["status"], status["created"], status["percent"], status["active"]) == (
        "exported",
        3,
        100,
        False,
    )
    assert len(po.salary_lines(payroll_world.client_key)) == 3


def test_subgroups_are_separate_clients(client, po, payroll_world, per_log, payroll_a, agency_a):
    viken = SubgroupFactory(agency=agency_a, name="Hansen Viken")
    drammen = OfficeFactory(subgroup=viken, agency=agency_a, name="Drammen")
    viken_client = connect_subgroup(po, viken)
    tone = make_driver(drammen, number=6, first="Tone", last="Aas")
    tone_log = make_log(tone, trips=[{"date": may(3), "km": "20.0"}])
    client.force_login(payroll_a)
    search = text(client.get(SEARCH.format(sg=viken.pk)))
    assert f'value="{tone_log.pk}"' in search and f'value="{per_log.pk}"' not in search
    # A logbook of another subgroup cannot be slipped into the export.
    response = client.post(
        "/lonn/lonnseksport/ny/",
        {
            "subgroup": viken.pk,
            "date_from": "2026-05-01",
            "date_to": "2026-05-31",
            "logs": [tone_log.pk, per_log.pk],
            "action": "export",
        },
    )
    assert response.status_code == 400
    assert _post_export(client, payroll_world, [per_log]).status_code == 302
    assert len(po.salary_lines(payroll_world.client_key)) == 3
    assert po.salary_lines(viken_client["client_key"]) == []
    assert Decimal(per_log.trips.first().km) == Decimal("42.0")
