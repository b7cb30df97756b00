"""«Forhåndsvis eksport» in real Chromium: from the invoice page to the voucher PowerOffice would
get, and a blocked invoice's reason. Screenshots at desktop and phone width go to /tmp/hpreview/."""

from pathlib import Path

import pytest

from accounting.models import ExportStatus
from tests.fixtures.export import make_invoice

SHOTS = Path("/tmp/hpreview")
WIDTHS = {"desktop": 1280, "phone": 390}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _no_wider_than_the_screen(page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


def test_preview_from_the_invoice_page(browser_login, export_world, finance_a):
    world = export_world
    world.set_options(include_specification=True)
    invoice = make_invoice(world, [("kiste", "1"), ("minnebok", "2"), ("servering", "12.5")])
    blocked = make_invoice(world, [("krans", "1")])
    world.sandbox.remove(world.client_key, "accounts", world.account_id(3020))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser_login(finance_a)

    page.goto(f"{page.base}/okonomi/fakturaer/{invoice.pk}/")
    page.get_by_role("link", name="Forhåndsvis eksport").click()
    page.wait_for_url(f"**/okonomi/fakturaer/{invoice.pk}/forhandsvis-eksport/")
    assert page.locator("h1").inner_text() == "Forhåndsvis eksport"
    assert page.locator("[data-preview=ready]").is_visible()
    assert "opprettes som ny kunde i PowerOffice" in page.locator("main").inner_text()
    rows = page.locator("[data-preview=lines] tbody tr")
    assert rows.count() == 3
    assert "3000" in rows.nth(0).inner_text()
    assert "23 000,00" in rows.nth(0).inner_text().replace("\xa0", " ")
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"preview-{name}.png"), full_page=True)
        _no_wider_than_the_screen(page)

    page.goto(f"{page.base}/okonomi/fakturaer/{blocked.pk}/forhandsvis-eksport/")
    reasons = page.locator("[data-preview=blockers]")
    assert "Konto 3020 finnes ikke i PowerOffice" in reasons.inner_text()
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"preview-blocked-{name}.png"), full_page=True)
        _no_wider_than_the_screen(page)
    blocked.refresh_from_db()
    assert blocked.export_status == ExportStatus.NOT_EXPORTED
