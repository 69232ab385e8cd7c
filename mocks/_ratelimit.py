"""A sliding one-minute window per API key."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final

__all__ = ["WINDOW_SECONDS", "RateLimiter"]

WINDOW_SECONDS: Final = 60.0


class RateLimiter:
    """At most ``per_minute`` accepted requests per key in any ``window`` seconds.

    ``clock`` returns the wall-clock time in seconds (tests pass a fake one).
    """

    def __init__(
        self,
        per_minute: int | None,
        *,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_minute = per_minute
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Count a request: ``None`` if allowed, else the moment the window frees a slot."""
        if self.per_minute is None:
            return None
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return hits[0] + self.window
            hits.append(now)
            return None
