"""Every benchmark side by side with what a user would pick instead, in one run.

    python -m bench.run                 # everything (the test suite row takes a few minutes)
    python -m bench.run --quick         # fewer samples, no test-suite row
    python -m bench.run --only 1 2      # some sections

Prints a table (median and ratio per row, with method and sample size) and writes it to
``bench/results.md`` with the date, the machine and the command. These machines are noisy:
rows are medians, peers are measured interleaved in the same run, and ratios are what count.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx

import mocks
import realdream
from bench import bench_batch, bench_mock
from bench._common import mock_process
from realdream import contract

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.md"
PAYLOAD = {
    "prompt": "portrait of a sailor, 85mm",
    "seed": 42,
    "img_width": 1024,
    "img_height": 1024,
}
#: The exact body our client sends for PAYLOAD (every field): the peers send the same body.
FULL_PAYLOAD = realdream.GenerationRequest.create(PAYLOAD).payload
KEY = mocks.MOCK_API_KEY


@dataclass(frozen=True)
class Row:
    section: str
    name: str
    method: str
    n: str
    value: str
    ratio: str = ""


# --- 1. per-request client overhead -----------------------------------------------------------
def client_overhead(requests_each: int) -> list[Row]:
    import requests
    from segmind.client import SegmindClient  # the vendor's official SDK

    with mock_process(0) as mock:
        url = mock.base_url + contract.GENERATE_PATH
        headers = {"x-api-key": KEY, "Content-Type": "application/json"}
        ours = realdream.Client(KEY, base_url=mock.base_url)
        bare = httpx.Client(headers=headers)
        sdk = SegmindClient(api_key=KEY, base_url=mock.base_url + "/v1")
        calls: dict[str, Callable[[], object]] = {
            "httpx.Client.post (bare)": lambda: bare.post(
                url, json=FULL_PAYLOAD
            ).raise_for_status(),
            "realdream.Client.generate": lambda: ours.generate(**PAYLOAD),
            "requests.post (vendor sample)": lambda: requests.post(
                url, json=FULL_PAYLOAD, headers=headers, timeout=60
            ).raise_for_status(),
            "segmind SDK run_sync": lambda: sdk.run_sync(contract.MODEL_SLUG, **FULL_PAYLOAD),
        }
        times = _interleaved(calls, requests_each)
    base = statistics.median(times["httpx.Client.post (bare)"])
    method = "sequential, mock latency 0, 1024x1024 JPEG, loopback (mock in its own process)"
    return [
        Row(
            "1 client overhead",
            name,
            method,
            str(len(t)),
            _ms(statistics.median(t)),
            _ratio(statistics.median(t) / base),
        )
        for name, t in times.items()
    ]


def _interleaved(calls: dict[str, Callable[[], object]], each: int) -> dict[str, list[float]]:
    """Rounds of a few calls per method, in a shuffled order each round (no position bias)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        for _ in range(10):
            call()
    order = list(calls)
    shuffle = random.Random(20261125).shuffle
    per_round = 25
    for _ in range(max(1, each // per_round)):
        shuffle(order)
        for name in order:
            call = calls[name]
            for _ in range(per_round):
                t0 = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - t0)
    return times


# --- 2. async throughput ------------------------------------------------------------------------
def async_throughput(total: int, concurrency: int, latency: float, repeat: int) -> list[Row]:
    ideal = total * latency / concurrency
    floor = math.ceil(total / concurrency) * latency
    ours, threads = [], []
    with mock_process(latency) as mock:
        for _ in range(repeat):
            ours.append(asyncio.run(_async_batch(mock.base_url, total, concurrency)))
            threads.append(_thread_pool(mock.base_url, total, concurrency))
    method = f"{total} requests, concurrency {concurrency}, mock latency {latency} s"
    ours_s, threads_s = statistics.median(ours), statistics.median(threads)
    return [
        Row(
            "2 async throughput",
            "ideal (requests x latency / concurrency)",
            method,
            "-",
            _s(ideal),
            "1.00",
        ),
        Row(
            "2 async throughput",
            "achievable floor (ceil(requests/concurrency) x latency)",
            method,
            "-",
            _s(floor),
            _ratio(floor / ideal),
        ),
        Row(
            "2 async throughput",
            "realdream.AsyncClient + semaphore",
            method,
            f"{repeat} runs",
            _s(ours_s),
            f"{_ratio(ours_s / ideal)} ideal, {_ratio(ours_s / floor)} floor",
        ),
        Row(
            "2 async throughput",
            "requests in a 32-thread pool",
            method,
            f"{repeat} runs",
            _s(threads_s),
            f"{_ratio(threads_s / ideal)} ideal, {_ratio(threads_s / floor)} floor",
        ),
    ]


async def _async_batch(base_url: str, total: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)
    async with realdream.AsyncClient(KEY, base_url=base_url) as client:

        async def one(i: int) -> None:
            async with gate:
                await client.generate(**PAYLOAD)

        await one(-1)  # connect once outside the clock
        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(total)))
        return time.perf_counter() - t0


