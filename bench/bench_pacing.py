"""Pacing: a batch against a rate limit, through ``rate_limit_per_minute``.

200 prompts, all at once (``asyncio.gather``; the client keeps 32 in flight), through one
``realdream.AsyncClient(rate_limit_per_minute=600)`` against the mock at ``--rate-limit 600``
(a sliding one-minute window per key) with 1 s latency, in its own process with its request
log on. On v1 each prompt is one request; on v2 it is a submit, its status polls and the result
(the mock counts polls against the limit, as the client assumes the vendor does; image
downloads are on the image host and count for neither).

Counted on the mock, from its log: API requests it accepted per minute, from the first to the
last (against the limit), and the share answered 429. The client sends at 98% of the limit.

    python -m bench.bench_pacing [--prompts 200] [--limit 600]

Targets (issue 13): throughput at least 95% of the limit, at most 1% of requests answered 429.
Note: 200 v1 requests at 600 a minute take 20 s, so the mock's one-minute window never fills
on v1 (a 429 is impossible there whatever the pace); on v2 (about 600 requests) it does.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import realdream
from bench._common import KEY, Logged, Row, mock_process, requests_logged

SECTION = "8 pacing"
PROMPTS = 200
LIMIT = 600
LATENCY = 1.0
THROUGHPUT_TARGET = 0.95
REFUSED_TARGET = 0.01
PARAMS = {"prompt": "portrait of a sailor, 85mm", "seed": 42, "img_width": 256, "img_height": 256}


@dataclass(frozen=True)
class Outcome:
    api: realdream.Api
    prompts: int
    accepted: list[Logged]  # API requests answered with anything but 429
    refused: int  # API requests answered 429
    wall: float  # the client's wall time for the whole batch

    @property
    def per_minute(self) -> float:
        """Accepted API requests per minute, from the first to the last."""
        times = sorted(r.at for r in self.accepted)
        span = times[-1] - times[0]
        return (len(times) - 1) / span * 60 if span > 0 else float("nan")

    @property
    def refused_share(self) -> float:
        return self.refused / (len(self.accepted) + self.refused)

    @property
    def images_per_minute(self) -> float:
        return self.prompts / self.wall * 60


async def _batch(base_url: str, api: realdream.Api, prompts: int, limit: float) -> None:
    request = realdream.GenerationRequest.create(PARAMS)
    async with realdream.AsyncClient(
        KEY, base_url=base_url, api=api, rate_limit_per_minute=limit
    ) as client:
        await asyncio.gather(*(client.generate(request) for _ in range(prompts)))


def measure(api: realdream.Api, prompts: int = PROMPTS, limit: int = LIMIT) -> Outcome:
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "mock.log"
        with mock_process(LATENCY, "--rate-limit", str(limit), log=log) as mock:
            t0 = time.perf_counter()
            asyncio.run(_batch(mock.base_url, api, prompts, limit))
            wall = time.perf_counter() - t0
        logged = [r for r in requests_logged(log) if r.path.startswith(("/v1/", "/v2/"))]
    accepted = [r for r in logged if r.status != 429]
    return Outcome(api, prompts, accepted, len(logged) - len(accepted), wall)


def rows(prompts: int = PROMPTS, limit: int = LIMIT) -> list[Row]:
    method = (
        f"{prompts} prompts gathered, AsyncClient(rate_limit_per_minute={limit}), mock "
        f"--rate-limit {limit} (sliding minute), latency {LATENCY:g} s; counted on the mock"
    )
    out = []
    for api in realdream.contract.APIS:
        o = measure(api, prompts, limit)
        what = "requests" if api == "v1" else "requests (submits, polls, results)"
        value = (
            f"{o.per_minute:.0f} {what}/min, {o.refused} of {len(o.accepted) + o.refused} "
            f"answered 429 ({o.refused_share:.1%}); {o.images_per_minute:.0f} images/min, "
            f"{o.wall:.1f} s"
        )
        shown = (
            f"{o.per_minute / limit:.1%} of the limit (targets >= {THROUGHPUT_TARGET:.0%}, "
            f"<= {REFUSED_TARGET:.0%} 429)"
        )
        name = f"AsyncClient on {api}, paced at {limit}/min"
        out.append(Row(SECTION, name, method, f"{prompts} prompts", value, shown))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--prompts", type=int, default=PROMPTS)
    parser.add_argument("--limit", type=int, default=LIMIT)
    args = parser.parse_args(argv)
    for row in rows(args.prompts, args.limit):
        print(f"{row.name:40} {row.value}  {row.ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
