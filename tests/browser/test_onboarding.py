"""Koble til PowerOffice in real Chromium against the sandbox: approve two clients, map them.
Screenshots at 1280 and 390 px go to /tmp/honboarding/."""

from pathlib import Path

import pytest

from poweroffice.models import Connection
from tests.factories import SubgroupFactory

SHOTS = Path("/tmp/honboarding")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_connect_two_clients_in_the_browser(
    width, browser_login, admin_a, subgroup_a, office_a, sandbox, sandbox_settings
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    subgroup_a.org_number = "911111111"
    subgroup_a.save()
    west = SubgroupFactory(agency=subgroup_a.agency, name="Hansen Bærum")
    sandbox.create_client("Hansen Oslo AS", organization_no="911111111")
    sandbox.create_client("Hansen Bærum", organization_no="922222222")
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
    page.get_by_role("button", name="Bekreft").click()
    page.wait_for_selector("text=Koblet til PowerOffice")
    page.screenshot(path=str(SHOTS / f"ferdig-{width}.png"), full_page=True)
    assert Connection.objects.get(subgroup=subgroup_a).client_name == "Hansen Oslo AS"
    assert Connection.objects.get(subgroup=west).client_name == "Hansen Bærum"
