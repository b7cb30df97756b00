"""Administrasjon pages: Brukere, Byrå (subgroups, offices), Kontoplan, Varer, MVA-koder.

Administrators only, every query scoped to the user's agency (a foreign id is a 404), Norwegian
messages beside the field for bad input, and nothing saved when input is rejected.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from accounting.models import Account, Article, Invoice, VatCode
from bitnet import hooks
from bitnet.models import Office, Role, Subgroup, User
from tests.factories import (
    AccountFactory,
    ArticleFactory,
    CustomerFactory,
    OfficeFactory,
    SubgroupFactory,
    UserFactory,
    VatCodeFactory,
)

pytestmark = pytest.mark.django_db

EMPLOYEE_NUMBER_MESSAGE = "Ansettelsesnr. må være et positivt heltall."


@pytest.fixture
def data_a(agency_a, subgroup_a, office_a):
    vat25 = VatCodeFactory(agency=agency_a, code="3", rate=Decimal("25.00"), name="Høy sats")
    vat0 = VatCodeFactory(agency=agency_a, code="6", rate=Decimal("0.00"), name="Utenfor")
    account = AccountFactory(agency=agency_a, number=3000, name="Salgsinntekt", vat_code=vat25)
    article = ArticleFactory(
        agency=agency_a,
        name="Kiste Eik",
        price=Decimal("12500.00"),
        account=account,
        vat_code=vat25,
    )
    colleague = UserFactory(
        agency=agency_a, username="kari", role=Role.USER, office=office_a, first_name="Kari"
    )
    return {
        "vat25": vat25,
        "vat0": vat0,
        "account": account,
        "article": article,
        "colleague": colleague,
        "subgroup": subgroup_a,
        "office": office_a,
    }


@pytest.fixture
def data_b(agency_b):
    subgroup = SubgroupFactory(agency=agency_b, name="Fjordheim Bergen")
    office = OfficeFactory(agency=agency_b, subgroup=subgroup, name="Sentrum")
    vat = VatCodeFactory(agency=agency_b, code="3", rate=Decimal("25.00"), name="B høy")
    account = AccountFactory(agency=agency_b, number=3100, name="B salg", vat_code=vat)
    article = ArticleFactory(agency=agency_b, name="B vare", account=account, vat_code=vat)
    user = UserFactory(agency=agency_b, username="b_user", office=office)
    return {
        "subgroup": subgroup,
        "office": office,
        "vat": vat,
        "account": account,
        "article": article,
        "user": user,
    }


@pytest.fixture
def admin_client(client, admin_a):
    client.force_login(admin_a)
    return client


def _edit_urls(d) -> dict[str, str]:
    return {
        "user": f"/administrasjon/brukere/{d['colleague'].pk}/",
        "office": f"/administrasjon/byra/{d['office'].pk}/",
        "subgroup": f"/administrasjon/byra/undergrupper/{d['subgroup'].pk}/",
        "account": f"/administrasjon/kontoplan/{d['account'].pk}/",
        "article": f"/administrasjon/varer/{d['article'].pk}/",
        "vat_code": f"/administrasjon/mva-koder/{d['vat25'].pk}/",
    }


LIST_AND_CREATE_URLS = [
    ("/administrasjon/brukere/", "Brukere"),
    ("/administrasjon/brukere/ny/", "Ny bruker"),
    ("/administrasjon/byra/", "Byrå"),
    ("/administrasjon/byra/ny/", "Nytt kontor"),
    ("/administrasjon/kontoplan/", "Kontoplan"),
    ("/administrasjon/kontoplan/ny/", "Ny konto"),
    ("/administrasjon/varer/", "Varer"),
    ("/administrasjon/varer/ny/", "Ny vare"),
    ("/administrasjon/mva-koder/", "MVA-koder"),
    ("/administrasjon/mva-koder/ny/", "Ny MVA-kode"),
]


def _all_urls(d) -> list[str]:
    return [url for url, _ in LIST_AND_CREATE_URLS] + list(_edit_urls(d).values())


def _errors(response, field: str) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get(field, [])]


# Access


@pytest.mark.parametrize(("url", "heading"), LIST_AND_CREATE_URLS)
def test_list_and_create_pages_render_for_admin(admin_client, data_a, url, heading):
    response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"<h1>{heading}" in html
    # The Administrasjon tabs mark the page we are on.
    assert 'aria-current="page"' in html


def test_edit_pages_render_for_admin(admin_client, data_a):
    for name, url in _edit_urls(data_a).items():
        response = admin_client.get(url)
        assert response.status_code == 200, name
        assert "<form" in response.content.decode(), name


@pytest.mark.parametrize("persona", ["finance_a", "payroll_a", "user_a"])
def test_non_administrators_get_403(client, data_a, personas, persona):
    client.force_login(personas[persona])
    for url in _all_urls(data_a):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "x"}).status_code == 403, url


def test_anonymous_is_sent_to_login(client, data_a):
    for url in _all_urls(data_a):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/logg-inn/?next="), url


def test_admin_of_another_agency_gets_404_for_foreign_ids(client, data_a, admin_b):
    client.force_login(admin_b)
    for name, url in _edit_urls(data_a).items():
        assert client.get(url).status_code == 404, name
        assert client.post(url, {"name": "Kapret", "role": Role.ADMINISTRATOR}).status_code == 404
    data_a["colleague"].refresh_from_db()
    data_a["office"].refresh_from_db()
    data_a["account"].refresh_from_db()
    assert data_a["colleague"].role == Role.USER
    assert data_a["office"].name == "Majorstuen"
    assert data_a["account"].name == "Salgsinntekt"


def test_lists_show_only_own_agency(admin_client, data_a, data_b):
    pages = {
        "/administrasjon/brukere/": ("kari", "b_user"),
        "/administrasjon/byra/": ("Majorstuen", "Sentrum"),
        "/administrasjon/kontoplan/": ("Salgsinntekt", "B salg"),
        "/administrasjon/varer/": ("Kiste Eik", "B vare"),
        "/administrasjon/mva-koder/": ("Høy sats", "B høy"),
    }
    for url, (ours, theirs) in pages.items():
        html = admin_client.get(url).content.decode()
        assert ours in html, url
        assert theirs not in html, url


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


@pytest.mark.parametrize("bad", ["0", "-3", "abc", "1.5", "99999999999"])
def test_user_create_rejects_bad_employee_number(admin_client, data_a, bad):
    before = User.objects.count()
    response = admin_client.post("/administrasjon/brukere/ny/", _new_user_post(employee_number=bad))
    assert response.status_code == 200
    assert _errors(response, "employee_number") == [EMPLOYEE_NUMBER_MESSAGE]
    assert EMPLOYEE_NUMBER_MESSAGE in response.content.decode()
    assert User.objects.count() == before


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
    monkeypatch.setattr(hooks, "_department_choices", lambda sid: synced.get(sid, []))
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


# Kontoplan


def test_account_list_has_validate_button(admin_client, data_a):
    html = admin_client.get("/administrasjon/kontoplan/").content.decode()
    assert 'href="/administrasjon/kontoplan/valider/"' in html
    assert "Valider kontoplan" in html
    assert ">3000<" in html


def test_account_create_and_edit(admin_client, data_a, agency_a):
    response = admin_client.post(
        "/administrasjon/kontoplan/ny/",
        {"number": "3600", "name": "Leieinntekt", "vat_code": data_a["vat0"].pk, "is_active": "on"},
    )
    assert response.status_code == 302
    account = Account.objects.get(agency=agency_a, number=3600)
    assert (account.name, account.vat_code, account.is_active) == (
        "Leieinntekt",
        data_a["vat0"],
        True,
    )
    response = admin_client.post(
        f"/administrasjon/kontoplan/{account.pk}/",
        {"number": "3601", "name": "Leieinntekt lokaler", "vat_code": ""},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.number, account.name, account.vat_code, account.is_active) == (
        3601,
        "Leieinntekt lokaler",
        None,
        False,
    )


@pytest.mark.parametrize("number", ["999", "10000", "0", "-3000", "abc", "30.5"])
def test_account_number_must_have_four_digits(admin_client, data_a, number):
    before = Account.objects.count()
    response = admin_client.post(
        "/administrasjon/kontoplan/ny/", {"number": number, "name": "Feil", "is_active": "on"}
    )
    assert response.status_code == 200
    assert _errors(response, "number") == [
        "Kontonummer må være et firesifret tall mellom 1000 og 9999."
    ]
    assert Account.objects.count() == before


def test_account_number_unique_in_agency(admin_client, data_a, data_b, agency_a):
    before = Account.objects.count()
    response = admin_client.post(
        "/administrasjon/kontoplan/ny/", {"number": "3000", "name": "Dobbel", "is_active": "on"}
    )
    assert _errors(response, "number") == ["Kontonummer 3000 finnes allerede i kontoplanen."]
    assert Account.objects.count() == before
    # Editing another account onto a taken number is refused too; the row is unchanged.
    other = AccountFactory(agency=agency_a, number=3200, name="Annen", vat_code=None)
    response = admin_client.post(
        f"/administrasjon/kontoplan/{other.pk}/", {"number": "3000", "name": "Annen endret"}
    )
    assert _errors(response, "number") == ["Kontonummer 3000 finnes allerede i kontoplanen."]
    other.refresh_from_db()
    assert (other.number, other.name) == (3200, "Annen")
    # Another agency's 3100 does not block ours.
    response = admin_client.post(
        "/administrasjon/kontoplan/ny/", {"number": "3100", "name": "Vår 3100", "is_active": "on"}
    )
    assert response.status_code == 302
    assert Account.objects.filter(agency=agency_a, number=3100).exists()


def test_account_vat_code_only_from_own_agency(admin_client, data_a, data_b):
    before = Account.objects.count()
    response = admin_client.post(
        "/administrasjon/kontoplan/ny/",
        {"number": "3700", "name": "X", "vat_code": data_b["vat"].pk, "is_active": "on"},
    )
    assert _errors(response, "vat_code") == ["Velg en MVA-kode fra listen."]
    assert Account.objects.count() == before


# Varer


def _article_post(d, **overrides) -> dict:
    data = {
        "name": "Urne Messing",
        "unit": "stk",
        "price": "1 250,50",
        "account": d["account"].pk,
        "vat_code": d["vat25"].pk,
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_article_list_shows_product_code_hint(admin_client, data_a):
    article = data_a["article"]
    html = admin_client.get("/administrasjon/varer/").content.decode()
    assert f"B-{article.pk}" in html
    assert "12\xa0500,00" in html
    search = admin_client.get(f"/administrasjon/varer/?q=B-{article.pk}")
    assert list(search.context["page_obj"]) == [article]


def test_article_create_and_edit(admin_client, data_a, agency_a):
    response = admin_client.post("/administrasjon/varer/ny/", _article_post(data_a))
    assert response.status_code == 302
    article = Article.objects.get(agency=agency_a, name="Urne Messing")
    assert article.price == Decimal("1250.50")
    assert (article.account, article.vat_code, article.unit) == (
        data_a["account"],
        data_a["vat25"],
        "stk",
    )
    response = admin_client.post(
        f"/administrasjon/varer/{article.pk}/",
        _article_post(data_a, price="990.00", vat_code=data_a["vat0"].pk, is_active=""),
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.price == Decimal("990.00")
    assert article.vat_code == data_a["vat0"]
    assert not article.is_active


@pytest.mark.parametrize("typed", ["1250,5", "1 250,50", "1\xa0250,50", "1.250,50", "1250.50"])
def test_article_price_is_read_the_norwegian_way_in_any_browser_language(
    client, admin_a, data_a, agency_a, typed
):
    client.force_login(admin_a)
    for language in ("nb", "en-US"):  # the browser's language must not change the amount
        name = f"Urne {language} {typed}"
        response = client.post(
            "/administrasjon/varer/ny/",
            _article_post(data_a, price=typed, name=name),
            headers={"accept-language": language},
        )
        assert response.status_code == 302
        assert Article.objects.get(agency=agency_a, name=name).price == Decimal("1250.50")


def test_article_form_shows_price_with_decimal_comma(admin_client, data_a):
    article = data_a["article"]
    html = admin_client.get(f"/administrasjon/varer/{article.pk}/").content.decode()
    assert 'value="12500,00"' in html


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("-1", "Prisen kan ikke være negativ."),
        ("-0,01", "Prisen kan ikke være negativ."),
        ("gratis", "Skriv inn en gyldig pris, for eksempel 1250,00."),
        ("10,005", "Prisen kan ha høyst to desimaler (øre)."),
        ("", "Skriv inn en pris."),
    ],
)
def test_article_rejects_bad_price(admin_client, data_a, price, message):
    before = Article.objects.count()
    response = admin_client.post("/administrasjon/varer/ny/", _article_post(data_a, price=price))
    assert response.status_code == 200
    assert _errors(response, "price") == [message]
    assert Article.objects.count() == before
    article = data_a["article"]
    response = admin_client.post(
        f"/administrasjon/varer/{article.pk}/", _article_post(data_a, price=price, name="Endret")
    )
    assert _errors(response, "price") == [message]
    article.refresh_from_db()
    assert (article.price, article.name) == (Decimal("12500.00"), "Kiste Eik")


def test_article_account_and_vat_code_only_from_own_agency(admin_client, data_a, data_b):
    before = Article.objects.count()
    response = admin_client.post(
        "/administrasjon/varer/ny/",
        _article_post(data_a, account=data_b["account"].pk, vat_code=data_b["vat"].pk),
    )
    assert _errors(response, "account") == ["Velg en salgskonto fra kontoplanen."]
    assert _errors(response, "vat_code") == ["Velg en MVA-kode fra listen."]
    assert Article.objects.count() == before
    form = admin_client.get("/administrasjon/varer/ny/").context["form"]
    assert list(form.fields["account"].queryset) == [data_a["account"]]
    assert set(form.fields["vat_code"].queryset) == {data_a["vat25"], data_a["vat0"]}


# MVA-koder


def test_vat_code_create_and_edit(admin_client, data_a, agency_a):
    response = admin_client.post(
        "/administrasjon/mva-koder/ny/",
        {"code": "33", "rate": "12", "name": "Lav sats", "is_active": "on"},
    )
    assert response.status_code == 302
    vat = VatCode.objects.get(agency=agency_a, code="33")
    assert (vat.rate, vat.name, vat.is_active) == (Decimal("12.00"), "Lav sats", True)
    response = admin_client.post(
        f"/administrasjon/mva-koder/{vat.pk}/",
        {"code": "31", "rate": "15,00", "name": "Middels sats", "is_active": "on"},
    )
    assert response.status_code == 302
    vat.refresh_from_db()
    assert (vat.code, vat.rate, vat.name) == ("31", Decimal("15.00"), "Middels sats")
    html = admin_client.get("/administrasjon/mva-koder/").content.decode()
    assert "Middels sats" in html
    assert "15 %" in html


@pytest.mark.parametrize("rate", ["120", "-1", "100,01", "mye"])
def test_vat_code_rate_must_be_0_to_100(admin_client, data_a, rate):
    before = VatCode.objects.count()
    response = admin_client.post(
        "/administrasjon/mva-koder/ny/", {"code": "99", "rate": rate, "name": "Feil"}
    )
    assert response.status_code == 200
    assert _errors(response, "rate") == ["Satsen må være et tall mellom 0 og 100."]
    assert VatCode.objects.count() == before
    vat = data_a["vat25"]
    response = admin_client.post(
        f"/administrasjon/mva-koder/{vat.pk}/", {"code": "3", "rate": rate, "name": "Endret"}
    )
    assert _errors(response, "rate") == ["Satsen må være et tall mellom 0 og 100."]
    vat.refresh_from_db()
    assert (vat.rate, vat.name) == (Decimal("25.00"), "Høy sats")


def test_vat_code_unique_per_agency(admin_client, data_a, data_b, agency_a):
    before = VatCode.objects.count()
    response = admin_client.post(
        "/administrasjon/mva-koder/ny/", {"code": " 3 ", "rate": "25", "name": "Dobbel"}
    )
    assert _errors(response, "code") == ["MVA-kode 3 finnes allerede."]
    response = admin_client.post(
        f"/administrasjon/mva-koder/{data_a['vat0'].pk}/",
        {"code": "3", "rate": "0", "name": "Utenfor"},
    )
    assert _errors(response, "code") == ["MVA-kode 3 finnes allerede."]
    assert VatCode.objects.count() == before
    data_a["vat0"].refresh_from_db()
    assert data_a["vat0"].code == "6"
    # Codes are unique per agency only: B's code 3 does not matter here.
    response = admin_client.post(
        "/administrasjon/mva-koder/ny/", {"code": "5", "rate": "0", "name": "Fritatt"}
    )
    assert response.status_code == 302
    assert VatCode.objects.filter(agency=agency_a, code="5").exists()


def test_reverse_names_match_url_map():
    assert reverse("bitnet_admin:user_list") == "/administrasjon/brukere/"
    assert reverse("bitnet_admin:user_edit", args=[7]) == "/administrasjon/brukere/7/"
    assert reverse("bitnet_admin:office_list") == "/administrasjon/byra/"
    assert reverse("bitnet_admin:office_edit", args=[7]) == "/administrasjon/byra/7/"
    assert reverse("accounting_admin:account_list") == "/administrasjon/kontoplan/"
    assert reverse("accounting_admin:article_edit", args=[7]) == "/administrasjon/varer/7/"
    assert reverse("accounting_admin:vat_code_create") == "/administrasjon/mva-koder/ny/"
