"""``--max-cost`` as a batch spends it: one :class:`realdream.Budget`, a hold per launch.

Every launch holds the estimate of its images at the highest price per image seen (the
contract's until an answer reports more) and settles with the cost the answer reports.
Without a cap nothing is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from realdream import Budget

__all__ = ["Hold", "Spending"]


@dataclass(eq=False)
class Hold:
    """What one launch has set aside: ``amount`` USD for ``images`` images."""

    amount: float
    images: int


class Spending:
    """What a run has spent and holds for its launches in flight, under ``limit`` (``None``:
    counted, never capped). Used from one event loop."""

    def __init__(self, limit: float | None) -> None:
        self.budget = Budget(limit)

    @property
    def limit(self) -> float | None:
        return self.budget.limit

    @property
    def spent(self) -> float:
        return self.budget.spent

    async def reserve(self, images: int) -> Hold | None:
        """Hold the estimate of ``images`` images; ``None`` (nothing held) when it does not
        fit under the cap."""
        amount = self.budget.reserve_images(images)
        return None if amount is None else Hold(amount, images)

    def settle(self, hold: Hold, cost: float | None = None, images: int = 0) -> None:
        """``hold``'s launch cost ``cost`` for ``images`` images (``None``: what it holds, for
        a launch that may have been billed)."""
        self.budget.settle(hold.amount, hold.amount if cost is None else cost, images)

    def release(self, hold: Hold) -> None:
        """``hold``'s launch was certainly not billed."""
        self.settle(hold, 0.0)

    def observe(self, cost: float, images: int) -> None:
        """A price reported outside this run's launches (a job an earlier run submitted)."""
        if images > 0 and cost > 0:
            self.budget.note_price(cost / images)
