"""Administrasjon > Datadeling in real Chromium: copy the application key, save a client key, the
message for a wrong key, the options. Screenshots go to /tmp/hexport/."""

from pathlib import Path

import pytest

from poweroffice.crypto import decrypt_secret
from poweroffice.models import Connection

SHOTS = Path("/tmp/hexport")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_datadeling_in_the_browser(
    browser_login, admin_a, subgroup_a, office_a, sandbox, sandbox_settings
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    page = browser_login(admin_a)
    page.goto(page.base + "/administrasjon/datadeling/")
    section = page.locator(f"#undergruppe-{subgroup_a.pk}")
    prefix = f"#id_sg{subgroup_a.pk}-"

    # Bitnets applikasjonsnøkkel, with a copy button.
    copy = page.locator("[data-copy]")
    assert copy.get_attribute("data-copy") == sandbox_settings.POWEROFFICE_APPLICATION_KEY
    copy.click()
    page.wait_for_function("document.querySelector('[data-copy]').textContent === 'Kopiert'")
    assert (
        page.evaluate("navigator.clipboard.readText()")
        == sandbox_settings.POWEROFFICE_APPLICATION_KEY
    )

    # A wrong key: the reason beside the field, nothing saved.
    page.check(prefix + "enabled")
    page.fill(prefix + "client_key", "dette-er-ikke-en-nokkel")
    page.check(prefix + "auto_export")
    section.get_by_role("button", name="Lagre").click()
    error = page.locator(f"#undergruppe-{subgroup_a.pk} .dd-keyfield .errorlist")
    assert "PowerOffice kjenner ikke igjen klientnøkkelen" in error.inner_text()
    assert page.input_value(prefix + "client_key") == ""  # never echoed back
    assert not Connection.objects.filter(subgroup=subgroup_a, auto_export=True).exists()
    page.screenshot(path=str(SHOTS / "datadeling-feil-nokkel.png"), full_page=True)

    # The right key, with options.
    page.fill(prefix + "client_key", key)
    page.check(prefix + "include_specification")
    page.check(prefix + "include_department")
    page.locator(f"#undergruppe-{subgroup_a.pk}").get_by_role("button", name="Lagre").click()
    page.wait_for_selector(".alert-success")
    assert "Koblet til «Hansen Oslo AS»" in page.locator(".alert-success").inner_text()
    stored = page.locator(f"#undergruppe-{subgroup_a.pk} [data-testid=stored-key]").inner_text()
    assert key[-4:] in stored and key[:-4] not in page.content()
    assert page.is_checked(prefix + "include_specification")
    assert page.is_checked(prefix + "include_department")
    assert not page.is_checked(prefix + "include_employee_number")
    connection = Connection.objects.get(subgroup=subgroup_a)
    assert decrypt_secret(connection.client_key_encrypted) == key
    assert connection.enabled and connection.include_specification and connection.include_department

    # Synkroniser avdelinger.
    page.locator(f"#undergruppe-{subgroup_a.pk}").get_by_role(
        "button", name="Synkroniser avdelinger"
    ).click()
    page.wait_for_selector("text=Hentet 4 avdelinger fra PowerOffice")
    assert page.locator(f"#undergruppe-{subgroup_a.pk} .dd-departments li").count() == 4
    page.screenshot(path=str(SHOTS / "datadeling.png"), full_page=True)

    # Options off again; the key stays.
    page.uncheck(prefix + "include_department")
    page.locator(f"#undergruppe-{subgroup_a.pk}").get_by_role("button", name="Lagre").click()
    page.wait_for_selector(f"text=Innstillingene for {subgroup_a.name} er lagret.")
    connection.refresh_from_db()
    assert not connection.include_department
    assert decrypt_secret(connection.client_key_encrypted) == key


@pytest.mark.parametrize("width", [390, 1280])
def test_a_connected_subgroup_fits_the_screen(
    browser_login, admin_a, subgroup_a, sandbox, sandbox_settings, width
):
    # The longest things on the card: the "Tilkoblet «…»" badge and the stored key's line.
    from poweroffice.datadeling.connection import (
        connection_for_subgroup,
        connection_store_client_key,
    )

    key = sandbox.create_client("Minnehagen Begravelsesbyrå Oslo AS")["client_key"]
    connection = connection_for_subgroup(subgroup_a)
    connection.enabled = True
    connection.save()
    assert connection_store_client_key(connection=connection, client_key=key).ok
    Connection.objects.filter(pk=connection.pk).update(client_org_number="916800002")
    page = browser_login(admin_a)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(page.base + "/administrasjon/datadeling/")

    stored = page.locator(f"#undergruppe-{subgroup_a.pk} [data-testid=stored-key]").inner_text()
    assert "klient «Minnehagen Begravelsesbyrå Oslo AS», org.nr. 916 800 002" in stored
    badge = page.locator(f"#undergruppe-{subgroup_a.pk} .badge-green").first
    assert badge.inner_text() == "Tilkoblet «Minnehagen Begravelsesbyrå Oslo AS»"
    page.screenshot(path=str(SHOTS / f"datadeling-tilkoblet-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    card = page.locator(f"#undergruppe-{subgroup_a.pk}").bounding_box()
    box = badge.bounding_box()
    assert card is not None and box is not None
    assert box["x"] + box["width"] <= card["x"] + card["width"]
