"""Celery tasks of the payroll export: thin, they take ids and call one service."""

from celery import shared_task

from poweroffice.salary.recovery import (
    BY_SWEEPER,
    BY_TASK,
    payroll_export_proceed,
    payroll_exports_recover,
)


# The name is pinned so that messages queued before a move of this module still find it.
@shared_task(acks_late=True, ignore_result=True, name="payroll.tasks.payroll_export_task")
def payroll_export_task(export_id: int) -> None:
    """Create a large export's salary lines in PowerOffice Go (progress on the export row).

    Safe to run twice: the export is claimed atomically, and a redelivered task whose first run
    died resumes it (once its heartbeat is stale), adopting the lines already created by their
    ExternalImportReference.
    """
    payroll_export_proceed(export_id=export_id, by=BY_TASK)


# Every five minutes (CELERY_BEAT_SCHEDULE in bitnet/settings.py).
@shared_task(ignore_result=True, name="poweroffice.tasks.payroll_export_sweeper")
def payroll_export_sweeper() -> str:
    """Bring every export whose run died to an end: resumed, or rolled back."""
    results = payroll_exports_recover(by=BY_SWEEPER)
    taken = [r for r in results if r.taken_over]
    return f"{len(taken)} of {len(results)} interrupted payroll exports taken over"
