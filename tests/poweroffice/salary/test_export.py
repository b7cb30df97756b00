"""The payroll export against the PowerOffice sandbox over real HTTP: exact payloads, all or
nothing (a failure at line k of n leaves nothing), locks during rollback, double submissions."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection as db_connection

from accounting.money import kr
from payroll.models import (
    DrivingLog,
    PayrollExport,
    PayrollExportLineState,
    PayrollExportLog,
    PayrollExportStatus,
)
from poweroffice.models import AlertEvent, AlertKind
from poweroffice.salary.create import payroll_export_create
from poweroffice.salary.problems import PayrollExportBlocked
from poweroffice.salary.run import payroll_export_run
from poweroffice.salary.tasks import payroll_export_task
from tests.fixtures.payroll import LockingClient, make_driver, make_log, may

pytestmark = pytest.mark.django_db


@pytest.fixture
def drivers(payroll_world):
    """Three drivers (employees 4, 5, 6 in the sandbox), May 2026."""
    kari = make_driver(payroll_world.office, number=4, first="Per", last="Olsen")
    lars = make_driver(payroll_world.office, number=6, first="Lars", last="Andersen")
    knut = make_driver(payroll_world.office, number=8, first="Knut", last="Nilsen")
    logs = [
        make_log(
            kari,
            trips=[
                {"date": may(4), "km": "42.0", "passengers": 1, "toll": "44.00"},
                {"date": may(18), "km": "12.5", "parking": "45.00"},
            ],
        ),
        make_log(lars, trips=[{"date": may(6), "km": "100.0"}]),
        make_log(knut, trips=[{"date": may(7), "km": "8.4", "ferry": "132.00"}]),
    ]
    return {"kari": kari, "lars": lars, "knut": knut, "logs": logs}


def _create(payroll_world, logs, user=None, token=None):
    return payroll_export_create(
        subgroup=payroll_world.subgroup,
        log_ids=[log.pk for log in logs],
        date_from=may(1),
        date_to=may(31),
        user=user,
        submission_token=token,
    )


def test_export_creates_exact_salary_lines(po, payroll_world, drivers, payroll_a):
    export = _create(payroll_world, drivers["logs"], payroll_a)
    assert export.lines_total == 7
    export = payroll_export_run(export_id=export.pk)

    assert export.status == PayrollExportStatus.EXPORTED
    assert export.lines_created == 7
    lines = po.salary_lines(payroll_world.client_key)
    assert len(lines) == 7
    by_ref = {line["ExternalImportReference"]: line for line in lines}
    employee4 = po.employee(payroll_world.client_key, 4)
    mileage = by_ref[f"bitnet-pay-{export.pk}-4-7100-2026"]
    assert mileage["EmployeeId"] == employee4["Id"]
    assert mileage["PayItemId"] == po.pay_item(payroll_world.client_key, "7100")["Id"]
    # 54.5 km × 5.30 = 288.85; PowerOffice computes it from the drivers (QuantityAndRate).
    assert Decimal(str(mileage["Quantity"])) == Decimal("54.5")
    assert Decimal(str(mileage["Rate"])) == Decimal("5.30")
    assert Decimal(str(mileage["Amount"])) == Decimal("288.85")
    assert mileage["Comment"] == "Kjøring 04.05–18.05.2026, 2 turer"
    # An outlay (ExpenseRefund) is an amount: no quantity or rate.
    toll = by_ref[f"bitnet-pay-{export.pk}-4-7140-2026"]
    assert (toll["Quantity"], toll["Rate"], Decimal(str(toll["Amount"]))) == (
        None,
        None,
        Decimal("44.00"),
    )
    assert Decimal(str(by_ref[f"bitnet-pay-{export.pk}-8-7142-2026"]["Amount"])) == Decimal(
        "132.00"
    )
    # What was sent: the exact body of one POST.
    posts = po.requests(
        method="POST", path="SalaryLines", client_id=payroll_world.client["client_id"]
    )
    sent = next(
        p["body"] for p in posts if p["body"]["ExternalImportReference"].endswith("-4-7100-2026")
    )
    assert sent == {
        "EmployeeId": employee4["Id"],
        "PayItemId": po.pay_item(payroll_world.client_key, "7100")["Id"],
        "Quantity": 54.5,
        "Rate": 5.3,
        "Comment": "Kjøring 04.05–18.05.2026, 2 turer",
        "ExternalImportReference": f"bitnet-pay-{export.pk}-4-7100-2026",
    }
    # Our DB: every line has its PowerOffice id; the logbooks are exported and claimed.
    assert set(export.lines.values_list("state", flat=True)) == {PayrollExportLineState.CREATED}
    assert {line.po_salary_line_id for line in export.lines.all()} == {x["Id"] for x in lines}
    assert set(DrivingLog.objects.values_list("status", flat=True)) == {"exported"}
    assert PayrollExportLog.objects.filter(export=export, active=True).count() == 3
    assert export.amount_total == Decimal("288.85") + Decimal("42.00") + Decimal("44.00") + Decimal(
        "45.00"
    ) + Decimal("530.00") + Decimal("44.52") + Decimal("132.00")


@pytest.mark.parametrize(
    ("processing", "sent"),
    [
        ("QuantityAndRateReportingZeroAsQuantity", {"Quantity": 100.0, "Rate": 5.3}),
        ("QuantityAndFixedRate", {"Quantity": 100.0, "Rate": 5.3}),
        ("FixedAmountWithQuantity", {"Quantity": 100.0, "Amount": 530.0}),
    ],
)
def test_lines_carry_the_fields_of_their_pay_items_processing_type(
    po, payroll_world, drivers, processing, sent
):
    key = payroll_world.client_key
    po.patch(key, "payitems", po.pay_item(key, "7100")["Id"], {"ProcessingType": processing})
    export = _create(payroll_world, [drivers["logs"][1]])  # Lars: 100 km, no outlays

    export = payroll_export_run(export_id=export.pk)

    assert export.status == PayrollExportStatus.EXPORTED, export.error
    [post] = po.requests(
        method="POST", path="SalaryLines", client_id=payroll_world.client["client_id"]
    )
    assert {k: v for k, v in post["body"].items() if k in ("Quantity", "Rate", "Amount")} == sent
    [line] = po.salary_lines(key)
    assert Decimal(str(line["Amount"])) == Decimal("530.00")


def test_pay_item_of_a_type_a_logbook_cannot_fill_is_refused_before_export(
    po, payroll_world, drivers
):
    key = payroll_world.client_key
    po.patch(
        key,
        "payitems",
        po.pay_item(key, "7100")["Id"],
        {"ProcessingType": "CommuterWithNumberOfJourneys"},
    )
    with pytest.raises(PayrollExportBlocked) as blocked:
        _create(payroll_world, drivers["logs"])

    [problem] = [p for p in blocked.value.problems if p.code == "wage_code"]
    assert problem.message.startswith(
        "Lønnsart 7100 (Kilometergodtgjørelse) har behandlingstypen CommuterWithNumberOfJourneys "
        "i PowerOffice Go, som krever opplysninger en kjørebok ikke har."
    )
    assert po.salary_lines(key) == []


def test_requests_are_lines_plus_a_bounded_few(po, payroll_world, drivers):
    before = len(po.requests(client_id=payroll_world.client["client_id"]))
    export = _create(payroll_world, drivers["logs"])
    payroll_export_run(export_id=export.pk)
    sent = po.requests(client_id=payroll_world.client["client_id"])[before:]
    routes = [(r["method"], r["route"]) for r in sent if r["route"] != "/OAuth/Token"]
    assert routes.count(("POST", "/SalaryLines")) == 7
    # the check: GET /PayItems and GET /Employees, once each
    assert len(routes) == 7 + 2


def test_failure_at_line_k_rolls_everything_back(po, payroll_world, drivers, payroll_a):
    export = _create(payroll_world, drivers["logs"], payroll_a)
    po.fault(
        method="POST",
        path="^/SalaryLines$",
        nth=4,
        status=400,
        body={"title": "Salary line validation error(s)", "detail": "Employee is not active."},
    )
    export = payroll_export_run(export_id=export.pk)

    assert po.salary_lines(payroll_world.client_key) == []
    assert export.status == PayrollExportStatus.ROLLED_BACK
    assert export.lines_created == 3 and export.lines_deleted == 3
    failed = export.lines.get(state=PayrollExportLineState.FAILED)
    assert failed.position == 4
    assert export.error == (
        f"Lønnslinje 4 av 7 ({failed.employee}, ansattnr. {failed.employee_number}, lønnsart "
        f"{failed.pay_item_code}, kr {kr(failed.amount)}) ble avvist av PowerOffice Go: "
        "Employee is not active."
    )
    states = list(export.lines.order_by("position").values_list("state", flat=True))
    assert states == ["deleted"] * 3 + ["failed"] + ["pending"] * 3
    # The logbooks are free again and keep their status: a new export takes them.
    assert not PayrollExportLog.objects.filter(active=True).exists()
    assert set(DrivingLog.objects.values_list("status", flat=True)) == {"approved"}
    again = payroll_export_run(export_id=_create(payroll_world, drivers["logs"]).pk)
    assert again.status == PayrollExportStatus.EXPORTED
    assert len(po.salary_lines(payroll_world.client_key)) == 7


def test_failure_at_first_line_is_failed_with_nothing_to_delete(po, payroll_world, drivers):
    export = _create(payroll_world, drivers["logs"])
    po.fault(method="POST", path="^/SalaryLines$", nth=1, status=403, body={"title": "Forbidden"})
    export = payroll_export_run(export_id=export.pk)
    assert export.status == PayrollExportStatus.FAILED
    assert "Lønnslinje 1 av 7" in export.error
    assert po.salary_lines(payroll_world.client_key) == []
    assert not PayrollExportLog.objects.filter(active=True).exists()


def test_timeout_after_create_is_found_and_rolled_back(po, payroll_world, drivers, settings):
    """A 5xx after PowerOffice processed the line (the answer was lost): the client's lookup by
    reference, or ours during rollback, finds it, so nothing is left behind."""
    settings.POWEROFFICE_MAX_ATTEMPTS = 1
    export = _create(payroll_world, drivers["logs"])
    po.fault(method="POST", path="^/SalaryLines$", nth=2, status=503, when="after")
    export = payroll_export_run(export_id=export.pk)
    assert export.status == PayrollExportStatus.ROLLED_BACK
    assert po.salary_lines(payroll_world.client_key) == []
    assert export.lines_deleted == 2  # line 1, and line 2 that PowerOffice did create


def test_5xx_after_create_with_lagging_reads_adopts_the_line(po, payroll_world, drivers, read_lag):
    """PowerOffice created line 2 and answered 503, and its reads lag: the look-up keeps asking
    until the line shows, instead of sending it again and meeting "already in use"."""
    export = _create(payroll_world, drivers["logs"])
    po.fault(method="POST", path="^/SalaryLines$", nth=2, status=503, when="after")
    export = payroll_export_run(export_id=export.pk)

    assert export.status == PayrollExportStatus.EXPORTED, export.error
    assert len(po.salary_lines(payroll_world.client_key)) == 7
    posts = po.requests(
        method="POST", path="SalaryLines", client_id=payroll_world.client["client_id"]
    )
    assert [p["status"] for p in posts].count(503) == 1 and len(posts) == 7
    line = export.lines.get(position=2)
    assert line.state == PayrollExportLineState.CREATED and line.po_salary_line_id


def test_lock_during_rollback_then_retry(po, payroll_world, drivers, client, payroll_a):
    export = _create(payroll_world, drivers["logs"], payroll_a)
    po.fault(method="POST", path="^/SalaryLines$", nth=3, status=400, body={"title": "Nope"})
    locking = LockingClient(payroll_world.client_key, po=po, client_key=payroll_world.client_key)
    export = payroll_export_run(export_id=export.pk, client=locking)

    assert export.status == PayrollExportStatus.ROLLBACK_INCOMPLETE
    alert = AlertEvent.objects.get(kind=AlertKind.PAYROLL_ROLLBACK)  # for the e-mail digest
    assert alert.path == f"/lonn/lonnseksport/{export.pk}/"
    stuck = export.lines.get(state=PayrollExportLineState.DELETE_FAILED)
    assert stuck.po_salary_line_id == locking.locked
    assert stuck.error.startswith("Låst i PowerOffice Go")
    assert [x["Id"] for x in po.salary_lines(payroll_world.client_key)] == [locking.locked]
    # The logbooks stay claimed while a line is left in PowerOffice Go.
    with pytest.raises(PayrollExportBlocked) as blocked:
        _create(payroll_world, drivers["logs"])
    assert blocked.value.problems[0].code == "claimed"
    assert f"lønnseksport {export.pk}" in blocked.value.problems[0].message

    client.force_login(payroll_a)
    page = client.get(f"/lonn/lonnseksport/{export.pk}/").content.decode()
    assert "Tilbakerullingen er ufullstendig" in page
    assert f"{stuck.employee}</strong> (ansattnr. {stuck.employee_number})" in page
    assert f"lønnsart {stuck.pay_item_code}" in page
    assert "Prøv tilbakerulling igjen" in page

    # Still locked: the retry says so and changes nothing.
    client.post(f"/lonn/lonnseksport/{export.pk}/tilbakerulling/")
    export.refresh_from_db()
    assert export.status == PayrollExportStatus.ROLLBACK_INCOMPLETE

    po.unlock(payroll_world.client_key, stuck.po_salary_line_id)
    response = client.post(f"/lonn/lonnseksport/{export.pk}/tilbakerulling/")
    assert response.status_code == 302
    export.refresh_from_db()
    assert export.status == PayrollExportStatus.ROLLED_BACK
    assert po.salary_lines(payroll_world.client_key) == []
    stuck.refresh_from_db()
    assert stuck.state == PayrollExportLineState.DELETED
    assert not PayrollExportLog.objects.filter(active=True).exists()


def test_double_submission_creates_lines_once(po, payroll_world, drivers, payroll_a):
    token = uuid.uuid4()
    first = _create(payroll_world, drivers["logs"], payroll_a, token)
    second = _create(payroll_world, drivers["logs"], payroll_a, token)
    assert first.pk == second.pk
    payroll_export_run(export_id=first.pk)
    payroll_export_run(export_id=second.pk)  # claimed already: does nothing
    assert PayrollExport.objects.count() == 1
    lines = po.salary_lines(payroll_world.client_key)
    assert len(lines) == 7
    assert len({line["ExternalImportReference"] for line in lines}) == 7


def test_same_logbook_twice_is_refused(po, payroll_world, drivers):
    first = _create(payroll_world, drivers["logs"][:1])
    with pytest.raises(PayrollExportBlocked) as blocked:
        _create(payroll_world, drivers["logs"])
    problem = blocked.value.problems[0]
    assert problem.code == "claimed"
    assert problem.message == (
        "Kjøreboken til Per Olsen for 01.05.2026–31.05.2026 er allerede med i lønnseksport "
        f"{first.pk}."
    )
    assert problem.link == f"/lonn/lonnseksport/{first.pk}/"
    assert PayrollExport.objects.count() == 1


def test_resumed_run_adopts_lines_created_before_a_crash(po, payroll_world, drivers):
    """A worker died after PowerOffice created line 2 but before we stored its id: the
    redelivered task must not create it twice."""
    export = _create(payroll_world, drivers["logs"])
    payroll_export_run(export_id=export.pk)
    line = export.lines.get(position=2)
    # Simulate the crash: forget the id, mark the export as a stale running one.
    line.state, line.po_salary_line_id = PayrollExportLineState.PENDING, None
    line.save()
    PayrollExport.objects.filter(pk=export.pk).update(
        status=PayrollExportStatus.RUNNING,
        heartbeat_at="2020-01-01T00:00:00Z",
        lines_created=6,
    )
    # A plain run leaves a running export alone; the redelivered task takes the dead run over.
    assert payroll_export_run(export_id=export.pk).status == PayrollExportStatus.RUNNING
    payroll_export_task(export.pk)
    export.refresh_from_db()
    assert export.status == PayrollExportStatus.EXPORTED
    assert export.lines_created == 7
    assert len(po.salary_lines(payroll_world.client_key)) == 7
    line.refresh_from_db()
    assert line.state == PayrollExportLineState.CREATED and line.po_salary_line_id
    assert "1 lønnslinje som PowerOffice Go hadde opprettet" in export.recovery_note
    assert "av bakgrunnsjobben" in export.recovery_note


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_token", [True, False])
def test_concurrent_submissions_claim_the_logbooks_once(po, payroll_world, drivers, same_token):
    """Two requests at the same moment (a double click that got through, or two people): one
    export, its lines created once."""
    shared = uuid.uuid4()
    barrier = threading.Barrier(2)
    results = []

    def submit():
        try:
            barrier.wait(timeout=10)
            export = _create(
                payroll_world, drivers["logs"], token=shared if same_token else uuid.uuid4()
            )
            results.append(("export", export.pk))
        except PayrollExportBlocked as blocked:
            results.append(("blocked", blocked.problems[0].code))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    export = PayrollExport.objects.get()
    if same_token:
        assert results == [("export", export.pk), ("export", export.pk)]
    else:
        assert sorted(results) == [("blocked", "claimed"), ("export", export.pk)]
    for export_id in {pk for kind, pk in results if kind == "export"}:
        payroll_export_run(export_id=export_id)
    assert len(po.salary_lines(payroll_world.client_key)) == 7
    assert PayrollExportLog.objects.filter(active=True).count() == 3
