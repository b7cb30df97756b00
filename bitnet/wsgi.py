"""WSGI entry point: the module-level ``application`` a WSGI server (gunicorn) serves.

It refuses to start when a production check fails (bitnet/security/checks.py).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bitnet.settings")

application = get_wsgi_application()

from bitnet.security.checks import refuse_unsafe_start  # noqa: E402 - needs django.setup()

refuse_unsafe_start()
