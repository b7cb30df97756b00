"""The waiting loop every limiter shares, and the two backends without Redis.

- :class:`LocalRateLimiter`: the state in this process's memory, for its threads only (tests,
  benchmarks of the client's own cost, and the last resort when no file can be written).
- :class:`FileRateLimiter`: the state in a small JSON file under an exclusive ``fcntl.flock``, so
  that every process of one machine (web, worker and beat of ``bin/run``) shares one window
  without Redis.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from .schedule import Lane, QueueStatus, State, Window, cancel, poll, sent, status

__all__ = ["BaseRateLimiter", "FileRateLimiter", "LocalRateLimiter", "RateLimiter"]

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


class RateLimiter(Protocol):
    rate: float
    backend: str

    def acquire(self, *, lane: Lane = Lane.INTERACTIVE, client: str = "") -> str:
        """Wait for a slot; return the ticket that holds it until :meth:`sent`."""

    def sent(self, ticket: str) -> None:
        """The request of ``ticket`` is on the wire (or failed): count it from now."""

    def penalize(self, seconds: float) -> None:
        """Let nobody send for ``seconds`` (after a 429)."""

    def status(self) -> QueueStatus:
        """The queue now: waiters per lane, sends in the window."""


class BaseRateLimiter:
    """The waiting loop over one backend's atomic :meth:`try_acquire`."""

    backend = ""

    def __init__(self, rate: float, *, margin: float, clock: Clock) -> None:
        self.window = Window.for_rate(float(rate), float(margin))
        self.rate = float(rate)
        self.margin = float(margin)
        self._clock = clock

    @property
    def limit(self) -> int:
        return self.window.limit

    def try_acquire(
        self, *, ticket: str, lane: Lane = Lane.INTERACTIVE, client: str = ""
    ) -> float | None:
        """None when the request of ``ticket`` may leave now (its send is counted), else the
        seconds to sleep before asking again (the waiter keeps its place in the queue)."""
        raise NotImplementedError

    def cancel(self, ticket: str) -> None:
        """The waiter of ``ticket`` gave up: it leaves the queue."""
        raise NotImplementedError

    def sent(self, ticket: str) -> None:
        raise NotImplementedError

    def penalize(self, seconds: float) -> None:
        raise NotImplementedError

    def status(self) -> QueueStatus:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def acquire(self, *, lane: Lane = Lane.INTERACTIVE, client: str = "") -> str:
        ticket = uuid.uuid4().hex
        try:
            while True:
                wait = self.try_acquire(ticket=ticket, lane=lane, client=client)
                if wait is None:
                    return ticket
                time.sleep(wait)
        except BaseException:
            with contextlib.suppress(Exception):
                self.cancel(ticket)
            raise


class LocalRateLimiter(BaseRateLimiter):
    """The window and queue in this process, shared by its threads."""

    backend = "local"

    def __init__(self, rate: float, *, margin: float = 0.0, clock: Clock = time.monotonic) -> None:
        super().__init__(rate, margin=margin, clock=clock)
        self._state = State()
        self._lock = threading.Lock()

    def try_acquire(
        self, *, ticket: str, lane: Lane = Lane.INTERACTIVE, client: str = ""
    ) -> float | None:
        with self._lock:
            return poll(
                self._state,
                window=self.window,
                now=self._clock(),
                ticket=ticket,
                lane=lane,
                client=client,
            )

    def cancel(self, ticket: str) -> None:
        with self._lock:
            cancel(self._state, ticket=ticket)

    def sent(self, ticket: str) -> None:
        with self._lock:
            sent(self._state, ticket=ticket, now=self._clock())

    def penalize(self, seconds: float) -> None:
        with self._lock:
            until = self._clock() + seconds
            self._state.blocked_until = max(self._state.blocked_until, until)

    def status(self) -> QueueStatus:
        with self._lock:
            return status(self._state, window=self.window, now=self._clock(), backend=self.backend)

    def reset(self) -> None:
        with self._lock:
            self._state = State()


