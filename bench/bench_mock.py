"""The mock server: throughput and CPU by image size and samples, and connection reuse.

``python -m mocks --latency 0`` runs on a loopback port in its own process (so the client
threads do not share its interpreter lock), driven by 8 concurrent ``httpx.Client`` threads,
every request a new seed (every image rendered). The server's CPU comes from /proc; its own
counters (``GET /mock/stats``) split out rendering.

Connection reuse: a credits GET repeated 200 times on one ``httpx.Client`` against
``mocks.serve()`` (the in-process server the pytest fixtures use). Without TCP_NODELAY on the
accepted sockets each of these took ~44 ms (Nagle + delayed ACK); it should take ~1 ms.

    python -m bench.bench_mock [--requests 160]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

import realdream.mock as mocks
from bench._common import (
    API_KEY_HEADER,
    CREDITS_PATH,
    GENERATE_PATH,
    KEY,
    Row,
    cpu_seconds,
    mock_process,
    ms,
    percentile,
)

SECTION = "5 mock server"
TARGET_MS = 30.0  # CPU per 1024x1024 image
STALL_MS = 40.0  # Linux's minimum delayed-ACK timeout: a median near it means Nagle is on
#: (size, samples, base64): one image raw and as base64, and four (always base64).
VARIANTS = ((512, 1, False), (512, 1, True), (512, 4, True), (1024, 1, False), (1024, 1, True))
VARIANTS += ((1024, 4, True),)

Server = tuple[str, Callable[[], float]]  # base URL, the server's CPU seconds so far


@contextlib.contextmanager
def subprocess_server() -> Iterator[Server]:
    with mock_process(0) as live:
        yield live.base_url, lambda: cpu_seconds(live.pid)


def stats(base_url: str) -> dict[str, Any]:
    response = httpx.get(base_url + "/mock/stats", headers={API_KEY_HEADER: KEY})
    return dict(response.json())


def run(
    server: Server,
    clients: int,
    requests: int,
    seed_of: Callable[[int], int],
    *,
    size: int = 1024,
    samples: int = 1,
    base64: bool = False,
) -> dict[str, float]:
    base_url, cpu = server
    url = base_url + GENERATE_PATH
    per_client = max(1, requests // clients)

    def worker(worker_id: int) -> list[float]:
        times = []
        with httpx.Client(headers={API_KEY_HEADER: KEY}, timeout=60) as client:
            for i in range(per_client):
                payload = {
                    "prompt": "a lighthouse at dusk",
                    "seed": seed_of(worker_id * per_client + i),
                    "img_width": size,
                    "img_height": size,
                    "samples": samples,
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
    server_s = after["server_seconds"] - before["server_seconds"]
    render_s = after["render_seconds"] - before["render_seconds"]
    return {
        "requests": done,
        "images": after["images"] - before["images"],
        "rps": done / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "cpu_ms": cpu_used / done * 1000,
        "render_share": render_s / server_s if server_s else 0.0,
    }


def rows(requests_each: int) -> list[Row]:
    out = []
    with subprocess_server() as server:
        run(server, 8, 16, lambda i: 900_000 + i)  # warm up
        for size, samples, b64 in VARIANTS:
            offset = size * 10_000 + samples * 1_000 + b64 * 500_000
            count = max(8, requests_each // samples)
            r = run(
                server,
                8,
                count,
                lambda i, o=offset: o + i,
                size=size,
                samples=samples,
                base64=b64,
            )
            per_image = r["cpu_ms"] * r["requests"] / r["images"]
            name = f"{size}x{size}, {samples} sample{'s' * (samples > 1)}, "
            name += "base64 JSON" if b64 else "raw JPEG"
            target = f" (target < {TARGET_MS:.0f} ms)" if size == 1024 else ""
            out.append(
                Row(
                    SECTION,
                    name,
                    "8 clients, latency 0, a new seed per request (every image rendered)",
                    str(int(r["requests"])),
                    f"{r['rps']:.0f} req/s, p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms",
                    f"{per_image:.1f} ms CPU/image{target}, {r['render_share']:.0%} rendering",
                )
            )
    return out


def reuse_times(requests: int = 200) -> list[float]:
    """A credits GET repeated on one connection against the in-process ``mocks.serve()``."""
    times = []
    with mocks.serve(mocks.MockConfig(latency=0)) as live, httpx.Client() as client:
        headers = {API_KEY_HEADER: live.api_key}
        url = live.url(CREDITS_PATH)
        client.get(url, headers=headers).raise_for_status()  # connect
        for _ in range(requests):
            t0 = time.perf_counter()
            response = client.get(url, headers=headers)
            times.append(time.perf_counter() - t0)
            response.raise_for_status()
    return times


def stall_row(requests: int = 200) -> Row:
    times = reuse_times(requests)
    median = statistics.median(times)
    verdict = "STALL: Nagle + delayed ACK" if median * 1000 > STALL_MS / 2 else "no stall"
    return Row(
        SECTION,
        "credits GET on a reused connection, mocks.serve() (regression: 44 ms before the fix)",
        "one httpx.Client, sequential",
        str(len(times)),
        f"{ms(median)}, p99 {ms(percentile(times, 0.99))}",
        f"{verdict} (a stall is ~{STALL_MS:.0f} ms; target ~1 ms)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=160, help="per one-sample row")
    args = parser.parse_args(argv)
    for row in [stall_row(), *rows(args.requests)]:
        print(f"{row.name:44} {row.value:>40}  {row.ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
