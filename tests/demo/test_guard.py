"""The spend guard's rules on a frozen clock: budget, visitor hour, floor, sign-in, billing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

import realdream
from demo._guard import Guard, was_billed
from demo._ledger import LedgerState, MemoryLedger, utc_day
from demo._refusals import Limit, RefusedError, format_usd
from demo._settings import GuardSettings
from demo._visitor import Visitor
from realdream.contract import cost
from realdream.testing.clock import SkipAheadClock

PRICE = cost(1)
ALICE = Visitor("addr:aaaaaaaaaaaa")
BOB = Visitor("addr:bbbbbbbbbbbb")
#: 2030-06-01 12:00:00 UTC
NOON = datetime(2030, 6, 1, 12, tzinfo=timezone.utc).timestamp()


def at(moment: float = NOON) -> SkipAheadClock:
    """A clock standing at ``moment`` (a calendar moment the test is about) until advanced."""
    return SkipAheadClock(moment, frozen=True)


def make_guard(
    clock: SkipAheadClock | None = None, ledger: MemoryLedger | None = None, **settings: object
) -> Guard:
    values: dict[str, object] = {"daily_budget_usd": 1.0, "visitor_images_per_hour": 0}
    values.update(settings)
    clock = clock or at()
    return Guard(GuardSettings(**values), ledger or priced(), clock=clock)  # type: ignore[arg-type]


def priced(price: float = PRICE) -> MemoryLedger:
    """A ledger that has seen a response report ``price`` per image: nothing waits for one."""
    return MemoryLedger(LedgerState(day=utc_day(NOON), price_usd=price))


def refusal(call: Callable[[], object]) -> RefusedError:
    with pytest.raises(RefusedError) as caught:
        call()
    return caught.value


def test_the_cost_of_a_request_is_samples_times_the_price() -> None:
    assert cost(4) == pytest.approx(4 * PRICE)


# --- the daily budget ------------------------------------------------------------------------


def test_a_reservation_holds_its_cost_until_it_is_settled_or_released() -> None:
    guard = make_guard(daily_budget_usd=4 * PRICE)
    first = guard.reserve(ALICE, 4)
    assert refusal(lambda: guard.reserve(BOB, 1)).limit is Limit.DAILY_BUDGET
    guard.release(first)
    second = guard.reserve(BOB, 4)
    guard.settle(second, 4 * PRICE)
    assert refusal(lambda: guard.reserve(ALICE, 1)).limit is Limit.DAILY_BUDGET
    assert guard.spent_today_usd() == pytest.approx(4 * PRICE)
    assert guard.open_reservations() == 0


def test_settling_records_the_cost_the_response_reported() -> None:
    guard = make_guard()
    guard.settle(guard.reserve(ALICE, 2), 0.0031)
    assert guard.spent_today_usd() == pytest.approx(0.0031)


def test_a_settlement_without_a_reported_cost_counts_the_reservation() -> None:
    guard = make_guard()
    guard.settle(guard.reserve(ALICE, 3), None)
    assert guard.spent_today_usd() == pytest.approx(3 * PRICE)


def test_settling_or_releasing_twice_changes_nothing() -> None:
    guard = make_guard()
    reservation = guard.reserve(ALICE, 1)
    guard.settle(reservation, PRICE)
    guard.settle(reservation, PRICE)
    guard.release(reservation)
    assert guard.spent_today_usd() == pytest.approx(PRICE)


def test_a_request_over_the_budget_is_refused_saying_what_is_left_and_when_it_resets() -> None:
    clock = at(datetime(2030, 6, 1, 20, 47, 30, tzinfo=timezone.utc).timestamp())
    guard = make_guard(clock, daily_budget_usd=0.01)
    guard.settle(guard.reserve(ALICE, 4), 4 * PRICE)
    refused = refusal(lambda: guard.reserve(BOB, 2))
    assert refused.limit is Limit.DAILY_BUDGET
    assert refused.message.startswith("Daily budget reached: ")
    assert "at most $0.01 a day" in refused.message
    assert "$0.002 is left today" in refused.message
    assert "(2 images) costs $0.004" in refused.message
    assert "resets at 00:00 UTC (in 3 h 13 min)" in refused.message
    assert "Nothing was spent." in refused.message
    assert guard.spent_today_usd() == pytest.approx(4 * PRICE)


def test_fifty_images_fit_a_budget_of_fifty_prices_exactly() -> None:
    guard = make_guard(daily_budget_usd=0.10)  # 0.1 is not exact in binary; the ledger is
    for _ in range(50):
        guard.settle(guard.reserve(ALICE, 1), PRICE)
    assert refusal(lambda: guard.reserve(ALICE, 1)).limit is Limit.DAILY_BUDGET


def test_a_zero_budget_means_no_limit() -> None:
    guard = make_guard(daily_budget_usd=0)
    for _ in range(100):
        guard.settle(guard.reserve(ALICE, 4), 4 * PRICE)
    assert guard.allowance(ALICE).budget_left_usd is None


def test_the_day_is_the_utc_day_and_rolls_over_at_midnight() -> None:
    clock = at(datetime(2030, 6, 1, 23, 59, 59, tzinfo=timezone.utc).timestamp())
    guard = make_guard(clock, daily_budget_usd=4 * PRICE)
    guard.settle(guard.reserve(ALICE, 4), 4 * PRICE)
    assert refusal(lambda: guard.reserve(ALICE, 1)).limit is Limit.DAILY_BUDGET
    clock.advance(1)  # 00:00:00 UTC
    guard.settle(guard.reserve(ALICE, 4), 4 * PRICE)
    assert guard.spent_today_usd() == pytest.approx(4 * PRICE)


def test_a_reservation_open_over_midnight_still_counts_against_the_new_day() -> None:
    clock = at(datetime(2030, 6, 1, 23, 59, 59, tzinfo=timezone.utc).timestamp())
    guard = make_guard(clock, daily_budget_usd=4 * PRICE)
    late = guard.reserve(ALICE, 3)
    clock.advance(2)
    assert refusal(lambda: guard.reserve(BOB, 2)).limit is Limit.DAILY_BUDGET
    guard.settle(late, 3 * PRICE)
    assert guard.spent_today_usd() == pytest.approx(3 * PRICE)


def test_concurrent_reservations_cannot_overshoot_the_budget() -> None:
    guard = make_guard(daily_budget_usd=10 * PRICE)
    start = threading.Barrier(32)
    won: list[bool] = []

    def visitor() -> None:
        start.wait()
        try:
            reservation = guard.reserve(ALICE, 1)
        except RefusedError:
            won.append(False)
            return
        won.append(True)
        guard.settle(reservation, PRICE)

    threads = [threading.Thread(target=visitor) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert won.count(True) == 10
    assert guard.spent_today_usd() == pytest.approx(10 * PRICE)


# --- the visitor limit -----------------------------------------------------------------------


def test_the_visitor_limit_is_a_sliding_hour() -> None:
    clock = at()
    guard = make_guard(clock, visitor_images_per_hour=10)
    guard.settle(guard.reserve(ALICE, 4), None)
    clock.advance(1200)
    guard.settle(guard.reserve(ALICE, 4), None)
    clock.advance(1200)
    guard.settle(guard.reserve(ALICE, 2), None)
    assert refusal(lambda: guard.reserve(ALICE, 1)).limit is Limit.VISITOR_LIMIT
    clock.advance(1199)  # 59:59 after the first 4
    assert refusal(lambda: guard.reserve(ALICE, 1)).limit is Limit.VISITOR_LIMIT
    clock.advance(1)  # an hour after: the first 4 images leave the window
    guard.settle(guard.reserve(ALICE, 4), None)
    assert guard.allowance(ALICE).images_left == 0


def test_a_visitor_limit_refusal_says_what_is_left_and_when_enough_frees_up() -> None:
    clock = at()
    guard = make_guard(clock, visitor_images_per_hour=10)
    guard.settle(guard.reserve(ALICE, 4), None)
    clock.advance(600)
    guard.settle(guard.reserve(ALICE, 4), None)
    refused = refusal(lambda: guard.reserve(ALICE, 4))
    assert refused.message.startswith("Visitor limit reached: each visitor may make 10 images")
    assert "you have 2 left, and this request asks for 4" in refused.message
    assert "Enough frees up at 13:00 UTC (in 50 min)." in refused.message


def test_a_request_larger_than_the_hourly_limit_is_told_to_ask_for_fewer() -> None:
    guard = make_guard(visitor_images_per_hour=2)
    assert "Ask for 2 or fewer." in refusal(lambda: guard.reserve(ALICE, 4)).message


def test_visitors_are_counted_apart() -> None:
    guard = make_guard(visitor_images_per_hour=4)
    guard.settle(guard.reserve(ALICE, 4), None)
    guard.settle(guard.reserve(BOB, 4), None)
    assert refusal(lambda: guard.reserve(ALICE, 1)).limit is Limit.VISITOR_LIMIT


def test_images_that_were_not_billed_do_not_count_for_the_visitor() -> None:
    guard = make_guard(visitor_images_per_hour=4)
    guard.release(guard.reserve(ALICE, 4))
    guard.settle(guard.reserve(ALICE, 4), None)


def test_a_zero_visitor_limit_means_none() -> None:
    guard = make_guard(visitor_images_per_hour=0, daily_budget_usd=0)
    for _ in range(50):
        guard.settle(guard.reserve(ALICE, 4), None)
    assert guard.allowance(ALICE).images_left is None


def test_a_visitor_limit_of_exactly_one_image_an_hour_holds() -> None:
    clock = at()
    guard = make_guard(clock, visitor_images_per_hour=1)
    guard.settle(guard.reserve(ALICE, 1), None)
    refused = refusal(lambda: guard.reserve(ALICE, 1))
    assert refused.limit is Limit.VISITOR_LIMIT
    assert "each visitor may make 1 image an hour" in refused.message
    assert "Ask for 1 or fewer." in refusal(lambda: guard.reserve(BOB, 2)).message
    assert guard.allowance(ALICE).images_left == 0
    clock.advance(3599)
    assert refusal(lambda: guard.reserve(ALICE, 1)).limit is Limit.VISITOR_LIMIT
    guard.reserve(BOB, 1)
    clock.advance(1)  # an hour after Alice's image
    guard.reserve(ALICE, 1)


def test_the_allowance_shows_images_left_budget_left_and_the_reset() -> None:
    guard = make_guard(visitor_images_per_hour=10, daily_budget_usd=0.5)
    guard.settle(guard.reserve(ALICE, 3), 3 * PRICE)
    allowance = guard.allowance(ALICE)
    assert (allowance.images_left, allowance.images_per_hour) == (7, 10)
    assert allowance.budget_left_usd == pytest.approx(0.5 - 3 * PRICE)
    assert allowance.resets_at == datetime(2030, 6, 2, tzinfo=timezone.utc).timestamp()
    assert guard.allowance(BOB).images_left == 10


# --- sign-in ---------------------------------------------------------------------------------


def test_sign_in_required_refuses_anonymous_visitors_and_admits_users() -> None:
    guard = make_guard(require_login=True)
    refused = refusal(lambda: guard.reserve(ALICE, 1))
    assert refused.limit is Limit.SIGN_IN
    assert refused.message.startswith("Sign-in required: ")
    assert "Offline mock" in refused.message
    guard.reserve(Visitor("user:alice", signed_in=True), 1)
    assert guard.allowance(ALICE).signed_in_needed


def test_a_refusal_spends_and_holds_nothing() -> None:
    ledger = MemoryLedger()
    guard = make_guard(ledger=ledger, daily_budget_usd=PRICE, visitor_images_per_hour=1)
    refusal(lambda: guard.reserve(ALICE, 2))
    assert guard.open_reservations() == 0
    assert guard.allowance(ALICE).images_left == 1
    assert ledger.saves == 0


# --- billing: what settles and what releases --------------------------------------------------


def status_error(status: int) -> realdream.APIStatusError:
    return realdream.error_for_status(status, b'{"error": "no"}')


def timed_out(state: str) -> realdream.JobTimeoutError:
    """A v2 wait that reached its deadline with the job last seen in ``state``."""
    job = realdream.Job("job-1", "https://api.example.test/s", "https://api.example.test/r")
    return realdream.JobTimeoutError("deadline", job=job, state=state)


class LateBilledError(Exception):
    """What the core's errors after a 200 will carry (``billed``)."""

    billed = True


