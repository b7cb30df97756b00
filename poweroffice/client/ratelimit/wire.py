"""Knowing when a request has left: the moment the rate limiter counts it from.

``requests`` has no event between writing a request and reading its answer, so the transport's
own session gets connection classes that report to the request under way in this thread right
after urllib3 has written it (having opened the connection first, TLS included, when it had to).
Until then the request holds its slot, so neither a busy CPU between the limiter's grant and the
write nor a new connection's handshakes can bring requests closer together at PowerOffice than
the limiter spaced them. On a session without these classes (one a caller passed in) the report
comes when the answer is back: later than the write, so never unsafe, only slower.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["mount_reporting_adapter", "on_the_wire"]

logger = logging.getLogger(__name__)

_on_sent: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "poweroffice_on_sent", default=None
)


def _call(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # the limiter falls back on its own; never fail the request here
        logger.warning("PowerOffice rate limiter: could not log a send", exc_info=True)


def _report() -> None:
    callback = _on_sent.get()
    if callback is not None:
        _call(callback)


class _ReportingHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().request(*args, **kwargs)
        finally:
            _report()


class _ReportingHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().request(*args, **kwargs)
        finally:
            _report()


class _ReportingHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _ReportingHTTPConnection


class _ReportingHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _ReportingHTTPSConnection


class _ReportingAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _ReportingHTTPConnectionPool,
            "https": _ReportingHTTPSConnectionPool,
        }


def mount_reporting_adapter(session: requests.Session) -> None:
    """Let ``session``'s requests report when they have been written (see the module)."""
    adapter = _ReportingAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)


@contextlib.contextmanager
def on_the_wire(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` once, as soon as the request sent inside has been written, and at the
    latest when the block ends (the answer is back, or the request failed)."""
    done = False

    def once() -> None:
        nonlocal done
        if not done:
            done = True
            callback()

    token = _on_sent.set(once)
    try:
        yield
    finally:
        _on_sent.reset(token)
        _call(once)
