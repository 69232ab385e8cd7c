"""A clock for tests: real time passes as usual, and every sleep returns at once while moving
the clock ahead by what it asked for. Hand the same one to the mock service (``clock=``) and
the client (``clock=``, ``sleep=``), and retries, rate-limit waits and v2 polling all run
instantly yet in the right order, while code that waits in real time still sees time pass.
"""

from __future__ import annotations

import threading
import time

__all__ = ["SkipAheadClock"]


class SkipAheadClock:
    """Wall-clock seconds (``time.time()``) plus every second slept so far. Thread-safe."""

    def __init__(self) -> None:
        self._ahead = 0.0
        self._lock = threading.Lock()
        #: Every wait asked for, in order.
        self.slept: list[float] = []

    def __call__(self) -> float:
        return time.time() + self._ahead

    def sleep(self, seconds: float) -> None:
        """Return at once, the clock ``seconds`` further on."""
        with self._lock:
            self.slept.append(seconds)
            self._ahead += max(0.0, seconds)

    async def async_sleep(self, seconds: float) -> None:
        """The awaitable :meth:`sleep` (for ``AsyncClient(sleep=...)``)."""
        self.sleep(seconds)
