"""A ledger holding numbers that cannot be true fails closed, as other damage does, and never
bricks the key across restarts; a ledger dated later than today keeps its spend."""

from __future__ import annotations

import json
import math
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from demo._guard import Guard
from demo._ledger import LEDGER_FILE, FileLedger, LedgerState, MemoryLedger, micros, utc_day
from demo._refusals import Limit, RefusedError
from demo._settings import GuardSettings
from demo._visitor import Visitor
from realdream.contract import cost
from realdream.testing.clock import SkipAheadClock

PRICE = cost(1)
ALICE = Visitor("addr:aaaaaaaaaaaa")
NOON = datetime(2030, 6, 1, 12, tzinfo=timezone.utc).timestamp()
TOMORROW = NOON + 86_400
GOOD = {
    "version": 1,
    "day": "2030-06-01",
    "spent_micro_usd": 4000,
    "spend_unknown": False,
    "open_micro_usd": {"r1-1": 2000},
    "balance_usd": 9.5,
    "balance_at": NOON - 600,
    "price_usd": PRICE,
}
NUMBERS = ["spent_micro_usd", "open_micro_usd", "balance_usd", "balance_at", "price_usd"]
#: JSON text no numeric field of the ledger may hold (Python's json reads NaN and Infinity).
HOSTILE = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", '"nan"', '"5"']),
    st.sampled_from(["true", "false", "[]", "[1]", '{"a": 1}', "[[[[[[1]]]]]]", '""']),
    st.integers(min_value=10**18, max_value=10**400).map(str),  # past any amount, 400 digits
    st.integers(max_value=-1).map(str),
    st.floats(max_value=-1e-6, allow_infinity=False).map(repr),
)


def guard_on(state_dir: Path, now: float = NOON) -> Guard:
    settings = GuardSettings(daily_budget_usd=10 * PRICE, visitor_images_per_hour=0)
    clock = SkipAheadClock(now, frozen=True)
    return Guard(settings, FileLedger(state_dir), clock=clock, probe_wait_s=0)


def write(folder: Path, field: str, text: str) -> bytes:
    """The good ledger with ``field`` replaced by the raw JSON ``text``, written today."""
    marker = "__HOSTILE__"
    data = dict(GOOD)
    data[field] = {"r1-1": marker} if field == "open_micro_usd" else marker
    raw = json.dumps(data).replace(f'"{marker}"', text).encode()
    path = folder / LEDGER_FILE
    path.write_bytes(raw)
    os.utime(path, (NOON - 60, NOON - 60))
    return raw


@given(field=st.sampled_from(NUMBERS), text=HOSTILE)
def test_a_number_that_cannot_be_true_fails_closed_for_today_only(field: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        raw = write(folder, field, text)
        guard = guard_on(folder)  # no crash: the damage is reported and replaced
        with pytest.raises(RefusedError) as refused:
            guard.reserve(ALICE, 1)
        assert refused.value.limit is Limit.DAILY_BUDGET
        (aside,) = folder.glob(f"{LEDGER_FILE}.corrupt-*")
        assert aside.read_bytes() == raw
        assert guard_on(folder).allowance(ALICE).budget_left_usd == 0  # a restart keeps it
        tomorrow = guard_on(folder, now=TOMORROW)
        tomorrow.settle(tomorrow.reserve(ALICE, 1), PRICE)  # the key is not bricked
        assert guard_on(folder, now=TOMORROW).spent_today_usd() == pytest.approx(PRICE)


def test_a_valid_ledger_is_read_as_written() -> None:
    state = LedgerState.from_json(GOOD)
    assert state.to_json() == GOOD


def test_negative_zero_reads_as_zero() -> None:
    state = LedgerState.from_json({**GOOD, "balance_usd": -0.0})
    assert state.balance_usd == 0.0
    assert math.copysign(1.0, state.balance_usd) == 1.0


def test_a_ledger_nested_past_pythons_recursion_limit_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_FILE
    path.write_text("[" * 100_000 + "]" * 100_000)
    os.utime(path, (NOON - 60, NOON - 60))
    assert guard_on(tmp_path).allowance(ALICE).budget_left_usd == 0


def test_a_nan_balance_reading_is_never_written_so_a_restart_works(tmp_path: Path) -> None:
    settings = GuardSettings(daily_budget_usd=10 * PRICE, min_balance_usd=1.0)
    guard = Guard(settings, FileLedger(tmp_path), clock=SkipAheadClock(NOON, frozen=True))
    guard.note_balance(2.0)
    guard.settle(guard.reserve(ALICE, 1), PRICE, balance_usd=math.nan)
    guard.note_balance(math.nan)
    assert "NaN" not in (tmp_path / LEDGER_FILE).read_text()
    again = Guard(settings, FileLedger(tmp_path), clock=SkipAheadClock(NOON, frozen=True))
    again.settle(again.reserve(ALICE, 1), PRICE)
    assert again.spent_today_usd() == pytest.approx(2 * PRICE)


def test_a_ledger_dated_later_than_today_keeps_its_spend_against_today(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ahead = guard_on(tmp_path, now=TOMORROW)  # the clock was a day ahead
    ahead.settle(ahead.reserve(ALICE, 4), 4 * PRICE)
    stepped_back = guard_on(tmp_path)
    assert stepped_back.spent_today_usd() == pytest.approx(4 * PRICE)
    assert "later than today" in caplog.text
    stepped_back.settle(stepped_back.reserve(ALICE, 4), 4 * PRICE)
    with pytest.raises(RefusedError) as refused:
        stepped_back.reserve(ALICE, 4)
    assert refused.value.limit is Limit.DAILY_BUDGET


def test_a_clock_stepping_back_while_running_keeps_the_days_spend() -> None:
    """The guard's day is tomorrow's, its clock at noon today (it stepped back): while the
    clock is behind, the running guard counts on against that day, until the clock passes it."""
    spent_tomorrow = LedgerState(day=utc_day(TOMORROW), spent=micros(4 * PRICE), price_usd=PRICE)
    settings = GuardSettings(daily_budget_usd=10 * PRICE, visitor_images_per_hour=0)
    clock = SkipAheadClock(NOON, frozen=True)
    guard = Guard(settings, MemoryLedger(spent_tomorrow), clock=clock)
    assert guard.spent_today_usd() == pytest.approx(4 * PRICE)
    guard.settle(guard.reserve(ALICE, 4), 4 * PRICE)
    clock.advance(86_400)  # the clock catches up with the ledger's day: the same day
    assert guard.spent_today_usd() == pytest.approx(8 * PRICE)
    with pytest.raises(RefusedError) as refused:
        guard.reserve(ALICE, 4)
    assert refused.value.limit is Limit.DAILY_BUDGET
    clock.advance(86_400)  # the day after it: a new day
    assert guard.spent_today_usd() == 0
