"""Error pages and error reports without secrets, DEBUG's technical 500 page included.

Django's SafeExceptionReporterFilter honours ``sensitive_variables`` and
``sensitive_post_parameters`` only when DEBUG is off, so a development or demo installation
would show a client key in the frame locals of its error page. This filter is always on.
"""

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter


class SecretsHiddenFilter(SafeExceptionReporterFilter):
    def is_active(self, request: HttpRequest | None) -> bool:
        return True
