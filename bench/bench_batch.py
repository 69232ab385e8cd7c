"""The batch engine (``realdream batch``): against a fair floor, and at 10,000 prompts.

**Against the floor.** 64 prompts, concurrency 16, the mock (its own process) at 0.5 s per image:
the ideal is ceil(64 / 16) x 0.5 s = 2.0 s. The engine runs as ``realdream.cli.main(["batch",
...])`` runs it (file read and validated, manifest, atomic files with parameters embedded). The
floor is bare ``httpx.AsyncClient`` behind a semaphore that writes the same files: it reads and
validates the same file, saves each image with the same bytes and format (the JPEG the API
sent, parameters spliced into EXIF, written atomically with ``GeneratedImage.save``) and appends
one fsync'd manifest line per item, off the event loop. Runs alternate which goes first.

**At scale.** 10,000 distinct prompts (256x256), concurrency 32, mock latency 0, through
``realdream batch`` in its own process: wall time, its CPU per item (gross, and net of the
resume run's start-up, reading and planning), peak memory (the process's own ``VmHWM``),
manifest bytes and write cost per item, and the time to resume over the finished manifest
(every item skipped).

    python -m bench.bench_batch [--repeat 5] [--items 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

import realdream
from bench._common import (
    API_KEY_HEADER,
    GENERATE_PATH,
    KEY,
    ROOT,
    Row,
    mock_process,
    ratio,
    seconds,
)
from bench._peak import PEAK_ENV

SECTION = "4 batch"
TARGET_RATIO = 1.15
FLOOR_ITEMS, FLOOR_CONCURRENCY, FLOOR_LATENCY = 64, 16, 0.5
SCALE_CONCURRENCY, SCALE_SIZE = 32, 256


def write_prompts(path: Path, count: int, size: int | None = None) -> Path:
    """``count`` distinct prompts as JSON Lines, each with its own fixed seed."""
    extra = {"img_width": size, "img_height": size} if size else {}
    prompt = "a lighthouse on a cliff at dusk, variation {}"
    lines = (json.dumps({"prompt": prompt.format(i), "seed": i, **extra}) for i in range(count))
    path.write_text("\n".join(lines) + "\n")
    return path


def _batch_args(file: Path, out: Path, base_url: str, concurrency: int) -> list[str]:
    return [
        "batch",
        str(file),
        "--out",
        str(out),
        "--concurrency",
        str(concurrency),
        "--no-progress",
        "--base-url",
        base_url,
        "--api-key",
        KEY,
    ]


def run_engine(file: Path, out: Path, base_url: str, concurrency: int) -> float:
    """``realdream batch`` in this process; its wall time (summary output swallowed)."""
    from realdream.cli import main

    sink = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = main(_batch_args(file, out, base_url, concurrency))
    wall = time.perf_counter() - t0
    if code != 0:
        raise RuntimeError(f"realdream batch exited {code}: {sink.getvalue()[-500:]}")
    return wall


async def run_floor(file: Path, out: Path, base_url: str, concurrency: int) -> float:
    """The same work by hand: bare httpx, a semaphore, the same files and one line per item."""
    t0 = time.perf_counter()
    requests = [
        realdream.GenerationRequest.create(json.loads(line))
        for line in file.read_text().splitlines()
        if line.strip()
    ]
    out.mkdir(parents=True, exist_ok=True)
    manifest = os.open(out / "manifest.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    lock = threading.Lock()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {API_KEY_HEADER: KEY, "Content-Type": "application/json"}

    def save(index: int, request: realdream.GenerationRequest, data: bytes, seed: int) -> None:
        image = realdream.GeneratedImage(
            data, "image/jpeg", request.img_width, request.img_height, request
        )
        path = image.save(out / f"{index:05d}-{seed}.jpg")
        line = {"line": index, "status": "done", "files": [path.name], "seed": seed}
        with lock:
            os.write(manifest, (json.dumps(line) + "\n").encode())
            os.fsync(manifest)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, headers=headers) as http:

        async def one(index: int, request: realdream.GenerationRequest) -> None:
            async with gate:
                response = await http.post(GENERATE_PATH, content=request.to_json())
                response.raise_for_status()
            seed = int(response.headers.get("x-seed-value", request.seed))
            await asyncio.to_thread(save, index, request, response.content, seed)

        try:
            await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
        finally:
            os.close(manifest)
    return time.perf_counter() - t0


def floor_rows(repeat: int) -> list[Row]:
    ideal = -(-FLOOR_ITEMS // FLOOR_CONCURRENCY) * FLOOR_LATENCY
    engine, bare = [], []
    with tempfile.TemporaryDirectory() as tmp, mock_process(FLOOR_LATENCY) as mock:
        file = write_prompts(Path(tmp) / "prompts.jsonl", FLOOR_ITEMS)
        url = mock.base_url

        def engine_run(i: int) -> float:
            return run_engine(file, Path(tmp) / f"engine-{i}", url, FLOOR_CONCURRENCY)

        def floor_run(i: int) -> float:
            return asyncio.run(run_floor(file, Path(tmp) / f"floor-{i}", url, FLOOR_CONCURRENCY))

        engine_run(-1)  # warm up: connections, the mock's image cache
        for i in range(repeat):
            if i % 2 == 0:
                engine.append(engine_run(i))
                bare.append(floor_run(i))
            else:
                bare.append(floor_run(i))
                engine.append(engine_run(i))
    method = (
        f"{FLOOR_ITEMS} prompts, concurrency {FLOOR_CONCURRENCY}, mock latency {FLOOR_LATENCY} s, "
        "same files written (JPEG + EXIF, atomic) and a manifest line per item"
    )
    e, b = sorted(engine)[len(engine) // 2], sorted(bare)[len(bare) // 2]
    n = f"{repeat} runs"
    against = f"{ratio(e / ideal)} ideal, {ratio(e / b)} floor"
    return [
        Row(SECTION, "ideal (ceil(items/concurrency) x latency)", method, "-", seconds(ideal)),
        Row(
            SECTION,
            "bare httpx + semaphore, same files (floor)",
            method,
            n,
            seconds(b),
            f"{ratio(b / ideal)} ideal",
        ),
        Row(
            SECTION,
            "realdream batch",
            method,
            n,
            seconds(e),
            f"{against} (target <= {TARGET_RATIO:.2f}x ideal)",
        ),
    ]


def _process(argv: list[str]) -> tuple[float, float, int, str]:
    """Run ``argv``; its wall seconds, CPU seconds, peak RSS in KiB, and stderr's tail.

    ``argv`` runs :mod:`bench._peak`, which reports the command's own peak (``VmHWM``);
    ``ru_maxrss`` would not do: on Linux it keeps this process's size across the exec.
    """
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "peak"
        env = {**os.environ, PEAK_ENV: str(report)}
        t0 = time.perf_counter()
        process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT
        )
        assert process.stderr is not None
        err = process.stderr.read().decode(errors="replace")  # small: one summary line
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - t0
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"{argv[:4]} exited {process.returncode}: {err[-500:]}")
        peak = int(report.read_text())
    return wall, usage.ru_utime + usage.ru_stime, peak, err.strip()


def manifest_write_cost(items: int) -> float:
    """Seconds per item for the engine's two records (``sent``, then ``done`` with fsync)."""
    from realdream.cli import Manifest

    request = realdream.GenerationRequest.create(prompt="a lighthouse", seed=1).payload
    with tempfile.TemporaryDirectory() as tmp, Manifest(Path(tmp)) as manifest:
        t0 = time.perf_counter()
        for i in range(items):
            key = f"{i:064x}"
            manifest.append(key, i, "sent", sync=False)
            done = {"files": [f"{i:04d}.jpg"], "seed": 1, "cost": 0.002, "request_id": "r"}
            manifest.append(key, i, "done", **done, elapsed=0.2, retries=0, request=request)
        return (time.perf_counter() - t0) / items


