"""Fixtures for verify's tests: a fresh mock service behind each app."""

from __future__ import annotations

import pytest

import realdream.mock as mocks


@pytest.fixture
def service() -> mocks.MockService:
    """A fresh in-process mock (latency 0, $10 of credits) whose ledger the tests read."""
    return mocks.MockService(mocks.MockConfig(latency=0.0))
