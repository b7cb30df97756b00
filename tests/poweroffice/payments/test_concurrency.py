"""Two payment checks at the same time: no double work, no lost update (real threads, each with
its own database connection, against the sandbox over HTTP)."""

import itertools
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from accounting.models import Invoice, PaymentStatus
from poweroffice.models import PaymentSyncRun
from poweroffice.payments.apply import payments_apply
from poweroffice.payments.services import SKIPPED_MESSAGE, payments_sync
from tests.fixtures.payments import PowerOfficeClientSetup, exported_invoice, row, ts

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(target, results, key, barrier=None):
    def run():
        try:
            if barrier is not None:
                barrier.wait(timeout=30)
            results[key] = target()
        except Exception as exc:  # surfaced by the test
            results[key] = exc
        finally:
            db_connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def po(sandbox, sandbox_settings, subgroup_a):
    sandbox_settings.POWEROFFICE_PAYMENTS_SAFETY_MARGIN = 0
    return PowerOfficeClientSetup(sandbox, subgroup_a)


def test_a_second_run_while_one_is_going_on_does_nothing(po, subgroup_a):
    invoices = [po.new_exported("300.00") for _ in range(3)]
    assert payments_sync(subgroup=subgroup_a).success
    for invoice in invoices:
        po.pay(invoice, "100.00")
    # Keep the first run busy inside PowerOffice's answer for a moment.
    po.sandbox.faults(action="delay", delay_ms=1500, path="^/OutgoingInvoices$", count=1)
    po.sandbox.clear_requests()
    results: dict = {}

    first = in_thread(lambda: payments_sync(subgroup=subgroup_a), results, "first")
    deadline = time.monotonic() + 10
    while not PaymentSyncRun.objects.filter(subgroup=subgroup_a, finished_at__isnull=True):
        assert time.monotonic() < deadline, "the first run never claimed the subgroup"
        time.sleep(0.01)
    second = in_thread(lambda: payments_sync(subgroup=subgroup_a), results, "second")
    second.join(30)
    first.join(30)

    assert results["second"].success is None
    assert results["second"].error == SKIPPED_MESSAGE
    assert results["second"].requests == 0
    assert results["first"].success is True, results["first"].error
    assert (results["first"].checked, results["first"].changed) == (3, 3)
    assert len(po.outgoing_invoice_requests()) == 1  # one run's worth, not two
    for invoice in invoices:
        invoice.refresh_from_db()
        assert (invoice.payment_status, invoice.balance) == (
            PaymentStatus.PARTLY_PAID,
            Decimal("200.00"),
        )


def test_many_runs_started_together_never_overlap(po, subgroup_a):
    invoices = [po.new_exported("300.00") for _ in range(4)]
    assert payments_sync(subgroup=subgroup_a).success
    for invoice in invoices:
        po.pay(invoice, "300.00")
    po.sandbox.config(latency_ms=300)
    po.sandbox.clear_requests()
    barrier = threading.Barrier(4)
    results: dict = {}
    threads = [
        in_thread(lambda: payments_sync(subgroup=subgroup_a), results, n, barrier) for n in range(4)
    ]
    for thread in threads:
        thread.join(60)

    runs = list(results.values())
    assert all(isinstance(r, PaymentSyncRun) for r in runs), runs
    worked = [r for r in runs if r.success is not None]
    skipped = [r for r in runs if r.success is None]
    assert all(r.error == SKIPPED_MESSAGE for r in skipped)
    assert worked and all(r.success for r in worked)
    # Runs that did work did so one after the other.
    spans = sorted((r.started_at, r.finished_at) for r in worked)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    assert len(po.outgoing_invoice_requests()) == len(worked)
    assert sum(r.changed for r in worked) == 4
    assert set(
        Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list(
            "payment_status", flat=True
        )
    ) == {PaymentStatus.PAID}


def test_concurrent_writers_never_lose_the_newest_balance(subgroup_a):
    """Two appliers of the same invoices, one with older observations: whoever commits last,
    the newest BalanceLastChangedDateTimeOffset wins."""
    invoices = [exported_invoice(subgroup_a, gross="1000.00") for _ in range(40)]
    older = [row(i, balance="600.00", changed=ts("2026-03-05T10:00:00")) for i in invoices]
    newer = [row(i, balance="0.00", changed=ts("2026-03-06T10:00:00")) for i in invoices]
    checked = timezone.now()
    for round_ in range(6):
        Invoice.objects.filter(pk__in=[i.pk for i in invoices]).update(
            payment_status=PaymentStatus.UNPAID,
            balance=Decimal("1000.00"),
            balance_changed_at=ts("2026-03-01T10:00:00"),
        )
        barrier = threading.Barrier(2)
        results: dict = {}
        # Alternate who starts first; the rows come in opposite orders too.
        older_rows = older[::-1] if round_ % 2 else older
        jobs = {
            "older": lambda rows=older_rows: payments_apply(
                subgroup_id=subgroup_a.pk,
                rows=rows,
                checked_at=checked,
            ),
            "newer": lambda: payments_apply(
                subgroup_id=subgroup_a.pk, rows=newer, checked_at=checked
            ),
        }
        order = ["older", "newer"] if round_ % 2 else ["newer", "older"]
        threads = [in_thread(jobs[name], results, name, barrier) for name in order]
        for thread in threads:
            thread.join(30)
        assert not any(isinstance(r, Exception) for r in results.values()), results
        states = set(
            Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list(
                "payment_status", "balance", "balance_changed_at"
            )
        )
        assert states == {(PaymentStatus.PAID, Decimal("0.00"), ts("2026-03-06T10:00:00"))}
