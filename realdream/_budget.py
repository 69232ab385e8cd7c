"""One spend cap for every spender: the CLI's ``--max-cost``, verify's cap, the live test
plugin's cap, the MCP server's cap, and the price the Space's guard reserves at.

A request is started only if everything spent, everything in flight, and the request's own
estimate together fit in the limit. The estimate is priced at the highest price per image seen:
the contract's price until the server reports or a balance reading measures a higher one. So a
service dearer than it says cannot walk the spend past the cap, and what was spent is counted
as measured, never as announced.
"""

from __future__ import annotations

import threading
from typing import Final

from realdream import contract
from realdream._amounts import parse_amount

__all__ = ["Budget"]

_EPSILON: Final = 1e-9  # costs are sums of floats such as 0.002


class Budget:
    """Tracks what has been spent and what requests in flight may still cost. Thread-safe.

    ``limit=None`` counts without capping. ``price`` is the starting price per image; it only
    ever rises (:meth:`note_price`, or :meth:`settle` with a measured cost).
    """

    def __init__(
        self, limit: float | None = None, price: float = contract.COST_PER_IMAGE_USD
    ) -> None:
        self.limit = None if limit is None else parse_amount(limit, field="limit")
        self._price = parse_amount(price, field="price")
        self._spent = 0.0
        self._reserved = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"Budget(limit={self.limit!r}, spent={self.spent:.6f}, "
            f"reserved={self.reserved:.6f}, price={self.price:.6f})"
        )

    @property
    def price(self) -> float:
        """The highest price per image seen (what each image is reserved at)."""
        return self._price

    @property
    def spent(self) -> float:
        return self._spent

    @property
    def reserved(self) -> float:
        return self._reserved

    @property
    def remaining(self) -> float | None:
        """What is left to start new requests with (``None`` without a limit)."""
        if self.limit is None:
            return None
        return max(0.0, round(self.limit - self._spent - self._reserved, 9))

    def estimate(self, images: int) -> float:
        """What ``images`` more images are expected to cost, at the highest price seen."""
        return contract.cost(images, self._price)

    def allows(self, amount: float) -> bool:
        """Whether ``amount`` more fits in the limit."""
        if self.limit is None:
            return True
        return self._spent + self._reserved + amount <= self.limit + _EPSILON

    def reserve(self, amount: float) -> bool:
        """Set ``amount`` aside for a request; ``False`` (nothing reserved) if it does not fit."""
        with self._lock:
            if not self.allows(amount):
                return False
            self._reserved += amount
            return True

    def reserve_images(self, images: int) -> float | None:
        """Reserve the estimate for ``images``: the amount held, or ``None`` if it does not fit."""
        with self._lock:
            amount = self.estimate(images)
            if not self.allows(amount):
                return None
            self._reserved += amount
            return amount

    def release(self, reserved: float) -> None:
        """A request that reserved ``reserved`` was certainly not billed."""
        self.settle(reserved, 0.0)

    def settle(self, reserved: float, actual: float, images: int = 0) -> None:
        """A request that reserved ``reserved`` cost ``actual`` (measured, or as reported) for
        ``images`` images; the price per image rises to ``actual / images`` if that is higher."""
        actual = parse_amount(actual, field="cost")
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)
            self._spent += actual
            if images > 0 and actual > 0:
                self._price = max(self._price, actual / images)

    def note_price(self, price: float) -> None:
        """A price per image reported or measured elsewhere: reserve at it from now on if higher."""
        price = parse_amount(price, field="price")
        with self._lock:
            self._price = max(self._price, price)
