"""The spend guard: every request on the server's key passes through it, whatever sent it.

It glues the rules to the handler, on an injected clock, with no Gradio in sight:

1. **Sign-in** (``require_login``): only signed-in Hugging Face users spend the server's key.
2. **Daily budget** and **balance floor** (:mod:`demo._budget`): before a request is sent its
   images are reserved at the highest price per image seen; a request that does not fit is
   refused. The check and the reservation happen under one lock, so concurrent visitors cannot
   overshoot.
3. **Visitor limit** (:mod:`demo._visitor_limit`): images per visitor over a sliding hour.
4. **The price check**: until a response has reported what an image costs, one request at a
   time is sent on the key; the others wait for its answer (at most ``probe_wait_s``), so a
   service dearer than the contract says is found out before requests run side by side.

A reservation ends in exactly one of two ways: **settled** with the cost the response
reported (anything after an HTTP 200 counts as paid) or **released** when nothing was billed.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import realdream
from demo._budget import DailyBudget
from demo._ledger import BackgroundLedger, FileLedger, Ledger, MemoryLedger, micros, usd
from demo._refusals import (
    Limit,
    RefusedError,
    format_usd,
    ledger_refusal,
    next_midnight,
    sign_in_refusal,
)
from demo._settings import GuardSettings
from demo._visitor import Visitor
from demo._visitor_limit import VisitorLimit
from realdream import contract

__all__ = ["Allowance", "Guard", "Reservation", "was_billed"]

logger = logging.getLogger("demo.guard")

Clock = Callable[[], float]
#: Reads the server key's balance in USD (a free credits check).
BalanceReader = Callable[[], float]
#: How old the last balance reading may be before a floor refusal reads it again.
BALANCE_STALE_S: Final = 60.0
#: How long a request waits for the first answer that tells the price (real seconds).
PROBE_WAIT_S: Final = 120.0


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
        probe_wait_s: float = PROBE_WAIT_S,
    ) -> None:
        self.settings = settings
        self._ledger = _default_ledger(settings) if ledger is None else ledger
        self._clock = clock
        self._probe_wait_s = probe_wait_s
        self._changed = threading.Condition()
        self._budget = DailyBudget(settings, self._ledger, clock())
        self._visitors = VisitorLimit(settings.visitor_images_per_hour)
        self._probe: str | None = None  # the one request in flight while the price is unknown
        self._ids = itertools.count(1)

    # --- reserve, settle, release ----------------------------------------------------------

    def reserve(
        self, visitor: Visitor, samples: int, read_balance: BalanceReader | None = None
    ) -> Reservation:
        """Reserve ``samples`` images for ``visitor``, or raise :class:`RefusedError`.

        ``read_balance`` (free: a credits check) is called, outside the lock, when a floor is
        set and no balance is known yet, and again before a floor refusal whose reading is
        more than a minute old (the owner may have topped up since).
        """
        fresh = read_balance is not None and self._budget.floor_set() and self._balance_unknown()
        if fresh and read_balance is not None:
            self._read_balance(read_balance)
        try:
            return self._reserve(visitor, samples)
        except RefusedError as refusal:
            if fresh or refusal.limit is not Limit.BALANCE_FLOOR or read_balance is None:
                raise
            if not self._balance_stale():
                raise
        self._read_balance(read_balance)
        return self._reserve(visitor, samples)

    def _reserve(self, visitor: Visitor, samples: int) -> Reservation:
        if self.settings.require_login and not visitor.signed_in:
            raise sign_in_refusal()
        with self._changed:
            while True:  # a refusal at today's price stands: the price only ever rises
                now = self._clock()
                amount = self._budget.amount(samples)
                self._budget.check(samples, amount, now)
                self._visitors.check(visitor, samples, now)
                if self._may_start():
                    break
                if not self._changed.wait_for(self._may_start, timeout=self._probe_wait_s):
                    raise RefusedError(Limit.PRICE_CHECK, _price_check_message())
            reservation = Reservation(f"r{next(self._ids)}-{int(now)}", visitor, samples, amount)
            try:
                self._budget.open(reservation.id, amount, now)
            except OSError as exc:
                logger.error("spend ledger cannot be written: %s", exc)
                raise ledger_refusal() from None
            self._visitors.add(visitor, reservation.id, samples, now)
            if not self._budget.price_known:
                self._probe = reservation.id
            return reservation

    def settle(
        self,
        reservation: Reservation,
        cost_usd: float | None,
        balance_usd: float | None = None,
        *,
        images: int | None = None,
    ) -> None:
        """The request was billed ``cost_usd`` for ``images`` images (default: those asked
        for); ``None``, or a cost that cannot be true, counts the reserved amount."""
        reported = _cost(cost_usd)
        paid = reservation.amount if reported is None else micros(reported)
        with self._changed:
            if reservation.state != "open":
                return
            now = self._clock()
            reservation.state = "settled"
            count = reservation.samples if images is None else images
            self._budget.settle(
                reservation.id, paid, now, reported=reported, images=count, balance=balance_usd
            )
            self._ended(reservation)
            logger.info(
                "spend visitor=%s images=%d cost=$%.4f today=$%.4f of %s",
                reservation.visitor.id,
                reservation.samples,
                usd(paid),
                usd(self._budget.state.spent),
                self._budget_words(),
            )

    def release(self, reservation: Reservation) -> None:
        """Nothing was billed: the reservation and the visitor's images are given back."""
        with self._changed:
            if reservation.state != "open":
                return
            reservation.state = "released"
            self._visitors.remove(reservation.visitor, reservation.id)
            self._budget.release(reservation.id, self._clock())
            self._ended(reservation)

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

    # --- the balance ----------------------------------------------------------------------------

    def note_balance(self, balance_usd: float | None) -> None:
        """A balance the API reported outside a generation (a credits check); ``None`` or a
        reading that cannot be true leaves the balance unknown."""
        with self._changed:
            self._budget.note_balance(balance_usd, self._clock())

    def _balance_unknown(self) -> bool:
        with self._changed:
            return self._budget.state.balance_at is None

    def _balance_stale(self) -> bool:
        with self._changed:
            then = self._budget.state.balance_at
            return then is None or self._clock() - then > BALANCE_STALE_S

    def _read_balance(self, read_balance: BalanceReader) -> None:
        try:
            balance = read_balance()
        except Exception as exc:  # the floor then rests on the last reading, if any
            logger.warning("could not read the balance: %s", type(exc).__name__)
            return
        self.note_balance(balance)

    # --- what visitors and the owner see ------------------------------------------------------

    def allowance(self, visitor: Visitor) -> Allowance:
        with self._changed:
            now = self._clock()
            state = self._budget.today(now)
            budget = self.settings.daily_budget_usd or None
            return Allowance(
                images_left=self._visitors.left(visitor, now),
                images_per_hour=self.settings.visitor_images_per_hour or None,
                frees_at=self._visitors.frees_at(visitor, now),
                budget_left_usd=None if budget is None else usd(self._budget.left(state)),
                budget_usd=budget,
                resets_at=next_midnight(now),
                signed_in_needed=self.settings.require_login and not visitor.signed_in,
                now=now,
            )

    def price_usd(self) -> float:
        """What each image is reserved at: the highest price per image seen."""
        with self._changed:
            return self._budget.price_usd

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until the ledger on disk holds every change made so far (tests, shutdown)."""
        flush = getattr(self._ledger, "flush", None)
        if flush is not None:
            flush(timeout)

    def spent_today_usd(self) -> float:
        with self._changed:
            return usd(self._budget.today(self._clock()).spent)

    def open_reservations(self) -> int:
        with self._changed:
            return len(self._budget.state.open)

    # --- the glue -------------------------------------------------------------------------------

    def _may_start(self) -> bool:
        return self._budget.price_known or self._probe is None

    def _ended(self, reservation: Reservation) -> None:
        if self._probe == reservation.id:
            self._probe = None
            self._changed.notify_all()

    def _budget_words(self) -> str:
        budget = self.settings.daily_budget_usd
        return format_usd(budget) if budget > 0 else "no budget"


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


def _default_ledger(settings: GuardSettings) -> Ledger:
    if settings.state_dir is None:
        return MemoryLedger()
    return BackgroundLedger(FileLedger(settings.state_dir))


def _cost(cost_usd: object) -> float | None:
    """A reported cost, or ``None`` when there is none or it cannot be true."""
    if cost_usd is None:
        return None
    try:
        return realdream.parse_amount(cost_usd, field="cost")
    except ValueError as exc:
        logger.warning("reported cost refused, the reservation counts instead: %s", exc)
        return None


def _price_check_message() -> str:
    return (
        "This app is still learning what an image costs on its key (the first request is "
        "on its way); try again in a minute. Paste your own Segmind key to generate now. "
        "Nothing was spent."
    )
