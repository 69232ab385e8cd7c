"""Shared by the benchmarks: a mock server in its own process, rows, and robust summaries."""

from __future__ import annotations

import contextlib
import math
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import realdream.mock as mocks
from realdream import contract

__all__ = [
    "API_KEY_HEADER",
    "CREDITS_PATH",
    "GENERATE_PATH",
    "KEY",
    "MODEL_SLUG",
    "ROOT",
    "Logged",
    "MockProcess",
    "Row",
    "cpu_seconds",
    "median",
    "mock_process",
    "ms",
    "percentile",
    "ratio",
    "requests_logged",
    "seconds",
]

ROOT = Path(__file__).resolve().parents[1]
KEY = mocks.MOCK_API_KEY
GENERATE_PATH = contract.GENERATE_PATH
CREDITS_PATH = contract.CREDITS_PATH
API_KEY_HEADER = contract.API_KEY_HEADER
MODEL_SLUG = contract.MODEL_SLUG


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    section: str
    name: str
    method: str
    n: str
    value: str
    ratio: str = ""


@dataclass(frozen=True)
class MockProcess:
    base_url: str
    pid: int


@contextmanager
def mock_process(latency: float, *extra: str, log: Path | None = None) -> Iterator[MockProcess]:
    """``python -m mocks`` on a free loopback port in its own process (no shared GIL).

    ``log`` receives the mock's request log (one line per request: time, method, path, status);
    read it with :func:`requests_logged` once the block has ended.
    """
    command = [sys.executable, "-m", "realdream.mock", "--port", "0", "--latency", str(latency)]
    command += ["--credits", "1000000000", *extra]
    with contextlib.ExitStack() as stack:
        err = stack.enter_context(log.open("w")) if log is not None else subprocess.DEVNULL
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            assert process.stdout is not None
            found = re.search(r"http://[\d.]+:\d+", process.stdout.readline())
            if found is None:
                raise RuntimeError("the mock server did not print its URL")
            yield MockProcess(found.group(0), process.pid)
        finally:
            process.terminate()
            process.wait(timeout=10)


@dataclass(frozen=True)
class Logged:
    """One line of the mock's request log."""

    at: float  # wall-clock seconds (the log's milliseconds)
    method: str
    path: str
    status: int


_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (\w+) (\S+) (\d{3}) ")


def requests_logged(log: Path) -> list[Logged]:
    """Every request in a mock's request log (see :func:`mock_process`)."""
    out = []
    for line in log.read_text().splitlines():
        found = _LOG_LINE.match(line)
        if found:
            stamp = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            out.append(Logged(stamp, found.group(2), found.group(3), int(found.group(4))))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples`` by the nearest-rank method."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def ms(value: float) -> str:
    return f"{value * 1000:.2f} ms"


def seconds(value: float) -> str:
    return f"{value:.3f} s"


def ratio(value: float) -> str:
    return f"{value:.2f}x"
