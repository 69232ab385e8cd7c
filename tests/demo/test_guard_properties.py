"""Property: whatever the interleaving of requests, costs and outcomes, the settled spend of a
UTC day never passes the budget, and every reservation ends settled or released."""

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
from demo._guard import Guard, RefusedError, Reservation, cost
from demo._ledger import MemoryLedger, micros, utc_day
from demo._settings import GuardSettings
from demo._visitor import Visitor

START = datetime(2030, 6, 1, 22, tzinfo=timezone.utc).timestamp()  # two hours to midnight
VISITORS = [Visitor(f"addr:{n:012d}") for n in range(3)]

#: How a request ends: what the guard is told, and whether it was billed.
OUTCOMES = st.one_of(
    st.tuples(st.just("paid"), st.floats(0.0, 1.0)),  # HTTP 200, any cost up to the reserved
    st.tuples(st.just("status"), st.sampled_from([400, 401, 406, 429, 500, 502, 504])),
    st.tuples(st.just("connection"), st.booleans()),  # maybe_billed or not
    st.tuples(st.just("unreadable"), st.just(200)),
    st.tuples(st.just("crash"), st.none()),
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class GuardMachine(RuleBasedStateMachine):
    reservations = Bundle("reservations")

    @initialize(
        budget_prices=st.integers(1, 40),
        per_hour=st.sampled_from([0, 1, 4, 10]),
    )
    def start(self, budget_prices: int, per_hour: int) -> None:
        self.budget = micros(budget_prices * cost(1))
        self.clock = Clock()
        settings = GuardSettings(
            daily_budget_usd=budget_prices * cost(1), visitor_images_per_hour=per_hour
        )
        self.guard = Guard(settings, MemoryLedger(), clock=self.clock)
        self.settled: defaultdict[str, int] = defaultdict(int)  # micro-USD per UTC day
        self.open: dict[str, Reservation] = {}
        self.ended: list[Reservation] = []

    @rule(target=reservations, visitor=st.sampled_from(VISITORS), samples=st.integers(1, 4))
    def reserve(self, visitor: Visitor, samples: int) -> Reservation | None:
        try:
            reservation = self.guard.reserve(visitor, samples)
        except RefusedError:
            return None
        self.open[reservation.id] = reservation
        return reservation

    @rule(reservation=consumes(reservations), outcome=OUTCOMES)
    def end(self, reservation: Reservation | None, outcome: tuple[str, object]) -> None:
        if reservation is None:
            return
        kind, detail = outcome
        day = utc_day(self.clock.now)
        if kind == "paid":
            paid = reservation.amount * float(detail)  # type: ignore[arg-type]
            self.guard.settle(reservation, paid / 1_000_000)
            self.settled[day] += micros(paid / 1_000_000)
        else:
            error = _error(kind, detail)
            self.guard.finish(reservation, error)
            if kind in ("unreadable", "crash") or (kind == "connection" and detail):
                self.settled[day] += reservation.amount
        self.open.pop(reservation.id, None)
        self.ended.append(reservation)

    @rule(seconds=st.floats(0, 5400))
    def wait(self, seconds: float) -> None:
        self.clock.now += seconds

    @invariant()
    def the_settled_spend_of_every_day_is_within_the_budget(self) -> None:
        assert all(spent <= self.budget for spent in self.settled.values())
        today = micros(self.guard.spent_today_usd())
        assert today == self.settled[utc_day(self.clock.now)]

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
