"""The Endringslogg and a payroll export that stopped half-way, in real Chromium, at a desktop
and a phone width. Screenshots go to /tmp/audit/."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from bitnet.audit.services import audit_actor_name
from payroll.models import DrivingLog, PayrollExport, PayrollExportStatus
from poweroffice.salary.create import payroll_export_create
from poweroffice.salary.wagecodes import wage_codes_save
from tests.fixtures.payroll import WAGE_CODES, make_driver, make_log, may

SHOTS = Path("/tmp/audit")
WIDTHS = (1280, 390)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        # What this page adds fits the screen (no part of it is cut off at the right).
        right = page.evaluate(
            """() => Math.max(0, ...[...document.querySelectorAll(
                '[data-audit-log], #export-stalled, #export-recovery, #export-outcome'
            )].map((el) => el.getBoundingClientRect().right))"""
        )
        assert 0 < right <= width, (name, width, right)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_endringslogg_in_the_browser(
    browser_login, admin_a, subgroup_a, office_a, sandbox, sandbox_settings
):
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    page = browser_login(admin_a)
    page.goto(page.base + "/administrasjon/datadeling/")
    section = page.locator(f"#undergruppe-{subgroup_a.pk}")
    prefix = f"#id_sg{subgroup_a.pk}-"
    page.check(prefix + "enabled")
    page.fill(prefix + "client_key", key)
    page.check(prefix + "auto_export")
    section.get_by_role("button", name="Lagre").click()
    page.wait_for_selector(".alert-success")
    section = page.locator(f"#undergruppe-{subgroup_a.pk}")
    section.get_by_role("button", name="Synkroniser avdelinger").click()
    page.wait_for_selector(".alert-success")

    log = page.locator(f"#undergruppe-{subgroup_a.pk} [data-audit-log]")
    assert f"av {audit_actor_name(admin_a)}" in log.locator("summary").inner_text()
    assert not log.locator(".audit-entries").is_visible()  # folded until asked for
    log.locator("summary").click()
    entries = log.locator(".audit-entries > li")
    assert entries.count() == 3
    text = log.inner_text()
    assert f"Klientnøkkel lagt inn (…{key[-4:]})" in text
    assert "Eksporter automatisk nye fakturaer til PowerOffice: Av → På" in text
    assert "Avdelinger synkronisert: hentet 4 (4 nye)" in text
    assert key not in page.content()
    _shoot(page, "datadeling")

    # Integrasjoner: activate with the Datadeling key.
    page.goto(page.base + "/administrasjon/integrasjoner/")
    page.get_by_role("button", name="Aktiver").click()
    page.get_by_role("button", name="Bekreft").click()
    page.wait_for_selector(".alert-success")
    page.locator("[data-audit-log] summary").click()
    assert (
        "PowerOffice Go aktivert med klientnøkkelen fra Datadeling"
        in page.locator("[data-audit-log]").inner_text()
    )
    _shoot(page, "integrasjoner")

    # Lønnskoder.
    assert wage_codes_save(subgroup=subgroup_a, codes=dict(WAGE_CODES), actor=admin_a).ok
    page.goto(page.base + f"/lonn/lonnskoder/?undergruppe={subgroup_a.pk}")
    page.locator("[data-audit-log] summary").click()
    assert "Lønnskoder endret" in page.locator("[data-audit-log]").inner_text()
    _shoot(page, "lonnskoder")

    # A user: role and employee number.
    page.goto(page.base + f"/administrasjon/brukere/{admin_a.pk}/")
    page.fill("#id_employee_number", "17")
    page.get_by_role("button", name="Lagre").click()
    page.wait_for_selector(".alert-success")
    page.goto(page.base + f"/administrasjon/brukere/{admin_a.pk}/")
    page.locator("[data-audit-log] summary").click()
    assert (
        "Ansettelsesnr. (PowerOffice): (tom) → 17" in page.locator("[data-audit-log]").inner_text()
    )
    _shoot(page, "bruker")

    # An office's Ekstern avdeling.
    page.goto(page.base + f"/administrasjon/byra/{office_a.pk}/")
    page.select_option("#id_external_department_code", "2")
    page.get_by_role("button", name="Lagre").click()
    page.wait_for_selector(".alert-success")
    page.goto(page.base + f"/administrasjon/byra/{office_a.pk}/")
    page.locator("[data-audit-log] summary").click()
    assert "Ekstern avdeling: (tom) → 2 Bærum" in page.locator("[data-audit-log]").inner_text()
    _shoot(page, "byra")


def test_a_stopped_payroll_export_in_the_browser(browser_login, po, payroll_world, payroll_a):
    drivers = [
        make_driver(payroll_world.office, number=n, first=f, last=last, username=f"d{n}")
        for n, f, last in ((4, "Per", "Olsen"), (6, "Lars", "Andersen"))
    ]
    for driver in drivers:
        make_log(driver, trips=[{"date": may(4), "km": "42.0", "toll": "44.00"}])
    export = payroll_export_create(
        subgroup=payroll_world.subgroup,
        log_ids=list(DrivingLog.objects.values_list("pk", flat=True)),
        date_from=may(1),
        date_to=may(31),
        user=payroll_a,
    )
    # A run that died before its first line.
    PayrollExport.objects.filter(pk=export.pk).update(
        status=PayrollExportStatus.RUNNING,
        started_at=timezone.now() - dt.timedelta(hours=1),
        heartbeat_at=timezone.now() - dt.timedelta(hours=1),
    )
    page = browser_login(payroll_a)
    page.goto(page.base + "/lonn/lonnseksport/")
    assert "Stoppet – fullføres automatisk" in page.locator("#exports").inner_text()
    page.goto(page.base + f"/lonn/lonnseksport/{export.pk}/")
    stalled = page.locator("#export-stalled")
    assert "Eksporten har stoppet underveis" in stalled.inner_text()
    _shoot(page, "lonnseksport-stoppet")

    stalled.get_by_role("button", name="Gjenoppta nå").click()
    page.wait_for_selector("#export-outcome")
    assert (
        "alle 4 lønnslinjer ligger i PowerOffice Go" in page.locator("#export-outcome").inner_text()
    )
    assert "Gjenopptatt" in page.locator("#export-recovery").inner_text()
    assert len(po.salary_lines(payroll_world.client_key)) == 4
    _shoot(page, "lonnseksport-gjenopptatt")
