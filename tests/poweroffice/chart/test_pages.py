"""Pages of the validation: Administrasjon > Kontoplan > "Valider kontoplan" and the prerequisites
checklist on Datadeling ("Sjekk på nytt"), with the sandbox over real HTTP."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from accounting.models import Account, Article
from poweroffice.crypto import encrypt_secret
from poweroffice.datadeling.connection import connection_for_subgroup
from poweroffice.models import AccountValidation, Connection
from tests.factories import SubgroupFactory

URL = "/administrasjon/kontoplan/valider/"
SCREENSHOTS = Path("/tmp/hvalid")


def prereq_url(subgroup) -> str:
    return f"/administrasjon/datadeling/{subgroup.pk}/forutsetninger/"


def _mismatches(world) -> None:
    """A missing account used by an article, another name, and a VAT rate that differs."""
    world.sandbox.remove(world.key, "accounts", world.po_account(3020)["Id"])
    world.accounts[3000].name = "Salg, avgiftspliktig"
    world.accounts[3000].save()
    world.vat["31"].rate = Decimal("12")
    world.vat["31"].save()


# --- access ---------------------------------------------------------------------------------------


def test_only_administrators(client, finance_a, subgroup_a):
    assert client.get(URL).status_code == 302  # to the login page
    client.force_login(finance_a)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"undergruppe": subgroup_a.pk}).status_code == 403
    assert client.post(prereq_url(subgroup_a)).status_code == 403


def test_another_agencys_subgroup_is_a_404(client, admin_b, world):
    client.force_login(admin_b)

    assert client.get(URL, {"undergruppe": world.subgroup.pk}).status_code == 404
    assert client.post(URL, {"undergruppe": world.subgroup.pk}).status_code == 404
    assert client.post(prereq_url(world.subgroup)).status_code == 404
    assert client.get(URL, {"undergruppe": "x"}).status_code == 404
    assert not AccountValidation.objects.exists()
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_checked_at is None


def test_other_agencies_subgroups_are_not_offered(client, admin_b, world):
    client.force_login(admin_b)

    response = client.get(URL)

    assert response.status_code == 200
    assert world.subgroup.name not in response.content.decode()
    assert "Ingen undergrupper er koblet til PowerOffice" in response.content.decode()


# --- Valider kontoplan ----------------------------------------------------------------------------


def test_page_before_the_first_validation(client, admin_a, world):
    client.force_login(admin_a)

    page = client.get(URL).content.decode()

    assert "Kontoplanen er ikke validert ennå" in page
    assert f'<option value="{world.subgroup.pk}" selected>Hansen Oslo</option>' in page


def test_validate_shows_each_difference_and_what_to_do(client, admin_a, world):
    _mismatches(world)
    client.force_login(admin_a)

    response = client.post(URL, {"undergruppe": world.subgroup.pk})

    assert response.status_code == 302
    assert response["Location"] == f"{URL}?undergruppe={world.subgroup.pk}"
    validation = AccountValidation.objects.get()
    assert validation.run_by == admin_a
    assert validation.subgroup == world.subgroup
    page = client.get(response["Location"]).content.decode()
    assert "Kontoplanen er validert: 2 feil og 1 avvik å se på." in page
    assert "Konto 3020 finnes ikke i PowerOffice. Kontoen er salgskonto på varene «Urne»." in page
    assert (
        "Opprett konto 3020 under Innstillinger &gt; Kontoplan i PowerOffice, eller endre "
        "salgskonto på varene «Urne» i Bitnet." in page
    )
    assert "MVA-kode 31 har sats 12 % i Bitnet, men 15 % i PowerOffice." in page
    assert f'href="/administrasjon/kontoplan/{world.accounts[3000].id}/"' in page
    assert page.count('<span class="badge badge-red">Feil</span>') == 2
    assert page.count('<span class="badge badge-amber">Avvik</span>') == 1
    assert "Alt stemmer" not in page


def test_all_good(client, admin_a, world):
    client.force_login(admin_a)

    page = client.post(URL, {"undergruppe": world.subgroup.pk}, follow=True).content.decode()

    assert "Kontoplanen er validert: alt stemmer med PowerOffice." in page
    assert "<h2>Alt stemmer</h2>" in page
    assert "Alle 7 kontoene, varene og 5 MVA-kodene i Bitnet stemmer med PowerOffice." in page
    assert "validation-table" not in page


def test_failed_run_shows_why_and_keeps_the_last_result_visible(client, admin_a, world):
    _mismatches(world)
    client.force_login(admin_a)
    client.post(URL, {"undergruppe": world.subgroup.pk})
    world.connection.client_key_encrypted = encrypt_secret("ffffffff-0000-4000-8000-00000000beef")
    world.connection.save()

    page = client.post(URL, {"undergruppe": world.subgroup.pk}, follow=True).content.decode()

    assert "Kontoplanen ble ikke validert. PowerOffice kjenner ikke igjen klientnøkkelen" in page
    assert "Forrige fullførte validering" in page
    assert "Konto 3020 finnes ikke i PowerOffice." in page
    assert "beef" not in page


def test_results_per_subgroup(client, admin_a, world, agency_a, sandbox):
    other = SubgroupFactory(agency=agency_a, name="Hansen Asker")
    second = sandbox.create_client("Hansen Asker AS")
    connection = connection_for_subgroup(other)
    connection.client_key_encrypted = encrypt_secret(second["client_key"])
    connection.save()
    client.force_login(admin_a)
    client.post(URL, {"undergruppe": other.pk})

    page_other = client.get(URL, {"undergruppe": other.pk}).content.decode()
    page_mine = client.get(URL, {"undergruppe": world.subgroup.pk}).content.decode()

    assert "<h2>Alt stemmer</h2>" in page_other
    assert "Kontoplanen er ikke validert ennå" in page_mine
    assert 'href="?undergruppe=' in page_mine  # switch between subgroups


# --- the checklist on Datadeling ------------------------------------------------------------------


def test_sjekk_pa_nytt_runs_the_checks_and_goes_back(client, admin_a, world):
    client.force_login(admin_a)

    response = client.post(prereq_url(world.subgroup), {"next": "/administrasjon/datadeling/"})

    assert response.status_code == 302
    assert response["Location"] == f"/administrasjon/datadeling/#forutsetninger-{world.subgroup.pk}"
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_ok is True
    assert len(world.connection.prerequisites) == 5


def test_sjekk_pa_nytt_is_post_only_and_never_redirects_elsewhere(client, admin_a, world):
    client.force_login(admin_a)

    assert client.get(prereq_url(world.subgroup)).status_code == 405
    response = client.post(prereq_url(world.subgroup), {"next": "https://evil.example/"})
    assert response["Location"] == f"/administrasjon/datadeling/#forutsetninger-{world.subgroup.pk}"


def _render_checklist(connection: Connection, user) -> str:
    request = RequestFactory().get("/administrasjon/datadeling/")
    request.user = user
    return render_to_string(
        "poweroffice/validation/checklist.html", {"connection": connection}, request=request
    )


def test_checklist_before_any_check(admin_a, subgroup_a):
    html = _render_checklist(connection_for_subgroup(subgroup_a), admin_a)

    assert "Forutsetningene er ikke sjekket ennå" in html
    assert f'action="/administrasjon/datadeling/{subgroup_a.pk}/forutsetninger/"' in html
    assert "Sjekk på nytt" in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_checklist_shows_each_check_with_a_link_to_fix_it(admin_a, world):
    _mismatches(world)
    world.check()
    world.connection.refresh_from_db()

    html = _render_checklist(world.connection, admin_a)
    assert "Rett feilene under før du slår på automatisk eksport." in html
    world.connection.auto_export = True
    html = _render_checklist(world.connection, admin_a)

    assert "Automatisk eksport holdes tilbake til feilene under er rettet." in html
    assert html.count('class="dot dot-ok"') == 3
    assert html.count('class="dot dot-error"') == 2
    assert "1 feil: MVA-kode 31 har sats 12 % i Bitnet, men 15 % i PowerOffice." in html
    assert f'href="/administrasjon/kontoplan/valider/?undergruppe={world.subgroup.pk}"' in html
    assert 'href="/administrasjon/mva-koder/"' in html
    assert "Sist sjekket" in html


def test_checklist_all_ok(admin_a, world):
    world.check()
    world.connection.refresh_from_db()

    html = _render_checklist(world.connection, admin_a)

    assert "Alle forutsetninger for PowerOffice er oppfylt." in html
    assert html.count('class="dot dot-ok"') == 5


# --- in a browser ---------------------------------------------------------------------------------


@pytest.fixture
def admin_page(browser_login, admin_a):
    """Chromium on the live server, logged in as admin_a."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return browser_login(admin_a)


