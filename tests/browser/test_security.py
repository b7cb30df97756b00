"""In real Chromium: the Content-Security-Policy blocks nothing of our own pages (their inline
scripts carry the nonce), and Datadeling shows which PowerOffice Go the app talks to and which
stored keys cannot be read. Screenshots go to /tmp/prodsec/."""

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from poweroffice.crypto import encrypt_secret
from poweroffice.datadeling.connection import connection_for_subgroup
from tests.factories import SubgroupFactory

SHOTS = Path("/tmp/prodsec")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_our_pages_run_under_the_policy(browser_login, finance_a, admin_a, catalogue, customer_a):
    page = browser_login(admin_a)
    page.context.add_init_script(RECORD_VIOLATIONS)
    for path in (
        "/okonomi/fakturaer/ny/",
        "/okonomi/ikke-eksporterte/",
        "/administrasjon/datadeling/",
        f"/okonomi/kunder/{customer_a.pk}/",
        "/administrasjon/integrasjoner/",
    ):
        response = page.goto(page.base + path)
        assert response.status == 200, path
        assert "script-src" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], path
    # The invoice form's own script runs: "Legg til linje" adds a row.
    page.goto(page.base + "/okonomi/fakturaer/ny/")
    rows = page.locator("#invoice-form tbody tr").count()
    page.locator("#add-line").click()
    assert page.locator("#invoice-form tbody tr").count() == rows + 1
    assert page.evaluate("window.__csp") == []


def test_datadeling_names_the_target_and_unreadable_keys(
    browser_login, admin_a, subgroup_a, office_a, settings
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    settings.POWEROFFICE_API_URL = "http://127.0.0.1:8765/v2"
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    other = SubgroupFactory(agency=subgroup_a.agency, name="Hansen Bærum")
    settings.FIELD_ENCRYPTION_KEY = old
    for subgroup in (subgroup_a, other):
        connection = connection_for_subgroup(subgroup)
        connection.client_key_encrypted = encrypt_secret("a-client-key-0001")
        connection.client_key_last4 = "0001"
        connection.save()
    settings.FIELD_ENCRYPTION_KEY = new
    page = browser_login(admin_a)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(page.base + "/administrasjon/datadeling/")
        target = page.get_by_test_id("poweroffice-target")
        assert target.is_visible()
        assert "Lokal sandkasse (ikke PowerOffice)" in target.inner_text()
        unreadable = page.get_by_test_id("unreadable-keys")
        assert "Hansen Bærum, Hansen Oslo" in unreadable.inner_text()
        page.screenshot(path=str(SHOTS / f"datadeling-{width}.png"), full_page=False)
