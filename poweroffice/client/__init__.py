"""The PowerOffice Go API v2 client: HTTP and nothing else, importing none of our apps.

- ``client``: :class:`PowerOfficeClient`, one per client key, one thin method per call we make.
- ``transport``: the token and its cache, sending, the one retry loop, paging, creates that survive
  an ambiguous failure.
- ``params``: query values (number and code filters, booleans, timestamps).
- ``values``: reading PowerOffice's JSON values (integers, decimals, dates, timestamps).
- ``errors``: the typed errors, with status, body and whether retrying can help.
- ``ratelimit``: one pace per subscription key, shared by every process (Redis, else a file),
  with an interactive lane before bulk work and a fair share between PowerOffice clients.

Settings are read as ``settings.POWEROFFICE_*``; their defaults live in bitnet/settings.py.
"""

from .client import PowerOfficeClient
from .errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidClientError,
    InvalidDocumentError,
    NotFoundError,
    PowerOfficeError,
    RateLimitedError,
    SubscriptionKeyError,
    TransientError,
    ValidationError,
)
from .ratelimit import Lane

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "ForbiddenError",
    "InvalidClientError",
    "InvalidDocumentError",
    "Lane",
    "NotFoundError",
    "PowerOfficeClient",
    "PowerOfficeError",
    "RateLimitedError",
    "SubscriptionKeyError",
    "TransientError",
    "ValidationError",
]
