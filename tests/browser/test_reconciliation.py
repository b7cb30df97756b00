"""Økonomi > Avstemming in real Chromium: choose subgroup and period, "Avstem", read the
differences, and the saved result among earlier ones. Screenshots go to /tmp/reconcile/."""

import datetime as dt
import os
from pathlib import Path

import pytest

from poweroffice.invoices.export import invoice_export
from poweroffice.models import AttemptTrigger, Reconciliation
from tests.fixtures.browser import login_with_form
from tests.fixtures.export import make_invoice

SHOTS = Path(os.environ.get("RECONCILE_SCREENSHOT_DIR", "/tmp/reconcile"))

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reconcile_a_month_in_the_browser(browser_page, export_world):
    world = export_world
    paid = make_invoice(world, [("kiste", "1")])
    changed = make_invoice(world, [("servering", "12.5"), ("krans", "1")], customer="person")
    for invoice in (paid, changed):
        assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    never = make_invoice(world, [("honorar", "1")], invoice_date=dt.date(2026, 3, 20))
    world.sandbox.change_amount(world.client_key, changed.number, "2800.00")

    SHOTS.mkdir(parents=True, exist_ok=True)
    world.user.set_password("passord123")
    world.user.save()
    page = login_with_form(browser_page, world.user.username, "passord123")
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(f"{page.base}/")
    page.locator(".navgroup-title", has_text="Økonomi").hover()
    page.locator(".navgroup-menu a", has_text="Avstemming").first.click()
    assert page.locator("h1").inner_text() == "Avstemming"
    page.select_option("#id_subgroup", str(world.subgroup.pk))
    page.fill("#id_period_from", "2026-03-01")
    page.fill("#id_period_to", "2026-03-31")
    page.screenshot(path=str(SHOTS / "index-1280.png"), full_page=True)
    page.get_by_role("button", name="Avstem").click()

    verdict = page.get_by_test_id("verdict")
    assert "avvik" in verdict.inner_text()
    kinds = page.locator("[data-testid=differences] tr[data-kind]")
    rows = {row.get_attribute("data-kind") for row in kinds.all()}
    assert {"missing", "different", "totals", "payment"} <= rows
    missing = page.locator("tr[data-kind=missing]").first.inner_text()
    assert str(never.number) in missing and "Aldri eksportert" in missing
    amount = page.locator("tr[data-kind=different]").first.inner_text()
    assert str(changed.number) in amount and "4 862,50" in amount  # 2 800 + 2 062,50
    page.screenshot(path=str(SHOTS / "detail-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 900})
    page.screenshot(path=str(SHOTS / "detail-390.png"), full_page=True)

    run = Reconciliation.objects.get()
    assert run.state == Reconciliation.State.DIFFERENCES
    page.goto(f"{page.base}/okonomi/avstemming/")
    history = page.get_by_test_id("history").inner_text()
    assert "01.03.2026–31.03.2026" in history and "Avvik" in history
    page.screenshot(path=str(SHOTS / "index-390.png"), full_page=True)
