"""How ``realdream.AsyncClient`` scales with requests in flight.

``asyncio.gather`` of N ``generate()`` calls on one client, against the same N calls behind an
external ``asyncio.Semaphore(32)``, for N = 1, 32, 256 and 1,024 (medians of 5, 5, 3 and 1
runs, alternating which goes first), against the mock in its own process (0.2 s per image, one
cached 1024x1024 JPEG), 32 connections opened before the clock. For each: wall time, against
the floor a perfect client would reach (ceil(N / 32) x 0.2 s), and this process's CPU per
request (the mock's CPU is its own). Peers at N = 256: bare ``httpx.AsyncClient`` behind the
same semaphore, and 32 threads of ``requests.Session``.

    python -m bench.bench_async [--sizes 1 32 256 1024]

Targets (issue 12): gather(1024) within 1.20x of Semaphore(32); CPU per request at 1,024 in
flight within 1.50x of that at 32. Without a bound, gather collapses (httpcore's pool
scheduling costs O(requests x connections) per request: encode/httpcore#1035): 3.3x before
``AsyncClient`` kept at most ``max_in_flight`` (32) requests on the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

import realdream
from bench._common import (
    API_KEY_HEADER,
    GENERATE_PATH,
    KEY,
    Row,
    median,
    mock_process,
    ratio,
    seconds,
)

SECTION = "3 async scaling"
LATENCY = 0.2
SLOTS = 32
SIZES = (1, 32, 256, 1024)
PEER_SIZE = 256
GATHER_TARGET = 1.20
CPU_TARGET = 1.50
PARAMS = {"prompt": "portrait of a sailor, 85mm", "seed": 42, "img_width": 1024, "img_height": 1024}


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float  # this process's CPU seconds (all threads)

    def cpu_per_request(self, n: int) -> float:
        return self.cpu / n


def _timed(body: Callable[[], object]) -> Run:
    cpu0, t0 = time.process_time(), time.perf_counter()
    body()
    return Run(time.perf_counter() - t0, time.process_time() - cpu0)


async def _ours(base_url: str, n: int, gate: asyncio.Semaphore | None) -> Run:
    async with realdream.AsyncClient(KEY, base_url=base_url) as client:
        # Open SLOTS connections outside the clock: the runs compare scheduling, not connecting.
        await asyncio.gather(*(client.generate(**PARAMS) for _ in range(SLOTS)))

        async def one() -> None:
            if gate is None:
                await client.generate(**PARAMS)
                return
            async with gate:
                await client.generate(**PARAMS)

        return await _clock(lambda: asyncio.gather(*(one() for _ in range(n))))


async def _bare(base_url: str, n: int) -> Run:
    gate = asyncio.Semaphore(SLOTS)
    body = realdream.GenerationRequest.create(PARAMS).to_json()
    headers = {API_KEY_HEADER: KEY, "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as http:

        async def one() -> None:
            async with gate:
                (await http.post(GENERATE_PATH, content=body)).raise_for_status()

        await asyncio.gather(*(one() for _ in range(SLOTS)))  # connect outside the clock
        return await _clock(lambda: asyncio.gather(*(one() for _ in range(n))))


async def _clock(start: Callable[[], Awaitable[object]]) -> Run:
    cpu0, t0 = time.process_time(), time.perf_counter()
    await start()
    return Run(time.perf_counter() - t0, time.process_time() - cpu0)


def _threads(base_url: str, n: int) -> Run:
    import requests

    body = realdream.GenerationRequest.create(PARAMS).to_json()
    headers = {API_KEY_HEADER: KEY, "Content-Type": "application/json"}
    local = threading.local()

    def one(_: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers.update(headers)
        session.post(base_url + GENERATE_PATH, data=body, timeout=60).raise_for_status()

    with ThreadPoolExecutor(SLOTS) as pool:
        list(pool.map(one, range(SLOTS)))  # connect every thread's session outside the clock
        return _timed(lambda: list(pool.map(one, range(n))))


def floor(n: int, slots: int) -> float:
    """The least wall time for ``n`` requests of LATENCY each, ``slots`` at a time."""
    return math.ceil(n / slots) * LATENCY


def repeats(n: int) -> int:
    """Short runs are repeated (median kept): one stray stall would decide a 0.2 s run."""
    return 5 if n <= SLOTS else 3 if n <= PEER_SIZE else 1


def _median_run(runs: list[Run]) -> Run:
    return Run(median([r.wall for r in runs]), median([r.cpu for r in runs]))


def rows(sizes: tuple[int, ...] = SIZES) -> list[Row]:
    results: dict[tuple[str, int], Run] = {}
    with mock_process(LATENCY) as mock:
        url = mock.base_url
        for n in sizes:
            gated: list[Run] = []
            free: list[Run] = []
            for i in range(repeats(n)):  # alternate which goes first
                for kind in ("semaphore", "gather") if i % 2 == 0 else ("gather", "semaphore"):
                    gate = asyncio.Semaphore(SLOTS) if kind == "semaphore" else None
                    (gated if gate else free).append(asyncio.run(_ours(url, n, gate)))
            results["semaphore", n], results["gather", n] = _median_run(gated), _median_run(free)
        if PEER_SIZE in sizes:
            runs = repeats(PEER_SIZE)
            results["bare", PEER_SIZE] = _median_run(
                [asyncio.run(_bare(url, PEER_SIZE)) for _ in range(runs)]
            )
            results["threads", PEER_SIZE] = _median_run(
                [_threads(url, PEER_SIZE) for _ in range(runs)]
            )
    return _rows(results, sizes)


def _rows(results: dict[tuple[str, int], Run], sizes: tuple[int, ...]) -> list[Row]:
    out = []
    method = f"mock latency {LATENCY} s, 1024x1024 JPEG (cached), 32 connections open"
    names = {
        "gather": "AsyncClient, asyncio.gather of N",
        "semaphore": f"AsyncClient behind Semaphore({SLOTS})",
        "bare": f"bare httpx.AsyncClient behind Semaphore({SLOTS})",
        "threads": f"requests.Session in {SLOTS} threads",
    }
    for n in sizes:
        gated = results["semaphore", n]
        for kind in ("semaphore", "gather", "bare", "threads"):
            run = results.get((kind, n))
            if run is None:
                continue
            cpu = run.cpu_per_request(n)
            shown = f"{ratio(run.wall / floor(n, SLOTS))} Semaphore({SLOTS}) floor"
            if kind == "gather":
                shown = f"{ratio(run.wall / gated.wall)} Semaphore({SLOTS})"
                if n == max(sizes):
                    shown += f" (target <= {GATHER_TARGET:.2f}x)"
            value = f"{seconds(run.wall)}, {cpu * 1000:.2f} ms CPU/request"
            n_runs = f"{n:,} x {repeats(n)} runs"
            out.append(Row(SECTION, f"{names[kind]} (N={n:,})", method, n_runs, value, shown))
    if SLOTS in sizes and max(sizes) > SLOTS:
        big, base = max(sizes), SLOTS
        for kind in ("gather", "semaphore"):
            growth = results[kind, big].cpu_per_request(big) / results[kind, base].cpu_per_request(
                base
            )
            out.append(
                Row(
                    SECTION,
                    f"{names[kind]}: CPU/request at N={big:,} over N={base}",
                    method,
                    "-",
                    "",
                    f"{ratio(growth)} (target <= {CPU_TARGET:.2f}x)",
                )
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args(argv)
    for row in rows(tuple(args.sizes)):
        print(f"{row.name:62} {row.value:>30}  {row.ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
