"""Økonomi > Kunder: list, new and edit, end to end through Django's test client against
PostgreSQL."""

import pytest

from accounting.models import Customer, CustomerKind
from bitnet.identifiers import org_number_clean
from bitnet.models import Role
from tests.factories import CustomerFactory, SubgroupFactory, UserFactory


def _login(client, user):
    client.force_login(user)
    return client


# Customers


def test_customer_list_search_and_paging(client, finance_a, subgroup_a):
    for i in range(30):
        CustomerFactory(subgroup=subgroup_a, number=11000 + i, name=f"Kunde {i:02d}", city="Bergen")
    CustomerFactory(subgroup=subgroup_a, number=12000, name="Solveig Strand", city="Tromsø")
    _login(client, finance_a)
    response = client.get("/okonomi/kunder/")
    assert len(response.context["page_obj"]) == 25
    assert response.context["page_obj"].paginator.count == 31
    found = list(client.get("/okonomi/kunder/?q=troms").context["page_obj"])
    assert [c.name for c in found] == ["Solveig Strand"]
    found = list(client.get("/okonomi/kunder/?q=11005").context["page_obj"])
    assert [c.number for c in found] == [11005]


def _customer_post(subgroup, **values):
    data = {
        "kind": "person",
        "subgroup": subgroup.pk,
        "number": "",
        "name": "",
        "deceased_name": "",
        "org_number": "",
        "email": "",
        "phone": "",
        "address": "",
        "postal_code": "",
        "city": "",
    }
    data.update(values)
    return data


def test_customer_created_with_next_number_from_series(client, finance_a, subgroup_a):
    _login(client, finance_a)
    response = client.post(
        "/okonomi/kunder/ny/",
        _customer_post(
            subgroup_a,
            name="Astrid Lund",
            email="astrid@example.no",
            postal_code="0361",
            city="Oslo",
        ),
    )
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert customer.number == subgroup_a.customer_series_start
    assert (customer.name, customer.kind, customer.postal_code) == ("Astrid Lund", "person", "0361")
    assert customer.agency == subgroup_a.agency


def test_estate_customer_is_named_after_the_deceased(client, finance_a, subgroup_a):
    _login(client, finance_a)
    client.post(
        "/okonomi/kunder/ny/",
        _customer_post(
            subgroup_a, kind="estate", name="ignored", deceased_name="Ola Nordmann", number="10042"
        ),
    )
    customer = Customer.objects.get()
    assert customer.kind == CustomerKind.ESTATE
    assert customer.name == "Dødsbo etter Ola Nordmann"
    assert customer.deceased_name == "Ola Nordmann"
    assert customer.number == 10042


def test_company_customer_with_valid_org_number(client, finance_a, subgroup_a):
    assert org_number_clean("923609016") == "923609016"
    _login(client, finance_a)
    response = client.post(
        "/okonomi/kunder/ny/",
        _customer_post(subgroup_a, kind="company", name="Fjord AS", org_number="923 609 016"),
    )
    assert response.status_code == 302
    assert Customer.objects.get().org_number == "923609016"


BAD_CUSTOMER = [
    ("org number fails MOD11", {"kind": "company", "name": "X AS", "org_number": "923609017"},
     "org_number", "Ugyldig organisasjonsnummer"),
    ("org number missing for company", {"kind": "company", "name": "X AS"},
     "org_number", "påkrevd for en bedrift"),
    ("duplicate number", {"name": "Y", "number": "10500"},
     "number", "Kundenummer 10500 er allerede i bruk"),
    ("number outside series", {"name": "Y", "number": "20000"},
     "number", "Kundenummeret må ligge i serien 10000–19999"),
    ("postal code not 4 digits", {"name": "Y", "postal_code": "123"},
     "postal_code", "Postnummer må være fire siffer"),
    ("no name", {"name": ""}, "name", "Skriv kundens navn"),
    ("estate without deceased", {"kind": "estate"}, "deceased_name", "Skriv avdødes navn"),
    ("bad email", {"name": "Y", "email": "ikke-epost"}, "email", "e-post"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "values", "field", "message"), BAD_CUSTOMER, ids=[c[0] for c in BAD_CUSTOMER]
)
def test_bad_customer_input(client, finance_a, subgroup_a, case, values, field, message):
    CustomerFactory(subgroup=subgroup_a, number=10500, name="Kari Nordmann")
    _login(client, finance_a)
    response = client.post("/okonomi/kunder/ny/", _customer_post(subgroup_a, **values))
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message.lower() in e.lower() for e in errors), errors
    assert Customer.objects.count() == 1
    subgroup_a.refresh_from_db()
    assert subgroup_a.next_customer_number == 10000


def test_customer_edit_keeps_number_and_subgroup(client, finance_a, customer_a, subgroup_a):
    other = SubgroupFactory(agency=subgroup_a.agency, name="Hansen Drammen")
    _login(client, finance_a)
    response = client.post(
        f"/okonomi/kunder/{customer_a.pk}/",
        _customer_post(
            other, name="Kari Nordmann-Lie", number="19999", city="Bærum", postal_code="1337"
        ),
    )
    assert response.status_code == 302
    customer_a.refresh_from_db()
    assert customer_a.name == "Kari Nordmann-Lie"
    assert customer_a.city == "Bærum"
    assert customer_a.number == 10500
    assert customer_a.subgroup == subgroup_a


def test_new_customer_from_invoice_form_returns_to_it(client, finance_a, subgroup_a, office_a):
    _login(client, finance_a)
    invoice_page = client.get("/okonomi/fakturaer/ny/").content.decode()
    assert "/okonomi/kunder/ny/?next=%2Fokonomi%2Ffakturaer%2Fny%2F" in invoice_page
    response = client.post(
        "/okonomi/kunder/ny/",
        _customer_post(subgroup_a, name="Nils Ny", next="/okonomi/fakturaer/ny/"),
    )
    customer = Customer.objects.get()
    assert response["Location"] == f"/okonomi/fakturaer/ny/?customer={customer.pk}"
    form = client.get(response["Location"]).context["form"]
    assert form.initial["customer"] == customer.pk
    # Only that page may be returned to.
    response = client.post(
        "/okonomi/kunder/ny/",
        _customer_post(subgroup_a, name="Nils To", next="https://example.com/"),
    )
    assert response["Location"].startswith("/okonomi/kunder/")


def test_finance_user_of_other_role_in_same_agency_cannot_see_customers(client, agency_a):
    driver = UserFactory(agency=agency_a, username="sjafor", role=Role.USER)
    _login(client, driver)
    assert client.get("/okonomi/kunder/").status_code == 403