@pytest.mark.parametrize(
    ("error", "billed"),
    [
        (status_error(400), False),
        (status_error(406), False),
        (status_error(429), False),
        (status_error(500), False),
        (realdream.APIConnectionError("refused"), False),
        (realdream.APIConnectionError("read timeout", maybe_billed=True), True),
        (realdream.APITimeoutError("read timeout", maybe_billed=True), True),
        (realdream.InvalidResponseError("not an image", status_code=200), True),
        (LateBilledError(), True),
        (timed_out("QUEUED"), True),  # it may yet complete, and be billed
        (timed_out("COMPLETED"), True),  # billed, its images not fetched by the deadline
        (realdream.ValidationError([("samples", "samples=9: too many")]), False),
        (realdream.ConfigurationError("no key"), False),
        (RuntimeError("unknown"), True),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_only_what_may_have_been_billed_settles(error: BaseException, billed: bool) -> None:
    assert was_billed(error) is billed
    guard = make_guard()
    guard.finish(guard.reserve(ALICE, 2), error)
    assert guard.spent_today_usd() == pytest.approx(2 * PRICE if billed else 0.0)
    assert guard.open_reservations() == 0


def test_spending_settles_inside_and_releases_or_settles_on_errors() -> None:
    guard = make_guard()
    with guard.spending(ALICE, 1) as reservation:
        guard.settle(reservation, 0.0015)
    with pytest.raises(realdream.APIStatusError), guard.spending(ALICE, 4):
        raise status_error(502)
    with pytest.raises(realdream.InvalidResponseError), guard.spending(ALICE, 2):
        raise realdream.InvalidResponseError("garbage", status_code=200)
    assert guard.spent_today_usd() == pytest.approx(0.0015 + 2 * PRICE)
    assert guard.open_reservations() == 0


def test_each_settled_spend_is_one_log_line_without_the_address_or_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="demo.guard")
    guard = make_guard()
    guard.settle(guard.reserve(ALICE, 4), 4 * PRICE)
    guard.settle(guard.reserve(Visitor("user:alice", True), 1), PRICE)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("spend ")]
    assert lines == [
        "spend visitor=addr:aaaaaaaaaaaa images=4 cost=$0.0080 today=$0.0080 of $1.00",
        "spend visitor=user:alice images=1 cost=$0.0020 today=$0.0100 of $1.00",
    ]


@pytest.mark.parametrize(
    ("amount", "text"),
    [(1.0, "$1.00"), (0.096, "$0.096"), (0.0025, "$0.0025"), (0, "$0.00"), (1234.5, "$1,234.50")],
)
def test_amounts_read_as_dollars(amount: float, text: str) -> None:
    assert format_usd(amount) == text
