"""Fixtures for the mock server's tests: the shipped pytest plugin's, under shorter names."""

from __future__ import annotations

import json
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
