"""The beat task that sends the daily alert digests (settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from poweroffice.alerts.services import alerts_send_digests


@shared_task(name="poweroffice.alerts.send_digests")
def send_digests() -> int:
    return alerts_send_digests()
