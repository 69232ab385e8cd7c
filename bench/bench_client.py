"""Client overhead: realdream.Client.generate against a bare httpx.Client.post.

Both send the same payload to the same in-process handler (an httpx transport, no sockets)
that answers a 1024x1024 JPEG. The two are measured in interleaved rounds in one run, and the
ratio of medians is printed; absolute times on these machines are noise.

    python bench/bench_client.py [--requests 1000] [--rounds 5]

Target (issue 2): median ratio <= 1.10.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import httpx
from PIL import Image

import realdream

KEY = "SG_0123456789abcdef"
URL = "http://bench.invalid/v1/sdxl1.0-realdream-lightning"


def jpeg(size: int = 1024) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (90, 120, 150)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    body = jpeg()
    headers = {"content-type": "image/jpeg", "x-remaining-credits": "9.99"}
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=body, headers=headers)
    )
    payload = realdream.GenerationRequest.create(prompt="portrait of a sailor", seed=42).payload
    bare = httpx.Client(transport=transport)
    ours = realdream.Client(KEY, base_url="http://bench.invalid", transport=transport)
    api_headers = {"x-api-key": KEY, "Content-Type": "application/json"}

    def bare_call() -> None:
        bare.post(URL, json=payload, headers=api_headers).raise_for_status()

    def our_call() -> None:
        ours.generate("portrait of a sailor", seed=42)

    runs: dict[str, list[float]] = {"httpx.Client.post": [], "realdream.Client.generate": []}
    calls: dict[str, Callable[[], None]] = {
        "httpx.Client.post": bare_call,
        "realdream.Client.generate": our_call,
    }
    per_round = max(1, args.requests // args.rounds)
    for call in calls.values():  # warm up both paths
        for _ in range(50):
            call()
    for _ in range(args.rounds):
        for name, call in calls.items():
            for _ in range(per_round):
                t0 = time.perf_counter()
                call()
                runs[name].append(time.perf_counter() - t0)

    base = statistics.median(runs["httpx.Client.post"])
    print(f"{'method':28} {'n':>6} {'median µs':>10} {'p90 µs':>8} {'ratio':>6}")
    for name, samples in runs.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        row = f"{name:28} {len(samples):>6} {median * 1e6:>10.1f} {p90 * 1e6:>8.1f}"
        print(f"{row} {median / base:>6.2f}")
    ratio = statistics.median(runs["realdream.Client.generate"]) / base
    print(f"\nmedian ratio realdream/httpx: {ratio:.3f} (target <= 1.10)")


if __name__ == "__main__":
    main()
