"""Norwegian numbers by python-stdnum (bitnet/identifiers.py): forms refuse a mistyped
organisation, MVA or bank account number, and the specification prints them grouped."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounting.invoices.services import LineInput, invoice_create
from accounting.pdf import invoice_specification_html
from bitnet import identifiers
from bitnet.models import Subgroup
from tests.bitnet.agencies.test_pages import _series_post


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("974778874", "974778874", "974 778 874"),  # Oslo kommune
        ("923 609 016", "923609016", "923 609 016"),
        ("914.778.271", "914778271", "914 778 271"),
        ("", "", ""),
    ],
)
def test_org_numbers(typed, stored, shown):
    assert identifiers.org_number_clean(typed) == stored
    assert identifiers.org_number_format(stored) == shown


@pytest.mark.parametrize("bad", ["974778875", "97477887", "9747788740", "97477887a"])
def test_bad_org_numbers(bad):
    with pytest.raises(ValidationError) as excinfo:
        identifiers.org_number_clean(bad)
    assert excinfo.value.messages[0].startswith("Ugyldig organisasjonsnummer")
    assert identifiers.org_number_format(bad) == bad  # shown as typed, never "fixed"


def test_vat_numbers():
    assert identifiers.vat_number_clean("NO 914 778 271 MVA") == "914778271MVA"
    assert identifiers.vat_number_format("914778271MVA") == "NO 914 778 271 MVA"
    for bad in ("914778271", "NO 914 778 272 MVA", "MVA"):
        with pytest.raises(ValidationError):
            identifiers.vat_number_clean(bad)


def test_bank_account_numbers():
    assert identifiers.bank_account_clean("1234.56.78903") == "12345678903"
    assert identifiers.bank_account_clean("1234 56 78903") == "12345678903"
    assert identifiers.bank_account_format("12345678903") == "1234 56 78903"
    # One digit mistyped, two swapped, one missing: each refused.
    for bad in ("12345678904", "12345678930", "1234567890", "4090403"):
        with pytest.raises(ValidationError) as excinfo:
            identifiers.bank_account_clean(bad)
        assert excinfo.value.messages[0].startswith("Ugyldig kontonummer")


def _details_post(subgroup, **details):
    return {**_series_post(subgroup), **details}


def test_subgroup_form_refuses_mistyped_numbers(admin_client, data_a):
    subgroup = data_a["subgroup"]
    url = f"/administrasjon/byra/undergrupper/{subgroup.pk}/"
    response = admin_client.post(
        url,
        _details_post(
            subgroup,
            org_number="914778272",
            vat_number="NO 923 609 016 MVA",
            bank_account="12345678930",
        ),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["org_number"][0].startswith("Ugyldig organisasjonsnummer")
    assert errors["bank_account"][0].startswith("Ugyldig kontonummer")
    subgroup.refresh_from_db()
    assert subgroup.bank_account == "" and subgroup.org_number == ""

    response = admin_client.post(
        url,
        _details_post(
            subgroup, org_number="914778271", vat_number="NO 923 609 016 MVA", bank_account=""
        ),
    )
    assert response.context["form"].errors["vat_number"] == [
        "MVA-nummeret må være organisasjonsnummeret over etterfulgt av MVA."
    ]

    response = admin_client.post(
        url,
        _details_post(
            subgroup,
            org_number="914 778 271",
            vat_number="NO 914 778 271 MVA",
            bank_account="1234.56.78903",
        ),
    )
    assert response.status_code == 302
    subgroup = Subgroup.objects.get(pk=subgroup.pk)
    assert (subgroup.org_number, subgroup.vat_number, subgroup.bank_account) == (
        "914778271",
        "914778271MVA",
        "12345678903",
    )
    page = admin_client.get(url).content.decode()
    assert 'value="1234 56 78903"' in page and 'value="914 778 271"' in page


def test_specification_prints_grouped_numbers_and_short_quantities(
    finance_a, office_a, customer_a, catalogue
):
    agency = office_a.agency
    agency.org_number = "914778271"
    agency.save()
    subgroup = office_a.subgroup
    subgroup.bank_account = "12345678903"
    subgroup.save()
    customer_a.org_number = "923609016"
    customer_a.save()
    office_a.address = "Bygdøy allé 123, inngang fra bakgården, 2. etasje"
    office_a.phone = "22 60 00 00"
    office_a.save()
    invoice = invoice_create(
        created_by=finance_a,
        office=office_a,
        customer=customer_a,
        lines=[LineInput(article=catalogue["kiste"], quantity=Decimal("2.5"))],
        invoice_date=dt.date(2026, 3, 2),
    )
    html = invoice_specification_html(invoice=invoice)
    assert "Org.nr. 914 778 271" in html
    assert "Org.nr. 923 609 016" in html
    assert ">1234 56 78903<" in html
    assert '<td class="num">2,5</td>' in html and "2,500" not in html
    assert '<span class="nowrap">Tlf. 22 60 00 00</span>' in html

    subgroup.vat_number = "914778271MVA"
    subgroup.save()
    invoice.subgroup.refresh_from_db()
    assert "MVA-nr. NO 914 778 271 MVA" in invoice_specification_html(invoice=invoice)
