"""Administrasjon as a whole: every page (Brukere, Byrå, Kontoplan, Varer, MVA-koder) is for
administrators only, scoped to the user's agency (a foreign id is a 404), and reached by name.

The pages themselves are tested beside their code: tests/bitnet/users/, tests/bitnet/agencies/
and tests/accounting/chart/.
"""

import pytest
from django.urls import reverse

from bitnet.models import Role

pytestmark = pytest.mark.django_db


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


def test_reverse_names_match_url_map():
    assert reverse("users:user_list") == "/administrasjon/brukere/"
    assert reverse("users:user_edit", args=[7]) == "/administrasjon/brukere/7/"
    assert reverse("agencies:office_list") == "/administrasjon/byra/"
    assert reverse("agencies:office_edit", args=[7]) == "/administrasjon/byra/7/"
    assert reverse("accounting_admin:account_list") == "/administrasjon/kontoplan/"
    assert reverse("accounting_admin:article_edit", args=[7]) == "/administrasjon/varer/7/"
    assert reverse("accounting_admin:vat_code_create") == "/administrasjon/mva-koder/ny/"
