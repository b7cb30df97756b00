"""A real Celery worker on Redis.

- Killed with SIGKILL in the middle of "Eksporter alle", right after PowerOffice booked a voucher
  and before we heard the answer: after a restart and a sweep, every invoice is exported exactly
  once (counted in the sandbox) or visibly failed with its reason.
- A burst of automatic exports is exported by a few runs, not a task each, every invoice once; in
  the steady state an automatic export sends its voucher and its PDF and nothing else.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection as db_connection

from accounting.models import ExportStatus, Invoice
from bitnet.celery import app as celery_app
from poweroffice.invoices.batch import export_batch_create
from poweroffice.invoices.sweep import export_sweep
from poweroffice.models import AttemptTrigger, ExportAttempt, ExportBatch
from tests.fixtures.export import make_invoice

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
LOG_DIR = Path("/tmp/hexport")


def _wait(predicate, *, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


class Worker:
    """``celery -A bitnet worker`` in its own process group, on this test's database."""

    def __init__(self, env: dict, name: str, concurrency: int = 1):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log = open(LOG_DIR / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bitnet",
                "worker",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                "-n",
                f"{name}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.name = name

    def wait_ready(self) -> None:
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited: see {self.log.name}")
            replies = celery_app.control.ping(timeout=0.5) or []
            return any(self.name in name for reply in replies for name in reply)

        _wait(ready, timeout=60, what="the worker to start", step=0.5)

    def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def worker_env(sandbox, sandbox_settings):
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{db_connection.settings_dict['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "POWEROFFICE_API_URL": sandbox.api_url,
        "POWEROFFICE_TOKEN_URL": sandbox.token_url,
        "POWEROFFICE_SANDBOX_URL": sandbox.url,
        "POWEROFFICE_APPLICATION_KEY": sandbox.application_key,
        "POWEROFFICE_SUBSCRIPTION_KEY": sandbox.subscription_key,
        "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (a real broker)")
    celery_app.control.purge()
    return env


def test_worker_killed_mid_batch_then_sweeper(export_world, worker_env):
    world = export_world
    world.set_options(include_specification=True)
    invoices = [make_invoice(world) for _ in range(10)]
    # PowerOffice books the 5th voucher, then takes 4 s to answer: the worker dies meanwhile.
    world.sandbox.faults(
        action="delay",
        delay_ms=4000,
        when="after",
        method="POST",
        path="OutgoingInvoiceJournals",
        nth=5,
    )
    first = Worker(worker_env, "export-first")
    second = None
    try:
        first.wait_ready()
        batch = export_batch_create(
            agency_id=world.subgroup.agency_id,
            user=world.user,
            invoice_ids=[i.pk for i in invoices],
        )

        def fifth_booked_not_answered():
            # Booked in PowerOffice, but the sandbox logs a call only once it answers it.
            answered = world.sandbox.requests_log(method="POST", path="OutgoingInvoiceJournals")
            return len(world.vouchers()) > len(answered) >= 4

        _wait(fifth_booked_not_answered, timeout=120, what="the 5th voucher in PowerOffice")
        first.kill9()

        # The run had several invoices in flight (their vouchers posted or not, their PDFs
        # uploaded or not): they are left claimed, the rest exported or still pending.
        states = list(
            Invoice.objects.filter(pk__in=batch.invoice_ids).values_list("export_status", flat=True)
        )
        in_flight = states.count(ExportStatus.EXPORTING)
        assert in_flight >= 1
        assert (
            in_flight + states.count(ExportStatus.EXPORTED) + states.count(ExportStatus.PENDING)
            == 10
        )
        batch.refresh_from_db()
        assert batch.status == ExportBatch.Status.RUNNING

        second = Worker(worker_env, "export-second")
        second.wait_ready()
        time.sleep(1.2)
        summary = export_sweep(claim_timeout=1, batch_stale=1, pending_grace=3600)
        assert summary.recovered == in_flight  # asked PowerOffice first, found the 5th voucher
        assert summary.batches_requeued == 1

        def batch_done():
            batch.refresh_from_db()
            return batch.status == ExportBatch.Status.DONE

        _wait(batch_done, timeout=180, what="the batch to finish on the restarted worker", step=0.5)
    finally:
        first.stop()
        if second is not None:
            second.stop()

    # Exactly once, in PowerOffice and here.
    vouchers = world.vouchers()
    assert len(vouchers) == 10
    assert sorted(int(v["InvoiceNo"]) for v in vouchers) == sorted(i.number for i in invoices)
    created = [r for r in world.posted() if r["status"] == 201]
    assert len(created) == 10
    by_number = {int(v["InvoiceNo"]): v["Id"] for v in vouchers}
    for invoice in Invoice.objects.filter(pk__in=[i.pk for i in invoices]):
        assert invoice.export_status == ExportStatus.EXPORTED, invoice.export_error
        assert invoice.external_voucher_id == by_number[invoice.number]
    attachments = world.sandbox.state.clients[world.client_key]["attachments"]
    assert set(attachments) == set(by_number.values())  # every voucher has its PDF
    # The killed attempts are visible as ones that never finished.
    killed = Invoice.objects.filter(pk__in=batch.invoice_ids, export_attempts=2)
    assert killed.count() == in_flight
    for invoice in killed:
        outcomes = list(
            ExportAttempt.objects.filter(invoice=invoice)
            .order_by("started_at")
            .values_list("outcome", "trigger")
        )
        assert outcomes == [("failed", "batch"), ("success", "sweeper")]
        interrupted = ExportAttempt.objects.filter(invoice=invoice, trigger="batch").get()
        assert interrupted.error_kind == "interrupted" and interrupted.error.startswith(
            "Avbrutt underveis"
        )
    assert batch.exported + batch.skipped == 10


def _exported(invoices) -> bool:
    return Invoice.objects.filter(
        pk__in=[i.pk for i in invoices], export_status=ExportStatus.EXPORTED
    ).count() == len(invoices)


def _runs(worker: Worker) -> list[str]:
    """The results the worker logged for its automatic export runs."""
    worker.log.flush()
    text = Path(worker.log.name).read_text()
    return re.findall(
        r"poweroffice\.tasks\.export_pending\[[^\]]+\] succeeded in [^:]+: '([^']*)'", text
    )


def test_a_burst_of_automatic_exports_is_one_run_each_invoice_once(
    export_world, worker_env, settings
):
    world = export_world
    world.set_options(auto_export=True, include_specification=True)
    # Long enough for the whole burst below to find a run on its way.
    settings.POWEROFFICE_AUTO_EXPORT_DELAY = 1.5
    worker = Worker(worker_env, "export-burst", concurrency=2)
    try:
        worker.wait_ready()
        warm = make_invoice(world)  # the products and the customer exist from now on
        _wait(lambda: _exported([warm]), timeout=120, what="the first automatic export")
        world.sandbox.clear_requests()

        burst = [make_invoice(world) for _ in range(12)]
        _wait(lambda: _exported(burst), timeout=180, what="the burst", step=0.3)
        burst_log = [
            (r["method"], r["route"], r["status"])
            for r in world.sandbox.requests_log()
            if r["client_name"] == world.client_name and r["route"] != "/OAuth/Token"
        ]

        world.sandbox.clear_requests()
        settings.POWEROFFICE_AUTO_EXPORT_DELAY = 0.3
        alone = make_invoice(world)
        _wait(lambda: _exported([alone]), timeout=120, what="a lone automatic export")
        alone_log = [
            (r["method"], r["route"], r["status"])
            for r in world.sandbox.requests_log()
            if r["client_name"] == world.client_name and r["route"] != "/OAuth/Token"
        ]
        # The invoice is marked exported before its task returns and logs its result.
        _wait(
            lambda: sum(int(run.split()[0]) for run in _runs(worker)) >= 14,
            timeout=30,
            what="the worker to log its last run",
        )
        runs = _runs(worker)
    finally:
        worker.stop()

    # Each invoice booked once, with its PDF, by one automatic attempt.
    numbers = [int(v["InvoiceNo"]) for v in world.vouchers()]
    assert sorted(numbers) == sorted(i.number for i in [warm, *burst, alone])
    attachments = world.sandbox.state.clients[world.client_key]["attachments"]
    assert set(attachments) == {v["Id"] for v in world.vouchers()}
    for invoice in [*burst, alone]:
        [attempt] = ExportAttempt.objects.filter(invoice=invoice)
        assert attempt.trigger == AttemptTrigger.AUTOMATIC and attempt.outcome == "success"
    # The steady state: the voucher and its PDF per invoice, nothing looked up again, whether
    # the invoice came in a burst or alone.
    assert sorted(burst_log) == sorted(
        [("POST", "/Vouchers/OutgoingInvoiceJournals", 201)] * 12
        + [("PUT", "/VoucherDocumentation", 204)] * 12
    )
    assert alone_log == [
        ("POST", "/Vouchers/OutgoingInvoiceJournals", 201),
        ("PUT", "/VoucherDocumentation", 204),
    ]
    # The burst was gathered into a few runs, not a task per invoice.
    exported = [int(run.split()[0]) for run in runs]
    assert sum(exported) == 14 and len(runs) < 12, runs
