"""``--max-cost`` as a batch spends it: one :class:`realdream.Budget`, a hold per launch.

Every launch holds the estimate of its images at the highest price per image seen (the
contract's until an answer reports more) and settles with the cost the answer reports. The
price is learned only from an answer, so the first wave could otherwise be bought at the
contract's price from a service that charges more: under a cap, launches go one at a time
until an answer has priced an image (a launch that ends unbilled hands the turn to the next).
When the price rises, every hold still in flight is raised to it; if the cap cannot take that,
nothing more is launched. Without a cap nothing waits.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from realdream import Budget

__all__ = ["Hold", "Spending"]


@dataclass(eq=False)
class Hold:
    """What one launch has set aside: ``amount`` USD for ``images`` images."""

    amount: float
    images: int
    #: The launch that prices an image for the rest (under a cap, before any price is known).
    probe: bool = False


class Spending:
    """What a run has spent and holds for its launches in flight, under ``limit`` (``None``:
    counted, never capped). Used from one event loop."""

    def __init__(self, limit: float | None) -> None:
        self.budget = Budget(limit)
        self._priced = limit is None
        self._short = False  # a hold in flight could not be raised to the price: launch no more
        self._open: set[Hold] = set()
        self._no_probe = asyncio.Event()
        self._no_probe.set()

    @property
    def limit(self) -> float | None:
        return self.budget.limit

    @property
    def spent(self) -> float:
        return self.budget.spent

    async def reserve(self, images: int) -> Hold | None:
        """Wait for this launch's turn, then hold the estimate of ``images`` images; ``None``
        (nothing held) when it does not fit under the cap."""
        while not self._priced and not self._no_probe.is_set():
            await self._no_probe.wait()
        if self._short:
            return None
        amount = self.budget.reserve_images(images)
        if amount is None:
            return None
        hold = Hold(amount, images, probe=not self._priced)
        if hold.probe:
            self._no_probe.clear()
        self._open.add(hold)
        return hold

    def settle(self, hold: Hold, cost: float | None = None, images: int = 0) -> None:
        """``hold``'s launch cost ``cost`` for ``images`` images (``None``: what it holds, for
        a launch that may have been billed); an answer with images prices them."""
        self._open.discard(hold)
        before = self.budget.price
        self.budget.settle(hold.amount, hold.amount if cost is None else cost, images)
        if images > 0:
            self._priced = True
        if hold.probe or self._priced:
            self._no_probe.set()
        if self.budget.price > before:
            self._raise_holds()

    def release(self, hold: Hold) -> None:
        """``hold``'s launch was certainly not billed."""
        self.settle(hold, 0.0)

    def observe(self, cost: float, images: int) -> None:
        """A price reported outside this run's launches (a job an earlier run submitted)."""
        if images <= 0 or cost <= 0:
            return
        before = self.budget.price
        self.budget.note_price(cost / images)
        self._priced = True
        self._no_probe.set()
        if self.budget.price > before:
            self._raise_holds()

    def _raise_holds(self) -> None:
        """Hold every launch in flight at the new price, or launch no more."""
        for hold in self._open:
            extra = self.budget.estimate(hold.images) - hold.amount
            if extra <= 0:
                continue
            if self.budget.reserve(extra):
                hold.amount += extra
            else:
                self._short = True
