"""A small pool of threads for export work that reads the database.

Django opens one database connection per thread and closes it only when told to; a thread of a
:class:`concurrent.futures.ThreadPoolExecutor` cannot be told. The threads here close their own
connection when the pool shuts down, so a run leaves no connection behind.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from django.db import connections

T = TypeVar("T")

_STOP = object()


class DbThreadPool:
    """``size`` threads running submitted calls in order; each closes its database connection
    when it stops. ``size`` 0 runs every call at once in the calling thread."""

    def __init__(self, size: int, *, name: str) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._futures: list[Future[Any]] = []
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
            for n in range(max(0, size))
        ]
        for thread in self._threads:
            thread.start()

    @property
    def size(self) -> int:
        return len(self._threads)

    def submit(self, call: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        if not self._threads:
            _run(future, call, args)
            return future
        self._futures.append(future)
        self._jobs.put((future, call, args))
        return future

    def _work(self) -> None:
        try:
            while True:
                job = self._jobs.get()
                if job is _STOP:
                    return
                future, call, args = job
                if future.set_running_or_notify_cancel():
                    _run(future, call, args)
        finally:
            connections.close_all()

    def shutdown(self) -> None:
        """Cancel what has not started, wait for what has, and stop the threads."""
        for future in self._futures:
            future.cancel()
        for _ in self._threads:
            self._jobs.put(_STOP)
        for thread in self._threads:
            thread.join()
        self._futures.clear()


def _run(future: Future[T], call: Callable[..., T], args: tuple[Any, ...]) -> None:
    try:
        future.set_result(call(*args))
    except BaseException as exc:  # handed to whoever waits on the future
        future.set_exception(exc)
