"""What one client sent: counts for services (requests per export, per sync) and benchmarks."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ClientStats"]


@dataclass
class ClientStats:
    """What one client sent: for services (requests per export) and benchmarks."""

    requests: int = 0  # HTTP requests sent, token requests included
    token_requests: int = 0
    retries: int = 0  # requests sent again after a failure (429, 401 renewal, transient)
    rate_limited_429: int = 0
    transport_errors: int = 0  # connection errors and timeouts (no HTTP status)
    lookups_repeated: int = 0  # look-ups asked again because a new object was not readable yet
    rate_limit_wait: float = 0.0  # seconds spent waiting for the rate limiter
    by_status: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_response(self, status: int) -> None:
        with self._lock:
            self.by_status[status] = self.by_status.get(status, 0) + 1
            if status == 429:
                self.rate_limited_429 += 1

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "token_requests": self.token_requests,
                "retries": self.retries,
                "rate_limited_429": self.rate_limited_429,
                "transport_errors": self.transport_errors,
                "lookups_repeated": self.lookups_repeated,
                "rate_limit_wait": round(self.rate_limit_wait, 3),
                "by_status": dict(self.by_status),
            }

    def reset(self) -> None:
        with self._lock:
            self.requests = self.token_requests = self.retries = 0
            self.rate_limited_429 = self.transport_errors = self.lookups_repeated = 0
            self.rate_limit_wait = 0.0
            self.by_status = {}
