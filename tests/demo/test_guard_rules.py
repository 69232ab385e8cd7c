"""The spend guard's rules pinned down one by one (mutation testing found them loose): when it
reads the balance, what counts as paid, what each refusal and log line says, what a visitor is
shown, and the budget's and the visitor hour's edges. On the shipped frozen clock."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone

import pytest

import realdream
from demo._budget import DailyBudget
from demo._guard import Allowance, Guard, was_billed
from demo._ledger import LedgerState, MemoryLedger, utc_day
from demo._refusals import Limit, RefusedError, next_midnight
from demo._settings import GuardSettings
from demo._visitor import Visitor
from demo._visitor_limit import VisitorLimit
from realdream.contract import COST_PER_IMAGE_USD
from realdream.testing.clock import SkipAheadClock

#: 2030-06-01 12:00:00 UTC
NOON = datetime(2030, 6, 1, 12, tzinfo=timezone.utc).timestamp()
PRICE = COST_PER_IMAGE_USD
ALICE = Visitor("addr:aaaaaaaaaaaa")
BOB = Visitor("addr:bbbbbbbbbbbb")
CAROL = Visitor("user:carol", signed_in=True)
PASTE = "Paste your own Segmind key to generate now. Nothing was spent."


class FlakyLedger(MemoryLedger):
    """A memory ledger whose disk can fill up (``full``), and that records every flush."""

    def __init__(self, state: LedgerState | None = None) -> None:
        super().__init__(state)
        self.full = False
        self.flushes: list[float] = []

    def save(self, state: LedgerState) -> None:
        if self.full:
            raise OSError("disk full")
        super().save(state)

    def flush(self, timeout: float) -> None:
        self.flushes.append(timeout)


class Reader:
    """A balance reader that counts its calls; ``None`` in ``balances`` means it fails."""

    def __init__(self, *balances: float | None) -> None:
        self.balances = list(balances)
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        balance = self.balances.pop(0) if self.balances else None
        if balance is None:
            raise realdream.APIConnectionError("refused")
        return balance


def _clock() -> SkipAheadClock:
    return SkipAheadClock(NOON, frozen=True)


def _priced(price: float = PRICE) -> FlakyLedger:
    return FlakyLedger(LedgerState(day=utc_day(NOON), price_usd=price))


def _guard(
    clock: SkipAheadClock | None = None,
    ledger: MemoryLedger | None = None,
    *,
    probe_wait_s: float = 1.0,
    **settings: object,
) -> Guard:
    values: dict[str, object] = {"daily_budget_usd": 1.0, "visitor_images_per_hour": 0}
    values.update(settings)
    return Guard(
        GuardSettings(**values),  # type: ignore[arg-type]
        _priced() if ledger is None else ledger,
        clock=clock or _clock(),
        probe_wait_s=probe_wait_s,
    )


def _refused(guard: Guard, visitor: Visitor, samples: int, reader: Reader | None = None) -> str:
    with pytest.raises(RefusedError) as caught:
        guard.reserve(visitor, samples, reader)
    return f"{caught.value.limit.name}: {caught.value.message}"


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


# --- what counts as paid ------------------------------------------------------------------------
class _MarkedBilledError(Exception):
    """An error marked ``billed`` (an answer after a 200), without saying ``maybe_billed``."""

    billed = True


def test_an_error_marked_billed_counts_as_paid_whatever_its_class() -> None:
    assert was_billed(_MarkedBilledError())
    marked = realdream.BadGatewayError("image host down", status_code=502)
    marked.maybe_billed = True  # what a wait sets on any error after the job completed
    assert was_billed(marked)


def test_an_error_status_of_200_counts_as_paid_even_from_a_class_that_is_not() -> None:
    assert was_billed(realdream.APIStatusError("odd", status_code=200))
    assert not was_billed(realdream.APIStatusError("odd", status_code=402))


def test_a_failed_job_was_not_billed_even_when_its_state_came_with_a_200() -> None:
    failed = realdream.GenerationFailedError("nsfw", status_code=200)
    assert not was_billed(failed)


def test_a_refusal_of_the_guard_itself_was_not_billed() -> None:
    assert not was_billed(RefusedError(Limit.DAILY_BUDGET, "no"))
    assert was_billed(KeyError("something the guard does not know"))


def test_a_reported_cost_that_cannot_be_true_counts_the_reservation_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = _guard()
    reservation = guard.reserve(ALICE, 2)
    with caplog.at_level(logging.WARNING, logger="demo.guard"):
        guard.settle(reservation, math.nan)
    assert guard.spent_today_usd() == pytest.approx(2 * PRICE)
    assert _messages(caplog) == [
        "reported cost refused, the reservation counts instead: "
        "cost=nan: must be a finite number between 0 and 1e+12"
    ]


# --- the log ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("budget", "words"), [(1.0, "$1.00"), (0.0, "no budget")])
def test_each_settlement_is_logged_with_the_days_spend_and_the_budget(
    caplog: pytest.LogCaptureFixture, budget: float, words: str
) -> None:
    guard = _guard(daily_budget_usd=budget)
    guard.settle(guard.reserve(ALICE, 1), 0.0031)
    with caplog.at_level(logging.INFO, logger="demo.guard"):
        guard.settle(guard.reserve(ALICE, 2), 0.0042)
    assert _messages(caplog) == [
        f"spend visitor={ALICE.id} images=2 cost=$0.0042 today=$0.0073 of {words}"
    ]


def test_a_ledger_that_cannot_be_written_refuses_and_says_why_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger = _priced()
    guard = _guard(ledger=ledger)
    ledger.full = True
    with caplog.at_level(logging.ERROR, logger="demo.guard"):
        assert _refused(guard, ALICE, 1).startswith("LEDGER: ")
    assert _messages(caplog) == ["spend ledger cannot be written: disk full"]
    assert guard.open_reservations() == 0


def test_a_settlement_the_ledger_cannot_write_still_counts_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger = _priced()
    guard = _guard(ledger=ledger)
    reservation = guard.reserve(ALICE, 1)
    ledger.full = True
    with caplog.at_level(logging.ERROR, logger="demo.guard"):
        guard.settle(reservation, 0.004)
    assert _messages(caplog) == ["spend ledger cannot be written: disk full"]
    assert guard.spent_today_usd() == pytest.approx(0.004)


def test_a_balance_that_cannot_be_read_is_logged_by_the_kind_of_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = _guard(min_balance_usd=1.0)
    with caplog.at_level(logging.WARNING, logger="demo.guard"):
        _refused(guard, ALICE, 1, Reader(None))
    assert _messages(caplog) == ["could not read the balance: APIConnectionError"]


def test_a_balance_reading_that_cannot_be_true_is_logged_naming_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = _guard(min_balance_usd=1.0)
    with caplog.at_level(logging.WARNING, logger="demo.guard"):
        guard.note_balance("lots")  # type: ignore[arg-type]
    assert _messages(caplog) == [
        "balance reading refused, treated as unknown: "
        "balance='lots': must be a finite number between 0 and 1e+12"
    ]


# --- when the balance is read ---------------------------------------------------------------------
def test_with_a_floor_and_no_balance_known_it_is_read_first_even_for_a_budget_refusal() -> None:
    guard = _guard(min_balance_usd=1.0, daily_budget_usd=PRICE)
    reader = Reader(5.0)
    assert _refused(guard, ALICE, 2, reader).startswith("DAILY_BUDGET: ")
    assert reader.calls == 1
    guard.reserve(ALICE, 1)  # the balance read then is known now: no reader needed


def test_a_refusal_no_reading_can_change_does_not_read_a_stale_balance() -> None:
    clock = _clock()
    guard = _guard(clock, min_balance_usd=1.0, daily_budget_usd=PRICE)
    guard.note_balance(5.0)
    clock.advance(3600)
    reader = Reader(5.0)
    assert _refused(guard, ALICE, 2, reader).startswith("DAILY_BUDGET: ")
    assert reader.calls == 0


def test_a_balance_that_cannot_be_read_is_tried_once_per_request() -> None:
    guard = _guard(min_balance_usd=1.0)
    reader = Reader(None, None)
    assert _refused(guard, ALICE, 1, reader).startswith("BALANCE_FLOOR: ")
    assert reader.calls == 1


def test_a_balance_reading_a_minute_old_is_fresh_and_a_moment_later_stale() -> None:
    clock = _clock()
    guard = _guard(clock, min_balance_usd=1.0)
    guard.note_balance(1.0)
    reader = Reader(2.0)
    clock.advance(60.0)
    assert _refused(guard, ALICE, 1, reader).startswith("BALANCE_FLOOR: ")
    assert reader.calls == 0
    clock.advance(0.5)
    reservation = guard.reserve(ALICE, 3, reader)
    assert reader.calls == 1
    assert (reservation.visitor, reservation.samples) == (ALICE, 3)


# --- the refusals' words --------------------------------------------------------------------------
def test_the_price_check_refusal_says_to_try_again_and_that_nothing_was_spent() -> None:
    guard = _guard(ledger=FlakyLedger(), probe_wait_s=0.0)
    guard.reserve(ALICE, 1)  # the first request finds out the price; the next waits for it
    assert _refused(guard, BOB, 1) == (
        "PRICE_CHECK: This app is still learning what an image costs on its key (the first "
        "request is on its way); try again in a minute. Paste your own Segmind key to generate "
        "now. Nothing was spent."
    )


def test_the_floor_refusal_with_no_balance_known_says_it_cannot_be_read() -> None:
    guard = _guard(min_balance_usd=1.0)
    assert _refused(guard, ALICE, 1) == (
        "BALANCE_FLOOR: Balance floor: the owner keeps a reserve of credits on this app's key, "
        "and the key's balance cannot be read right now, so nothing is spent on it. Try again "
        f"in a minute. {PASTE}"
    )


def test_the_floor_refusal_below_the_floor_says_nothing_can_be_spent_above_it() -> None:
    guard = _guard(min_balance_usd=1.0)
    guard.note_balance(0.5)
    assert _refused(guard, ALICE, 1) == (
        "BALANCE_FLOOR: Balance floor reached: the owner keeps a reserve of credits on this "
        "app's key, and this request ($0.002) would go below it; $0.00 can still be spent above "
        f"it. It lifts when the owner adds credits. {PASTE}"
    )


def test_the_visitor_refusal_for_a_request_that_would_fit_an_empty_hour_says_when() -> None:
    clock = _clock()
    guard = _guard(clock, visitor_images_per_hour=2)
    guard.settle(guard.reserve(ALICE, 1), PRICE)
    assert _refused(guard, ALICE, 2) == (
        "VISITOR_LIMIT: Visitor limit reached: each visitor may make 2 images an hour on this "
        "app's key; you have 1 left, and this request asks for 2. Enough frees up at 13:00 UTC "
        f"(in 1 h). {PASTE}"
    )


def test_the_visitor_refusal_for_more_than_an_hour_allows_says_how_many_to_ask_for() -> None:
    guard = _guard(visitor_images_per_hour=2)
    assert _refused(guard, ALICE, 3) == (
        "VISITOR_LIMIT: Visitor limit reached: each visitor may make 2 images an hour on this "
        f"app's key; you have 2 left, and this request asks for 3. Ask for 2 or fewer. {PASTE}"
    )


# --- what a visitor is shown ----------------------------------------------------------------------
def test_the_allowance_of_a_visitor_who_used_their_hour() -> None:
    clock = _clock()
    guard = _guard(clock, visitor_images_per_hour=2, daily_budget_usd=0.5)
    guard.settle(guard.reserve(ALICE, 1), PRICE)
    clock.advance(600)
    guard.settle(guard.reserve(ALICE, 1), PRICE)
    assert guard.allowance(ALICE) == Allowance(
        images_left=0,
        images_per_hour=2,
        frees_at=NOON + 3600,  # when the first of the two images leaves the hour
        budget_left_usd=pytest.approx(0.5 - 2 * PRICE),  # type: ignore[arg-type]
        budget_usd=0.5,
        resets_at=next_midnight(NOON),
        signed_in_needed=False,
        now=NOON + 600,
    )
    assert guard.allowance(BOB).frees_at is None


def test_the_allowance_without_limits_and_sign_in() -> None:
    guard = _guard(daily_budget_usd=0.0, require_login=True)
    assert guard.allowance(ALICE) == Allowance(
        images_left=None,
        images_per_hour=None,
        frees_at=None,
        budget_left_usd=None,
        budget_usd=None,
        resets_at=next_midnight(NOON),
        signed_in_needed=True,
        now=NOON,
    )
    assert not guard.allowance(CAROL).signed_in_needed
    assert not _guard().allowance(ALICE).signed_in_needed  # no sign-in asked for


def test_a_spent_budget_shows_nothing_left_not_a_crumb() -> None:
    guard = _guard(daily_budget_usd=2 * PRICE)
    guard.settle(guard.reserve(ALICE, 2), 3 * PRICE)  # the service charged more than reserved
    assert guard.allowance(ALICE).budget_left_usd == 0.0


# --- reservations and the ledger ------------------------------------------------------------------
def test_reservations_are_numbered_from_one_with_the_second_they_were_made() -> None:
    clock = _clock()
    guard = _guard(clock)
    first = guard.reserve(ALICE, 1)
    clock.advance(2.5)
    second = guard.reserve(BOB, 1)
    assert (first.id, second.id) == (f"r1-{int(NOON)}", f"r2-{int(NOON + 2.5)}")


def test_flush_waits_on_a_ledger_that_writes_in_the_background_for_as_long_as_asked() -> None:
    ledger = _priced()
    guard = _guard(ledger=ledger)
    guard.flush()
    guard.flush(2.5)
    assert ledger.flushes == [10.0, 2.5]
    plain = Guard(GuardSettings(), MemoryLedger(), clock=_clock())
    plain.flush()  # a ledger with nothing to flush: nothing to wait for


def test_a_settled_or_released_reservation_is_not_ended_twice() -> None:
    guard = _guard()
    reservation = guard.reserve(ALICE, 1)
    guard.settle(reservation, PRICE)
    guard.release(reservation)
    guard.settle(reservation, PRICE)
    assert guard.spent_today_usd() == pytest.approx(PRICE)
    assert reservation.state == "settled"


# --- the daily budget on its own ------------------------------------------------------------------
def _budget(ledger: MemoryLedger | None = None, **settings: object) -> DailyBudget:
    values: dict[str, object] = {"daily_budget_usd": 1.0, "min_balance_usd": 0.5}
    values.update(settings)
    return DailyBudget(GuardSettings(**values), ledger or MemoryLedger(), NOON)  # type: ignore[arg-type]


def test_without_a_new_reading_what_was_paid_comes_off_the_last_balance() -> None:
    budget = _budget()
    budget.note_balance(1.0, NOON)
    budget.open("r1", 2000, NOON)
    budget.settle("r1", 2000, NOON, reported=None, images=1)
    assert budget.state.balance_usd == pytest.approx(0.998)
    budget.note_balance(None, NOON)  # no reading: the balance stays as counted
    assert budget.state.balance_usd == pytest.approx(0.998)
    budget.settle("r2", 1000, NOON, reported=None, images=1, balance=0.75)
    assert budget.state.balance_usd == 0.75  # a reading replaces what was counted


def test_a_balance_counted_down_past_zero_stops_at_zero() -> None:
    budget = _budget()
    budget.note_balance(0.001, NOON)
    budget.settle("r1", 2000, NOON, reported=None, images=1)
    assert budget.state.balance_usd == 0.0


def test_a_cost_reported_for_no_images_tells_no_price() -> None:
    budget = _budget()
    budget.settle("r1", 10_000, NOON, reported=0.01, images=0)
    assert not budget.price_known
    assert budget.price_usd == PRICE
    budget.settle("r2", 10_000, NOON, reported=0.01, images=2)
    assert budget.price_known
    assert budget.price_usd == pytest.approx(0.005)


def test_a_token_ended_twice_or_never_opened_is_no_error() -> None:
    budget = _budget()
    budget.open("r1", 2000, NOON)
    budget.release("r1", NOON)
    budget.release("r1", NOON)
    budget.settle("r9", 0, NOON, reported=None, images=1)
    assert budget.state.open == {}
    assert budget.state.spent == 0


# --- the visitor hour on its own ------------------------------------------------------------------
def test_the_next_image_frees_up_when_the_oldest_leaves_the_hour() -> None:
    limit = VisitorLimit(2)
    limit.add(ALICE, "r1", 1, NOON)
    assert limit.frees_at(ALICE, NOON + 60) is None  # one left: nothing to wait for
    limit.add(ALICE, "r2", 1, NOON + 600)
    assert limit.frees_at(ALICE, NOON + 700) == NOON + 3600
    assert limit.frees_at(BOB, NOON + 700) is None


def test_without_a_visitor_limit_nothing_ever_needs_to_free_up() -> None:
    limit = VisitorLimit(0)
    limit.add(ALICE, "r1", 50, NOON)
    assert limit.left(ALICE, NOON) is None
    assert limit.frees_at(ALICE, NOON) is None
    limit.check(ALICE, 1000, NOON)
