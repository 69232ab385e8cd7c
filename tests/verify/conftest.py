"""Fixtures for verify's tests: a fresh mock service behind each app, and the shipped clock."""

from __future__ import annotations

import pytest

import realdream.mock as mocks
from realdream.testing.clock import SkipAheadClock


@pytest.fixture
def service() -> mocks.MockService:
    """A fresh in-process mock (latency 0, $10 of credits) whose ledger the tests read."""
    return mocks.MockService(mocks.MockConfig(latency=0.0))


@pytest.fixture
def clock() -> SkipAheadClock:
    """A clock that moves only when verify sleeps (``sleep=clock.async_sleep``) or a test
    advances it; :attr:`SkipAheadClock.slept` records every wait."""
    return SkipAheadClock(frozen=True)
