"""The Celery application. Schedules live in settings.CELERY_BEAT_SCHEDULE.

The worker and beat refuse to start when a production check fails (bitnet/security/checks.py).
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bitnet.settings")

app = Celery("bitnet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Sent when the worker or beat loads the app's modules, before either touches the database or
# the broker (celery/loaders/base.py, init_worker).
@signals.import_modules.connect
def _refuse_unsafe_start(**kwargs: object) -> None:
    import django
    from django.core.exceptions import ImproperlyConfigured

    django.setup()
    from bitnet.security.checks import refuse_unsafe_start

    try:
        refuse_unsafe_start()
    except ImproperlyConfigured as exc:
        # Celery logs and ignores exceptions from signal handlers: exit instead.
        raise SystemExit(str(exc)) from None
