"""Administrasjon > Kontoplan, Varer and MVA-koder.

Administrators only, every query scoped to the user's agency (a foreign id is a 404), Norwegian
messages beside the field for bad input, and nothing saved when input is rejected.
"""

from decimal import Decimal

import pytest

from accounting.models import Account, Article, VatCode
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _errors(response, field: str) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get(field, [])]


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


def test_vat_codes_are_listed_in_numeric_order(admin_client, data_a, agency_a):
    for code in ("33", "5", "31"):
        VatCode.objects.create(agency=agency_a, code=code, rate=Decimal("0"), name=f"Kode {code}")
    response = admin_client.get("/administrasjon/mva-koder/")
    codes = [v.code for v in response.context["page_obj"]]
    assert codes == ["3", "5", "6", "31", "33"]
    # The article form offers them in the same order.
    form = admin_client.get("/administrasjon/varer/ny/").context["form"]
    assert [v.code for v in form.fields["vat_code"].queryset] == ["3", "5", "6", "31", "33"]