@pytest.mark.browser
def test_browser_valider_kontoplan(admin_page, world):
    _mismatches(world)
    page = admin_page

    page.goto(page.base + "/administrasjon/kontoplan/valider/")
    page.get_by_role("button", name="Valider kontoplan").click()
    page.wait_for_selector(".validation-table")
    page.screenshot(path=str(SCREENSHOTS / "valider-kontoplan-avvik.png"), full_page=True)

    rows = page.locator("tr.finding")
    assert rows.count() == 3
    first = rows.nth(0).inner_text()
    assert "Konto 3020" in first and "Finnes ikke" in first
    assert page.locator(".alert-warning").inner_text() == (
        "Kontoplanen er validert: 2 feil og 1 avvik å se på."
    )

    # Fix everything in Bitnet, validate again: "Alt stemmer".
    world.vat["31"].rate = Decimal("15")
    world.vat["31"].save()
    Account.objects.filter(pk=world.accounts[3000].pk).update(name="Salgsinntekt, avgiftspliktig")
    Article.objects.filter(pk=world.articles["Urne"].pk).update(account=world.accounts[3000])
    Account.objects.filter(pk=world.accounts[3020].pk).update(is_active=False)
    page.get_by_role("button", name="Valider kontoplan").click()
    page.wait_for_selector("[data-testid=all-good]")
    page.screenshot(path=str(SCREENSHOTS / "valider-kontoplan-alt-stemmer.png"), full_page=True)
    assert "Alt stemmer" in page.locator("[data-testid=all-good]").inner_text()


