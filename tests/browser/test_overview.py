"""Økonomi > Integrasjonsstatus in real Chromium at desktop and phone width: reached from the
menu, the chart drawn, failures with their fix readable, nothing wider than the screen.
Screenshots go to /tmp/hoverview/."""

import os
from pathlib import Path

import pytest

from accounting.models import ExportStatus, Invoice
from poweroffice.invoices.export import invoice_export
from poweroffice.models import AttemptTrigger
from tests.fixtures.export import make_invoice

SHOTS = Path(os.environ.get("OVERVIEW_SCREENSHOT_DIR", "/tmp/hoverview"))

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_integration_status_at_two_widths(browser_login, export_world):
    world = export_world
    done = make_invoice(world, [("kiste", "1")])
    assert invoice_export(invoice_id=done.pk, trigger=AttemptTrigger.MANUAL).ok
    failed = make_invoice(world)
    Invoice.objects.filter(pk=failed.pk).update(
        export_status=ExportStatus.FAILED, export_error="Konto 3999 finnes ikke i PowerOffice."
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser_login(world.user)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{page.base}/")
        if width == 1280:
            page.locator(".navgroup-title", has_text="Økonomi").hover()
            page.locator(".navgroup-menu a", has_text="Integrasjonsstatus").click()
        else:
            page.goto(f"{page.base}/okonomi/integrasjonsstatus/")
        assert page.locator("h1").inner_text() == "Integrasjonsstatus"
        chart = page.locator("[data-testid=export-chart] svg")
        box = chart.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 40
        failed_list = page.locator(
            f"[data-testid=subgroup-{world.subgroup.pk}] [data-testid=failed]"
        )
        assert "Konto 3999 finnes ikke i PowerOffice." in failed_list.inner_text()
        assert "Slik retter du det" in failed_list.inner_text()
        page.screenshot(path=str(SHOTS / f"integrasjonsstatus-{width}.png"), full_page=True)
        wide = page.evaluate(
            "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right"
            " > document.documentElement.clientWidth + 1).map(e => e.tagName + '.' + e.className)"
            ".slice(0, 5)"
        )
        assert not wide, f"wider than {width}px: {wide}"