def scale_rows(items: int) -> list[Row]:
    command = [sys.executable, "-m", "bench._peak"]  # realdream, reporting its own peak
    with tempfile.TemporaryDirectory() as tmp, mock_process(0) as mock:
        file = write_prompts(Path(tmp) / "prompts.jsonl", items, SCALE_SIZE)
        out = Path(tmp) / "out"
        argv = command + _batch_args(file, out, mock.base_url, SCALE_CONCURRENCY)
        wall, cpu, rss, summary = _process(argv)
        if f"All {items} items are done" not in summary:
            raise RuntimeError(f"the batch did not finish: {summary[-300:]}")
        manifest = out / "realdream-manifest.jsonl"
        manifest_bytes = manifest.stat().st_size
        images = sum(1 for p in out.iterdir() if p.suffix == ".jpg")
        resume_wall, resume_cpu, resume_rss, _ = _process(argv)
    write_cost = manifest_write_cost(min(items, 2000))
    method = (
        f"{items:,} prompts, {SCALE_SIZE}x{SCALE_SIZE}, concurrency {SCALE_CONCURRENCY}, mock "
        "latency 0 in its own process; realdream batch in its own process"
    )
    net = (cpu - resume_cpu) / items
    sample = min(items, 2000)

    def row(name: str, n: str, value: str, shown: str) -> Row:
        return Row(SECTION, name, method, n, value, shown)

    return [
        row("realdream batch: total", f"{images:,} images", seconds(wall), f"{items / wall:.0f}/s"),
        row(
            "realdream batch: client CPU per item, net of the resume run",
            "1 run",
            f"{net * 1000:.2f} ms",
            f"gross {cpu / items * 1000:.2f} ms",
        ),
        row(
            "realdream batch: peak memory (VmHWM)",
            "1 run",
            f"{rss / 1024:.0f} MiB",
            f"resume run {resume_rss / 1024:.0f} MiB",
        ),
        row(
            "manifest per item: bytes, and writing sent + done (one fsync)",
            f"{sample:,} items",
            f"{manifest_bytes / items:.0f} B",
            f"{write_cost * 1e6:.0f} µs to write",
        ),
        row(
            "resume over the finished manifest (all skipped)",
            "1 run",
            seconds(resume_wall),
            f"{resume_cpu / items * 1e6:.0f} µs CPU per item",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="engine/floor pairs")
    parser.add_argument("--items", type=int, default=10_000, help="the scale run (0: skip)")
    args = parser.parse_args(argv)
    rows = floor_rows(args.repeat) + (scale_rows(args.items) if args.items else [])
    for row in rows:
        print(f"{row.name:58} {row.value:>12}  {row.ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
