"""Images per visitor over a sliding window (an hour): what each visitor made, and when."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

__all__ = ["HourlyWindows"]

#: Forget idle visitors once this many are tracked (a sweep, not on every request).
_SWEEP_EVERY: Final = 1024


@dataclass
class _Entry:
    at: float
    token: str
    images: int


class HourlyWindows:
    """Per visitor, the images counted within the last ``span`` seconds. Not thread-safe:
    the guard holds its lock around every call."""

    def __init__(self, span: float) -> None:
        self.span = span
        self._entries: dict[str, deque[_Entry]] = {}
        self._adds = 0

    def used(self, visitor: str, now: float) -> int:
        """Images ``visitor`` made (or has in flight) within the window ending ``now``."""
        return sum(entry.images for entry in self._live(visitor, now))

    def add(self, visitor: str, token: str, images: int, now: float) -> None:
        self._adds += 1
        if self._adds % _SWEEP_EVERY == 0:
            self._sweep(now)
        self._entries.setdefault(visitor, deque()).append(_Entry(now, token, images))

    def remove(self, visitor: str, token: str) -> None:
        """Give back the images of ``token`` (a request that was not billed)."""
        entries = self._entries.get(visitor)
        if entries is None:
            return
        for entry in entries:
            if entry.token == token:
                entries.remove(entry)
                break
        if not entries:
            del self._entries[visitor]

    def frees_at(self, visitor: str, limit: int, wanted: int, now: float) -> float:
        """When ``wanted`` more images fit under ``limit`` (``now`` if they fit already)."""
        entries = self._live(visitor, now)
        excess = sum(entry.images for entry in entries) + wanted - limit
        for entry in entries:
            if excess <= 0:
                break
            excess -= entry.images
            now = entry.at + self.span
        return now

    def _live(self, visitor: str, now: float) -> deque[_Entry]:
        entries = self._entries.get(visitor, deque())
        while entries and entries[0].at <= now - self.span:
            entries.popleft()
        return entries

    def _sweep(self, now: float) -> None:
        for visitor in list(self._entries):
            if not self._live(visitor, now):
                del self._entries[visitor]
