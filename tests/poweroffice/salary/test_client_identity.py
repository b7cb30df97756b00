"""A payroll export checks the PowerOffice client behind the key before anything is sent: a key
that now opens another subgroup's client refuses the export at "Eksporter" and holds a run,
with the reason, and no salary line reaches either client."""

import pytest

from payroll.models import PayrollExportStatus
from poweroffice.crypto import encrypt_secret
from poweroffice.models import Connection
from poweroffice.salary.create import payroll_export_create
from poweroffice.salary.problems import PayrollExportBlocked
from poweroffice.salary.run import payroll_export_run
from tests.factories import SubgroupFactory
from tests.fixtures.payroll import connect_subgroup, make_driver, make_log, may

pytestmark = pytest.mark.django_db


@pytest.fixture
def viken(po, payroll_world):
    subgroup = SubgroupFactory(agency=payroll_world.subgroup.agency, name="Viken")
    return connect_subgroup(po, subgroup, activate=False, name="Hansen Viken AS")


@pytest.fixture
def logs(payroll_world):
    driver = make_driver(payroll_world.office, number=4, first="Per", last="Olsen")
    return [make_log(driver, trips=[{"date": may(4), "km": "42.0", "toll": "44.00"}])]


def _use_key(subgroup, key: str) -> None:
    """The stored key changes behind the service's back (a restore, a bad copy)."""
    Connection.objects.filter(subgroup=subgroup).update(client_key_encrypted=encrypt_secret(key))


def _create(payroll_world, logs):
    return payroll_export_create(
        subgroup=payroll_world.subgroup,
        log_ids=[log.pk for log in logs],
        date_from=may(1),
        date_to=may(31),
        user=None,
    )


def test_eksporter_is_refused_when_the_key_opens_another_client(
    po, sandbox, payroll_world, viken, logs
):
    _use_key(payroll_world.subgroup, viken["client_key"])
    sandbox.clear_requests()
    with pytest.raises(PayrollExportBlocked) as blocked:
        _create(payroll_world, logs)
    (problem,) = [p for p in blocked.value.problems if p.code == "client_changed"]
    assert "holdt tilbake" in problem.message and "«Hansen Viken AS»" in problem.message
    assert "Ingenting er sendt" in problem.message
    assert problem.link == "/administrasjon/datadeling/"
    # Nothing else was asked of the wrong client: no pay items, no employees.
    asked = [r["path"] for r in po.requests()]
    assert not any("PayItems" in p or "Employees" in p for p in asked)
    assert po.salary_lines(viken["client_key"]) == []
    assert po.salary_lines(payroll_world.client_key) == []


def test_a_run_is_held_when_the_key_changed_after_eksporter(
    po, sandbox, payroll_world, viken, logs
):
    export = _create(payroll_world, logs)
    assert export.status == PayrollExportStatus.DRAFT and export.lines_total == 2
    _use_key(payroll_world.subgroup, viken["client_key"])
    sandbox.clear_requests()

    export = payroll_export_run(export_id=export.pk)

    assert export.status == PayrollExportStatus.FAILED
    assert "holdt tilbake" in export.error and "«Hansen Viken AS»" in export.error
    assert export.lines.filter(po_salary_line_id__isnull=False).count() == 0
    assert po.salary_lines(viken["client_key"]) == []
    assert po.salary_lines(payroll_world.client_key) == []
    # One identity question for the run, none per line; no salary line posted.
    paths = [r["path"] for r in po.requests()]
    assert sum("ClientIntegrationInformation" in p for p in paths) == 1
    assert not any("SalaryLines" in p for p in paths)
    connection = Connection.objects.get(subgroup=payroll_world.subgroup)
    assert connection.prerequisites_ok is False
    # Its logbooks may be exported again once the right key is back.
    assert not export.log_claims.filter(active=True).exists()


def test_the_right_key_runs_without_asking_per_line(po, sandbox, payroll_world, logs):
    export = _create(payroll_world, logs)
    sandbox.clear_requests()
    export = payroll_export_run(export_id=export.pk)
    assert export.status == PayrollExportStatus.EXPORTED
    assert len(po.salary_lines(payroll_world.client_key)) == 2
    paths = [r["path"] for r in po.requests()]
    assert sum("ClientIntegrationInformation" in p for p in paths) <= 1
