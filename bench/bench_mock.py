"""Benchmark the mock server: throughput, latency and the cost of rendering 1024×1024 JPEGs.

Runs ``python -m mocks --latency 0`` on a loopback port in a subprocess (so the client threads
do not share its GIL), drives it with concurrent ``httpx.Client`` threads, and reads the
server's own counters from ``GET /mock/stats``. Two runs: every request a new seed (cold
renders), then one seed throughout (the LRU cache). Prints ratios; asserts nothing.

    .venv/bin/python bench/bench_mock.py [--clients 8] [--requests 400] [--in-process]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

import mocks
from bench._common import mock_process, percentile
from realdream import GenerationRequest, contract

TARGET_MS = 30.0
SIZE = 1024


Server = tuple[str, Callable[[], float]]  # base URL, the server's CPU seconds so far


@contextlib.contextmanager
def subprocess_server() -> Iterator[Server]:
    with mock_process(0) as live:
        yield live.base_url, lambda: cpu_seconds(live.pid)


@contextlib.contextmanager
def thread_server() -> Iterator[Server]:
    with mocks.serve(mocks.MockConfig(latency=0, credits=1e6)) as live:
        yield live.base_url, lambda: math.nan  # shares this process: no separate CPU count


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stats(base_url: str) -> dict[str, Any]:
    headers = {contract.API_KEY_HEADER: mocks.MOCK_API_KEY}
    return dict(httpx.get(base_url + "/mock/stats", headers=headers).json())


def run(
    server: Server,
    clients: int,
    requests: int,
    seed_of: Callable[[int], int],
    *,
    size: int = SIZE,
    base64: bool = False,
) -> dict[str, float]:
    base_url, cpu = server
    headers = {contract.API_KEY_HEADER: mocks.MOCK_API_KEY}
    url = base_url + contract.GENERATE_PATH
    per_client = requests // clients

    def worker(worker_id: int) -> list[float]:
        times = []
        with httpx.Client(headers=headers, timeout=60) as client:
            for i in range(per_client):
                payload = {
                    "prompt": "a lighthouse at dusk",
                    "seed": seed_of(worker_id * per_client + i),
                    "img_width": size,
                    "img_height": size,
                    "base64": base64,
                }
                t0 = time.perf_counter()
                response = client.post(url, json=payload)
                times.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.text
        return times

    before, cpu_before = stats(base_url), cpu()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = sorted(t for times in pool.map(worker, range(clients)) for t in times)
    wall = time.perf_counter() - t0
    cpu_used = cpu() - cpu_before
    after = stats(base_url)
    done = len(latencies)
    server = after["server_seconds"] - before["server_seconds"]
    render = after["render_seconds"] - before["render_seconds"]
    return {
        "requests": done,
        "rps": done / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "server_ms": server / done * 1000,
        "cpu_ms": cpu_used / done * 1000,
        "render_ms": render / done * 1000,
        "render_share": render / server if server else 0.0,
    }


def render_costs(repeats: int = 30) -> tuple[float, float]:
    base = GenerationRequest.create(prompt="a lighthouse at dusk", img_width=SIZE, img_height=SIZE)
    t0 = time.perf_counter()
    for seed in range(repeats):
        mocks.render_uncached(base.replace(seed=10_000 + seed))
    cold = (time.perf_counter() - t0) / repeats
    mocks.render_jpeg(base.replace(seed=1))
    t0 = time.perf_counter()
    for _ in range(repeats * 100):
        mocks.render_jpeg(base.replace(seed=1))
    cached = (time.perf_counter() - t0) / (repeats * 100)
    return cold * 1000, cached * 1000


def report(name: str, r: dict[str, float]) -> None:
    print(
        f"{name}: {r['requests']:.0f} requests, {r['rps']:.1f} req/s, "
        f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms\n"
        f"    server CPU {r['cpu_ms']:.2f} ms/response = {r['cpu_ms'] / TARGET_MS:.2f}x the "
        f"{TARGET_MS:.0f} ms target; in-app wall time {r['server_ms']:.2f} ms/response, "
        f"{r['render_share']:.0%} of it rendering ({r['render_ms']:.2f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--in-process", action="store_true", help="serve from a thread instead")
    args = parser.parse_args()
    server = thread_server if args.in_process else subprocess_server
    print(f"mock at --latency 0, {args.clients} concurrent clients, {SIZE}x{SIZE} JPEG, loopback")
    with server() as running:
        run(running, args.clients, args.clients * 2, lambda i: 999_000 + i)  # warm up
        report("cold, a new seed each", run(running, args.clients, args.requests, lambda i: i))
        report("cached, one seed", run(running, args.clients, args.requests, lambda i: 7))
    cold, cached = render_costs()
    print(
        f"render+encode {SIZE}x{SIZE}: cold {cold:.2f} ms, cached {cached * 1000:.1f} µs "
        f"({cold / cached:,.0f}x); cold is {cold / TARGET_MS:.2f}x the {TARGET_MS:.0f} ms target"
    )


if __name__ == "__main__":
    main()
