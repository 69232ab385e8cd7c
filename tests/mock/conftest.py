"""Fixtures for the mock server's tests: a fresh service per test, in-process or on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import mocks
from realdream import contract

KEY = mocks.MOCK_API_KEY
GENERATE = contract.GENERATE_PATH
JSON_HEADERS = {contract.API_KEY_HEADER: KEY, "Content-Type": "application/json"}


def body(**params: Any) -> bytes:
    """A JSON body with a prompt, plus ``params``."""
    return json.dumps({"prompt": "a lighthouse at dusk", **params}).encode()


@pytest.fixture
def config() -> mocks.MockConfig:
    return mocks.MockConfig(latency=0)


@pytest.fixture
def service(config: mocks.MockConfig) -> mocks.MockService:
    return mocks.MockService(config)


@pytest.fixture
def http(service: mocks.MockService) -> Iterator[httpx.Client]:
    """A raw httpx client talking to ``service`` in-process (no sockets)."""
    transport = mocks.MockTransport(service)
    with httpx.Client(transport=transport, base_url="http://mock.test") as client:
        yield client


@pytest.fixture
def live(service: mocks.MockService) -> Iterator[mocks.RunningMock]:
    """``service`` served by uvicorn on a free loopback port."""
    with mocks.serve(service=service) as running:
        yield running


@pytest.fixture(scope="module")
def shared_live() -> Iterator[mocks.RunningMock]:
    """One loopback server for tests that change no state (forced statuses)."""
    with mocks.serve(mocks.MockConfig(latency=0)) as running:
        yield running
