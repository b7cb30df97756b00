"""Reconciliation tasks: one started from the page in the background, and the monthly run of
the month just ended for every connected subgroup (settings.CELERY_BEAT_SCHEDULE,
"reconciliation-monthly"). Thin: the work is in services.py; a failure is saved on the result."""

from functools import partial

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from bitnet.models import Subgroup
from poweroffice.models import Reconciliation
from poweroffice.reconciliation.selectors import reconciliation_connected_subgroups
from poweroffice.reconciliation.services import last_month, reconcile, reconciliation_run


@shared_task(name="poweroffice.reconciliation.reconciliation_run")
def reconciliation_run_task(run_id: int) -> int | None:
    run = Reconciliation.objects.filter(pk=run_id).first()
    if run is None:
        return None
    return reconciliation_run(run=run).pk


@shared_task(name="poweroffice.reconciliation.reconcile_subgroup")
def reconcile_subgroup(subgroup_id: int, period_from: str, period_to: str) -> int | None:
    import datetime as dt

    subgroup = Subgroup.objects.filter(pk=subgroup_id).first()
    if subgroup is None:
        return None
    return reconcile(
        subgroup=subgroup,
        period_from=dt.date.fromisoformat(period_from),
        period_to=dt.date.fromisoformat(period_to),
    ).pk


@shared_task(name="poweroffice.reconciliation.reconcile_last_month")
def reconcile_last_month() -> int:
    """One task per connected subgroup for the month just ended (Europe/Oslo)."""
    first, last = last_month(timezone.localdate())
    ids = list(reconciliation_connected_subgroups().values_list("id", flat=True))
    for subgroup_id in ids:
        transaction.on_commit(
            partial(reconcile_subgroup.delay, subgroup_id, first.isoformat(), last.isoformat())
        )
    return len(ids)
