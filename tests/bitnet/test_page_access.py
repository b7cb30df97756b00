"""Every page renders for the roles that may see it, refuses the others (403), sends anonymous
visitors to the login page, and answers 404 for another agency's ids."""

import datetime as dt
from decimal import Decimal

import pytest

from accounting.invoices.services import LineInput, invoice_create
from tests.factories import (
    AccountFactory,
    ArticleFactory,
    CustomerFactory,
    DrivingLogFactory,
    TripFactory,
    VatCodeFactory,
)

ADMIN = {"admin_a"}
FINANCE = {"admin_a", "finance_a"}
PAYROLL = {"admin_a", "payroll_a"}
EVERYONE = {"admin_a", "finance_a", "payroll_a", "user_a"}
# A driving log is seen by its driver (user_a here), payroll staff and administrators; for
# anyone else it does not exist (404), like another agency's row.
LOG_OWNER = {"admin_a", "payroll_a", "user_a"}
PERSONAS = ("admin_a", "finance_a", "payroll_a", "user_a")


@pytest.fixture
def world(personas, subgroup_a, office_a):
    agency = subgroup_a.agency
    vat = VatCodeFactory(agency=agency, code="3", rate=Decimal("25"))
    account = AccountFactory(agency=agency, number=3000, vat_code=vat)
    article = ArticleFactory(agency=agency, vat_code=vat, account=account)
    customer = CustomerFactory(subgroup=subgroup_a, agency=agency)
    invoice = invoice_create(
        created_by=personas["finance_a"],
        office=office_a,
        customer=customer,
        lines=[LineInput(article=article, quantity=Decimal(1))],
        invoice_date=dt.date(2026, 11, 2),
    )
    log = DrivingLogFactory(driver=personas["user_a"], agency=agency, status="draft")
    trip = TripFactory(log=log)
    return {
        "user": personas["user_a"].pk,
        "office": office_a.pk,
        "subgroup": subgroup_a.pk,
        "account": account.pk,
        "article": article.pk,
        "vat": vat.pk,
        "customer": customer.pk,
        "invoice": invoice.pk,
        "log": log.pk,
        "trip": trip.pk,
    }


# (path template, who may see it, whether it names a row of agency A)
PAGES = [
    ("/", EVERYONE, False),
    ("/administrasjon/brukere/", ADMIN, False),
    ("/administrasjon/brukere/ny/", ADMIN, False),
    ("/administrasjon/brukere/{user}/", ADMIN, True),
    ("/administrasjon/byra/", ADMIN, False),
    ("/administrasjon/byra/ny/", ADMIN, False),
    ("/administrasjon/byra/{office}/", ADMIN, True),
    ("/administrasjon/byra/undergrupper/{subgroup}/", ADMIN, True),
    ("/administrasjon/kontoplan/", ADMIN, False),
    ("/administrasjon/kontoplan/ny/", ADMIN, False),
    ("/administrasjon/kontoplan/{account}/", ADMIN, True),
    ("/administrasjon/kontoplan/valider/", ADMIN, False),
    ("/administrasjon/varer/", ADMIN, False),
    ("/administrasjon/varer/ny/", ADMIN, False),
    ("/administrasjon/varer/{article}/", ADMIN, True),
    ("/administrasjon/mva-koder/", ADMIN, False),
    ("/administrasjon/mva-koder/ny/", ADMIN, False),
    ("/administrasjon/mva-koder/{vat}/", ADMIN, True),
    ("/administrasjon/datadeling/", ADMIN, False),
    ("/administrasjon/integrasjoner/", ADMIN, False),
    ("/administrasjon/betalingssjekk/", ADMIN, False),
    ("/okonomi/fakturaer/", FINANCE, False),
    ("/okonomi/fakturaer/ny/", FINANCE, False),
    ("/okonomi/fakturaer/{invoice}/", FINANCE, True),
    ("/okonomi/fakturaer/{invoice}/krediter/", FINANCE, True),
    ("/okonomi/fakturaer/{invoice}/spesifikasjon.pdf", FINANCE, True),
    ("/okonomi/kunder/", FINANCE, False),
    ("/okonomi/kunder/ny/", FINANCE, False),
    ("/okonomi/kunder/{customer}/", FINANCE, True),
    ("/okonomi/ikke-eksporterte/", FINANCE, False),
    ("/lonn/kjoreboker/", EVERYONE, False),
    ("/lonn/kjoreboker/ny/", EVERYONE, False),
    ("/lonn/kjoreboker/{log}/", LOG_OWNER, True),
    ("/lonn/kjoreboker/{log}/turer/ny/", LOG_OWNER, True),
    ("/lonn/kjoreboker/{log}/turer/{trip}/", LOG_OWNER, True),
    ("/lonn/lonnskoder/", PAYROLL, False),
    ("/lonn/lonnseksport/", PAYROLL, False),
    ("/lonn/lonnseksport/ny/", PAYROLL, False),
]


@pytest.mark.parametrize(("template", "allowed", "_"), PAGES, ids=[p[0] for p in PAGES])
def test_page_access_per_role(client, personas, world, template, allowed, _):
    path = template.format(**world)
    for name in PERSONAS:
        client.force_login(personas[name])
        response = client.get(path)
        refused = 404 if allowed is LOG_OWNER else 403
        expected = 200 if name in allowed else refused
        assert response.status_code == expected, (name, path, response.status_code)
        if expected == 200 and response["Content-Type"].startswith("text/html"):
            html = response.content.decode()
            assert '<html lang="nb">' in html
            assert "Traceback" not in html
    client.logout()
    anonymous = client.get(path)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/logg-inn/")


@pytest.mark.parametrize(
    "template", [p[0] for p in PAGES if p[2]], ids=[p[0] for p in PAGES if p[2]]
)
def test_other_agency_ids_are_404(client, personas, world, template):
    client.force_login(personas["admin_b"])
    assert client.get(template.format(**world)).status_code == 404
