"""Creates that survive an ambiguous failure: look the object up (allowing for PowerOffice's read
lag) before sending again, and "already in use" for our own reference means "it exists"."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from .errors import RateLimitedError, TransientError, ValidationError

if TYPE_CHECKING:
    from .transport import JsonObject, Transport

logger = logging.getLogger("poweroffice.client.transport")


def create(
    transport: Transport,
    path: str,
    body: JsonObject,
    *,
    lookup: Callable[[], JsonObject | None],
    what: str,
    unique_keys: tuple[str, ...] = (),
) -> JsonObject:
    """``POST`` ``body``; after a failure that may hide a success, look before sending again.

    ``lookup`` finds the object by its unique key (``ExternalImportReference``, or the closest
    unique key PowerOffice lets us search by). ``unique_keys`` name the properties whose "is
    already in use" may mean that the object is ours and exists already (created by an
    earlier attempt, or by another process at the same moment); the first is our own
    deterministic reference, so its "already in use" is never a rejection: either the object
    is found, or the error is transient. A create accepted without a body (202/204) is read
    back through ``lookup`` too.

    Reads lag writes in PowerOffice, so every look-up keeps asking for a while
    (:meth:`look_patiently`) before it concludes that the object is not there.
    """
    attempt = 0
    full_path = transport.api_path + path
    while True:
        attempt += 1
        try:
            created = transport.request("POST", path, json_body=body)
            if created is None:
                # Accepted without a body (202/204): read back what was created.
                created = look_patiently(transport, lookup)
            return cast("JsonObject", created)
        except TransientError as exc:
            # request() has already spent its own retries on throttling and on failures that
            # never reached PowerOffice; only an ambiguous failure is worth a lookup.
            if (
                attempt >= transport.max_attempts
                or isinstance(exc, RateLimitedError)
                or exc.never_left
            ):
                raise
            transport._backoff(attempt, "POST", full_path, exc)
            # A timeout or 5xx can hide a success: look before sending again.
            found = look_patiently(transport, lookup)
            if found is not None:
                logger.info("PowerOffice POST %s: %s found after a failed attempt", full_path, what)
                return found
        except ValidationError as exc:
            ours = [key for key in unique_keys if exc.names_in_use(key)]
            if not ours and attempt == 1:
                raise
            # Already there: made by an earlier attempt that got through after all, or by
            # another process creating the same object at the same moment.
            found = look_patiently(transport, lookup)
            if found is not None:
                logger.info("PowerOffice POST %s: %s exists already", full_path, what)
                return found
            if unique_keys and unique_keys[0] in ours:
                raise _not_visible_yet(exc, what, unique_keys[0]) from exc
            raise


def look_patiently(
    transport: Transport, lookup: Callable[[], JsonObject | None]
) -> JsonObject | None:
    """``lookup()``, asked again with growing pauses for up to ``lookup_patience`` seconds
    while it finds nothing: an object created a moment ago may not be readable yet (GETs hit
    a replica that lags the primary)."""
    found = lookup()
    waited, pause = 0.0, 0.25
    while found is None and waited < transport.lookup_patience:
        step = min(pause, transport.lookup_patience - waited)
        time.sleep(step)
        waited += step
        pause *= 2
        transport.stats.add("lookups_repeated")
        found = lookup()
    return found


def _not_visible_yet(exc: ValidationError, what: str, key: str) -> TransientError:
    """Our own reference is in use, so the object exists, but PowerOffice does not show it
    yet: worth trying again later, never a rejection."""
    return TransientError(
        status=exc.status,
        title=exc.title,
        detail=(
            f"{key} is already in use, but the {what} could not be read back yet: "
            f"{exc.detail or ''}"
        ).strip(),
        body=exc.body,
        method=exc.method,
        path=exc.path,
    )
