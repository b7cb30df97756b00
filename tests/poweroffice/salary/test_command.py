"""python manage.py payroll_export: the same validations and export as the wizard, an exit code
that says whether it stopped, and the demo set-up (poweroffice.salary.demo.demo_payroll)."""

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from bitnet.models import Subgroup
from payroll.models import DrivingLog, PayrollExport, PayrollExportStatus, WageCodeMapping
from poweroffice.models import Connection
from poweroffice.salary.demo import DEMO_WAGE_CODES, demo_payroll
from tests.factories import OfficeFactory, SubgroupFactory
from tests.fixtures.payroll import (
    connect_subgroup,
    ensure_mileage_rates,
    make_driver,
    make_log,
    may,
)

ROOT = Path(__file__).resolve().parents[3]


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("payroll_export", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_command_exports_all_logbooks_in_range(po, payroll_world):
    per = make_driver(payroll_world.office, number=4, first="Per", last="Olsen")
    make_log(per, trips=[{"date": may(4), "km": "42.0", "toll": "44.00"}])
    lars = make_driver(payroll_world.office, number=6, first="Lars", last="Andersen")
    make_log(lars, trips=[{"date": may(6), "km": "100.0"}])
    out, err = run("--from", "2026-05-01", "--to", "2026-05-31")
    export = PayrollExport.objects.get()
    assert out.splitlines() == [
        "Hansen Oslo: 2 kjørebøker, 3 lønnslinjer, kr 796,60.",
        f"Hansen Oslo: lønnseksport {export.pk} eksportert, 3 lønnslinjer, kr 796,60.",
    ]
    assert err == ""
    assert export.status == PayrollExportStatus.EXPORTED and export.created_by is None
    assert len(po.salary_lines(payroll_world.client_key)) == 3
    # Nothing left to export the second time.
    out, _ = run(
        "--from", "2026-05-01", "--to", "2026-05-31", "--subgroup", str(payroll_world.subgroup.pk)
    )
    assert out == (
        "Hansen Oslo: ingen kjørebøker å eksportere (2 kjørebøker i perioden er allerede med i "
        f"lønnseksport {export.pk} (eksportert)).\n"
    )
    assert PayrollExport.objects.count() == 1


@pytest.mark.django_db
def test_command_prints_the_validation_messages_and_stops(po, payroll_world):
    WageCodeMapping.objects.filter(kind="toll").delete()
    nora = make_driver(payroll_world.office, number=None, first="Nora", last="Strand")
    make_log(nora, trips=[{"date": may(4), "km": "42.0", "toll": "44.00"}])
    with pytest.raises(CommandError) as stopped:
        run("--from", "2026-05-01", "--to", "2026-05-31")
    assert str(stopped.value) == "Eksporten er stoppet: rett feilene over og kjør på nytt."
    assert not PayrollExport.objects.exists()
    assert po.salary_lines(payroll_world.client_key) == []


@pytest.mark.django_db
def test_command_rejects_bad_arguments(po, payroll_world):
    with pytest.raises(CommandError, match="Ugyldig dato"):
        run("--from", "1.5.2026", "--to", "2026-05-31")
    with pytest.raises(CommandError, match="Fant ingen undergruppe med id 999999"):
        run("--from", "2026-05-01", "--to", "2026-05-31", "--subgroup", "999999")


def _command_env(po) -> dict:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    url = f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        POWEROFFICE_API_URL=f"{po.url}/v2",
        POWEROFFICE_TOKEN_URL=f"{po.url}/OAuth/Token",
        FIELD_ENCRYPTION_KEY=django_settings.FIELD_ENCRYPTION_KEY,
        DJANGO_DEBUG="true",
        LOG_LEVEL="WARNING",
    )
    return env


@pytest.mark.django_db(transaction=True)
def test_command_exit_codes_and_output(po, subgroup_a, office_a):
    """The real process: exit 1 with the messages on stderr, then 0 once fixed."""
    ensure_mileage_rates()
    connect_subgroup(po, subgroup_a)
    nora = make_driver(office_a, number=None, first="Nora", last="Strand")
    make_log(nora, trips=[{"date": may(4), "km": "42.0", "toll": "44.00"}])
    command = [
        sys.executable,
        "manage.py",
        "payroll_export",
        "--from",
        "2026-05-01",
        "--to",
        "2026-05-31",
    ]
    result = subprocess.run(
        command, cwd=ROOT, env=_command_env(po), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Hansen Oslo: eksporten er stoppet.",
        "  - Nora Strand har levert kjørebok, men mangler Ansettelsesnr. (PowerOffice). "
        f"Rett i: /administrasjon/brukere/{nora.pk}/",
        "CommandError: Eksporten er stoppet: rett feilene over og kjør på nytt.",
    ]
    nora.employee_number = 5
    nora.save()
    result = subprocess.run(
        command, cwd=ROOT, env=_command_env(po), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert (
        "Hansen Oslo: lønnseksport" in result.stdout
        and "eksportert, 2 lønnslinjer, kr 266,60." in result.stdout
    )
    assert DrivingLog.objects.get().status == "exported"


@pytest.mark.django_db
def test_demo_payroll_is_ready_to_export_and_idempotent(po, agency_a):
    oslo = SubgroupFactory(agency=agency_a, name="Minnehagen Oslo")
    viken = SubgroupFactory(agency=agency_a, name="Minnehagen Viken")
    unconnected = SubgroupFactory(agency=agency_a, name="Uten nøkkel")
    # What poweroffice.demo.demo_connect leaves behind: each subgroup with a verified key.
    for subgroup in (oslo, viken):
        connect_subgroup(po, subgroup, activate=False)
    first = demo_payroll(agency=agency_a)
    assert first == (
        "Lønn i PowerOffice Go aktivert med lønnskoder for Minnehagen Oslo, Minnehagen Viken. "
        "Ikke satt opp: Uten nøkkel: ingen klientnøkkel i Datadeling."
    )
    assert demo_payroll(agency=agency_a) == first
    for subgroup in (oslo, viken):
        connection_ = Connection.objects.get(subgroup=subgroup)
        assert connection_.payroll_enabled
        codes = dict(
            WageCodeMapping.objects.filter(subgroup=subgroup).values_list("kind", "pay_item_code")
        )
        assert codes == {str(k): v for k, v in DEMO_WAGE_CODES.items()}
    assert not Connection.objects.filter(subgroup=unconnected, payroll_enabled=True).exists()

    # The demo's kind of logbook exports at once.
    office = OfficeFactory(subgroup=viken, agency=agency_a, name="Drammen")
    tone = make_driver(office, number=6, first="Tone", last="Aas")
    make_log(
        tone,
        start=dt.date(2026, 4, 1),
        end=dt.date(2026, 4, 30),
        trips=[
            {
                "date": dt.date(2026, 4, 3),
                "km": "82.0",
                "passengers": 2,
                "toll": "118.00",
                "parking": "45.00",
            },
            {"date": dt.date(2026, 4, 9), "km": "29.2", "trailer": True},
        ],
    )
    out, err = run("--from", "2026-04-01", "--to", "2026-04-30")
    assert "Minnehagen Viken: lønnseksport" in out and err == ""
    assert Subgroup.objects.count() == 3