def _thread_pool(base_url: str, total: int, concurrency: int) -> float:
    import requests

    url = base_url + contract.GENERATE_PATH
    headers = {"x-api-key": KEY, "Content-Type": "application/json"}

    def one(_: int) -> None:
        requests.post(url, json=PAYLOAD, headers=headers, timeout=60).raise_for_status()

    with ThreadPoolExecutor(concurrency) as pool:
        t0 = time.perf_counter()
        list(pool.map(one, range(total)))
        return time.perf_counter() - t0


# --- 3. batch CLI -------------------------------------------------------------------------------
def batch_efficiency(repeat: int) -> list[Row]:
    items, concurrency, latency = bench_batch.batch_items(64), 16, 0.5
    ideal = math.ceil(len(items) / concurrency) * latency
    engine, bare = [], []
    with mock_process(latency) as mock:
        asyncio.run(bench_batch.run_engine(items, mock.base_url, concurrency, ".jpg"))
        for _ in range(repeat):
            engine.append(
                asyncio.run(bench_batch.run_engine(items, mock.base_url, concurrency, ".jpg"))
            )
            bare.append(asyncio.run(bench_batch.run_bare(items, mock.base_url, concurrency)))
    method = "64 prompts, concurrency 16, mock latency 0.5 s, files + manifest written"
    return [
        Row("3 batch CLI", "ideal", method, "-", _s(ideal), "1.00"),
        Row(
            "3 batch CLI",
            "bare httpx + semaphore (floor)",
            method,
            f"{repeat} runs",
            _s(statistics.median(bare)),
            _ratio(statistics.median(bare) / ideal),
        ),
        Row(
            "3 batch CLI",
            "realdream batch engine",
            method,
            f"{repeat} runs",
            _s(statistics.median(engine)),
            _ratio(statistics.median(engine) / ideal),
        ),
    ]


# --- 4. mock server -----------------------------------------------------------------------------
def mock_server(requests_each: int) -> list[Row]:
    rows = []
    with bench_mock.subprocess_server() as server:
        bench_mock.run(server, 8, 16, lambda i: 900_000 + i)  # warm up
        for size in (512, 1024):
            for b64 in (False, True):
                offset = size * 10_000 + b64 * 5_000
                r = bench_mock.run(
                    server, 8, requests_each, lambda i, o=offset: o + i, size=size, base64=b64
                )
                rows.append(
                    Row(
                        "4 mock server",
                        f"{size}x{size} {'base64' if b64 else 'raw'}",
                        "8 clients, latency 0, a new seed per request (every response rendered)",
                        str(int(r["requests"])),
                        f"{r['rps']:.0f} req/s, p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms",
                        f"{r['cpu_ms']:.1f} ms CPU/response",
                    )
                )
    return rows


# --- 5. demo ------------------------------------------------------------------------------------
MINIMAL_APP = "import gradio as gr\nwith gr.Blocks() as demo:\n    gr.Textbox()\ndemo.launch()\n"


