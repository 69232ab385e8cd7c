"""The price a request is reserved at: the highest price per image seen, learned from the first
answer before requests run side by side, and kept in the ledger."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from demo._guard import Guard
from demo._ledger import FileLedger, LedgerState, MemoryLedger, micros, usd, utc_day
from demo._refusals import Limit, RefusedError
from demo._settings import GuardSettings
from demo._visitor import Visitor
from realdream.contract import COST_PER_IMAGE_USD, cost
from realdream.testing.clock import SkipAheadClock

PRICE = COST_PER_IMAGE_USD
DEARER = 2.5 * PRICE  # what the stand-in service really bills per image
ALICE = Visitor("addr:aaaaaaaaaaaa")
NOON = datetime(2030, 6, 1, 12, tzinfo=timezone.utc).timestamp()


def make_guard(
    budget: float, ledger: MemoryLedger | FileLedger | None = None, **options: float
) -> Guard:
    settings = GuardSettings(daily_budget_usd=budget, visitor_images_per_hour=0)
    clock = SkipAheadClock(NOON, frozen=True)
    return Guard(settings, ledger or MemoryLedger(), clock=clock, **options)


def refusal(call: Callable[[], object]) -> RefusedError:
    with pytest.raises(RefusedError) as caught:
        call()
    return caught.value


def test_requests_are_reserved_at_the_contract_price_until_a_response_reports_more() -> None:
    guard = make_guard(budget=1.0)
    first = guard.reserve(ALICE, 2)
    assert usd(first.amount) == pytest.approx(cost(2))
    guard.settle(first, 2 * DEARER)
    assert guard.price_usd() == pytest.approx(DEARER)
    assert usd(guard.reserve(ALICE, 4).amount) == pytest.approx(4 * DEARER)


def test_a_cheaper_answer_never_lowers_the_price() -> None:
    guard = make_guard(budget=1.0)
    guard.settle(guard.reserve(ALICE, 1), DEARER)
    guard.settle(guard.reserve(ALICE, 4), 4 * PRICE)
    guard.settle(guard.reserve(ALICE, 1), 0.0)
    assert guard.price_usd() == pytest.approx(DEARER)


def test_the_price_is_per_image_of_what_came_back() -> None:
    guard = make_guard(budget=1.0)
    guard.settle(guard.reserve(ALICE, 4), 2 * DEARER, images=2)  # two of four came back
    assert guard.price_usd() == pytest.approx(DEARER)


def test_a_request_that_does_not_fit_at_the_highest_price_is_not_started() -> None:
    guard = make_guard(budget=10 * DEARER)
    guard.settle(guard.reserve(ALICE, 1), DEARER)
    for _ in range(2):
        guard.settle(guard.reserve(ALICE, 4), 4 * DEARER)
    refused = refusal(lambda: guard.reserve(ALICE, 2))  # 1 image is left at the real price
    assert refused.limit is Limit.DAILY_BUDGET
    assert "costs $0.01." in refused.message  # 2 images at $0.005
    guard.settle(guard.reserve(ALICE, 1), DEARER)
    assert guard.spent_today_usd() == pytest.approx(10 * DEARER)


def test_a_restart_reserves_at_the_price_the_ledger_kept(tmp_path: Path) -> None:
    first = make_guard(1.0, FileLedger(tmp_path))
    first.settle(first.reserve(ALICE, 2), 2 * DEARER)
    again = make_guard(1.0, FileLedger(tmp_path))
    assert again.price_usd() == pytest.approx(DEARER)
    assert usd(again.reserve(ALICE, 1).amount) == pytest.approx(DEARER)


def test_the_price_outlives_the_utc_day() -> None:
    ledger = MemoryLedger(LedgerState(day=utc_day(NOON - 86_400), spent=500, price_usd=DEARER))
    guard = make_guard(1.0, ledger)
    assert guard.spent_today_usd() == 0
    assert guard.price_usd() == pytest.approx(DEARER)


def test_until_a_price_is_reported_one_request_at_a_time_is_sent() -> None:
    guard = make_guard(budget=1.0)
    probe = guard.reserve(ALICE, 1)
    started = threading.Event()
    waiting: list[int] = []

    def second() -> None:
        started.set()
        waiting.append(guard.reserve(ALICE, 1).amount)

    thread = threading.Thread(target=second)
    thread.start()
    started.wait()
    thread.join(timeout=0.2)
    assert thread.is_alive()  # it waits for the first answer
    guard.settle(probe, DEARER)
    thread.join()
    assert waiting == [micros(DEARER)]  # and is reserved at the price it told


def test_a_first_request_that_was_not_billed_lets_the_next_one_find_the_price() -> None:
    guard = make_guard(budget=1.0, probe_wait_s=0.05)
    guard.release(guard.reserve(ALICE, 1))
    probe = guard.reserve(ALICE, 1)
    assert refusal(lambda: guard.reserve(ALICE, 1)).limit is Limit.PRICE_CHECK
    guard.settle(probe, None)  # paid, but no price reported: still unknown
    probe = guard.reserve(ALICE, 1)
    refused = refusal(lambda: guard.reserve(ALICE, 1))
    assert refused.limit is Limit.PRICE_CHECK
    assert refused.message.endswith("Nothing was spent.")
    guard.settle(probe, PRICE)
    guard.reserve(ALICE, 1)
    guard.reserve(ALICE, 1)  # the price is known: side by side now


def test_a_request_refused_at_todays_price_does_not_wait_for_the_first_answer() -> None:
    guard = make_guard(budget=2 * PRICE, probe_wait_s=60)
    guard.reserve(ALICE, 2)
    assert refusal(lambda: guard.reserve(ALICE, 1)).limit is Limit.DAILY_BUDGET  # at once
