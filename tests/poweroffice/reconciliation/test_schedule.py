"""The monthly run of the month just ended, and the cost of a run as the month grows."""

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bitnet.celery import app
from poweroffice.invoices.export import invoice_export
from poweroffice.models import AlertEvent, AlertKind, AttemptTrigger, Reconciliation
from poweroffice.reconciliation import tasks
from poweroffice.reconciliation.services import last_month, reconcile
from tests.fixtures.export import make_invoice

pytestmark = pytest.mark.django_db


def test_monthly_schedule_names_a_registered_task():
    entry = settings.CELERY_BEAT_SCHEDULE["reconciliation-monthly"]
    assert entry["task"] == "poweroffice.reconciliation.reconcile_last_month"
    assert entry["task"] in app.tasks
    assert tasks.reconcile_last_month.name == entry["task"]
    # A worker imports only CELERY_IMPORTS: the tasks must be there.
    assert "poweroffice.reconciliation.tasks" in settings.CELERY_IMPORTS


def test_last_month():
    assert last_month(dt.date(2026, 3, 1)) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert last_month(dt.date(2026, 1, 15)) == (dt.date(2025, 12, 1), dt.date(2025, 12, 31))


def test_monthly_run_reconciles_every_connected_subgroup(
    export_world, celery_eager, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(tasks.timezone, "localdate", lambda: dt.date(2026, 4, 1))
    make_invoice(export_world)  # March, never exported
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reconcile_last_month.delay().get() == 1
    run = Reconciliation.objects.get()
    assert (run.period_from, run.period_to) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert run.run_by is None and run.state == Reconciliation.State.DIFFERENCES
    alert = AlertEvent.objects.get(kind=AlertKind.RECONCILIATION)  # for the e-mail digest
    assert alert.path == f"/okonomi/avstemming/{run.pk}/" and "avvik" in alert.message


def _queries(world) -> int:
    with CaptureQueriesContext(connection) as queries:
        reconcile(
            subgroup=world.subgroup,
            period_from=dt.date(2026, 3, 1),
            period_to=dt.date(2026, 3, 31),
        )
    return len(queries)


def test_sql_queries_do_not_grow_with_the_month(export_world):
    world = export_world
    for _ in range(2):
        invoice = make_invoice(world)
        assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    make_invoice(world, [("honorar", "1")])  # differences in both runs (each records an alert)
    small = _queries(world)
    for _ in range(4):
        invoice = make_invoice(world, [("krans", "1"), ("servering", "3")])
        assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    make_invoice(world, [("honorar", "1")])  # and one never exported
    assert _queries(world) == small
