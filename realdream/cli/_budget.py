"""``--max-cost``: the spend of a batch, counted before each launch."""

from __future__ import annotations

from typing import Final

from realdream import contract

__all__ = ["Budget"]

_EPSILON: Final = 1e-9  # costs are sums of floats such as 0.002


class Budget:
    """Tracks what a run has spent and what its requests in flight may still cost.

    An item is launched only if everything spent, everything in flight, and the item's own
    estimate together stay within ``limit`` (``None``: no limit). The estimate starts at the
    contract's price per image and rises to the highest price the server actually charged,
    so a server dearer than the contract says cannot walk the spend past the limit.
    """

    def __init__(
        self, limit: float | None = None, unit_cost: float = contract.COST_PER_IMAGE_USD
    ) -> None:
        self.limit = limit
        self.unit_cost = unit_cost
        self.spent = 0.0
        self.reserved = 0.0

    def estimate(self, images: int) -> float:
        """What ``images`` more images are expected to cost."""
        return contract.cost(images, self.unit_cost)

    def allows(self, amount: float) -> bool:
        """Whether ``amount`` more fits in the limit."""
        if self.limit is None:
            return True
        return self.spent + self.reserved + amount <= self.limit + _EPSILON

    def reserve(self, amount: float) -> bool:
        """Set ``amount`` aside for a launch; ``False`` (nothing reserved) if it does not fit."""
        if not self.allows(amount):
            return False
        self.reserved += amount
        return True

    def settle(self, reserved: float, actual: float, images: int = 0) -> None:
        """A launch that reserved ``reserved`` finished having cost ``actual`` for ``images``."""
        self.reserved = max(0.0, self.reserved - reserved)
        self.spent += actual
        if images > 0 and actual > 0:
            self.unit_cost = max(self.unit_cost, actual / images)
