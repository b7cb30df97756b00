"""A credited invoice's page in real Chromium, at desktop (1280 px) and phone (390 px) width:
the Betaling card shows the credited part with a link to the credit note, the page passes axe
and is no wider than the screen. Screenshots go to /tmp/hcredit/."""

import os
from pathlib import Path

import pytest

from accounting.models import InvoiceKind
from poweroffice.payments.services import payments_sync
from tests.browser.axe import axe_violations, describe, require_axe
from tests.fixtures.payments import PowerOfficeClientSetup

SHOTS = Path(os.environ.get("CREDIT_SCREENSHOT_DIR", "/tmp/hcredit"))
WIDTHS = {"desktop": 1280, "phone": 390}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_credited_invoice_page_in_the_browser(
    browser_login, sandbox, sandbox_settings, admin_a, subgroup_a
):
    require_axe()
    sandbox_settings.POWEROFFICE_PAYMENTS_SAFETY_MARGIN = 0
    po = PowerOfficeClientSetup(sandbox, subgroup_a)
    partly = po.new_exported("12500.00", matching=True)
    partly_note = po.new_exported(
        "-2500.00", matching=True, kind=InvoiceKind.CREDIT_NOTE, credited=partly
    )
    paid = po.new_exported("8900.00", matching=True)
    po.new_exported("-900.00", matching=True, kind=InvoiceKind.CREDIT_NOTE, credited=paid)
    po.pay(paid, "8000.00")
    assert payments_sync(subgroup=subgroup_a).success

    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser_login(admin_a)
    problems: list[str] = []
    for name, invoice, status, amount in (
        ("delvis-kreditert", partly, "Delvis kreditert", "kr 2 500,00"),
        ("betalt-med-kreditering", paid, "Betalt", "kr 900,00"),
    ):
        for width_name, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{page.base}/okonomi/fakturaer/{invoice.pk}/")
            page.wait_for_load_state("load")
            card = page.locator(".card", has=page.get_by_role("heading", name="Betaling"))
            assert status in card.locator(".badge").inner_text()
            credited = card.locator("dd.credited-amount")
            assert credited.is_visible()
            assert amount in credited.inner_text().replace("\xa0", " ")
            page.screenshot(path=str(SHOTS / f"{name}-{width_name}.png"), full_page=True)
            problems += [f"{name} {width}px: {line}" for line in describe(axe_violations(page))]
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                problems.append(f"{name} {width}px: the page is {overflow}px wider than the screen")
    assert not problems, "\n".join(problems)

    # The link leads to the credit note.
    page.goto(f"{page.base}/okonomi/fakturaer/{partly.pk}/")
    page.locator("dd.credited-amount").get_by_role(
        "link", name=f"kreditnota {partly_note.number}"
    ).click()
    page.wait_for_url(f"**/okonomi/fakturaer/{partly_note.pk}/")
    assert f"faktura {partly.number}" in page.locator(".alert-info").inner_text()
