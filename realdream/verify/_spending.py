"""What ``realdream verify`` may spend, counted against what the balance measured.

The shared :class:`realdream.Budget` holds the cap: each probe that could be billed reserves
its images at the highest price per image seen (the contract's until an answer announces, or
the balance measures, a higher one). Reading the balance is free, so it is read before the
first probe that could spend and after each one; the probe is settled with the drop measured
(never less than what it certainly or possibly cost: a 200's announced cost, or, where nobody
can tell yet, its reservation). A drop that differs from what the answers announced stops the
spending, as does a balance that cannot be read: a cap is only as good as its measurement.
"""

from __future__ import annotations

from typing import Final

from realdream._budget import Budget
from realdream.verify._observations import Bill, Window

__all__ = ["FREE_STRETCH", "Spending", "label", "moved"]

#: The name of the stretch of free probes measured before anything could spend.
FREE_STRETCH: Final = "free probes"


def label(probe: str) -> str:
    """A probe's name in a sentence."""
    return "the free probes" if probe == FREE_STRETCH else f"the {probe} probe"


class Spending:
    """The run's budget, its last balance reading, and every measured stretch."""

    def __init__(self, cap: float) -> None:
        self.budget = Budget(cap)
        self.balance: float | None = None
        self.windows: list[Window] = []
        #: Why spending stopped ("" while it goes on).
        self.stopped = ""
        self._statuses: list[int] = []

    @property
    def spent(self) -> float:
        return round(self.budget.spent, 6)

    def start(self, balance: float | None, answer: str) -> None:
        """The balance before anything could spend (``answer``: the credits call, in words)."""
        self.balance = balance
        if balance is None:
            self.stopped = (
                f"the balance could not be read (the credits call answered {answer}), so what a "
                "probe costs cannot be measured: nothing that could be billed was sent"
            )

    def answered(self, status: int) -> None:
        """A v1 answer: it joins the stretch the next reading measures."""
        self._statuses.append(status)

    def reserve(self, images: int) -> float | None:
        """Hold ``images`` at the highest price seen; ``None``: stopped, or over the cap."""
        return None if self.stopped else self.budget.reserve_images(images)

    def why_not(self, images: int) -> str:
        """Why a probe of ``images`` images was not sent."""
        if self.stopped:
            return f"not sent: spending stopped: {self.stopped}"
        limit = self.budget.limit or 0.0
        return (
            f"over --max-cost: ${self.budget.estimate(images):g} more would pass the "
            f"${limit:g} cap (${self.spent:g} spent)"
        )

    def settle(
        self, probe: str, held: float, bill: Bill, balance: float | None, *, job: bool = False
    ) -> Window:
        """``probe`` (which reserved ``held``) answered ``bill``; ``balance`` was read after it."""
        drop = None if balance is None or self.balance is None else round(self.balance - balance, 6)
        window = Window(probe, tuple(self._statuses), bill, drop, job)
        self._statuses.clear()
        self.windows.append(window)
        actual = _actual(held, bill, drop)
        self.budget.settle(held, actual, bill.images if drop is not None else 0)
        if bill.announced and bill.images:
            self.budget.note_price(bill.announced / bill.images)
        self.balance = balance if balance is not None else self.balance
        self._stop_if_unmeasured(window)
        return window

    def _stop_if_unmeasured(self, window: Window) -> None:
        if self.stopped:
            return
        if window.drop is None:
            self.stopped = (
                f"the balance could not be read after {label(window.probe)}, so what it cost "
                "cannot be measured"
            )
        elif window.matches is False:
            self.stopped = (
                f"the balance {moved(window.drop)} for {label(window.probe)}, which "
                f"{_announced(window.bill)}"
            )


def moved(drop: float) -> str:
    """A balance's drop in words (a negative one rose)."""
    return f"dropped ${drop:g}" if drop >= 0 else f"rose ${-drop:g}"


def _actual(held: float, bill: Bill, drop: float | None) -> float:
    """What to count for a probe: the drop measured, but never less than what it certainly
    cost (a 200's announcement, else its reservation) or may yet cost (its reservation)."""
    if bill.kind == "free":
        floor = 0.0
    elif bill.kind == "billed" and bill.announced is not None:
        floor = bill.announced
    else:
        floor = held
    if drop is None:
        return max(floor, held)
    return max(drop, floor)


def _announced(bill: Bill) -> str:
    if bill.kind == "free":
        return "the contract does not bill"
    return f"announced ${bill.announced or 0:g} ({bill.source})"
