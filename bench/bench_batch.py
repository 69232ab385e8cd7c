"""Batch throughput: 64 prompts, concurrency 16, against the mock at 0.5 s latency.

The ideal wall time is ceil(64 / 16) x 0.5 s = 2.0 s. The batch engine runs in-process, as
``realdream batch`` runs it (shared back-off gate, manifest records, atomic image files with
embedded parameters, the default jpg format), against a real loopback mock server started in
its own process (``python -m mocks``), so the two do not share one interpreter lock.

A warm-up run comes first (it fills the mock's image cache: the number then measures the
batch engine, not the mock's renderer). Each timed run of the engine is paired with a run of
the same 64 requests sent by bare httpx (the floor this machine and mock allow), and the
medians of both are printed with their ratios to the ideal. Target: engine ratio <= 1.15.

    .venv/bin/python bench/bench_batch.py [--items 64] [--concurrency 16] [--latency 0.5]
                                          [--repeat 5] [--format jpg|png]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

import mocks
from bench._common import mock_process
from realdream.cli import BatchItem, BatchOptions, BatchRunner, Manifest, batch_client, parse_batch
from realdream.contract import API_KEY_HEADER, GENERATE_PATH

TARGET_RATIO = 1.15


def batch_items(count: int) -> list[BatchItem]:
    """``count`` distinct prompts, each with its own fixed seed (so the mock can cache it)."""
    lines = (
        json.dumps({"prompt": f"a lighthouse on a cliff at dusk, variation {i}", "seed": i})
        for i in range(count)
    )
    return parse_batch("\n".join(lines), source="bench", defaults={})


async def run_engine(items: list[BatchItem], base_url: str, concurrency: int, fmt: str) -> float:
    client = batch_client(mocks.MOCK_API_KEY, base_url=base_url, concurrency=concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        try:
            with Manifest(out).load() as manifest:
                report = await BatchRunner(
                    client, manifest, BatchOptions(out, concurrency, fmt)
                ).run(items)
        finally:
            await client.aclose()
        wall = time.perf_counter() - t0
    if len(report.done) != len(items):
        raise RuntimeError(f"only {len(report.done)}/{len(items)} items done")
    return wall


async def run_bare(items: list[BatchItem], base_url: str, concurrency: int) -> float:
    """The same requests with nothing but httpx and a semaphore: the floor."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {API_KEY_HEADER: mocks.MOCK_API_KEY, "Content-Type": "application/json"}
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, headers=headers) as http:

        async def one(item: BatchItem) -> None:
            async with gate:
                response = await http.post(GENERATE_PATH, json=item.request.payload)
                response.raise_for_status()

        t0 = time.perf_counter()
        await asyncio.gather(*(one(item) for item in items))
        return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; medians reported")
    parser.add_argument("--format", choices=["jpg", "png"], default="jpg")
    args = parser.parse_args(argv)

    items = batch_items(args.items)
    fmt = f".{args.format}"
    ideal = math.ceil(args.items / args.concurrency) * args.latency
    engine, bare = [], []
    with mock_process(args.latency) as mock:
        base_url = mock.base_url
        asyncio.run(run_engine(items, base_url, args.concurrency, fmt))  # warm-up
        for _ in range(args.repeat):
            engine.append(asyncio.run(run_engine(items, base_url, args.concurrency, fmt)))
            bare.append(asyncio.run(run_bare(items, base_url, args.concurrency)))
    wall, floor = statistics.median(engine), statistics.median(bare)
    setup = f"concurrency {args.concurrency}, latency {args.latency} s, {args.format}"
    print(f"{args.items} items, {setup}")
    print(f"  ideal        {ideal:.3f} s")
    print(f"  bare httpx   {floor:.3f} s  ratio {floor / ideal:.3f}  (median of {args.repeat})")
    print(
        f"  batch engine {wall:.3f} s  ratio {wall / ideal:.3f}  (median of {args.repeat}: "
        f"{', '.join(f'{w:.2f}' for w in engine)})  target <= {TARGET_RATIO}"
    )
    return 0 if wall / ideal <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
