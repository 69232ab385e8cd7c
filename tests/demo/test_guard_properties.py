"""Property: whatever the interleaving of requests, costs and outcomes, and whatever the service
really charges per image (the contract's price, or 2.5 times it), every reservation ends
settled or released, and the spend of a UTC day passes the budget only by what requests started
before any answer had told the price cost beyond their reservation. With a service that charges
the contract's price, or once an answer has told the real one, it never passes the budget."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

import realdream
from demo._guard import Guard, Reservation
from demo._ledger import MemoryLedger, micros, utc_day
from demo._refusals import RefusedError
from demo._settings import GuardSettings
from demo._visitor import Visitor
from realdream.contract import cost
from realdream.testing.clock import SkipAheadClock

START = datetime(2030, 6, 1, 22, tzinfo=timezone.utc).timestamp()  # two hours to midnight
VISITORS = [Visitor(f"addr:{n:012d}") for n in range(3)]

#: How a request ends: what the guard is told, and whether it was billed.
OUTCOMES = st.one_of(
    st.tuples(st.just("paid"), st.floats(0.0, 1.0)),  # HTTP 200: that share of the images came
    st.tuples(st.just("status"), st.sampled_from([400, 401, 406, 429, 500, 502, 504])),
    st.tuples(st.just("connection"), st.booleans()),  # maybe_billed or not
    st.tuples(st.just("unreadable"), st.just(200)),
    st.tuples(st.just("crash"), st.none()),
)


class GuardMachine(RuleBasedStateMachine):
    reservations = Bundle("reservations")

    @initialize(
        budget_prices=st.integers(1, 40),
        per_hour=st.sampled_from([0, 1, 4, 10]),
        dearer=st.sampled_from([1.0, 2.5]),
    )
    def start(self, budget_prices: int, per_hour: int, dearer: float) -> None:
        self.budget = micros(budget_prices * cost(1))
        self.price = dearer * cost(1)  # what the service really bills per image
        self.clock = SkipAheadClock(START, frozen=True)
        settings = GuardSettings(
            daily_budget_usd=budget_prices * cost(1), visitor_images_per_hour=per_hour
        )
        # One thread: a request that would wait for the first answer is refused at once.
        self.guard = Guard(settings, MemoryLedger(), clock=self.clock, probe_wait_s=0)
        self.counted: defaultdict[str, int] = defaultdict(int)  # what the guard must count
        self.billed: defaultdict[str, int] = defaultdict(int)  # the service's own ledger
        self.unpriced: defaultdict[str, int] = defaultdict(int)  # billed past the reservation
        self.told = False  # whether an answer has reported the price
        self.open: dict[str, Reservation] = {}
        self.ended: list[Reservation] = []

    @rule(target=reservations, visitor=st.sampled_from(VISITORS), samples=st.integers(1, 4))
    def reserve(self, visitor: Visitor, samples: int) -> Reservation | None:
        try:
            reservation = self.guard.reserve(visitor, samples)
        except RefusedError:
            return None
        if self.told:  # once an answer told the price, every request is reserved at it
            assert reservation.amount == micros(cost(samples, self.price))
        self.open[reservation.id] = reservation
        return reservation

    @rule(reservation=consumes(reservations), outcome=OUTCOMES)
    def end(self, reservation: Reservation | None, outcome: tuple[str, object]) -> None:
        if reservation is None:
            return
        kind, detail = outcome
        day = utc_day(self.clock.now)
        if kind == "paid":  # the answer reports what it billed
            images = round(reservation.samples * float(detail))  # type: ignore[arg-type]
            self.guard.settle(reservation, images * self.price, images=images)
            self._billed(day, reservation, micros(images * self.price), counted=None)
            self.told = self.told or images > 0
        else:
            self.guard.finish(reservation, _error(kind, detail))
            if kind in ("unreadable", "crash") or (kind == "connection" and detail):
                billed = micros(reservation.samples * self.price)  # and no answer said so
                self._billed(day, reservation, billed, counted=reservation.amount)
        self.open.pop(reservation.id, None)
        self.ended.append(reservation)

    def _billed(self, day: str, reservation: Reservation, billed: int, counted: int | None) -> None:
        self.billed[day] += billed
        self.counted[day] += billed if counted is None else counted
        self.unpriced[day] += max(billed - reservation.amount, 0)

    @rule(seconds=st.floats(0, 5400))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def only_requests_started_before_the_price_was_told_pass_the_budget(self) -> None:
        for day, billed in self.billed.items():
            assert billed <= self.budget + self.unpriced[day]
        if self.price == cost(1):
            assert not any(self.unpriced.values())

    @invariant()
    def at_most_one_request_reserved_below_the_real_price_is_in_flight(self) -> None:
        below = [r for r in self.open.values() if r.amount < micros(cost(r.samples, self.price))]
        assert len(below) <= 1

    @invariant()
    def the_guard_counts_what_was_reported_or_else_the_reservation(self) -> None:
        today = micros(self.guard.spent_today_usd())
        assert today == self.counted[utc_day(self.clock.now)]

    @invariant()
    def open_reservations_are_exactly_those_not_ended(self) -> None:
        assert self.guard.open_reservations() == len(self.open)
        assert all(r.state in ("settled", "released") for r in self.ended)

    def teardown(self) -> None:
        # The app ends every request it starts; once they have ended nothing is held.
        for reservation in list(self.open.values()):
            self.end(reservation, ("status", 503))
        assert self.guard.open_reservations() == 0
        assert all(r.state in ("settled", "released") for r in self.ended)


def _error(kind: str, detail: object) -> BaseException:
    if kind == "status":
        return realdream.error_for_status(int(detail), b'{"error": "no"}')  # type: ignore[call-overload]
    if kind == "connection":
        return realdream.APIConnectionError("lost", maybe_billed=bool(detail))
    if kind == "unreadable":
        return realdream.InvalidResponseError("not an image", status_code=200)
    return RuntimeError("unexpected")


TestGuardMachine = GuardMachine.TestCase
