"""The Gradio demo: cold start against a one-textbox Gradio app, and one Generate round trip.

Cold start is process start to the first 200 on ``GET /``, both apps launched the same way
(``python <file>``, offline mock). Pairs alternate which app starts first, so neither always
meets a warmer page cache. Generate: ``gradio_client`` against ``python app.py`` (mock latency 0).

    python -m bench.bench_demo [--pairs 5]

Target: python app.py <= 1.25x the minimal app.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

import realdream
from bench._common import ROOT, Row, median, ms, ratio, seconds

SECTION = "6 demo"
TARGET = 1.25
MINIMAL_APP = "import gradio as gr\nwith gr.Blocks() as demo:\n    gr.Textbox()\ndemo.launch()\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def app(command: list[str], **env: str) -> Iterator[tuple[str, float]]:
    """Start ``command``; yield its URL and the seconds until ``GET /`` first answered 200."""
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


def cold_start(command: list[str]) -> float:
    with app(command) as (_, seconds_to_200):
        return seconds_to_200


def round_trips(n: int) -> list[float]:
    from gradio_client import Client

    with app([sys.executable, str(ROOT / "app.py")], REALDREAM_MOCK_LATENCY="0") as (url, _):
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


def rows(pairs: int) -> list[Row]:
    ours_cmd = [sys.executable, str(ROOT / "app.py")]
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal_app.py"
        minimal.write_text(MINIMAL_APP)
        base_cmd = [sys.executable, str(minimal)]
        cold_start(base_cmd)  # warm the page cache for gradio itself, outside the count
        ours, base = [], []
        for i in range(pairs):
            if i % 2 == 0:
                ours.append(cold_start(ours_cmd))
                base.append(cold_start(base_cmd))
            else:
                base.append(cold_start(base_cmd))
                ours.append(cold_start(ours_cmd))
    method = "process start to first 200 on GET / (offline mock); pairs alternate who starts first"
    ours_s, base_s = median(ours), median(base)
    n = f"{pairs} pairs"
    trips = round_trips(10)
    return [
        Row(SECTION, "minimal Gradio app (one textbox)", method, n, seconds(base_s), "1.00x"),
        Row(
            SECTION,
            "python app.py",
            method,
            n,
            seconds(ours_s),
            f"{ratio(ours_s / base_s)} (target <= {TARGET:.2f}x)",
        ),
        Row(
            SECTION,
            "Generate via gradio_client",
            "mock latency 0, 1024x1024, PNG out",
            str(len(trips)),
            ms(median(trips)),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args(argv)
    for row in rows(args.pairs):
        print(f"{row.name:36} {row.value:>10}  {row.ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
