"""Fixtures for the mock server's tests: the shipped pytest plugin's, under shorter names."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import realdream.mock as mocks
from realdream import contract

KEY = mocks.MOCK_API_KEY
GENERATE = contract.GENERATE_PATH
JSON_HEADERS = {contract.API_KEY_HEADER: KEY, "Content-Type": "application/json"}


def body(**params: Any) -> bytes:
    """A JSON body with a prompt, plus ``params``."""
    return json.dumps({"prompt": "a lighthouse at dusk", **params}).encode()


@pytest.fixture
def service(realdream_mock: mocks.MockService) -> mocks.MockService:
    """The shipped plugin's fresh in-process service (latency 0, $10 of credits)."""
    return realdream_mock


@pytest.fixture
def http(service: mocks.MockService) -> Iterator[httpx.Client]:
    """A raw httpx client talking to ``service`` in-process (no sockets)."""
    transport = mocks.MockTransport(service)
    with httpx.Client(transport=transport, base_url="http://mock.test") as client:
        yield client


@pytest.fixture
def live(realdream_server: mocks.RunningMock) -> mocks.RunningMock:
    """The shipped plugin's loopback server, serving ``service``."""
    return realdream_server


@pytest.fixture(scope="module")
def shared_live() -> Iterator[mocks.RunningMock]:
    """One loopback server for tests that change no state (forced statuses)."""
    with mocks.serve(mocks.MockConfig(latency=0)) as running:
        yield running


class FakeClock:
    """A clock that moves only when told: the service's ``clock=``, a client's ``clock=``, and
    (as :meth:`sleep`) a client's ``sleep=``, so waiting on a job takes no real time.

    It starts at the real time: the mock's 429s name an absolute reset moment, which the
    client compares with the real UTC time.
    """

    def __init__(self, now: float | None = None) -> None:
        self.start = time.time() if now is None else now
        self.now = self.start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
