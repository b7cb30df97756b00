"""WSGI entry point: the module-level ``application`` a WSGI server (gunicorn) serves."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bitnet.settings")

application = get_wsgi_application()
