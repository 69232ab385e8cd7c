"""The shipped fake clock: an arbitrary start, sleeps that return at once and move it ahead."""

from __future__ import annotations

import asyncio
import time

import pytest

from realdream.testing.clock import DEFAULT_START, SkipAheadClock


def test_it_starts_at_an_arbitrary_moment_far_from_zero_and_from_today() -> None:
    clock = SkipAheadClock(frozen=True)
    assert clock() == DEFAULT_START
    assert DEFAULT_START > 1000
    assert abs(clock() - time.time()) > 10**8  # not the wall clock either
    assert SkipAheadClock(123.5, frozen=True)() == 123.5


def test_a_frozen_clock_moves_only_when_someone_sleeps_and_records_every_wait() -> None:
    clock = SkipAheadClock(frozen=True)
    assert clock() == clock.now
    clock.sleep(2.5)
    asyncio.run(clock.async_sleep(0.5))
    clock.sleep(-4.0)  # a negative wait is recorded, but time never runs backwards
    assert clock.now == DEFAULT_START + 3.0
    assert clock.slept == [2.5, 0.5, -4.0]


def test_an_unfrozen_clock_also_moves_with_real_time() -> None:
    clock = SkipAheadClock()
    first = clock()
    clock.sleep(60.0)
    second = clock()
    assert second - first >= 60.0
    assert second - first == pytest.approx(60.0, abs=5.0)
    assert clock() >= second  # real time never runs backwards on it
