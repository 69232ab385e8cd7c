"""The balance floor: the last balance the API reported, less what is in flight and this
request, must stay above the owner's reserve; a balance that is not known refuses."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

import realdream
from demo._guard import Guard
from demo._ledger import LedgerState, MemoryLedger, utc_day
from demo._refusals import Limit, RefusedError
from demo._settings import GuardSettings
from demo._visitor import Visitor
from realdream.contract import cost
from realdream.testing.clock import SkipAheadClock

PRICE = cost(1)
ALICE = Visitor("addr:aaaaaaaaaaaa")
BOB = Visitor("addr:bbbbbbbbbbbb")
NOON = datetime(2030, 6, 1, 12, tzinfo=timezone.utc).timestamp()


def make_guard(clock: SkipAheadClock | None = None, **settings: object) -> Guard:
    values: dict[str, object] = {"daily_budget_usd": 1.0, "visitor_images_per_hour": 0}
    values.update(settings)
    ledger = MemoryLedger(LedgerState(day=utc_day(NOON), price_usd=PRICE))
    clock = clock or SkipAheadClock(NOON, frozen=True)
    return Guard(GuardSettings(**values), ledger, clock=clock)  # type: ignore[arg-type]


def refusal(call: Callable[[], object]) -> RefusedError:
    with pytest.raises(RefusedError) as caught:
        call()
    return caught.value


def test_the_floor_refuses_what_would_go_below_the_last_reported_balance() -> None:
    guard = make_guard(min_balance_usd=1.0)
    guard.note_balance(1.0 + 4 * PRICE)
    guard.settle(guard.reserve(ALICE, 1), PRICE, balance_usd=1.0 + 3 * PRICE)
    guard.settle(guard.reserve(ALICE, 3), 3 * PRICE, balance_usd=1.0)
    refused = refusal(lambda: guard.reserve(BOB, 1))
    assert refused.limit is Limit.BALANCE_FLOOR
    assert "$0.00 can still be spent above it" in refused.message
    assert "1.0" not in refused.message  # neither the balance nor the floor is shown


def test_the_floor_counts_reservations_in_flight() -> None:
    guard = make_guard(min_balance_usd=1.0)
    guard.note_balance(1.0 + 4 * PRICE)
    guard.reserve(ALICE, 4)
    assert refusal(lambda: guard.reserve(BOB, 1)).limit is Limit.BALANCE_FLOOR


def test_a_zero_floor_still_stops_at_an_empty_account() -> None:
    guard = make_guard()
    guard.note_balance(PRICE)
    guard.reserve(ALICE, 1)
    assert refusal(lambda: guard.reserve(ALICE, 1)).limit is Limit.BALANCE_FLOOR


def test_a_floor_with_no_balance_known_reads_the_balance_first_and_spends_on_it() -> None:
    guard = make_guard(min_balance_usd=1.0)
    reads: list[str] = []

    def read() -> float:
        reads.append("read")
        return 1.0 + PRICE

    guard.reserve(ALICE, 1, read)  # the reading is what lets it through
    assert reads == ["read"]
    refused = refusal(lambda: guard.reserve(BOB, 1, read))  # that reading, less the one in flight
    assert refused.limit is Limit.BALANCE_FLOOR
    assert "$0.00 can still be spent above it" in refused.message
    assert reads == ["read"]  # a fresh reading is not read again


def test_a_balance_read_below_the_floor_refuses_before_anything_is_sent() -> None:
    guard = make_guard(min_balance_usd=1.0)
    refused = refusal(lambda: guard.reserve(ALICE, 1, lambda: 1.0 + PRICE / 2))
    assert refused.limit is Limit.BALANCE_FLOOR
    assert refused.message.startswith("Balance floor reached: ")
    assert guard.open_reservations() == 0


def test_a_floor_refusal_reads_a_stale_balance_again_once() -> None:
    clock = SkipAheadClock(NOON, frozen=True)
    guard = make_guard(clock, min_balance_usd=1.0)
    guard.note_balance(1.0)
    balances = [1.0 + 4 * PRICE]

    def topped_up() -> float:
        return balances.pop()

    assert refusal(lambda: guard.reserve(ALICE, 1, topped_up)).limit is Limit.BALANCE_FLOOR
    assert balances  # a fresh reading is not read again
    clock.advance(61)
    guard.reserve(ALICE, 4, topped_up)
    assert not balances


def offline_balance() -> float:
    raise realdream.APIConnectionError("refused SG_0123456789abcdef")


def test_with_a_floor_a_balance_that_cannot_be_read_refuses_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = make_guard(min_balance_usd=1.0)
    refused = refusal(lambda: guard.reserve(ALICE, 1, offline_balance))
    assert refused.limit is Limit.BALANCE_FLOOR
    assert "balance cannot be read right now" in refused.message
    assert refused.message.endswith("Nothing was spent.")
    assert "could not read the balance: APIConnectionError" in caplog.text
    assert "SG_0123456789abcdef" not in caplog.text


def test_a_balance_that_cannot_be_read_leaves_the_floor_on_the_last_reading() -> None:
    clock = SkipAheadClock(NOON, frozen=True)
    guard = make_guard(clock, min_balance_usd=1.0)
    guard.note_balance(1.0 + 2 * PRICE)
    clock.advance(61)  # stale: a refusal would read again, and the reading fails
    guard.reserve(ALICE, 2, offline_balance)
    assert refusal(lambda: guard.reserve(ALICE, 1, offline_balance)).limit is Limit.BALANCE_FLOOR


@pytest.mark.parametrize(
    "reading",
    [math.nan, math.inf, -math.inf, 1e999, -0.5, "nan", "Infinity", True, None, {"credits": 5}],
    ids=repr,
)
def test_a_balance_reading_that_cannot_be_true_is_unknown_and_the_floor_refuses(
    reading: object,
) -> None:
    guard = make_guard(min_balance_usd=1.0)
    refused = refusal(lambda: guard.reserve(ALICE, 1, lambda: reading))  # type: ignore[arg-type,return-value]
    assert refused.limit is Limit.BALANCE_FLOOR
    assert "balance cannot be read right now" in refused.message
    guard.note_balance(2.0)  # a good reading later lets requests through again
    guard.reserve(ALICE, 1, lambda: reading)  # type: ignore[arg-type,return-value]


def test_a_settlement_with_a_balance_that_cannot_be_true_keeps_the_last_good_one() -> None:
    guard = make_guard(min_balance_usd=1.0)
    guard.note_balance(1.0 + 2 * PRICE)
    guard.settle(guard.reserve(ALICE, 1), PRICE, balance_usd=math.nan)
    guard.settle(guard.reserve(ALICE, 1), math.inf, balance_usd=math.inf)  # cost counts as reserved
    assert guard.spent_today_usd() == pytest.approx(2 * PRICE)
    assert refusal(lambda: guard.reserve(BOB, 1)).limit is Limit.BALANCE_FLOOR
