"""The Celery application. Schedules live in settings.CELERY_BEAT_SCHEDULE.

The worker and beat refuse to start when a production check fails (bitnet/security/checks.py).
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bitnet.settings")

app = Celery("bitnet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_unsafe_start(**kwargs: object) -> None:
    import django

    django.setup()
    from bitnet.security.checks import refuse_unsafe_start

    refuse_unsafe_start()
