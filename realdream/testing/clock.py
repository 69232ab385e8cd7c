"""A clock for tests: every sleep returns at once while moving the clock ahead by what it asked
for. Hand the same one to the mock service (``clock=``) and the client (``clock=``, ``sleep=``),
and retries, rate-limit waits and v2 polling all run instantly yet in the right order.

By default real time passes as usual on it too, so code that waits in real time still sees time
pass; ``frozen=True`` makes a clock that moves only when someone sleeps or a test advances it
(every reading repeatable). It starts at an arbitrary moment, :data:`DEFAULT_START`, far from
zero and from today: code that adds a reading where it should subtract one fails its tests, and
tests assert on ``clock.now - clock.start``, never on a reading itself.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Final

__all__ = ["DEFAULT_START", "SkipAheadClock"]

#: Where a clock starts: not zero, not a round number, not today's epoch time.
DEFAULT_START: Final = 1_000_003.25


class SkipAheadClock:
    """Seconds since an arbitrary ``start``: real time elapsed (unless ``frozen``) plus every
    second slept or advanced so far. Thread-safe."""

    def __init__(self, start: float = DEFAULT_START, *, frozen: bool = False) -> None:
        self._start = start
        self._frozen = frozen
        self._origin = time.monotonic()
        self._ahead = 0.0
        self._lock = threading.Lock()
        #: Every wait asked for, in order.
        self.slept: list[float] = []

    def __call__(self) -> float:
        real = 0.0 if self._frozen else time.monotonic() - self._origin
        return self._start + real + self._ahead

    @property
    def start(self) -> float:
        """The reading it started at: assert on ``clock.now - clock.start``, never on ``now``."""
        return self._start

    @property
    def now(self) -> float:
        """The reading now (the same as calling the clock)."""
        return self()

    def sleep(self, seconds: float) -> None:
        """Return at once, the clock ``seconds`` further on."""
        with self._lock:
            self.slept.append(seconds)
            self._ahead += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` on, as time passing elsewhere would: not a wait anyone asked
        for, so not recorded in :attr:`slept`. Time never runs backwards."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"advance: seconds must be a finite number >= 0, got {seconds!r}")
        with self._lock:
            self._ahead += seconds

    async def async_sleep(self, seconds: float) -> None:
        """The awaitable :meth:`sleep` (for ``AsyncClient(sleep=...)``)."""
        self.sleep(seconds)
