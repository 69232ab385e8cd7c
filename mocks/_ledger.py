"""Credits, kept exact in integer micro-dollars: reserve before the latency, debit on 200 only."""

from __future__ import annotations

import threading
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

__all__ = ["MICROS_PER_USD", "Ledger", "format_usd", "to_micros"]

MICROS_PER_USD: Final = 1_000_000


def to_micros(usd: float) -> int:
    """USD as integer micro-dollars, rounded half up (``0.002`` -> ``2000``)."""
    exact = Decimal(str(usd)) * MICROS_PER_USD
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_usd(micros: int) -> str:
    """Micro-dollars as a plain decimal string without trailing zeros (``9998000`` -> ``9.998``)."""
    text = format(Decimal(micros) / MICROS_PER_USD, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class Ledger:
    """One account's balance. Thread-safe; a reservation holds credits until commit or release."""

    def __init__(self, credits_usd: float) -> None:
        self._balance = to_micros(credits_usd)
        self._reserved = 0
        self._lock = threading.Lock()

    @property
    def balance_micros(self) -> int:
        """The balance (reserved credits are still in it until debited)."""
        with self._lock:
            return self._balance

    @property
    def reserved_micros(self) -> int:
        with self._lock:
            return self._reserved

    def reserve(self, micros: int) -> bool:
        """Hold ``micros`` if the unreserved balance covers them; ``False`` if not."""
        with self._lock:
            if self._balance - self._reserved < micros:
                return False
            self._reserved += micros
            return True

    def commit(self, micros: int) -> int:
        """Debit a reservation; the balance afterwards."""
        with self._lock:
            self._reserved -= micros
            self._balance -= micros
            return self._balance

    def release(self, micros: int) -> None:
        """Give a reservation back unbilled."""
        with self._lock:
            self._reserved -= micros

    def set_balance(self, credits_usd: float) -> None:
        with self._lock:
            self._balance = to_micros(credits_usd)
