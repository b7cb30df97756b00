"""Celery tasks of the payroll export: thin, they take ids and call one service."""

from celery import shared_task

from poweroffice.salary.run import payroll_export_run


# The name is pinned so that messages queued before a move of this module still find it.
@shared_task(acks_late=True, ignore_result=True, name="payroll.tasks.payroll_export_task")
def payroll_export_task(export_id: int) -> None:
    """Create a large export's salary lines in PowerOffice Go (progress on the export row).

    Safe to run twice: the export is claimed atomically, and a redelivered task resumes a run
    whose heartbeat stopped, adopting lines already created by their ExternalImportReference.
    """
    payroll_export_run(export_id=export_id)
