"""The shipped fake clock: an arbitrary start, sleeps that return at once and move it ahead."""

from __future__ import annotations

import asyncio
import threading
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


def test_its_start_is_where_it_began_whatever_happened_since() -> None:
    clock = SkipAheadClock(frozen=True)
    assert clock.start == DEFAULT_START
    clock.sleep(5.0)
    assert clock.start == DEFAULT_START
    assert clock.now - clock.start == 5.0
    assert SkipAheadClock(42.75).start == 42.75


def test_advance_moves_a_clock_on_without_recording_a_wait() -> None:
    clock = SkipAheadClock(frozen=True)
    clock.advance(1.5)
    clock.sleep(2.0)
    clock.advance(0.0)
    clock.advance(0.5)
    assert clock.now - clock.start == 4.0
    assert clock.slept == [2.0]  # only the wait someone asked for


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf"), float("-inf")])
def test_advance_refuses_to_run_time_backwards_or_off_the_end(bad: float) -> None:
    clock = SkipAheadClock(frozen=True)
    with pytest.raises(ValueError, match=r"advance: seconds must be a finite number >= 0, got"):
        clock.advance(bad)
    assert clock.now == clock.start


def test_advances_and_sleeps_from_many_threads_all_count() -> None:
    clock = SkipAheadClock(frozen=True)

    def step() -> None:
        for _ in range(1000):
            clock.advance(0.25)
            clock.sleep(0.25)

    threads = [threading.Thread(target=step) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.now - clock.start == 8 * 1000 * 0.5
    assert len(clock.slept) == 8 * 1000
