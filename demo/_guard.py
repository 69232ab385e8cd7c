"""The spend guard: every request on the server's key passes through it, whatever sent it.

Plain rules on an injected clock, with no Gradio in sight:

1. **Sign-in** (``require_login``): only signed-in Hugging Face users spend the server's key.
2. **Daily budget**: before a request is sent its cost is reserved; a request that would take
   today's settled spend plus the reservations in flight past the budget is refused. The check
   and the reservation happen under one lock, so concurrent visitors cannot overshoot. The day
   is the UTC day.
3. **Balance floor**: refused when the last balance the API reported, less the reservations in
   flight and this request, would fall below the floor.
4. **Visitor limit**: images per visitor over a sliding hour.

A reservation ends in exactly one of two ways: **settled** with the cost the response
reported (anything after an HTTP 200 counts as paid) or **released** when nothing was billed.
"""

from __future__ import annotations

import enum
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final

import realdream
from demo._hourly import HourlyWindows
from demo._ledger import (
    BackgroundLedger,
    FileLedger,
    Ledger,
    LedgerState,
    MemoryLedger,
    micros,
    usd,
    utc_day,
)
from demo._settings import GuardSettings
from demo._visitor import Visitor
from realdream import contract

__all__ = [
    "Allowance",
    "Guard",
    "Limit",
    "RefusedError",
    "Reservation",
    "cost",
    "format_usd",
    "was_billed",
]

logger = logging.getLogger("demo.guard")

Clock = Callable[[], float]
#: Reads the server key's balance in USD (a free credits check).
BalanceReader = Callable[[], float]
#: How old the last balance reading may be before a floor refusal reads it again.
BALANCE_STALE_S: Final = 60.0
HOUR_S: Final = 3600.0


def cost(samples: int) -> float:
    """What a request for ``samples`` images costs, in USD: the core's price per image."""
    return contract.cost(samples)


class Limit(enum.Enum):
    """Which rule refused a request."""

    SIGN_IN = "sign-in required"
    DAILY_BUDGET = "daily budget"
    BALANCE_FLOOR = "balance floor"
    VISITOR_LIMIT = "visitor limit"
    LEDGER = "spend ledger unavailable"


class RefusedError(Exception):
    """A request the guard refused before anything was sent: ``message`` is for the visitor."""

    def __init__(self, limit: Limit, message: str) -> None:
        self.limit = limit
        self.message = message
        super().__init__(message)


@dataclass
class Reservation:
    """One request's reserved cost; ``state`` is ``open``, ``settled`` or ``released``."""

    id: str
    visitor: Visitor
    samples: int
    amount: int  # micro-USD
    state: str = "open"


@dataclass(frozen=True)
class Allowance:
    """What a visitor may still spend on the server's key (``None``: no such limit)."""

    images_left: int | None
    images_per_hour: int | None
    frees_at: float | None  # when the next image frees up, if none is left
    budget_left_usd: float | None
    budget_usd: float | None
    resets_at: float  # the next UTC midnight
    signed_in_needed: bool = False
    now: float = 0.0  # when this was read


