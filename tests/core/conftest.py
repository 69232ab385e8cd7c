"""Fixtures for the core's tests: a recording fake server and a client wired to it."""

from __future__ import annotations

import httpx
import pytest

import realdream
from tests.core.fakes import KEY, FakeServer


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(server: FakeServer, sleeps: list[float]) -> realdream.Client:
    return realdream.Client(KEY, transport=httpx.MockTransport(server), sleep=sleeps.append)
