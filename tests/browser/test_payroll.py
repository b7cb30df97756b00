"""The payroll pages in real Chromium: activating PowerOffice Go in its dialog, Lønnskoder, and
the export wizard from "Søk" to the exported list. Screenshots go to /tmp/hpayroll/."""

import os
from pathlib import Path

import pytest

from payroll.models import PayrollExport, PayrollExportStatus
from poweroffice.models import Connection
from poweroffice.salary.create import payroll_export_create
from poweroffice.salary.run import payroll_export_run
from tests.fixtures.payroll import (
    LockingClient,
    connect_subgroup,
    ensure_mileage_rates,
    make_driver,
    make_log,
    may,
)

SHOTS = Path(os.environ.get("PAYROLL_SCREENSHOT_DIR", "/tmp/hpayroll"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _payroll_pages(transactional_db):
    """Screenshots have a folder; the mileage rates the transactional flush removed are back."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    ensure_mileage_rates()


def test_activate_poweroffice_go_in_the_dialog(browser_login, po, subgroup_a, admin_a):
    key = po.create_client(name="Hansen Oslo AS")["client_key"]
    no_payroll = po.create_client(name="Uten lønn AS", subscriptions=["Accounting"])["client_key"]
    page = browser_login(admin_a)
    page.goto(page.base + "/administrasjon/integrasjoner/")
    row = page.locator(f"tr[data-subgroup='{subgroup_a.pk}']")
    assert row.locator(".badge").inner_text() == "ikke aktivert"
    row.get_by_role("button", name="Aktiver").click()
    dialog = page.locator(f"dialog#activate-{subgroup_a.pk}")
    assert dialog.is_visible()
    dialog.get_by_label("Klientnøkkel").fill(no_payroll)
    page.screenshot(path=str(SHOTS / "integrasjoner-dialog.png"))
    with page.expect_navigation():
        dialog.get_by_role("button", name="Bekreft").click()

    # The dialog comes back open and says exactly why.
    dialog = page.locator(f"dialog#activate-{subgroup_a.pk}")
    dialog.wait_for(state="visible")
    error = dialog.locator("[data-dialog-error]").inner_text()
    assert "«Uten lønn AS» har ikke abonnement på Lønn i PowerOffice Go" in error
    assert dialog.get_by_label("Klientnøkkel").input_value() == ""
    page.screenshot(path=str(SHOTS / "integrasjoner-feil.png"))

    dialog.get_by_label("Klientnøkkel").fill(key)
    with page.expect_navigation():
        dialog.get_by_role("button", name="Bekreft").click()
    page.wait_for_selector(".alert-success")
    assert (
        "Integreringen er godkjent (klient «Hansen Oslo AS»)."
        in page.locator(".alert-success").inner_text()
    )
    row = page.locator(f"tr[data-subgroup='{subgroup_a.pk}']")
    assert row.locator(".badge").inner_text() == "aktivert"
    assert key not in page.content()
    page.screenshot(path=str(SHOTS / "integrasjoner-aktivert.png"), full_page=True)
    assert Connection.objects.get(subgroup=subgroup_a).payroll_enabled


def test_datadeling_key_is_offered(browser_login, po, subgroup_a, admin_a):
    connect_subgroup(po, subgroup_a, activate=False, name="Hansen Oslo AS")
    page = browser_login(admin_a)
    page.goto(page.base + "/administrasjon/integrasjoner/")
    page.get_by_role("button", name="Aktiver").click()
    dialog = page.locator(f"dialog#activate-{subgroup_a.pk}")
    same = dialog.get_by_label("Bruk samme klientnøkkel som Datadeling")
    assert same.is_checked()
    assert not dialog.get_by_label("Klientnøkkel", exact=True).is_visible()
    page.screenshot(path=str(SHOTS / "integrasjoner-datadeling.png"))
    with page.expect_navigation():
        dialog.get_by_role("button", name="Bekreft").click()
    page.wait_for_selector(".alert-success")
    assert Connection.objects.get(subgroup=subgroup_a).payroll_enabled


def test_wage_codes_page(browser_login, po, subgroup_a, payroll_a):
    connect_subgroup(po, subgroup_a, wage_codes={})
    page = browser_login(payroll_a)
    page.goto(page.base + "/lonn/lonnseksport/")
    with page.expect_navigation():
        page.get_by_role("link", name="Lønnskoder").first.click()
    page.fill("input[name=mileage]", "7199")
    page.fill("input[name=passenger]", "7101")
    page.fill("input[name=toll]", "7140")
    page.fill("input[name=parking]", "7141")
    with page.expect_navigation():
        page.get_by_role("button", name="Lagre").click()
    row = page.locator("tr[data-kind='mileage']")
    assert "Lønnsart 7199 (Kilometergodtgjørelse (utgått)) er inaktiv i PowerOffice Go." in (
        row.inner_text()
    )
    page.screenshot(path=str(SHOTS / "lonnskoder-feil.png"), full_page=True)
    page.fill("input[name=mileage]", "7100")
    with page.expect_navigation():
        page.get_by_role("button", name="Lagre").click()
    page.wait_for_selector(".alert-success")
    assert (
        "Kilometergodtgjørelse"
        in page.locator("tr[data-kind='mileage'] .pay-item-name").inner_text()
    )
    assert page.locator("tr[data-kind='passenger'] .badge").inner_text() == "OK"
    assert page.locator("tr[data-kind='ferry']").inner_text().count("Ikke satt opp") == 1
    page.screenshot(path=str(SHOTS / "lonnskoder.png"), full_page=True)


def test_export_wizard(browser_login, po, payroll_world, payroll_a):
    per = make_driver(payroll_world.office, number=4, first="Per", last="Olsen")
    make_log(
        per,
        trips=[
            {
                "date": may(4),
                "km": "42.0",
                "passengers": 1,
                "toll": "44.00",
                "from_place": "Majorstuen",
                "to_place": "Ullevål sykehus",
            },
            {
                "date": may(18),
                "km": "12.5",
                "parking": "45.00",
                "from_place": "Majorstuen",
                "to_place": "Vestre gravlund",
            },
        ],
    )
    lars = make_driver(payroll_world.office, number=6, first="Lars", last="Andersen")
    make_log(lars, trips=[{"date": may(6), "km": "100.0", "trailer": True}])
    nora = make_driver(payroll_world.office, number=None, first="Nora", last="Strand")
    nora_log = make_log(nora, trips=[{"date": may(9), "km": "15.0"}])

    page = browser_login(payroll_a)
    page.goto(page.base + "/lonn/lonnseksport/")
    with page.expect_navigation():
        page.get_by_role("link", name="Lag ny").click()
    page.select_option("select[name=subgroup]", str(payroll_world.subgroup.pk))
    page.fill("input[name=date_from]", "2026-05-01")
    page.fill("input[name=date_to]", "2026-05-31")
    with page.expect_navigation():
        page.get_by_role("button", name="Søk").click()

    problems = page.locator("#problems")
    assert "Nora Strand har levert kjørebok, men mangler Ansettelsesnr. (PowerOffice)." in (
        problems.inner_text()
    )
    link = problems.get_by_role("link", name="Gå til Brukere / Nora Strand →")
    assert link.get_attribute("href") == f"/administrasjon/brukere/{nora.pk}/"
    assert page.locator("input[name=logs]:checked").count() == 3
    page.locator("a.trips-toggle").first.click()  # Per's trips, fetched on demand
    page.wait_for_selector("table.payroll-trips")
    page.screenshot(path=str(SHOTS / "lonnseksport-sok.png"), full_page=True)

    # Nora's logbook selected: "Forhåndsvis" stops with the same message.
    with page.expect_navigation():
        page.get_by_role("button", name="Forhåndsvis lønnslinjer").click()
    assert "mangler Ansettelsesnr. (PowerOffice)" in page.locator("#problems").inner_text()
    page.locator(f"input[name=logs][value='{nora_log.pk}']").uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Forhåndsvis lønnslinjer").click()
    preview = page.locator("#preview")
    assert preview.locator("tbody tr").count() == 6
    assert "Kjøring 04.05–18.05.2026, 2 turer" in preview.inner_text()
    page.screenshot(path=str(SHOTS / "lonnseksport-forhandsvisning.png"), full_page=True)

    with page.expect_navigation():
        page.get_by_role("button", name="Eksporter til PowerOffice Go").click()
    page.wait_for_url("**/lonn/lonnseksport/")
    assert "ligger nå i PowerOffice Go under Lønn som «Importert lønnsgrunnlag»" in (
        page.locator(".alert-success").inner_text()
    )
    export = PayrollExport.objects.get()
    row = page.locator(f"tr[data-export='{export.pk}']")
    assert row.locator(".badge").inner_text() == "Eksportert"
    page.screenshot(path=str(SHOTS / "lonnseksport-liste.png"), full_page=True)
    assert len(po.salary_lines(payroll_world.client_key)) == 6

    with page.expect_navigation():
        row.get_by_role("link", name=str(export.pk)).click()
    assert page.locator("#lines tbody tr").count() == 6
    page.screenshot(path=str(SHOTS / "lonnseksport-detalj.png"), full_page=True)


def test_rollback_incomplete_page(browser_login, po, payroll_world, payroll_a):
    per = make_driver(payroll_world.office, number=4, first="Per", last="Olsen")
    log = make_log(per, trips=[{"date": may(4), "km": "42.0", "toll": "44.00", "parking": "45.00"}])
    export = payroll_export_create(
        subgroup=payroll_world.subgroup,
        log_ids=[log.pk],
        date_from=may(1),
        date_to=may(31),
        user=payroll_a,
    )
    # The third line fails; the first was taken into a payroll run in the meantime.
    po.fault(method="POST", path="^/SalaryLines$", nth=3, status=400, body={"title": "Nei"})
    locking = LockingClient(payroll_world.client_key, po=po, client_key=payroll_world.client_key)
    export = payroll_export_run(export_id=export.pk, client=locking)
    assert export.status == PayrollExportStatus.ROLLBACK_INCOMPLETE

    page = browser_login(payroll_a)
    page.goto(f"{page.base}/lonn/lonnseksport/{export.pk}/")
    stuck = page.locator("#export-error")
    assert "Tilbakerullingen er ufullstendig" in stuck.inner_text()
    assert "Per Olsen (ansattnr. 4), lønnsart 7100, kr 222,60" in stuck.inner_text()
    page.screenshot(path=str(SHOTS / "lonnseksport-tilbakerulling.png"), full_page=True)

    po.unlock(payroll_world.client_key, locking.locked)
    with page.expect_navigation():
        page.get_by_role("button", name="Prøv tilbakerulling igjen").click()
    page.wait_for_selector(".alert-success")
    assert "Tilbakerullingen er fullført" in page.locator(".alert-success").inner_text()
    assert po.salary_lines(payroll_world.client_key) == []
    page.screenshot(path=str(SHOTS / "lonnseksport-rullet-tilbake.png"), full_page=True)