def demo_rows(repeat: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal_app.py"
        minimal.write_text(MINIMAL_APP)
        ours, base = [], []
        for _ in range(repeat):
            ours.append(_cold_start([sys.executable, str(ROOT / "app.py")]))
            base.append(_cold_start([sys.executable, str(minimal)]))
    method = "process start to first 200 on GET / (offline mock)"
    ours_s, base_s = statistics.median(ours), statistics.median(base)
    rows = [
        Row(
            "5 demo",
            "minimal Gradio app (one textbox)",
            method,
            f"{repeat} runs",
            _s(base_s),
            "1.00",
        ),
        Row(
            "5 demo", "python app.py", method, f"{repeat} runs", _s(ours_s), _ratio(ours_s / base_s)
        ),
    ]
    trips = _generate_round_trips(10)
    rows.append(
        Row(
            "5 demo",
            "Generate via gradio_client",
            "mock latency 0, 1024x1024, PNG out",
            str(len(trips)),
            _ms(statistics.median(trips)),
        )
    )
    return rows


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _app(command: list[str], **env: str) -> Iterator[tuple[str, float]]:
    port = _free_port()
    full_env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "REALDREAM_MOCK": "1",
        **env,
    }
    t0 = time.perf_counter()
    process = subprocess.Popen(
        command, env=full_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.02)  # polling a starting process: no event to wait on
        yield url, time.perf_counter() - t0
    finally:
        process.terminate()
        process.wait(timeout=20)


def _cold_start(command: list[str]) -> float:
    with _app(command) as (_, seconds):
        return seconds


def _generate_round_trips(n: int) -> list[float]:
    from gradio_client import Client

    with _app([sys.executable, str(ROOT / "app.py")], REALDREAM_MOCK_LATENCY="0") as (url, _):
        client = Client(url, verbose=False)
        args = (
            "portrait of a sailor",
            realdream.DEFAULT_NEGATIVE_PROMPT,
            "DPM++ SDE",
            8,
            1.2,
            42,
            1024,
            1024,
            1,
        )
        client.predict(*args, api_name="/generate")
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            client.predict(*args, api_name="/generate")
            times.append(time.perf_counter() - t0)
        return times


# --- 6. test suite ------------------------------------------------------------------------------
def suite_row() -> list[Row]:
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci"}
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    summary = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
    return [
        Row(
            "6 test suite",
            "pytest, HYPOTHESIS_PROFILE=ci",
            summary.strip("= "),
            "1 run",
            _s(seconds),
        )
    ]


# --- output -------------------------------------------------------------------------------------
def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:.3f} s"


def _ratio(value: float) -> str:
    return f"{value:.2f}x"


def table(rows: list[Row]) -> str:
    lines = ["| section | what | method | n | median | ratio |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {r.section} | {r.name} | {r.method} | {r.n} | {r.value} | {r.ratio} |" for r in rows
    ]
    return "\n".join(lines)


def machine() -> str:
    return (
        f"{platform.node() or 'unknown host'}: {platform.platform()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, no test-suite row")
    parser.add_argument("--only", nargs="*", type=int, choices=range(1, 7), default=None)
    args = parser.parse_args(argv)
    quick = args.quick
    sections: dict[int, Callable[[], list[Row]]] = {
        1: lambda: client_overhead(100 if quick else 500),
        2: lambda: async_throughput(200, 32, 0.25, 1 if quick else 3),
        3: lambda: batch_efficiency(1 if quick else 3),
        4: lambda: mock_server(48 if quick else 160),
        5: lambda: demo_rows(1 if quick else 3),
        6: suite_row,
    }
    chosen = args.only or [n for n in sections if not (quick and n == 6)]
    header = f"machine: {machine()}"
    print(header, flush=True)
    rows: list[Row] = []
    for number in chosen:
        section_rows = sections[number]()
        rows += section_rows
        print(table(section_rows), flush=True)
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    RESULTS.write_text(
        f"# Benchmark results\n\n- date: {stamp}\n- {header}\n- command: `{command.strip()}`\n\n"
        f"{table(rows)}\n"
    )
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
