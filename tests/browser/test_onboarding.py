"""Koble til PowerOffice in real Chromium against the sandbox: approve two clients, map them by
organisation number, read each subgroup's test on the done page, then export an invoice through
each and find its voucher in that subgroup's own client. Axe runs on the confirm and done pages.
Screenshots at 1280 and 390 px go to /tmp/honboarding2/."""

from pathlib import Path

import pytest

from accounting.customers.services import customer_create
from accounting.models import CustomerKind
from poweroffice.invoices.export import invoice_export
from poweroffice.models import AttemptTrigger, Connection
from tests.browser.axe import axe_violations, describe, require_axe
from tests.factories import OfficeFactory, SubgroupFactory
from tests.fixtures.export import ExportWorld, build_chart, make_invoice

SHOTS = Path("/tmp/honboarding2")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page, width: int, selector: str) -> None:
    """Nothing reaches past the right edge; each ``selector`` element is fully on screen."""
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    for element in page.locator(selector).all():
        box = element.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, selector


def _world(sandbox, subgroup, office, user, key, articles, number) -> ExportWorld:
    connection = Connection.objects.get(subgroup=subgroup)
    connection.enabled = True
    connection.save()
    subgroup.bank_account = "12345678903"
    subgroup.save()
    world = ExportWorld(sandbox, subgroup, office, user, connection, key, articles)
    world.customers["estate"] = customer_create(
        subgroup=subgroup,
        kind=CustomerKind.ESTATE,
        name="",
        deceased_name="Ola Nordmann",
        number=number,
        address="Storgata 1",
        postal_code="0155",
        city="Oslo",
    )
    return world


@pytest.mark.parametrize("width", [1280, 390])
def test_connect_two_clients_in_the_browser(
    width, browser_login, admin_a, finance_a, subgroup_a, office_a, sandbox, sandbox_settings
):
    require_axe()
    SHOTS.mkdir(parents=True, exist_ok=True)
    subgroup_a.org_number = "914778271"
    subgroup_a.save()
    west = SubgroupFactory(
        agency=subgroup_a.agency, name="Hansen Bærum og omegn", org_number="974760673"
    )
    oslo = sandbox.create_client("Hansen Oslo AS", organization_no="914778271")
    baerum = sandbox.create_client("Hansen Bærum AS", organization_no="974760673")
    page = browser_login(admin_a)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(page.base + "/administrasjon/datadeling/")
    page.get_by_test_id("onboarding-start").click()
    page.get_by_test_id("onboarding-continue").click()
    page.wait_for_selector("text=Godkjenn integrasjonen")
    for box in page.locator("input[type=checkbox]").all():
        box.check()
    page.screenshot(path=str(SHOTS / f"samtykke-{width}.png"), full_page=True)
    page.get_by_role("button", name="Godkjenn").click()
    page.wait_for_selector("[data-testid=onboarding-confirm]")
    page.screenshot(path=str(SHOTS / f"bekreft-{width}.png"), full_page=True)
    _fits(page, width, "[data-testid=onboarding-confirm] select")
    assert describe(axe_violations(page)) == []
    chosen = page.locator("[data-testid=onboarding-confirm] select")
    assert [c.evaluate("s => s.selectedOptions[0].text") for c in chosen.all()] == [
        "Hansen Oslo",
        "Hansen Bærum og omegn",
    ]  # proposed by organisation number, not by name
    page.get_by_role("button", name="Bekreft").click()
    page.wait_for_selector("[data-testid=onboarding-result]")
    page.screenshot(path=str(SHOTS / f"ferdig-{width}.png"), full_page=True)
    _fits(page, width, "[data-testid=onboarding-result]")
    assert describe(axe_violations(page)) == []
    results = page.get_by_test_id("onboarding-result")
    assert results.count() == 2
    assert "Klientnøkkelen virker og åpner «Hansen Oslo AS»" in results.nth(0).inner_text()
    assert "Klientnøkkelen virker og åpner «Hansen Bærum AS»" in results.nth(1).inner_text()

    # Each subgroup's invoice lands in its own PowerOffice client.
    finance_a.employee_number = 2
    finance_a.save()
    articles = build_chart(subgroup_a.agency)
    worlds = [
        _world(sandbox, subgroup_a, office_a, finance_a, oslo["client_key"], articles, 10001),
        _world(
            sandbox,
            west,
            OfficeFactory(subgroup=west, name="Sandvika"),
            finance_a,
            baerum["client_key"],
            articles,
            10002,
        ),
    ]
    for world in worlds:
        invoice = make_invoice(world)
        result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL)
        assert result.ok, result
        assert [v["InvoiceNo"] for v in world.vouchers()] == [str(invoice.number)]
    assert Connection.objects.get(subgroup=subgroup_a).client_name == "Hansen Oslo AS"
    assert Connection.objects.get(subgroup=west).client_name == "Hansen Bærum AS"
