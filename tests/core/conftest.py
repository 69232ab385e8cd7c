"""Fixtures for the core's tests: a recording fake server, the shipped fake clock (frozen), and a
client wired to both."""

from __future__ import annotations

import httpx
import pytest

import realdream
from realdream.testing.clock import SkipAheadClock
from tests.core.fakes import KEY, FakeServer


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def clock() -> SkipAheadClock:
    """The shipped fake clock, frozen: a client's ``clock=``, and ``sleep=`` as its ``sleep``."""
    return SkipAheadClock(frozen=True)


@pytest.fixture
def sleeps(clock: SkipAheadClock) -> list[float]:
    """Every wait asked of ``clock``, in order."""
    return clock.slept


@pytest.fixture
def client(server: FakeServer, clock: SkipAheadClock) -> realdream.Client:
    return realdream.Client(
        KEY, transport=httpx.MockTransport(server), sleep=clock.sleep, clock=clock
    )
