"""The daily budget and the balance floor on the app's key, kept in the spend ledger.

- **The price.** A request reserves its images at the highest price per image seen: the
  contract's price until a response reports a higher one, then that one. The rule is
  :class:`realdream.Budget`'s, the one every spender uses; the price is kept in the ledger, so
  a restart reserves at it too. A service dearer than the contract says cannot walk today's
  spend past the budget.
- **Daily budget.** A request is started only if today's settled spend, the reservations in
  flight and its own reservation fit in the budget. The day is the UTC day.
- **Balance floor.** Refused when the last balance the API reported, less the reservations in
  flight and this request, would fall below the floor. With a floor set, a balance that is not
  known (never read, unreadable, or a reading that cannot be true) refuses too.

Amounts are integer micro-dollars. Not thread-safe: the guard holds its lock around every call.
"""

from __future__ import annotations

import logging
from typing import Final

import realdream
from demo._ledger import Ledger, LedgerState, micros, usd, utc_day
from demo._refusals import (
    NOTHING_SPENT,
    Limit,
    RefusedError,
    format_usd,
    images,
    next_midnight,
    when,
)
from demo._settings import GuardSettings
from realdream import contract

__all__ = ["DailyBudget"]

logger = logging.getLogger("demo.guard")

#: The price per image before any response has reported one.
CONTRACT_PRICE_USD: Final = contract.COST_PER_IMAGE_USD


class DailyBudget:
    """Today's spend, the reservations in flight, the price per image and the last balance."""

    def __init__(self, settings: GuardSettings, ledger: Ledger, now: float) -> None:
        self.settings = settings
        self._ledger = ledger
        self.state = ledger.load(now)
        # Only its price rule is used: the day's spend lives in the ledger.
        self._prices = realdream.Budget(price=max(self.state.price_usd or 0.0, CONTRACT_PRICE_USD))

    @property
    def price_usd(self) -> float:
        """What each image is reserved at: the highest price per image seen."""
        return self._prices.price

    @property
    def price_known(self) -> bool:
        """Whether a response has reported a price (before that, the contract's is assumed)."""
        return self.state.price_usd is not None

    def amount(self, samples: int) -> int:
        """The reservation for ``samples`` images, in micro-dollars."""
        return micros(self._prices.estimate(samples))

    def today(self, now: float) -> LedgerState:
        self.state.roll_to(utc_day(now))
        return self.state

    def check(self, samples: int, amount: int, now: float) -> None:
        """:class:`RefusedError` when ``amount`` does not fit the budget or the floor."""
        state = self.today(now)
        if self.settings.daily_budget_usd > 0 and amount > self.left(state):
            raise RefusedError(Limit.DAILY_BUDGET, self._budget_message(samples, amount, now))
        if self.floor_set() and state.balance_usd is None:
            raise RefusedError(Limit.BALANCE_FLOOR, _balance_unknown_message())
        room = self._above_floor(state)
        if room is not None and amount > room:
            raise RefusedError(Limit.BALANCE_FLOOR, _floor_message(amount, room))

    def open(self, token: str, amount: int, now: float) -> None:
        """Hold ``amount`` for ``token``; :class:`OSError` (nothing held) if the ledger refuses."""
        state = self.today(now)
        state.open[token] = amount
        try:
            self._ledger.save(state)
        except OSError:
            state.open.pop(token, None)
            raise

    def settle(
        self,
        token: str,
        paid: int,
        now: float,
        *,
        reported: float | None,
        images: int,
        balance: object = None,
    ) -> None:
        """``token`` cost ``paid``; a ``reported`` cost for ``images`` images may raise the
        price, and ``balance`` is the balance the response reported (without one, or with one
        that cannot be true, ``paid`` comes off the last balance known)."""
        state = self.today(now)
        state.open.pop(token, None)
        state.spent += paid
        if reported is not None and images > 0:
            self._prices.settle(0.0, reported, images)
            state.price_usd = self._prices.price
        if not self._note_balance(balance, now) and state.balance_usd is not None:
            # No new reading: what was paid comes off the last one.
            state.balance_usd = max(usd(micros(state.balance_usd) - paid), 0.0)
        self.save_quietly()

    def release(self, token: str, now: float) -> None:
        self.today(now).open.pop(token, None)
        self.save_quietly()

    def note_balance(self, balance: object, now: float) -> None:
        """A balance the API reported; one that cannot be true is logged and left unknown."""
        if self._note_balance(balance, now):
            self.save_quietly()

    def _note_balance(self, balance: object, now: float) -> bool:
        if balance is None:
            return False
        try:
            value = realdream.parse_amount(balance, field="balance")
        except ValueError as exc:
            logger.warning("balance reading refused, treated as unknown: %s", exc)
            return False
        state = self.today(now)
        state.balance_usd, state.balance_at = value, now
        return True

    def floor_set(self) -> bool:
        return self.settings.min_balance_usd > 0

    def left(self, state: LedgerState) -> int:
        """What today's budget still allows, less the reservations in flight (micro-USD)."""
        if state.spend_unknown:
            return 0
        budget = micros(self.settings.daily_budget_usd)
        return max(budget - state.spent - sum(state.open.values()), 0)

    def save_quietly(self) -> None:
        try:
            self._ledger.save(self.state)
        except OSError as exc:  # the money moved anyway: keep counting in memory
            logger.error("spend ledger cannot be written: %s", exc)

    def _above_floor(self, state: LedgerState) -> int | None:
        if state.balance_usd is None:
            return None
        floor = micros(self.settings.min_balance_usd)
        return micros(state.balance_usd) - sum(state.open.values()) - floor

    def _budget_message(self, samples: int, amount: int, now: float) -> str:
        left = format_usd(usd(self.left(self.state)))
        budget = format_usd(self.settings.daily_budget_usd)
        return (
            f"Daily budget reached: this app spends at most {budget} a day on its key, and "
            f"{left} is left today; this request ({images(samples)}) costs "
            f"{format_usd(usd(amount))}. The budget resets {when(next_midnight(now), now)}. "
            f"{NOTHING_SPENT}"
        )


def _floor_message(amount: int, room: int) -> str:
    return (
        "Balance floor reached: the owner keeps a reserve of credits on this app's key, and "
        f"this request ({format_usd(usd(amount))}) would go below it; "
        f"{format_usd(usd(max(room, 0)))} can still be spent above it. It lifts when the owner "
        f"adds credits. {NOTHING_SPENT}"
    )


def _balance_unknown_message() -> str:
    return (
        "Balance floor: the owner keeps a reserve of credits on this app's key, and the key's "
        "balance cannot be read right now, so nothing is spent on it. Try again in a minute. "
        f"{NOTHING_SPENT}"
    )
