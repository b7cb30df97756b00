"""Administrasjon > Byrå: the subgroups' number series, and offices with "Ekstern avdeling".

Administrators only, every query scoped to the user's agency (a foreign id is a 404), Norwegian
messages beside the field for bad input, and nothing saved when input is rejected.
"""

import datetime as dt

import pytest

from accounting.models import Invoice
from bitnet import hooks
from bitnet.models import Office, Subgroup
from tests.factories import CustomerFactory, SubgroupFactory

pytestmark = pytest.mark.django_db


def _errors(response, field: str) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get(field, [])]


# Byrå: number series


def _series_post(subgroup: Subgroup, **overrides) -> dict:
    data = {
        "invoice_series_start": subgroup.invoice_series_start,
        "invoice_series_end": subgroup.invoice_series_end,
        "next_invoice_number": subgroup.next_invoice_number,
        "customer_series_start": subgroup.customer_series_start,
        "customer_series_end": subgroup.customer_series_end,
        "next_customer_number": subgroup.next_customer_number,
    }
    data.update(overrides)
    return data


def test_office_list_shows_subgroups_series_and_offices(admin_client, data_a):
    html = admin_client.get("/administrasjon/byra/").content.decode()
    assert "Hansen Oslo" in html
    assert "100001 – 199999" in html
    assert "10000 – 19999" in html
    assert "Majorstuen" in html
    assert f"/administrasjon/byra/{data_a['office'].pk}/" in html
    assert f"/administrasjon/byra/undergrupper/{data_a['subgroup'].pk}/" in html


def test_subgroup_series_update(admin_client, data_a):
    subgroup = data_a["subgroup"]
    response = admin_client.post(
        f"/administrasjon/byra/undergrupper/{subgroup.pk}/",
        _series_post(
            subgroup,
            invoice_series_start=200000,
            invoice_series_end=299999,
            next_invoice_number=200050,
            customer_series_start=50000,
            customer_series_end=59999,
            next_customer_number=50000,
        ),
    )
    assert response.status_code == 302
    subgroup.refresh_from_db()
    assert (
        subgroup.invoice_series_start,
        subgroup.invoice_series_end,
        subgroup.next_invoice_number,
    ) == (200000, 299999, 200050)
    assert (
        subgroup.customer_series_start,
        subgroup.customer_series_end,
        subgroup.next_customer_number,
    ) == (50000, 59999, 50000)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"invoice_series_start": 300000, "invoice_series_end": 200000},
            "invoice_series_end",
            "«Til» kan ikke være lavere enn «Fra» (300000).",
        ),
        (
            {"customer_series_start": 20000, "customer_series_end": 10000},
            "customer_series_end",
            "«Til» kan ikke være lavere enn «Fra» (20000).",
        ),
        (
            {"next_invoice_number": 99},
            "next_invoice_number",
            "Neste fakturanummer må ligge i serien (100001–199999).",
        ),
        (
            {"next_customer_number": 20000},
            "next_customer_number",
            "Neste kundenummer må ligge i serien (10000–19999).",
        ),
        (
            {"invoice_series_start": "0"},
            "invoice_series_start",
            "Skriv inn et positivt heltall.",
        ),
        (
            {"customer_series_end": "mange"},
            "customer_series_end",
            "Skriv inn et positivt heltall.",
        ),
    ],
)
def test_subgroup_series_rejects_bad_input(admin_client, data_a, overrides, field, message):
    subgroup = data_a["subgroup"]
    response = admin_client.post(
        f"/administrasjon/byra/undergrupper/{subgroup.pk}/",
        _series_post(subgroup, **overrides),
    )
    assert response.status_code == 200
    assert _errors(response, field) == [message]
    assert message in response.content.decode().replace("&laquo;", "«").replace("&raquo;", "»")
    subgroup.refresh_from_db()
    assert subgroup.invoice_series_start == 100001
    assert subgroup.invoice_series_end == 199999
    assert subgroup.next_invoice_number == 100001
    assert subgroup.customer_series_end == 19999
    assert subgroup.next_customer_number == 10000


def test_subgroup_series_next_cannot_go_below_a_used_invoice_number(admin_client, data_a, admin_a):
    subgroup = data_a["subgroup"]
    customer = CustomerFactory(subgroup=subgroup)
    Invoice.objects.create(
        agency=subgroup.agency,
        subgroup=subgroup,
        office=data_a["office"],
        customer=customer,
        number=100007,
        invoice_date=dt.date(2026, 5, 4),
        due_date=dt.date(2026, 5, 18),
        kid="1000070",
        created_by=admin_a,
    )
    Subgroup.objects.filter(pk=subgroup.pk).update(next_invoice_number=100008)
    subgroup.refresh_from_db()
    response = admin_client.post(
        f"/administrasjon/byra/undergrupper/{subgroup.pk}/",
        _series_post(subgroup, next_invoice_number=100005),
    )
    assert _errors(response, "next_invoice_number") == [
        "Fakturanummer 100007 er allerede brukt. Neste fakturanummer må være minst 100008."
    ]
    subgroup.refresh_from_db()
    assert subgroup.next_invoice_number == 100008


