"""Images per visitor over a sliding window (an hour): what each visitor made, and when."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Final

__all__ = ["HourlyWindows"]

#: Forget idle visitors every so many additions (a sweep, not on every request).
_SWEEP_EVERY: Final = 1024


#: ``(at, token, images)``: a tuple of plain values, which Python's GC stops tracking.
_Entry = tuple[float, str, int]


@dataclass
class _Window:
    entries: deque[_Entry] = field(default_factory=deque)
    images: int = 0  # the sum over entries, kept as they come and go


class HourlyWindows:
    """Per visitor, the images counted within the last ``span`` seconds. Not thread-safe:
    the guard holds its lock around every call. Counting is O(1) amortized per request."""

    def __init__(self, span: float) -> None:
        self.span = span
        self._windows: dict[str, _Window] = {}
        self._adds = 0

    def used(self, visitor: str, now: float) -> int:
        """Images ``visitor`` made (or has in flight) within the window ending ``now``."""
        window = self._live(visitor, now)
        return 0 if window is None else window.images

    def add(self, visitor: str, token: str, images: int, now: float) -> None:
        self._adds += 1
        if self._adds % _SWEEP_EVERY == 0:
            self._sweep(now)
        window = self._windows.setdefault(visitor, _Window())
        window.entries.append((now, token, images))
        window.images += images

    def remove(self, visitor: str, token: str) -> None:
        """Give back the images of ``token`` (a request that was not billed)."""
        window = self._windows.get(visitor)
        if window is None:
            return
        for entry in reversed(window.entries):  # the newest are the likeliest
            if entry[1] == token:
                window.entries.remove(entry)
                window.images -= entry[2]
                break
        if not window.entries:
            del self._windows[visitor]

    def frees_at(self, visitor: str, limit: int, wanted: int, now: float) -> float:
        """When ``wanted`` more images fit under ``limit`` (``now`` if they fit already)."""
        window = self._live(visitor, now)
        if window is None:
            return now
        excess = window.images + wanted - limit
        for at, _, images in window.entries:
            if excess <= 0:
                break
            excess -= images
            now = at + self.span
        return now

    def _live(self, visitor: str, now: float) -> _Window | None:
        window = self._windows.get(visitor)
        if window is None:
            return None
        entries = window.entries
        while entries and entries[0][0] <= now - self.span:
            window.images -= entries.popleft()[2]
        return window

    def _sweep(self, now: float) -> None:
        for visitor in list(self._windows):
            window = self._live(visitor, now)
            if window is not None and not window.entries:
                del self._windows[visitor]
