"""The Celery application. Schedules live in settings.CELERY_BEAT_SCHEDULE."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bitnet.settings")

app = Celery("bitnet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
