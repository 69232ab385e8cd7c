"""Client-side pacing: at most N requests a minute, shared by every thread and task of a client.

Segmind allows 5 (free) or 50 (pro) requests a minute, and whether status polls count is
unknown (we assume they do). A :class:`Pacer` hands out send times at an even spacing; a 429
pushes the schedule back to when the server says the limit resets, and slows the spacing a
little, so one refusal is not followed by another.
"""

from __future__ import annotations

import math
import threading
from typing import Final

__all__ = ["SAFETY_MARGIN", "Pacer"]

#: Send at this share of the limit: a request that leaves on time may still arrive late.
SAFETY_MARGIN: Final = 0.98
#: How much each 429 stretches the spacing, and the most it may be stretched in all.
_SLOWDOWN: Final = 1.1
_MAX_SLOWDOWN: Final = 2.0


class Pacer:
    """Even spacing for ``per_minute`` requests a minute. Thread-safe, and free of any loop.

    :meth:`reserve` returns how long the caller must wait before sending; the caller sleeps
    with its own sleep (a thread's or an event loop's).
    """

    def __init__(self, per_minute: float) -> None:
        if isinstance(per_minute, bool) or not (
            isinstance(per_minute, (int, float)) and math.isfinite(per_minute) and per_minute > 0
        ):
            raise ValueError(f"rate_limit_per_minute={per_minute!r}: must be a number > 0")
        self.per_minute = float(per_minute)
        self._base = 60.0 / (self.per_minute * SAFETY_MARGIN)
        self._spacing = self._base
        self._next_at = -math.inf
        self._lock = threading.Lock()
        #: How many 429s this pacer has been told about.
        self.rate_limited = 0

    @property
    def spacing(self) -> float:
        """Seconds between two sends now."""
        return self._spacing

    def reserve(self, now: float) -> float:
        """Claim the next send slot; the seconds to wait for it (0 when it is already due)."""
        with self._lock:
            at = max(now, self._next_at)
            self._next_at = at + self._spacing
            return at - now

    def rate_limited_until(self, now: float, wait: float | None) -> None:
        """The server said 429: no send before ``now + wait`` (or one spacing), and slow down."""
        with self._lock:
            self.rate_limited += 1
            self._spacing = min(self._spacing * _SLOWDOWN, self._base * _MAX_SLOWDOWN)
            self._next_at = max(self._next_at, now + (wait if wait else self._spacing))
