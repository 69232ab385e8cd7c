"""The visitor limit: images per visitor over a sliding hour, and how a refusal reads.

A limit of ``0`` means none. Images of a request that was not billed are given back. Not
thread-safe: the guard holds its lock around every call.
"""

from __future__ import annotations

from typing import Final

from demo._hourly import HourlyWindows
from demo._refusals import NOTHING_SPENT, Limit, RefusedError, images, when
from demo._visitor import Visitor

__all__ = ["HOUR_S", "VisitorLimit"]

HOUR_S: Final = 3600.0


class VisitorLimit:
    """At most ``per_hour`` images per visitor within any hour (``0``: no limit)."""

    def __init__(self, per_hour: int, span: float = HOUR_S) -> None:
        self.per_hour = per_hour
        self._windows = HourlyWindows(span)

    @property
    def enabled(self) -> bool:
        return self.per_hour > 0

    def check(self, visitor: Visitor, samples: int, now: float) -> None:
        """:class:`RefusedError` when ``samples`` more images would pass the limit."""
        if self.enabled and self._windows.used(visitor.id, now) + samples > self.per_hour:
            raise RefusedError(Limit.VISITOR_LIMIT, self._message(visitor, samples, now))

    def add(self, visitor: Visitor, token: str, samples: int, now: float) -> None:
        if self.enabled:
            self._windows.add(visitor.id, token, samples, now)

    def remove(self, visitor: Visitor, token: str) -> None:
        """Give back the images of ``token`` (a request that was not billed)."""
        self._windows.remove(visitor.id, token)

    def left(self, visitor: Visitor, now: float) -> int | None:
        """Images ``visitor`` may still make this hour (``None``: no limit)."""
        if not self.enabled:
            return None
        return max(self.per_hour - self._windows.used(visitor.id, now), 0)

    def frees_at(self, visitor: Visitor, now: float) -> float | None:
        """When the next image frees up, if none is left (``None`` otherwise)."""
        if self.left(visitor, now):
            return None
        return self._windows.frees_at(visitor.id, self.per_hour, 1, now) if self.enabled else None

    def _message(self, visitor: Visitor, samples: int, now: float) -> str:
        per_hour = self.per_hour
        text = (
            f"Visitor limit reached: each visitor may make {images(per_hour)} an hour on this "
            f"app's key; you have {self.left(visitor, now)} left, and this request asks for "
            f"{samples}."
        )
        if samples > per_hour:
            text += f" Ask for {per_hour} or fewer."
        else:
            frees = self._windows.frees_at(visitor.id, per_hour, samples, now)
            text += f" Enough frees up {when(frees, now)}."
        return f"{text} {NOTHING_SPENT}"
