"""A payroll export killed half-way is brought to an end: all its salary lines in PowerOffice
Go, or none, and its page and the command say which.

The killed run is a real process: ``python manage.py payroll_export`` (or a Celery worker),
killed with SIGKILL while PowerOffice Go has just created line k of 10 and not yet answered
(the sandbox's "delay after" fault), so that line k is in PowerOffice Go with no id stored
here. The recovery is ``payroll_export`` run again, the sweeper, or "Gjenoppta nå".
"""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection as db_connection
from django.utils import timezone

from bitnet.audit.services import audit_actor_name
from bitnet.celery import app as celery_app
from payroll.models import (
    DrivingLog,
    PayrollExport,
    PayrollExportLineState,
    PayrollExportLog,
    PayrollExportStatus,
)
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.errors import ValidationError
from poweroffice.salary.create import payroll_export_create
from poweroffice.salary.recovery import BY_SWEEPER, payroll_export_recover
from poweroffice.salary.run import payroll_export_run
from poweroffice.salary.tasks import payroll_export_sweeper, payroll_export_task
from tests.fixtures.payroll import (
    connect_subgroup,
    ensure_mileage_rates,
    make_driver,
    make_log,
    may,
)

ROOT = Path(__file__).resolve().parents[3]
LOG_DIR = Path("/tmp/payroll-recovery")
N = 10
# PowerOffice Go answers line k this late: long enough to kill the process meanwhile.
HELD_MS = 15000


def _wait(predicate, *, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def _env(po, **extra) -> dict:
    db = db_connection.settings_dict
    user = db.get("USER") or "postgres"
    url = f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "POWEROFFICE_API_URL": f"{po.url}/v2",
        "POWEROFFICE_TOKEN_URL": f"{po.url}/OAuth/Token",
        "FIELD_ENCRYPTION_KEY": django_settings.FIELD_ENCRYPTION_KEY,
        "DJANGO_DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **extra,
    }


COMMAND = [
    sys.executable,
    "manage.py",
    "payroll_export",
    "--from",
    "2026-05-01",
    "--to",
    "2026-05-31",
]


@pytest.fixture
def world(po, subgroup_a, office_a):
    """Five drivers, each with mileage and toll: 10 salary lines."""
    ensure_mileage_rates()
    client = connect_subgroup(po, subgroup_a)
    drivers = [
        make_driver(office_a, number=number, first=first, last=last)
        for number, first, last in (
            (2, "Ola", "Hansen"),
            (4, "Per", "Olsen"),
            (5, "Solveig", "Larsen"),
            (6, "Lars", "Andersen"),
            (8, "Knut", "Nilsen"),
        )
    ]
    for i, driver in enumerate(drivers):
        make_log(driver, trips=[{"date": may(4 + i), "km": f"{20 + i}.0", "toll": "44.00"}])
    return {"po": po, "key": client["client_key"], "subgroup": subgroup_a}


def _killed_at(world, k: int, *, command=COMMAND, env=None):
    """Start the export in its own process and SIGKILL it once PowerOffice Go has created
    line k (and holds its answer back). Returns the export, as the dead run left it."""
    po = world["po"]
    po.fault(
        action="delay", delay_ms=HELD_MS, when="after", method="POST", path="^/SalaryLines$", nth=k
    )
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / f"killed-at-{k}.log", "w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env or _env(po),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait(
                lambda: len(po.salary_lines(world["key"])) == k,
                timeout=120,
                what=f"line {k} in PowerOffice Go",
            )
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    po.clear_faults()
    return PayrollExport.objects.get()


def _assert_half_done(export, k: int, world) -> None:
    """What the dead run left: k lines in PowerOffice Go, the k-th without its id here."""
    assert export.status == PayrollExportStatus.RUNNING
    assert export.lines_total == N
    stored = list(export.lines.filter(po_salary_line_id__isnull=False).order_by("position"))
    assert [line.position for line in stored] == list(range(1, k))
    assert len(world["po"].salary_lines(world["key"])) == k
    assert PayrollExportLog.objects.filter(export=export, active=True).count() == 5


