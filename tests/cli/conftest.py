"""Fixtures for the command-line tests: a captured ``realdream`` runner and loopback mocks.

(tests/conftest.py already keeps real keys and endpoints out of every test.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import realdream.mock as mocks
from realdream.cli import main
from realdream.testing.clock import SkipAheadClock


@dataclass(frozen=True)
class Ran:
    """One run of the command line: exit code and what it printed."""

    code: int
    out: str
    err: str


Cli = Callable[..., Ran]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``realdream ARGS...`` in-process; return its exit code and output."""

    def run(*args: str | Path) -> Ran:
        capsys.readouterr()
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="module")
def mock_server() -> Iterator[mocks.RunningMock]:
    """A loopback mock server with no latency, shared by a module's tests."""
    with mocks.serve(mocks.MockConfig(latency=0.0, credits=1000.0)) as running:
        yield running


@pytest.fixture
def mock_args(mock_server: mocks.RunningMock) -> list[str]:
    """The options that point the command line at :func:`mock_server`."""
    return ["--base-url", mock_server.base_url, "--api-key", mock_server.api_key]


@pytest.fixture
def clock() -> SkipAheadClock:
    """The shipped fake clock, frozen: it moves only when someone sleeps on it."""
    return SkipAheadClock(frozen=True)
