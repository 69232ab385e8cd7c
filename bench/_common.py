"""Shared by the benchmarks: a mock server in its own process, and robust summaries."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["MockProcess", "mock_process", "percentile"]


@dataclass(frozen=True)
class MockProcess:
    base_url: str
    pid: int


@contextmanager
def mock_process(latency: float, *extra: str) -> Iterator[MockProcess]:
    """``python -m mocks`` on a free loopback port in its own process (no shared GIL)."""
    command = [sys.executable, "-m", "mocks", "--port", "0", "--latency", str(latency)]
    command += ["--credits", "1000000", *extra]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        found = re.search(r"http://[\d.]+:\d+", process.stdout.readline())
        if found is None:
            raise RuntimeError("the mock server did not print its URL")
        yield MockProcess(found.group(0), process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples`` by the nearest-rank method."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)