@pytest.mark.browser
def test_browser_checklist_on_datadeling(admin_page, world):
    world.accounts[3000].vat_code = world.vat["5"]
    world.accounts[3000].save()
    sg = world.subgroup
    sg.customer_series_end = 29999
    sg.save()
    Connection.objects.filter(pk=world.connection.pk).update(enabled=True, auto_export=True)
    page = admin_page

    page.goto(page.base + "/administrasjon/datadeling/")
    checklist = page.locator(f"#forutsetninger-{sg.pk}")
    assert "ikke sjekket ennå" in checklist.inner_text()
    checklist.get_by_role("button", name="Sjekk på nytt").click()
    page.wait_for_selector(f"#forutsetninger-{sg.pk} .prereq-list")
    checklist = page.locator(f"#forutsetninger-{sg.pk}")
    page.evaluate("window.scrollTo(0, 0)")  # the sticky menu stays on top in a full-page shot
    page.screenshot(path=str(SCREENSHOTS / "datadeling-forutsetninger.png"), full_page=True)
    checklist.screenshot(path=str(SCREENSHOTS / "datadeling-forutsetninger-utsnitt.png"))

    text = checklist.inner_text()
    assert "Automatisk eksport holdes tilbake" in text
    assert checklist.locator("li.prereq-error").count() == 2  # chart and customer series
    assert checklist.locator("li.prereq-ok").count() == 3
    assert "Kundenummerserien i Bitnet (10000–29999) går utenfor" in text
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_ok is False

    # Follow the chart's link to Valider kontoplan: the same result is there.
    checklist.get_by_role("link", name="Se Valider kontoplan").click()
    page.wait_for_selector(".validation-table")
    assert "Konto 3000 er låst til MVA-kode 3" in page.locator(".validation-table").inner_text()