# Byrå: offices and "Ekstern avdeling"


@pytest.fixture
def departments(monkeypatch, data_a):
    """A department provider as the PowerOffice integration registers it."""
    synced = {data_a["subgroup"].pk: [("10", "10 Oslo"), ("20", "20 Bærum")]}
    monkeypatch.setattr(
        hooks, "_department_choices", lambda ids: {i: synced[i] for i in ids if i in synced}
    )
    return synced


def _office_post(subgroup, **overrides) -> dict:
    data = {
        "name": "Frogner",
        "subgroup": subgroup.pk,
        "address": "Bygdøy allé 1",
        "postal_code": "0257",
        "city": "Oslo",
        "phone": "22 00 00 00",
        "external_department_code": "",
    }
    data.update(overrides)
    return data


def test_office_department_select_offers_synced_departments(admin_client, data_a, departments):
    office = data_a["office"]
    response = admin_client.get(f"/administrasjon/byra/{office.pk}/")
    field = response.context["form"].fields["external_department_code"]
    assert list(field.choices) == [
        ("", "— Ingen avdeling —"),
        ("10", "10 Oslo"),
        ("20", "20 Bærum"),
    ]
    html = response.content.decode()
    assert '<option value="20">20 Bærum</option>' in html
    assert '<span class="help">Synkroniser avdelinger' not in html

    response = admin_client.post(
        f"/administrasjon/byra/{office.pk}/",
        _office_post(data_a["subgroup"], name="Majorstuen", external_department_code="20"),
    )
    assert response.status_code == 302
    office.refresh_from_db()
    assert office.external_department_code == "20"
    assert office.address == "Bygdøy allé 1"
    list_html = admin_client.get("/administrasjon/byra/").content.decode()
    assert "20 Bærum" in list_html


def test_office_department_without_sync_shows_empty_select_and_help(admin_client, data_a):
    office = data_a["office"]
    response = admin_client.get(f"/administrasjon/byra/{office.pk}/")
    field = response.context["form"].fields["external_department_code"]
    assert list(field.choices) == [("", "— Ingen avdeling —")]
    html = response.content.decode()
    assert (
        '<span class="help">Synkroniser avdelinger under Administrasjon &gt; Datadeling først.'
        in html
    )
    assert 'href="/administrasjon/datadeling/"' in html


def test_office_department_must_be_a_synced_one(admin_client, data_a, agency_a, departments):
    office = data_a["office"]
    other = SubgroupFactory(agency=agency_a, name="Hansen Bærum")  # nothing synced there
    for subgroup, code in ((data_a["subgroup"], "99"), (other, "10")):
        response = admin_client.post(
            f"/administrasjon/byra/{office.pk}/",
            _office_post(subgroup, external_department_code=code),
        )
        assert response.status_code == 200
        assert _errors(response, "external_department_code") == [
            "Velg en avdeling som er synkronisert for undergruppen."
        ]
    office.refresh_from_db()
    assert office.external_department_code == ""
    assert office.name == "Majorstuen"
    assert office.subgroup == data_a["subgroup"]


def test_office_create_in_own_subgroup(admin_client, data_a, agency_a, departments):
    response = admin_client.get(f"/administrasjon/byra/ny/?undergruppe={data_a['subgroup'].pk}")
    assert response.context["form"].subgroup_id == data_a["subgroup"].pk
    response = admin_client.post(
        "/administrasjon/byra/ny/",
        _office_post(data_a["subgroup"], external_department_code="10"),
    )
    assert response.status_code == 302
    office = Office.objects.get(name="Frogner")
    assert office.agency == agency_a
    assert office.subgroup == data_a["subgroup"]
    assert office.external_department_code == "10"
    assert (office.postal_code, office.city) == ("0257", "Oslo")


def test_office_create_rejects_foreign_subgroup_and_bad_postal_code(admin_client, data_a, data_b):
    before = Office.objects.count()
    response = admin_client.post("/administrasjon/byra/ny/", _office_post(data_b["subgroup"]))
    assert _errors(response, "subgroup") == ["Velg en undergruppe fra listen."]
    response = admin_client.post(
        "/administrasjon/byra/ny/", _office_post(data_a["subgroup"], postal_code="12a")
    )
    assert _errors(response, "postal_code") == ["Postnummer må være fire siffer."]
    response = admin_client.post(
        "/administrasjon/byra/ny/", _office_post(data_a["subgroup"], name="")
    )
    assert _errors(response, "name") == ["Feltet er påkrevet."]
    assert Office.objects.count() == before
