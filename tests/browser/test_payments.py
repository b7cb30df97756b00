"""Administrasjon > Betalingssjekk in real Chromium: the runs per subgroup, a failing subgroup's
reason, and "Kjør nå". Screenshots go to /tmp/hpay/."""

import os
from pathlib import Path

import pytest

from bitnet.celery import app as celery_app
from poweroffice.payments.services import payments_sync
from tests.factories import SubgroupFactory
from tests.fixtures.browser import login_with_form
from tests.fixtures.payments import PowerOfficeClientSetup

SHOTS = Path(os.environ.get("PAYMENTS_SCREENSHOT_DIR", "/tmp/hpay"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def eager_celery():
    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = old


def test_payment_check_page_in_the_browser(
    browser_page, sandbox, sandbox_settings, admin_a, subgroup_a, eager_celery
):
    sandbox_settings.POWEROFFICE_PAYMENTS_SAFETY_MARGIN = 0
    oslo = PowerOfficeClientSetup(sandbox, subgroup_a)
    invoices = [oslo.new_exported(amount) for amount in ("12500.00", "8900.00", "4300.00")]
    payments_sync(subgroup=subgroup_a)
    oslo.pay(invoices[0], "12500.00")
    oslo.pay(invoices[1], "2000.00")
    payments_sync(subgroup=subgroup_a)
    oslo.pay(invoices[2], "4300.00")

    baerum = SubgroupFactory(agency=subgroup_a.agency, name="Hansen Bærum")
    baerum_po = PowerOfficeClientSetup(sandbox, baerum)
    baerum_po.new_exported("990.00")
    sandbox.delete_client(baerum_po.client_key)
    payments_sync(subgroup=baerum)
    SubgroupFactory(agency=subgroup_a.agency, name="Hansen Asker")  # not connected

    SHOTS.mkdir(parents=True, exist_ok=True)
    page = login_with_form(browser_page, "admin_a", "passord123")
    page.set_viewport_size({"width": 1360, "height": 1100})
    page.goto(f"{page.base}/administrasjon/betalingssjekk/")
    assert page.locator("h1").inner_text() == "Betalingssjekk"
    oslo_card = page.locator(f"section[data-subgroup='{subgroup_a.pk}']")
    assert oslo_card.locator("tbody tr").count() == 2
    baerum_card = page.locator(f"section[data-subgroup='{baerum.pk}']")
    assert "Klientnøkkelen er ugyldig – legg inn en ny under Datadeling." in (
        baerum_card.locator(".alert-error").inner_text()
    )
    assert "Koble til under Datadeling" in page.content()
    page.screenshot(path=str(SHOTS / "betalingssjekk.png"), full_page=True)

    oslo_card.get_by_role("button", name="Kjør nå").click()
    page.wait_for_selector(".alert-success")
    assert "Betalingssjekken for Hansen Oslo er startet i bakgrunnen." in (
        page.locator(".alert-success").inner_text()
    )
    oslo_card = page.locator(f"section[data-subgroup='{subgroup_a.pk}']")
    assert oslo_card.locator("tbody tr").count() == 3
    newest = oslo_card.locator("tbody tr").first.inner_text()
    assert "Inkrementell" in newest and "OK" in newest
    page.screenshot(path=str(SHOTS / "betalingssjekk-etter-kjor-na.png"), full_page=True)