class Guard:
    """The limits of :class:`GuardSettings`, applied to reservations. Thread-safe.

    The ledger defaults to ``<settings.state_dir>/ledger.json``, written in the background
    (in memory without a state folder).
    """

    def __init__(
        self,
        settings: GuardSettings,
        ledger: Ledger | None = None,
        *,
        clock: Clock = time.time,
    ) -> None:
        self.settings = settings
        if ledger is None:
            state_dir = settings.state_dir
            ledger = MemoryLedger()
            if state_dir is not None:
                ledger = BackgroundLedger(FileLedger(state_dir))
        self._ledger = ledger
        self._clock = clock
        self._lock = threading.Lock()
        self._state = self._ledger.load(clock())
        self._hourly = HourlyWindows(HOUR_S)
        self._ids = itertools.count(1)

    # --- reserve, settle, release ----------------------------------------------------------

    def reserve(
        self, visitor: Visitor, samples: int, read_balance: BalanceReader | None = None
    ) -> Reservation:
        """Reserve the cost of ``samples`` images for ``visitor``, or raise :class:`RefusedError`.

        ``read_balance`` (free: a credits check) is called, outside the lock, when a floor is
        set and no balance is known yet, and again before a floor refusal whose reading is
        more than a minute old (the owner may have topped up since).
        """
        if read_balance is not None and self._floor_set() and self._balance_at() is None:
            self._read_balance(read_balance)
        try:
            return self._reserve(visitor, samples)
        except RefusedError as refusal:
            stale = now_minus(self._clock(), self._balance_at()) > BALANCE_STALE_S
            if refusal.limit is not Limit.BALANCE_FLOOR or read_balance is None or not stale:
                raise
        self._read_balance(read_balance)
        return self._reserve(visitor, samples)

    def _reserve(self, visitor: Visitor, samples: int) -> Reservation:
        amount = micros(cost(samples))
        with self._lock:
            now = self._clock()
            state = self._today(now)
            self._check(visitor, samples, amount, state, now)
            reservation = Reservation(f"r{next(self._ids)}-{int(now)}", visitor, samples, amount)
            state.open[reservation.id] = amount
            if self.settings.visitor_images_per_hour > 0:
                self._hourly.add(visitor.id, reservation.id, samples, now)
            try:
                self._ledger.save(state)
            except OSError as exc:
                self._forget(reservation)
                logger.error("spend ledger cannot be written: %s", exc)
                raise RefusedError(Limit.LEDGER, _ledger_message()) from None
            return reservation

    def settle(
        self, reservation: Reservation, cost_usd: float | None, balance_usd: float | None = None
    ) -> None:
        """The request was billed ``cost_usd`` (``None``: the reserved amount)."""
        paid = reservation.amount if cost_usd is None else micros(max(cost_usd, 0.0))
        with self._lock:
            if reservation.state != "open":
                return
            now = self._clock()
            state = self._today(now)
            reservation.state = "settled"
            state.open.pop(reservation.id, None)
            state.spent += paid
            if balance_usd is not None:
                state.balance_usd, state.balance_at = balance_usd, now
            self._save_quietly(state)
            logger.info(
                "spend visitor=%s images=%d cost=$%.4f today=$%.4f of %s",
                reservation.visitor.id,
                reservation.samples,
                usd(paid),
                usd(state.spent),
                self._budget_words(),
            )

    def release(self, reservation: Reservation) -> None:
        """Nothing was billed: the reservation and the visitor's images are given back."""
        with self._lock:
            if reservation.state != "open":
                return
            reservation.state = "released"
            self._forget(reservation)
            self._save_quietly(self._today(self._clock()))

    def finish(self, reservation: Reservation, error: BaseException) -> None:
        """``error`` ended the request: settle if it may have been billed, else release."""
        if was_billed(error):
            self.settle(reservation, None)
        else:
            self.release(reservation)

    @contextmanager
    def spending(
        self, visitor: Visitor, samples: int, read_balance: BalanceReader | None = None
    ) -> Iterator[Reservation]:
        """Reserve around a call: settle it inside (``guard.settle(r, result.cost, ...)``);
        an exception settles or releases it by :func:`was_billed`; a block that returns
        without settling counts as paid in full."""
        reservation = self.reserve(visitor, samples, read_balance)
        try:
            yield reservation
        except BaseException as exc:
            self.finish(reservation, exc)
            raise
        self.settle(reservation, None)

    # --- what visitors and the owner see ------------------------------------------------------

    def note_balance(self, balance_usd: float) -> None:
        """A balance the API reported outside a generation (a credits check)."""
        with self._lock:
            now = self._clock()
            state = self._today(now)
            state.balance_usd, state.balance_at = balance_usd, now
            self._save_quietly(state)

    def _floor_set(self) -> bool:
        return self.settings.min_balance_usd > 0

    def _balance_at(self) -> float | None:
        with self._lock:
            return self._state.balance_at

    def _read_balance(self, read_balance: BalanceReader) -> None:
        try:
            balance = read_balance()
        except Exception as exc:  # the floor then rests on the last reading, if any
            logger.warning("could not read the balance: %s", type(exc).__name__)
            return
        self.note_balance(balance)

    def allowance(self, visitor: Visitor) -> Allowance:
        with self._lock:
            now = self._clock()
            state = self._today(now)
            per_hour = self.settings.visitor_images_per_hour or None
            left = frees = None
            if per_hour is not None:
                left = max(per_hour - self._hourly.used(visitor.id, now), 0)
                frees = self._hourly.frees_at(visitor.id, per_hour, 1, now) if not left else None
            budget = self.settings.daily_budget_usd or None
            return Allowance(
                images_left=left,
                images_per_hour=per_hour,
                frees_at=frees,
                budget_left_usd=None if budget is None else usd(self._budget_left(state)),
                budget_usd=budget,
                resets_at=_next_midnight(now),
                signed_in_needed=self.settings.require_login and not visitor.signed_in,
                now=now,
            )

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until the ledger on disk holds every change made so far (tests, shutdown)."""
        flush = getattr(self._ledger, "flush", None)
        if flush is not None:
            flush(timeout)

    def spent_today_usd(self) -> float:
        with self._lock:
            return usd(self._today(self._clock()).spent)

    def open_reservations(self) -> int:
        with self._lock:
            return len(self._state.open)

    # --- the rules ------------------------------------------------------------------------------

    def _check(
        self, visitor: Visitor, samples: int, amount: int, state: LedgerState, now: float
    ) -> None:
        if self.settings.require_login and not visitor.signed_in:
            raise RefusedError(Limit.SIGN_IN, _sign_in_message())
        if self.settings.daily_budget_usd > 0 and amount > self._budget_left(state):
            message = self._budget_message(state, samples, amount, now)
            raise RefusedError(Limit.DAILY_BUDGET, message)
        if self._below_floor(state, amount):
            raise RefusedError(Limit.BALANCE_FLOOR, self._floor_message(state, amount))
        per_hour = self.settings.visitor_images_per_hour
        if per_hour > 0 and self._hourly.used(visitor.id, now) + samples > per_hour:
            raise RefusedError(Limit.VISITOR_LIMIT, self._visitor_message(visitor, samples, now))

    def _budget_left(self, state: LedgerState) -> int:
        if state.spend_unknown:
            return 0
        budget = micros(self.settings.daily_budget_usd)
        return max(budget - state.spent - sum(state.open.values()), 0)

    def _above_floor(self, state: LedgerState) -> int | None:
        if state.balance_usd is None:
            return None
        floor = micros(self.settings.min_balance_usd)
        return micros(state.balance_usd) - sum(state.open.values()) - floor

    def _below_floor(self, state: LedgerState, amount: int) -> bool:
        room = self._above_floor(state)
        return room is not None and amount > room

    def _today(self, now: float) -> LedgerState:
        self._state.roll_to(utc_day(now))
        return self._state

    def _forget(self, reservation: Reservation) -> None:
        self._state.open.pop(reservation.id, None)
        self._hourly.remove(reservation.visitor.id, reservation.id)

    def _save_quietly(self, state: LedgerState) -> None:
        try:
            self._ledger.save(state)
        except OSError as exc:  # the money moved anyway: keep counting in memory
            logger.error("spend ledger cannot be written: %s", exc)

    def _budget_words(self) -> str:
        budget = self.settings.daily_budget_usd
        return format_usd(budget) if budget > 0 else "no budget"

    # --- refusal messages -----------------------------------------------------------------------

    def _budget_message(self, state: LedgerState, samples: int, amount: int, now: float) -> str:
        left = format_usd(usd(self._budget_left(state)))
        budget = format_usd(self.settings.daily_budget_usd)
        return (
            f"Daily budget reached: this app spends at most {budget} a day on its key, and "
            f"{left} is left today; this request ({_images(samples)}) costs "
            f"{format_usd(usd(amount))}. The budget resets {_when(_next_midnight(now), now)}. "
            "Paste your own Segmind key to generate now. Nothing was spent."
        )

    def _floor_message(self, state: LedgerState, amount: int) -> str:
        room = max(self._above_floor(state) or 0, 0)
        return (
            "Balance floor reached: the owner keeps a reserve of credits on this app's key, and "
            f"this request ({format_usd(usd(amount))}) would go below it; "
            f"{format_usd(usd(room))} can still be spent above it. It lifts when the owner adds "
            "credits. Paste your own Segmind key to generate now. Nothing was spent."
        )

    def _visitor_message(self, visitor: Visitor, samples: int, now: float) -> str:
        per_hour = self.settings.visitor_images_per_hour
        left = max(per_hour - self._hourly.used(visitor.id, now), 0)
        text = (
            f"Visitor limit reached: each visitor may make {_images(per_hour)} an hour on this "
            f"app's key; you have {left} left, and this request asks for {samples}."
        )
        if samples > per_hour:
            text += f" Ask for {per_hour} or fewer."
        else:
            frees = self._hourly.frees_at(visitor.id, per_hour, samples, now)
            text += f" Enough frees up {_when(frees, now)}."
        return f"{text} Paste your own Segmind key to generate now. Nothing was spent."


def was_billed(error: BaseException) -> bool:
    """Whether a request that ended in ``error`` may have been billed.

    Only HTTP 200 is billed, so any HTTP error status and any failure before the request was
    sent release the reservation. Anything after a 200 counts as paid (an unreadable body, or
    an error the core marks ``billed``), and so does a connection lost after sending
    (``maybe_billed``) and any error this function does not know (the safe reading). A v2 job
    that ended FAILED was not billed, even when its state came with HTTP 200; one that may
    still complete (a wait that timed out, a poll that failed) says ``maybe_billed``.
    """
    if getattr(error, "billed", False) or getattr(error, "maybe_billed", False):
        return True
    if isinstance(error, realdream.GenerationFailedError):
        return False
    if getattr(error, "status_code", None) in contract.BILLED_STATUSES:
        return True
    not_billed = (
        realdream.APIStatusError,
        realdream.APIConnectionError,
        realdream.ValidationError,
        realdream.ConfigurationError,
        RefusedError,
    )
    return not isinstance(error, not_billed)


def format_usd(amount: float) -> str:
    """``$1.00``, ``$0.096``, ``$0.0025``: cents always, more digits only when they matter."""
    text = f"{amount:,.4f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def now_minus(now: float, then: float | None) -> float:
    """Seconds since ``then``; infinite when there was no ``then``."""
    return math.inf if then is None else now - then


def _images(count: int) -> str:
    return f"{count} image{'s' if count != 1 else ''}"


def _next_midnight(now: float) -> float:
    moment = datetime.fromtimestamp(now, timezone.utc)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight + timedelta(days=1)).timestamp()


def _when(at: float, now: float) -> str:
    """``at 00:00 UTC (in 3 h 12 min)``."""
    clock = datetime.fromtimestamp(at, timezone.utc).strftime("%H:%M")
    return f"at {clock} UTC (in {duration(at - now)})"


def duration(seconds: float) -> str:
    """``3 h 12 min``, ``12 min``, ``under a minute``."""
    minutes = math.ceil(max(seconds, 0) / 60)
    if minutes <= 0:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _sign_in_message() -> str:
    return (
        "Sign-in required: this app's Segmind key is for signed-in Hugging Face users. Sign in "
        "with the button at the top of the page, paste your own Segmind key, or tick "
        '"Offline mock" for free placeholder images. Nothing was spent.'
    )


def _ledger_message() -> str:
    return (
        "This app cannot record what it spends right now, so its key is paused. Paste your own "
        "Segmind key to generate, or try again later. Nothing was spent."
    )