def _stale(settings) -> None:
    """The dead run's heartbeat is older than the (shortened) stale limit."""
    settings.PAYROLL_EXPORT_STALE_AFTER = 1
    time.sleep(1.2)


def _assert_all_in_poweroffice(export, world) -> None:
    lines = world["po"].salary_lines(world["key"])
    assert len(lines) == N
    references = [line["ExternalImportReference"] for line in lines]
    assert len(set(references)) == N  # none twice
    ours = {line.external_import_reference: line.po_salary_line_id for line in export.lines.all()}
    assert {line["ExternalImportReference"]: line["Id"] for line in lines} == ours
    assert export.status == PayrollExportStatus.EXPORTED
    assert export.lines_created == N
    assert set(DrivingLog.objects.values_list("status", flat=True)) == {"exported"}


def _page(client, user, export) -> str:
    client.force_login(user)
    return client.get(f"/lonn/lonnseksport/{export.pk}/").content.decode()


killed = pytest.mark.django_db(transaction=True)


@killed
@pytest.mark.parametrize("k", [1, 5, N])
def test_command_killed_at_line_k_then_run_again_resumes(world, settings, client, payroll_a, k):
    export = _killed_at(world, k)
    _assert_half_done(export, k, world)

    time.sleep(1.2)
    again = subprocess.run(
        COMMAND,
        cwd=ROOT,
        env=_env(world["po"], PAYROLL_EXPORT_STALE_AFTER="1"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    out = again.stdout.splitlines()
    assert out[0].startswith(
        f"Hansen Oslo: lønnseksport {export.pk}: Eksporten stoppet uten å bli ferdig etter "
        f"{k - 1} av 10 lønnslinjer (siste livstegn "
    )
    assert "Gjenopptatt" in out[0] and "av kommandolinjen (payroll_export)." in out[0]
    assert out[0].endswith(
        "1 lønnslinje som PowerOffice Go hadde opprettet uten at id-en ble lagret, ble funnet "
        "igjen på ExternalImportReference."
    )
    assert out[1:] == [
        f"Hansen Oslo: Lønnseksport {export.pk} er eksportert: alle 10 lønnslinjer ligger i "
        "PowerOffice Go.",
        "Hansen Oslo: ingen kjørebøker å eksportere (5 kjørebøker i perioden er allerede med i "
        f"lønnseksport {export.pk} (eksportert)).",
    ]
    export.refresh_from_db()
    _assert_all_in_poweroffice(export, world)
    assert PayrollExport.objects.count() == 1

    page = _page(client, payroll_a, export)
    assert "Avbrutt og gjenopptatt" in page
    assert f"stoppet uten å bli ferdig etter {k - 1} av 10 lønnslinjer" in page
    assert "alle 10 lønnslinjer ligger i PowerOffice Go" in page
    assert "Eksporten har stoppet underveis" not in page


@killed
def test_killed_then_a_line_fails_on_resume_rolls_everything_back(
    world, settings, client, payroll_a
):
    k = 5
    export = _killed_at(world, k)
    _assert_half_done(export, k, world)
    # Meanwhile the employee of line 7 is archived in PowerOffice Go.
    seventh = export.lines.get(position=7)
    po = world["po"]
    archived = po.employee(world["key"], seventh.employee_number)
    po.patch(world["key"], "employees", str(archived["Id"]), {"IsArchived": True})

    time.sleep(1.2)
    again = subprocess.run(
        COMMAND,
        cwd=ROOT,
        env=_env(po, PAYROLL_EXPORT_STALE_AFTER="1"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert again.returncode == 1
    assert (
        f"Hansen Oslo: lønnseksport {export.pk}: Eksporten stoppet uten å bli ferdig etter 4 av "
        "10 lønnslinjer" in again.stdout
    )
    assert (
        f"Hansen Oslo: Lønnseksport {export.pk} er rullet tilbake: ingen av de 10 lønnslinjer "
        "ligger i PowerOffice Go. Lønnslinje 7 av 10" in again.stderr
    )
    # Nothing is left in PowerOffice Go: not the 6 lines created, nor the one adopted.
    assert po.salary_lines(world["key"]) == []
    export.refresh_from_db()
    assert export.status == PayrollExportStatus.ROLLED_BACK
    assert export.lines_deleted == 6
    states = list(export.lines.order_by("position").values_list("state", flat=True))
    assert states == ["deleted"] * 6 + ["failed"] + ["pending"] * 3
    assert not PayrollExportLog.objects.filter(export=export, active=True).exists()
    # The logbooks are free, and the archived driver stops the new export on the check.
    assert "er arkivert" in again.stderr
    assert PayrollExport.objects.count() == 1

    page = _page(client, payroll_a, export)
    assert "Avbrutt og gjenopptatt" in page
    assert "ingen av lønnslinjene ligger i PowerOffice Go" in page


@killed
def test_sweeper_finishes_a_rollback_killed_half_way(world, settings, client, payroll_a):
    po = world["po"]
    # Line 7 is refused, so the run rolls back 6 lines, newest first; it is killed while
    # PowerOffice Go deletes the third of them.
    po.fault(
        method="POST",
        path="^/SalaryLines$",
        nth=7,
        status=400,
        body={"title": "Salary line validation error(s)", "detail": "Employee is not active."},
    )
    po.fault(
        action="delay", delay_ms=HELD_MS, when="after", method="DELETE", path="SalaryLines", nth=3
    )
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / "rollback.log", "w") as log:
        process = subprocess.Popen(
            COMMAND,
            cwd=ROOT,
            env=_env(po),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait(
                lambda: (
                    PayrollExport.objects.filter(status="rolling_back").exists()
                    and len(po.salary_lines(world["key"])) == 3
                ),
                timeout=120,
                what="the third delete",
            )
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    po.clear_faults()
    export = PayrollExport.objects.get()
    assert export.status == PayrollExportStatus.ROLLING_BACK
    assert export.lines_deleted == 2
    assert PayrollExportLog.objects.filter(export=export, active=True).count() == 5

    _stale(settings)
    assert payroll_export_sweeper() == "1 of 1 interrupted payroll exports taken over"
    export.refresh_from_db()
    assert po.salary_lines(world["key"]) == []
    assert export.status == PayrollExportStatus.ROLLED_BACK
    assert export.lines_deleted == 6
    assert export.error.startswith("Lønnslinje 7 av 10")
    assert export.recovery_note.startswith(
        "Tilbakerullingen stoppet uten å bli ferdig (siste livstegn "
    )
    assert "2 lønnslinjer var slettet. Fullført" in export.recovery_note
    assert f"av {BY_SWEEPER}." in export.recovery_note
    assert not PayrollExportLog.objects.filter(export=export, active=True).exists()
    page = _page(client, payroll_a, export)
    assert "Tilbakerullingen stoppet" in page
    assert "ingen av lønnslinjene ligger i PowerOffice Go" in page


@killed
@pytest.mark.worker
def test_worker_killed_at_line_k_then_the_sweeper_resumes(world, settings, client, payroll_a):
    """The export runs in a real Celery worker, which is killed at line 5."""
    if not django_settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (a real broker)")
    po = world["po"]
    export = payroll_export_create(
        subgroup=world["subgroup"],
        log_ids=list(DrivingLog.objects.values_list("pk", flat=True)),
        date_from=may(1),
        date_to=may(31),
        user=payroll_a,
    )
    celery_app.control.purge()
    worker = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "bitnet",
        "worker",
        "--pool=solo",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        "payroll-recovery@%h",
    ]
    env = _env(po, REDIS_URL=django_settings.REDIS_URL)
    payroll_export_task.delay(export.pk)
    export = _killed_at(world, 5, command=worker, env=env)
    _assert_half_done(export, 5, world)
    celery_app.control.purge()  # the unacknowledged task would come back on a restart

    # Before the heartbeat is stale, the sweeper leaves the export alone.
    assert payroll_export_sweeper() == "0 of 0 interrupted payroll exports taken over"
    _stale(settings)
    assert payroll_export_sweeper() == "1 of 1 interrupted payroll exports taken over"
    export.refresh_from_db()
    _assert_all_in_poweroffice(export, world)
    assert f"Gjenopptatt {timezone.localdate():%d.%m.%Y}" in export.recovery_note
    assert f"av {BY_SWEEPER}." in export.recovery_note
    page = _page(client, payroll_a, export)
    assert "alle 10 lønnslinjer ligger i PowerOffice Go" in page


# --- the rules, in this process ----------------------------------------------------------------


class TakenOverClient(PowerOfficeClient):
    """Our client, unchanged; after the third line another run takes the export over."""

    def __init__(self, *args, export_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.export_id, self.created = export_id, 0

    def create_salary_line(self, body: dict) -> dict:
        created = super().create_salary_line(body)
        self.created += 1
        if self.created == 3:
            PayrollExport.objects.filter(pk=self.export_id).update(run_token=uuid.uuid4())
        return created


def _export(world):
    return payroll_export_create(
        subgroup=world["subgroup"],
        log_ids=list(DrivingLog.objects.values_list("pk", flat=True)),
        date_from=may(1),
        date_to=may(31),
        user=None,
    )


def _stop_beating(export) -> None:
    PayrollExport.objects.filter(pk=export.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )


@pytest.mark.django_db
def test_a_run_that_was_taken_over_stops_writing(world):
    export = _export(world)
    run = payroll_export_run(
        export_id=export.pk, client=TakenOverClient(world["key"], export_id=export.pk)
    )
    # It stored the id PowerOffice gave it, then found the export no longer its own.
    assert run.status == PayrollExportStatus.RUNNING
    assert run.lines.filter(state=PayrollExportLineState.CREATED).count() == 3
    assert len(world["po"].salary_lines(world["key"])) == 3
    _stop_beating(export)
    result = payroll_export_recover(export_id=export.pk, by="test")
    assert result.taken_over and result.exported
    _assert_all_in_poweroffice(result.export, world)


@pytest.mark.django_db
def test_an_export_whose_run_is_alive_is_left_alone(world, settings):
    export = _export(world)
    PayrollExport.objects.filter(pk=export.pk).update(
        status=PayrollExportStatus.RUNNING, heartbeat_at=timezone.now()
    )
    result = payroll_export_recover(export_id=export.pk, by="test")
    assert not result.taken_over
    assert result.message.startswith(
        f"Lønnseksport {export.pk} er i gang («Pågår», siste livstegn "
    )
    assert payroll_export_sweeper() == "0 of 0 interrupted payroll exports taken over"
    out, err = io.StringIO(), io.StringIO()
    call_command(*COMMAND[2:], stdout=out, stderr=err)
    assert out.getvalue().splitlines() == [
        f"Hansen Oslo: lønnseksport {export.pk} er i gang («Pågår», siste livstegn "
        f"{timezone.localtime(PayrollExport.objects.get().heartbeat_at):%d.%m.%Y kl. %H:%M:%S}); "
        "kjørebøkene i den tas ikke med nå.",
        "Hansen Oslo: ingen kjørebøker å eksportere (5 kjørebøker i perioden er allerede med i "
        f"lønnseksport {export.pk} (pågår)).",
    ]
    assert world["po"].salary_lines(world["key"]) == []


@pytest.mark.django_db
def test_recovery_waits_while_poweroffice_cannot_be_asked(world):
    export = _export(world)
    PayrollExport.objects.filter(pk=export.pk).update(status=PayrollExportStatus.RUNNING)
    _stop_beating(export)
    world["po"].fault(method="GET", path="^/SalaryLines$", status=503, count=50)
    result = payroll_export_recover(export_id=export.pk, by="test")
    assert not result.taken_over
    assert result.message == f"Lønnseksport {export.pk} kan ikke gjenopptas nå."
    export.refresh_from_db()
    # Left as it was, stale, so that the next sweep tries again; the reason is on it.
    assert export.status == PayrollExportStatus.RUNNING and export.run_token is None
    assert export.heartbeat_at < timezone.now() - dt.timedelta(minutes=30)
    assert export.error.startswith(
        "Eksporten stoppet uten å bli ferdig og kunne ikke gjenopptas nå: PowerOffice Go svarte "
        "ikke på oppslaget av lønnslinjene"
    )
    world["po"].clear_faults()
    result = payroll_export_recover(export_id=export.pk, by="test")
    assert result.exported
    _assert_all_in_poweroffice(result.export, world)


@pytest.mark.django_db
def test_a_draft_whose_start_was_lost_is_started_by_the_sweeper(world):
    export = _export(world)
    PayrollExport.objects.filter(pk=export.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert payroll_export_sweeper() == "1 of 1 interrupted payroll exports taken over"
    export.refresh_from_db()
    _assert_all_in_poweroffice(export, world)
    assert export.recovery_note.startswith("Eksporten ble opprettet ")
    assert f"men aldri startet. Startet {timezone.localdate():%d.%m.%Y}" in export.recovery_note


@pytest.mark.django_db
def test_the_page_says_an_export_stopped_and_gjenoppta_na_ends_it(world, client, payroll_a):
    export = _export(world)
    PayrollExport.objects.filter(pk=export.pk).update(status=PayrollExportStatus.RUNNING)
    _stop_beating(export)
    client.force_login(payroll_a)
    listing = client.get("/lonn/lonnseksport/").content.decode()
    assert "Stoppet – fullføres automatisk" in listing
    assert client.get(f"/lonn/lonnseksport/{export.pk}/status/").json()["stale"] is True
    page = _page(client, payroll_a, export)
    assert "Eksporten har stoppet underveis" in page
    assert "0 av 10 lønnslinjer er bekreftet i PowerOffice Go" in page
    assert "Gjenoppta nå" in page

    response = client.post(f"/lonn/lonnseksport/{export.pk}/gjenoppta/", follow=True)
    page = response.content.decode()
    assert f"Lønnseksport {export.pk} er eksportert: alle 10 lønnslinjer ligger i" in page
    assert f"av {audit_actor_name(payroll_a)}." in page  # who took it over
    assert "Eksporten har stoppet underveis" not in page
    export.refresh_from_db()
    _assert_all_in_poweroffice(export, world)


@pytest.mark.django_db
def test_another_agencys_export_cannot_be_resumed(world, client, admin_b):
    export = _export(world)
    client.force_login(admin_b)
    assert client.post(f"/lonn/lonnseksport/{export.pk}/gjenoppta/").status_code == 404


def test_the_sweeper_is_scheduled_every_five_minutes():
    [entry] = [
        e
        for e in django_settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "poweroffice.tasks.payroll_export_sweeper"
    ]
    assert str(entry["schedule"]) == str(crontab(minute="*/5"))
    assert payroll_export_sweeper.name in celery_app.tasks


@pytest.mark.django_db
def test_salary_lines_are_found_by_reference_without_a_filter(world):
    """The contract's GET /SalaryLines takes no filter but paging (the sandbox refuses one it
    does not know), so the look-up reads the integration's lines and matches the references."""
    export = _export(world)
    payroll_export_run(export_id=export.pk)
    wanted = list(export.lines.values_list("external_import_reference", flat=True)[:3])
    with PowerOfficeClient(world["key"]) as po_client:
        with pytest.raises(ValidationError):
            po_client.transport.request(
                "GET", "/SalaryLines", params={"externalImportReference": wanted[0]}
            )
        found = po_client.find_salary_lines(references=[*wanted, "bitnet-pay-none"])
    assert sorted(found) == sorted(wanted)
