"""The payment check's rules without PowerOffice: status from balance, order-independent updates,
invoice number ranges, claims."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounting.models import InvoiceKind, PaymentStatus
from poweroffice.models import Connection, PaymentSyncRun
from poweroffice.payments.apply import observation_from_row, payment_status_for, payments_apply
from poweroffice.payments.selectors import STALE_AFTER
from poweroffice.payments.services import (
    SKIPPED_MESSAGE,
    STALE_MESSAGE,
    invoice_number_filters,
    payments_claim,
    payments_sync,
)
from tests.fixtures.payments import exported_invoice, row, ts

D = Decimal
CHECKED = ts("2026-03-20T02:00:00")


@pytest.mark.parametrize(
    ("balance", "total", "reversed_", "expected"),
    [
        (D("0.00"), D("1250.00"), False, PaymentStatus.PAID),
        (D("250.00"), D("1250.00"), False, PaymentStatus.PARTLY_PAID),
        (D("1250.00"), D("1250.00"), False, PaymentStatus.UNPAID),
        (D("1300.00"), D("1250.00"), False, PaymentStatus.UNPAID),  # fees added in PowerOffice
        (D("-50.00"), D("1250.00"), False, PaymentStatus.PAID),  # overpaid
        (D("1250.00"), D("1250.00"), True, PaymentStatus.REVERSED),
        (D("0.00"), D("1250.00"), True, PaymentStatus.REVERSED),
        # Credit notes: negative amounts.
        (D("0.00"), D("-1250.00"), False, PaymentStatus.PAID),  # settled
        (D("-250.00"), D("-1250.00"), False, PaymentStatus.PARTLY_PAID),
        (D("-1250.00"), D("-1250.00"), False, PaymentStatus.UNPAID),
        (D("10.00"), D("-1250.00"), False, PaymentStatus.PAID),  # settled by more than its amount
        (None, D("1250.00"), False, PaymentStatus.UNKNOWN),
    ],
)
def test_payment_status_for(balance, total, reversed_, expected):
    assert payment_status_for(balance=balance, total=total, is_reversed=reversed_) == expected


def test_observation_parses_poweroffice_values():
    obs = observation_from_row(
        {
            "Id": "EE373540-CA8D-4562-8FB6-6FB52DE47722",
            "InvoiceNo": 15798,
            "Balance": 502.25,
            "BalanceLastChangedDateTimeOffset": "2021-09-30T08:03:00.1234567Z",
            "IsReversed": False,
        }
    )
    assert obs.voucher_id == "ee373540-ca8d-4562-8fb6-6fb52de47722"
    assert obs.invoice_no == 15798
    assert obs.balance == D("502.25")
    # 100 ns precision truncated to microseconds, never rounded up.
    assert obs.changed_at == dt.datetime(2021, 9, 30, 8, 3, 0, 123456, tzinfo=dt.UTC)
    assert observation_from_row({"Balance": 0.1 + 0.2}).balance == D("0.30")
    offset = observation_from_row({"BalanceLastChangedDateTimeOffset": "2021-09-30T10:03:00+02:00"})
    assert offset.changed_at == dt.datetime(2021, 9, 30, 8, 3, tzinfo=dt.UTC)


def test_invoice_number_filters_ranges_and_splits():
    numbers = [*range(100001, 100481), 100500, 100502, 100900, 101000, 101001]
    assert invoice_number_filters(numbers) == ["100001-100502,100900,101000-101001"]
    assert invoice_number_filters(numbers, gap=1) == [
        "100001-100480,100500,100502,100900,101000-101001"
    ]
    many = list(range(100000, 200000, 100))  # 1000 scattered numbers
    filters = invoice_number_filters(many, max_chars=200)
    assert all(len(f) <= 200 for f in filters)
    covered = {int(n) for f in filters for n in f.split(",")}
    assert covered == set(many)
    assert invoice_number_filters([]) == []


@pytest.mark.django_db
def test_apply_sets_status_balance_and_times(subgroup_a):
    paid = exported_invoice(subgroup_a, gross="1250.00")
    partly = exported_invoice(subgroup_a, gross="1000.00")
    unpaid = exported_invoice(subgroup_a, gross="400.00")
    reversed_ = exported_invoice(subgroup_a, gross="300.00")
    credit = exported_invoice(
        subgroup_a, gross="-100.00", kind=InvoiceKind.CREDIT_NOTE, credited=partly
    )
    other = exported_invoice(subgroup_a, gross="10.00", exported=False)
    rows = [
        row(paid, balance=0, changed="2026-03-10T09:00:00.1234567Z"),
        row(partly, balance=250.5, changed=ts("2026-03-11T09:00:00")),
        row(unpaid, balance=400, changed=ts("2026-03-01T09:00:00")),
        row(reversed_, balance=0, changed=ts("2026-03-12T09:00:00"), reversed_=True),
        row(credit, balance=0, changed=ts("2026-03-12T10:00:00")),
        row(other, balance=0, changed=ts("2026-03-12T10:00:00"), voucher_id="x"),
        {"Id": "not-ours", "InvoiceNo": 999, "Balance": 0, "IsReversed": False},
    ]
    result = payments_apply(subgroup_id=subgroup_a.pk, rows=rows, checked_at=CHECKED)
    # The unpaid one is seen for the first time, still unpaid in full: checked, not changed.
    assert (result.checked, result.changed) == (5, 4)
    for inv in (paid, partly, unpaid, reversed_, credit, other):
        inv.refresh_from_db()
    assert (paid.payment_status, paid.balance) == (PaymentStatus.PAID, D("0.00"))
    assert paid.balance_changed_at == dt.datetime(2026, 3, 10, 9, 0, 0, 123456, tzinfo=dt.UTC)
    # Its credit note covers part and the rest is open.
    assert (partly.payment_status, partly.balance) == (
        PaymentStatus.PARTLY_CREDITED,
        D("250.50"),
    )
    assert (unpaid.payment_status, unpaid.balance) == (PaymentStatus.UNPAID, D("400.00"))
    assert reversed_.payment_status == PaymentStatus.REVERSED
    assert (credit.payment_status, credit.balance) == (PaymentStatus.PAID, D("0.00"))
    assert all(i.payment_checked_at == CHECKED for i in (paid, partly, unpaid, reversed_, credit))
    assert (other.payment_status, other.payment_checked_at) == (PaymentStatus.UNKNOWN, None)


@pytest.mark.django_db
def test_apply_is_order_independent(subgroup_a):
    """Observations of one invoice applied in every order end in the newest one."""
    observations = [
        ("1250.00", "2026-03-01T09:00:00", False),
        ("500.00", "2026-03-05T09:00:00", False),
        ("0.00", "2026-03-09T09:00:00", False),
    ]
    for order in itertools.permutations(observations):
        invoice = exported_invoice(subgroup_a, gross="1250.00")
        for balance, changed, rev in order:
            payments_apply(
                subgroup_id=subgroup_a.pk,
                rows=[row(invoice, balance=balance, changed=ts(changed), reversed_=rev)],
                checked_at=CHECKED,
            )
        invoice.refresh_from_db()
        assert invoice.payment_status == PaymentStatus.PAID, order
        assert invoice.balance == D("0.00")
        assert invoice.balance_changed_at == ts("2026-03-09T09:00:00")


@pytest.mark.django_db
def test_apply_older_observation_does_not_overwrite_but_counts_as_checked(subgroup_a):
    invoice = exported_invoice(
        subgroup_a,
        gross="1250.00",
        payment_status=PaymentStatus.PAID,
        balance=D("0.00"),
        balance_changed_at=ts("2026-03-09T09:00:00"),
    )
    result = payments_apply(
        subgroup_id=subgroup_a.pk,
        rows=[row(invoice, balance="1250", changed=ts("2026-03-01T09:00:00"))],
        checked_at=CHECKED,
    )
    assert (result.checked, result.changed) == (1, 0)
    invoice.refresh_from_db()
    assert (invoice.payment_status, invoice.balance) == (PaymentStatus.PAID, D("0.00"))
    assert invoice.payment_checked_at == CHECKED


@pytest.mark.django_db
def test_apply_reversal_wins_a_tie_and_other_vouchers_with_our_number_are_ignored(subgroup_a):
    invoice = exported_invoice(subgroup_a, gross="800.00")
    stamp = ts("2026-03-02T09:00:00")
    payments_apply(
        subgroup_id=subgroup_a.pk,
        rows=[row(invoice, balance=800, changed=stamp)],
        checked_at=CHECKED,
    )
    # An earlier voucher with the same invoice number, reversed (reversal frees the number).
    old_voucher = row(
        invoice,
        balance=0,
        changed=ts("2026-03-05T09:00:00"),
        reversed_=True,
        voucher_id="0b7c1b0e-0000-4000-8000-000000000001",
    )
    payments_apply(subgroup_id=subgroup_a.pk, rows=[old_voucher], checked_at=CHECKED)
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.UNPAID
    payments_apply(
        subgroup_id=subgroup_a.pk,
        rows=[row(invoice, balance=800, changed=stamp, reversed_=True)],
        checked_at=CHECKED,
    )
    invoice.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.REVERSED


@pytest.mark.django_db
def test_apply_uses_a_bounded_number_of_queries(subgroup_a):
    invoices = [exported_invoice(subgroup_a, gross="100.00") for _ in range(60)]
    rows = [row(i, balance=0, changed=ts("2026-03-02T09:00:00")) for i in invoices]
    with CaptureQueriesContext(db_connection) as ctx:
        result = payments_apply(subgroup_id=subgroup_a.pk, rows=rows, checked_at=CHECKED)
    assert result.changed == 60
    # SAVEPOINT/RELEASE or BEGIN/COMMIT aside: one SELECT ... FOR UPDATE, one SELECT of the
    # credited amounts, one UPDATE.
    statements = [q["sql"].split()[0].upper() for q in ctx.captured_queries]
    assert statements.count("SELECT") == 2
    assert statements.count("UPDATE") == 1


@pytest.mark.django_db
def test_claim_is_exclusive_and_stale_claims_are_closed(subgroup_a):
    Connection.objects.create(subgroup=subgroup_a, enabled=True)
    first = payments_claim(subgroup=subgroup_a)
    assert first is not None and first.finished_at is None
    assert payments_claim(subgroup=subgroup_a) is None
    skipped = payments_sync(subgroup=subgroup_a)
    assert (skipped.success, skipped.error) == (None, SKIPPED_MESSAGE)
    assert skipped.finished_at is not None and skipped.requests == 0
    # A worker that died an hour ago does not block the subgroup for ever.
    PaymentSyncRun.objects.filter(pk=first.pk).update(
        started_at=timezone.now() - STALE_AFTER - dt.timedelta(minutes=1)
    )
    second = payments_claim(subgroup=subgroup_a, full=True)
    assert second is not None and second.mode == PaymentSyncRun.Mode.FULL
    first.refresh_from_db()
    assert (first.success, first.error) == (False, STALE_MESSAGE)


@pytest.mark.parametrize(
    ("balance", "total", "credited", "expected"),
    [
        (D("0.00"), D("1250.00"), D("1250.00"), PaymentStatus.CREDITED),
        (D("750.00"), D("1250.00"), D("500.00"), PaymentStatus.PARTLY_CREDITED),
        (D("0.00"), D("1250.00"), D("500.00"), PaymentStatus.PAID),  # the rest paid
        (D("1250.00"), D("1250.00"), D("1250.00"), PaymentStatus.CREDITED),  # not matched yet
    ],
)
def test_payment_status_for_credited_invoice(balance, total, credited, expected):
    status = payment_status_for(balance=balance, total=total, is_reversed=False, credited=credited)
    assert status == expected
