"""The server's spend cap: one :class:`realdream.Budget` for the process, one line per payment.

A request is reserved at the highest price per image seen before it is sent; the reservation
is settled with the cost the service reported once it answered (anything after an HTTP 200
counts as paid), or released when nothing was billed. A refusal says what is left. Every
payment writes one line to the log (stderr: stdout is the MCP channel on stdio).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Final

from realdream import Budget, RealDreamError
from realdream.mcp._errors import ToolError

__all__ = ["DEFAULT_MAX_COST", "SpendCap", "log_to_stderr", "usd"]

#: The cap when none is given: 25 images at the contract's price. Small, because agents loop.
DEFAULT_MAX_COST: Final = 0.05

Log = Callable[[str], object]


def log_to_stderr(line: str) -> None:
    """The default log: one line on stderr (on stdio, stdout carries the protocol)."""
    print(line, file=sys.stderr, flush=True)


def usd(amount: float) -> str:
    """``$0.0020``: dollars to a hundredth of a cent."""
    return f"${amount:.4f}"


class SpendCap:
    """What this server may spend, and the log line each payment writes."""

    def __init__(self, budget: Budget, log: Log) -> None:
        self.budget = budget
        self._log = log

    @property
    def limit(self) -> float | None:
        return self.budget.limit

    def words(self) -> str:
        """``spent $0.0020 of the $0.0500 cap, $0.0480 left`` (or no cap)."""
        spent = usd(self.budget.spent)
        if self.budget.limit is None:
            return f"spent {spent} (no spend cap)"
        left = usd(self.budget.remaining or 0.0)
        return f"spent {spent} of the {usd(self.budget.limit)} cap, {left} left"

    def summary(self) -> dict[str, float | None]:
        """The cap as numbers, for a tool's structured result."""
        return {
            "cap_usd": self.budget.limit,
            "spent_usd": round(self.budget.spent, 6),
            "reserved_usd": round(self.budget.reserved, 6),
            "left_usd": self.budget.remaining,
            "price_per_image_usd": self.budget.price,
        }

    def reserve(self, images: int) -> float:
        """Hold the estimate for ``images``, or raise :class:`ToolError` saying what is left."""
        held = self.budget.reserve_images(images)
        if held is None:
            raise ToolError(self._refusal(images))
        return held

    def settle(self, held: float, cost: float | None, images: int, what: str) -> None:
        """The request was billed ``cost`` (``None``: what was reserved); log the payment."""
        paid = held if cost is None else cost
        self.budget.settle(held, paid, images)
        self._log(f"realdream mcp: paid {usd(paid)} for {what}; {self.words()}")

    def hold(self, held: float, what: str) -> None:
        """Log a request whose bill comes later (a v2 job): what is held for it until then."""
        self._log(
            f"realdream mcp: holding {usd(held)} for {what} until it completes; {self.words()}"
        )

    def release(self, held: float) -> None:
        """Nothing was billed."""
        self.budget.release(held)

    def finish(self, held: float, error: RealDreamError, what: str) -> None:
        """``error`` ended the request: counted as paid when it may have been billed."""
        if error.maybe_billed:
            self.settle(held, None, 0, f"{what} (may have been billed: {type(error).__name__})")
        else:
            self.release(held)

    def _refusal(self, images: int) -> str:
        estimate = usd(self.budget.estimate(images))
        limit = self.budget.limit or 0.0
        left = usd(self.budget.remaining or 0.0)
        count = f"{images} image{'s' if images != 1 else ''}"
        return (
            f"Spend cap reached: this server may spend {usd(limit)} (its --max-cost), "
            f"{usd(self.budget.spent)} is spent and {left} is left; this request ({count}) "
            f"would cost up to {estimate}. Nothing was spent. Ask for fewer images, or ask the "
            "user to restart the server with a higher --max-cost."
        )