# File limiters of this process, so that a forked child (Celery's prefork pool) starts with a
# lock nobody holds and a file descriptor of its own: flock() locks belong to the open file, and
# a descriptor inherited through fork() would share the parent's lock instead of waiting for it.
_file_limiters: weakref.WeakSet[FileRateLimiter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for limiter in list(_file_limiters):
        limiter._forget_file()


os.register_at_fork(after_in_child=_after_fork_in_child)


class FileRateLimiter(BaseRateLimiter):
    """The window and queue in one JSON file, shared by every process of this machine.

    Each step opens the state under ``flock(LOCK_EX)``, applies the rule and writes it back; a
    step is a few dozen microseconds. Times are the wall clock (``time.time``), the one clock
    every process of the machine shares. If the file cannot be used (no directory, no space),
    the limiter paces this process alone and says so in the log.
    """

    backend = "file"

    def __init__(
        self, path: str | os.PathLike[str], rate: float, *, margin: float, clock: Clock = time.time
    ) -> None:
        super().__init__(rate, margin=margin, clock=clock)
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._fallback = LocalRateLimiter(rate, margin=margin, clock=clock)
        self._warned = False
        _file_limiters.add(self)

    def _forget_file(self) -> None:
        self._lock = threading.Lock()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None

    def _descriptor(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    @contextlib.contextmanager
    def _locked_state(self) -> Iterator[State]:
        with self._lock:
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                state = self._read(fd)
                yield state
                data = json.dumps(state.to_json(), separators=(",", ":")).encode()
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _read(self, fd: int) -> State:
        size = os.fstat(fd).st_size
        raw = os.pread(fd, size, 0) if size else b""
        if not raw.strip():
            return State()
        try:
            return State.from_json(json.loads(raw))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            # Torn by a process killed mid-write: start again from an empty window.
            logger.warning("PowerOffice rate limiter: unreadable state file, starting afresh")
            return State()

    def _unusable(self, exc: OSError) -> None:
        if not self._warned:
            logger.warning(
                "PowerOffice rate limiter: cannot use %s (%s), pacing this process only",
                self.path,
                type(exc).__name__,
            )
            self._warned = True

    def try_acquire(
        self, *, ticket: str, lane: Lane = Lane.INTERACTIVE, client: str = ""
    ) -> float | None:
        try:
            with self._locked_state() as state:
                return poll(
                    state,
                    window=self.window,
                    now=self._clock(),
                    ticket=ticket,
                    lane=lane,
                    client=client,
                )
        except OSError as exc:
            self._unusable(exc)
            return self._fallback.try_acquire(ticket=ticket, lane=lane, client=client)

    def cancel(self, ticket: str) -> None:
        try:
            with self._locked_state() as state:
                cancel(state, ticket=ticket)
        except OSError as exc:
            self._unusable(exc)
        self._fallback.cancel(ticket)

    def sent(self, ticket: str) -> None:
        try:
            with self._locked_state() as state:
                sent(state, ticket=ticket, now=self._clock())
        except OSError as exc:
            self._unusable(exc)
            self._fallback.sent(ticket)

    def penalize(self, seconds: float) -> None:
        self._fallback.penalize(seconds)
        try:
            with self._locked_state() as state:
                state.blocked_until = max(state.blocked_until, self._clock() + seconds)
        except OSError as exc:
            self._unusable(exc)

    def status(self) -> QueueStatus:
        try:
            with self._locked_state() as state:
                return status(state, window=self.window, now=self._clock(), backend=self.backend)
        except OSError as exc:
            self._unusable(exc)
            return self._fallback.status()

    def reset(self) -> None:
        self._fallback.reset()
        with self._locked_state() as state:
            state.sends.clear()
            state.pending.clear()
            state.waiters.clear()
            state.served.clear()
            state.blocked_until = 0.0
