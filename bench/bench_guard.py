"""Spend guard overhead: the demo's generate handler on the app's key, with and without the guard.

One handler (its API an in-process mock: no sockets, 256x256 images) is called alternately
with its guard and with the guard taken away, in one run; the guard keeps its ledger on disk
as in production (each change is written atomically and fsynced by the ledger's writer thread).
The per-request difference is the median of paired differences; the guard's own work
(reserve + settle) is also timed alone.

    python -m bench.bench_guard [--requests 400] [--state-dir DIR]    # from the repository root

Target (issue 14): the guard adds under 1 ms per request (median).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import realdream.mock as mocks
from bench._common import Row, ms
from demo import Backend, Guard, GuardSettings, Handlers, Mode, Visitor

FORM = {
    "prompt": "studio portrait of a lighthouse keeper",
    "negative_prompt": "",
    "scheduler": "DPM++ SDE",
    "num_inference_steps": 8.0,
    "guidance_scale": 1.2,
    "seed": 7.0,
    "img_width": 256.0,
    "img_height": 256.0,
    "samples": 1.0,
    "api_key": "",
}
#: Every check runs (a budget, a visitor limit, a known balance) and none refuses: each
#: request comes from a visitor of its own, as on a public Space.
SETTINGS = {"daily_budget_usd": 1e6, "visitor_images_per_hour": 10, "min_balance_usd": 0.0}


def handlers(state_dir: Path) -> tuple[Handlers, Guard]:
    service = mocks.MockService(mocks.MockConfig(latency=0, credits=1e7))
    backend = Backend(
        Mode.SERVER_KEY,
        server_key=mocks.MOCK_API_KEY,
        api_transport=lambda: mocks.MockTransport(service),
        max_retries=0,
    )
    guard = Guard(GuardSettings(state_dir=state_dir, **SETTINGS))  # type: ignore[arg-type]
    return Handlers(backend, state_dir / "out", guard=guard, keep_outputs_mb=1.0), guard


def visitor(number: int) -> Any:
    """What Gradio passes as the request: the visitor's address is the socket peer."""
    address = f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
    return SimpleNamespace(headers={}, client=SimpleNamespace(host=address))


def timed(app: Handlers, number: int) -> float:
    request = visitor(number)
    started = time.perf_counter()
    app.generate(**FORM, request=request)  # type: ignore[arg-type]
    return time.perf_counter() - started


SECTION = "9 spend guard"
REQUESTS = 400
TARGET_MS = 1.0


def rows(requests: int = REQUESTS) -> list[Row]:
    """The section's rows for ``python -m bench.run`` (the ledger in a temporary folder)."""
    with tempfile.TemporaryDirectory() as scratch:
        app, guard = handlers(Path(scratch))
        try:
            with_guard, without, paired, alone = measure(app, guard, requests)
        finally:
            guard.flush()
    method = (
        "generate handler on the app's key, in-process mock (256x256), ledger on disk; "
        "with and without the guard alternated"
    )
    base = statistics.median(without)
    added, own = statistics.median(paired), statistics.median(alone)
    n = f"{requests} each way"
    return [
        Row(SECTION, "handler without the guard", method, n, ms(base), "1.00x"),
        Row(
            SECTION,
            "handler with the guard",
            method,
            n,
            ms(statistics.median(with_guard)),
            f"{statistics.median(with_guard) / base:.3f}x",
        ),
        Row(
            SECTION,
            "added per request (median of paired differences)",
            method,
            n,
            ms(added),
            f"target < {TARGET_MS:g} ms",
        ),
        Row(
            SECTION,
            "the guard alone (reserve + settle)",
            "the same guard, no request in between",
            f"{requests}",
            ms(own),
            f"target < {TARGET_MS:g} ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--state-dir", type=Path, default=None, help="default: a temp folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        state_dir = args.state_dir or Path(scratch)
        app, guard = handlers(state_dir)
        try:
            results = measure(app, guard, args.requests)
        finally:
            guard.flush()  # the ledger's writer is idle before the folder goes
    report(*results, state_dir)


def measure(
    app: Handlers, guard: Guard, requests: int
) -> tuple[list[float], list[float], list[float], list[float]]:
    """The handler with and without its guard, alternated; then the guard alone."""
    for number in range(20):  # warm up
        timed(app, number)
    with_guard, without, paired = [], [], []
    for index in range(requests):
        order = (guard, None) if index % 2 else (None, guard)  # alternate which goes first
        times = {}
        for who in order:
            app.guard = who
            times[who is not None] = timed(app, 100 + index)
        with_guard.append(times[True])
        without.append(times[False])
        paired.append(times[True] - times[False])
    app.guard = guard
    return with_guard, without, paired, guard_alone(guard, requests)


def guard_alone(guard: Guard, count: int) -> list[float]:
    """reserve + settle, as the handler calls them, without the request in between."""
    samples = []
    for number in range(count):
        visitor = Visitor(f"addr:{number:012x}")
        started = time.perf_counter()
        reservation = guard.reserve(visitor, 1)
        guard.settle(reservation, 0.002, balance_usd=1e6)
        samples.append(time.perf_counter() - started)
    return samples


def report(
    with_guard: list[float],
    without: list[float],
    paired: list[float],
    alone: list[float],
    state_dir: Path,
) -> None:
    def median_ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    ratio = statistics.median(with_guard) / statistics.median(without)
    print(f"requests: {len(paired)} each way, alternated; ledger in {state_dir}")
    print(f"handler without guard   median {median_ms(without):8.3f} ms")
    print(f"handler with guard      median {median_ms(with_guard):8.3f} ms   ratio {ratio:.3f}x")
    print(f"added per request       median {median_ms(paired):8.3f} ms   (paired differences)")
    print(f"guard alone             median {median_ms(alone):8.3f} ms   (reserve + settle)")
    verdict = "meets" if median_ms(paired) < 1.0 and median_ms(alone) < 1.0 else "MISSES"
    print(f"target: under 1 ms added per request: {verdict}")


if __name__ == "__main__":
    main()
