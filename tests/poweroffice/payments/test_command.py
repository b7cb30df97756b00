"""``manage.py sync_payments``, the scheduled tasks and "Kjør nå", end to end with the sandbox."""

import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection as db_connection

from accounting.models import PaymentStatus
from bitnet.celery import app as celery_app
from poweroffice.models import PaymentSyncRun
from poweroffice.payments import tasks as tasks_payments
from tests.factories import SubgroupFactory
from tests.fixtures.payments import PowerOfficeClientSetup

BASE_DIR = Path(__file__).resolve().parents[3]


@pytest.fixture
def eager_celery():
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old


@pytest.fixture
def two_subgroups(sandbox, sandbox_settings, subgroup_a):
    """Hansen Oslo works; Hansen Bærum's client key was deleted in PowerOffice."""
    sandbox_settings.POWEROFFICE_PAYMENTS_SAFETY_MARGIN = 0
    good = PowerOfficeClientSetup(sandbox, subgroup_a)
    bad = PowerOfficeClientSetup(
        sandbox, SubgroupFactory(agency=subgroup_a.agency, name="Hansen Bærum")
    )
    paid = good.new_exported("500.00")
    good.new_exported("700.00")
    bad.new_exported("100.00")
    good.pay(paid, "500.00")
    sandbox.delete_client(bad.client_key)
    return good, bad, paid


@pytest.mark.django_db
def test_command_prints_a_summary_and_fails_when_a_subgroup_failed(two_subgroups):
    good, bad, paid = two_subgroups
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("sync_payments", stdout=out, no_color=True)
    assert failure.value.returncode == 1
    assert str(failure.value) == "1 of 2 subgroup(s) failed."
    lines = out.getvalue().splitlines()
    assert lines == [
        f"Hansen Begravelsesbyrå AS / Hansen Oslo (id {good.subgroup.pk}), full avstemming: "
        "checked 2, changed 1, requests 1, errors 0 - ok",  # one paid, one still unpaid
        f"Hansen Begravelsesbyrå AS / Hansen Bærum (id {bad.subgroup.pk}), full avstemming: "
        "checked 0, changed 0, requests 2, errors 1 - FAILED: Klientnøkkelen er ugyldig – legg "
        "inn en ny under Datadeling.",
        "2 subgroup(s), 1 failed.",
    ]
    paid.refresh_from_db()
    assert paid.payment_status == PaymentStatus.PAID


@pytest.mark.django_db
def test_command_for_one_subgroup(two_subgroups):
    good, _bad, _paid = two_subgroups
    out = io.StringIO()
    call_command(
        "sync_payments", "--full", "--subgroup", str(good.subgroup.pk), stdout=out, no_color=True
    )
    assert out.getvalue().splitlines()[-1] == "1 subgroup(s), 0 failed."
    assert "Hansen Oslo" in out.getvalue() and "Hansen Bærum" not in out.getvalue()
    assert PaymentSyncRun.objects.get().mode == PaymentSyncRun.Mode.FULL
    with pytest.raises(CommandError, match="Subgroup 999999 does not exist"):
        call_command("sync_payments", "--subgroup", "999999", stdout=io.StringIO())


@pytest.mark.django_db
def test_command_with_nothing_connected():
    out = io.StringIO()
    call_command("sync_payments", stdout=out)
    assert out.getvalue() == "No subgroup is connected to PowerOffice: nothing to check.\n"


@pytest.mark.django_db(transaction=True)
def test_command_exit_code_from_the_shell(two_subgroups, sandbox):
    """The real process: exit code 1 and the summary on stdout, the reason on stderr."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "POWEROFFICE_API_URL": sandbox.api_url,
        "POWEROFFICE_TOKEN_URL": sandbox.token_url,
        "POWEROFFICE_APPLICATION_KEY": sandbox.application_key,
        "POWEROFFICE_SUBSCRIPTION_KEY": sandbox.subscription_key,
        "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
        "LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "sync_payments", "--no-color"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "2 subgroup(s), 1 failed." in done.stdout
    assert "FAILED: Klientnøkkelen er ugyldig" in done.stdout
    assert "CommandError: 1 of 2 subgroup(s) failed." in done.stderr
    good, _bad, _ = two_subgroups
    assert good.client_key not in done.stdout + done.stderr


def _database_url() -> str:
    s = db_connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


@pytest.mark.django_db
def test_scheduled_task_runs_every_connected_subgroup(
    two_subgroups, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        count = tasks_payments.payments_sync_all.delay(full=True).get()
    assert count == 2
    runs = {r.subgroup.name: r for r in PaymentSyncRun.objects.select_related("subgroup")}
    assert set(runs) == {"Hansen Oslo", "Hansen Bærum"}
    assert runs["Hansen Oslo"].success is True
    assert runs["Hansen Oslo"].mode == PaymentSyncRun.Mode.FULL
    assert runs["Hansen Bærum"].success is False


def test_schedule_is_defined_once_in_settings():
    nightly = settings.CELERY_BEAT_SCHEDULE["payments-nightly"]
    weekly = settings.CELERY_BEAT_SCHEDULE["payments-weekly-full"]
    assert nightly["task"] == weekly["task"] == tasks_payments.payments_sync_all.name
    assert weekly["kwargs"] == {"full": True}
    assert tasks_payments.payments_sync_all.name in celery_app.tasks


@pytest.mark.django_db
def test_run_now_runs_in_the_background_and_shows_the_result(
    client,
    admin_a,
    sandbox,
    sandbox_settings,
    subgroup_a,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    sandbox_settings.POWEROFFICE_PAYMENTS_SAFETY_MARGIN = 0
    po = PowerOfficeClientSetup(sandbox, subgroup_a)
    invoice = po.new_exported("1000.00")
    po.pay(invoice, "400.00")
    client.force_login(admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/administrasjon/betalingssjekk/{subgroup_a.pk}/kjor/")
    assert response.status_code == 302
    assert response["Location"] == "/administrasjon/betalingssjekk/"
    run = PaymentSyncRun.objects.get()
    assert run.finished_at is not None and run.success is True
    invoice.refresh_from_db()
    assert (invoice.payment_status, invoice.balance) == (
        PaymentStatus.PARTLY_PAID,
        Decimal("600.00"),
    )
    html = client.get(response["Location"]).content.decode()
    assert "Betalingssjekken for Hansen Oslo er startet i bakgrunnen." in html
    assert 'data-state="running"' not in html
    assert '<span class="badge badge-green">OK</span>' in html


@pytest.mark.django_db
def test_run_now_when_the_queue_is_down_says_so(
    client,
    admin_a,
    sandbox,
    sandbox_settings,
    subgroup_a,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    PowerOfficeClientSetup(sandbox, subgroup_a)

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks_payments.payments_run_claimed, "delay", broker_down)
    client.force_login(admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/administrasjon/betalingssjekk/{subgroup_a.pk}/kjor/", {"mode": "full"})
    run = PaymentSyncRun.objects.get()
    assert run.mode == PaymentSyncRun.Mode.FULL
    assert run.success is False and run.finished_at is not None
    assert "oppgavekøen svarer ikke" in run.error
