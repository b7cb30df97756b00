"""The project and its tenancy: settings, urls, the Celery app, the models (agencies, subgroups,
offices, users), access rules, hooks, the shared list and form pages (crud) and the demo; the
features live in agencies/ and users/."""

from .celery import app as celery_app

__all__ = ("celery_app",)
