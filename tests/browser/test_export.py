"""Økonomi > Ikke eksporterte fakturaer in real Chromium: hide with the red eye, show again,
"Eksporter alle" with a progress bar that moves without reloading the page.

The background task runs in a thread standing in for the Celery worker (the real worker is
tested in tests/poweroffice/invoices/test_worker.py)."""

import threading
from pathlib import Path

import pytest
from django.db import connection as db_connection

from accounting.models import ExportStatus, Invoice
from poweroffice.invoices.batch import export_batch_run
from tests.fixtures.export import make_invoice

SHOTS = Path("/tmp/hexport")
URL = "/okonomi/ikke-eksporterte/"
TOTAL = 16  # exported by "Eksporter alle"; one more stays hidden

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def thread_worker(monkeypatch):
    """export_batch.delay runs the batch in a background thread, as a worker would."""
    from poweroffice.invoices import tasks

    threads = []

    def delay(batch_id):
        def run():
            try:
                export_batch_run(batch_id=batch_id)
            finally:
                db_connection.close()

        thread = threading.Thread(target=run, daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(tasks.export_batch, "delay", delay)
    yield threads
    for thread in threads:
        thread.join(timeout=120)


def test_hide_show_again_and_export_all_with_progress(browser_login, export_world, thread_worker):
    SHOTS.mkdir(parents=True, exist_ok=True)
    world = export_world
    world.set_options(include_specification=True)
    # Enough invoices that the batch, which sends several at once, still takes a few polls.
    invoices = [make_invoice(world) for _ in range(TOTAL + 1)]
    hide_me = invoices[0]
    page = browser_login(world.user)
    page.goto(page.base + URL)
    assert page.locator("tr.ne-row").count() == TOTAL + 1

    # The red eye hides an invoice; "Vis skjulte" shows it; the eye brings it back.
    page.locator(f"#faktura-{hide_me.pk} button.eye-red").click()
    page.wait_for_selector(f"text=Faktura {hide_me.number} er skjult fra listen")
    assert page.locator(f"#faktura-{hide_me.pk}").count() == 0
    page.get_by_role("link", name="Vis skjulte (1)").click()
    assert page.locator("tr.ne-row").count() == 1
    assert "Skjult " in page.locator(f"#faktura-{hide_me.pk}").inner_text()
    page.screenshot(path=str(SHOTS / "ikke-eksporterte-skjulte.png"), full_page=True)
    page.locator(f"#faktura-{hide_me.pk} button.eye-show").click()
    page.wait_for_selector(f"text=Faktura {hide_me.number} vises i listen igjen")
    page.goto(page.base + URL)
    assert page.locator("tr.ne-row").count() == TOTAL + 1

    # Hide one again, so "Eksporter alle" leaves it alone.
    page.locator(f"#faktura-{hide_me.pk} button.eye-red").click()
    page.wait_for_selector(f"text=Faktura {hide_me.number} er skjult fra listen")

    # Eksporter alle: slow PowerOffice down so the bar has somewhere to go.
    world.sandbox.config(latency_ms=400)
    page.get_by_role("button", name=f"Eksporter alle ({TOTAL})").click()
    page.wait_for_selector("#export-progress")
    page.evaluate("window.__samePage = true")
    seen = set()
    for _ in range(400):
        text = page.locator("#export-progress-text").inner_text()
        seen.add(text)
        if text.startswith("Eksporterer … ") and not text.startswith("Eksporterer … 0 av"):
            break
        page.wait_for_timeout(50)
    midway = page.locator("#export-progress-text").inner_text()
    assert midway.startswith("Eksporterer … ") and not midway.endswith(f"{TOTAL} av {TOTAL} ferdig"), seen
    width = page.evaluate("parseFloat(document.getElementById('export-progress-bar').style.width)")
    assert 0 < width < 100
    # The counters and the rows follow too, from the same poll as the bar.
    done = int(midway.removeprefix("Eksporterer … ").split(" av")[0])
    assert page.locator('tr.ne-row[data-status="exported"]').count() >= done
    assert int(page.locator('[data-count="total"]').inner_text()) <= TOTAL - done
    assert page.evaluate("window.__samePage") is True  # it moved without a reload
    page.screenshot(path=str(SHOTS / "eksporter-alle-pagar.png"))

    # When it is done the page shows the list as it is now, with the result on top.
    _wait_for_reload(page, timeout=120)
    page.wait_for_selector("#export-progress.is-finished")
    assert page.locator("#export-progress-text").inner_text() == f"Ferdig: {TOTAL} av {TOTAL} eksportert"
    assert page.locator("tr.ne-row").count() == 0
    assert "Alle fakturaer er eksportert til PowerOffice." in page.content()
    page.screenshot(path=str(SHOTS / "eksporter-alle-ferdig.png"))

    assert len(world.vouchers()) == TOTAL
    statuses = dict(
        Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list("pk", "export_status")
    )
    assert statuses.pop(hide_me.pk) == ExportStatus.NOT_EXPORTED
    assert set(statuses.values()) == {ExportStatus.EXPORTED}


def _wait_for_reload(page, *, timeout: float) -> None:
    """Until the page has loaded anew (the marker set on the old page is gone). Polled from
    here: the page's Content-Security-Policy forbids the eval that wait_for_function uses."""
    import time

    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not page.evaluate("() => window.__samePage === true"):
                return
        except PlaywrightError:
            pass  # the old page went away while we asked
        page.wait_for_timeout(250)
    raise AssertionError("the page never loaded anew")
