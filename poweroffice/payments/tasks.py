"""Payment check tasks (nightly, incremental; weekly full reconciliation).

The schedule is settings.CELERY_BEAT_SCHEDULE ("payments-nightly", "payments-weekly-full"). The
tasks are thin: the work and its bookkeeping are in poweroffice/payments/services.py. A failed
check is recorded on its PaymentSyncRun and leaves the watermark, so the next run catches up;
there is no automatic retry.
"""

from functools import partial

from celery import shared_task
from django.db import transaction

from bitnet.models import Subgroup
from poweroffice.models import PaymentSyncRun
from poweroffice.payments.selectors import payments_connected_subgroups
from poweroffice.payments.services import payments_run, payments_sync


@shared_task(name="poweroffice.tasks_payments.payments_sync_all")
def payments_sync_all(full: bool = False) -> int:
    """One task per connected subgroup, so that one failing or slow subgroup holds up no other."""
    subgroup_ids = list(payments_connected_subgroups().values_list("id", flat=True))
    for subgroup_id in subgroup_ids:
        transaction.on_commit(partial(payments_sync_subgroup.delay, subgroup_id, full=full))
    return len(subgroup_ids)


@shared_task(name="poweroffice.tasks_payments.payments_sync_subgroup")
def payments_sync_subgroup(subgroup_id: int, full: bool = False) -> int | None:
    subgroup = Subgroup.objects.filter(pk=subgroup_id).first()
    if subgroup is None:
        return None
    return payments_sync(subgroup=subgroup, full=full).pk


@shared_task(name="poweroffice.tasks_payments.payments_run_claimed")
def payments_run_claimed(run_id: int) -> int | None:
    """A run claimed from the page ("Kjør nå"); it shows as running until this finishes it."""
    run = PaymentSyncRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    return payments_run(run=run).pk
