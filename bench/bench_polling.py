"""v2 polling: how late a finished job is noticed, and how many status requests that takes.

100 jobs of 3 s each (mock: latency 3, queue time 0, in its own process with its request log
on), 25 in flight at a time, through ``realdream.AsyncClient(api="v2")`` (``submit`` then
``wait``, images downloaded) and through the official segmind SDK's ``run()`` (submit, then a
status poll every second, then the result body; no image) in 25 threads. The SDK is pointed at
the mock with its own constructor option, ``SegmindClient(base_url=<mock>/v1)``: it derives the
v2 URL from it and follows the status and result URLs the submit returns.

- **late**: from the job's true completion to the result in hand. The mock starts a job when
  its submit arrives, so the completion is taken as the moment the submit was *sent* plus the
  job's length: an upper bound on lateness (the submit's trip to the mock is counted as late).
- **status requests per job**: counted on the mock, from its request log, per job id.

A second pair runs 3.5 s jobs: the SDK's one-second grid lands just after a 3 s job ends (its
fourth poll comes at 3 s plus the time three polls took), which flatters it; jobs that do not
end on its grid are noticed up to a second late.

    python -m bench.bench_polling [--jobs 100] [--concurrency 25]

Targets (issue 13): at most 0.3 s late and at most 3 status requests per job (medians).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import realdream
from bench._common import KEY, MODEL_SLUG, Row, median, mock_process, requests_logged

SECTION = "7 v2 polling"
JOB_S = 3.0
OFF_GRID_JOB_S = 3.5
JOBS = 100
CONCURRENCY = 25
LATE_TARGET_S = 0.3
STATUS_TARGET = 3
PARAMS = {"prompt": "portrait of a sailor, 85mm", "seed": 42, "img_width": 256, "img_height": 256}
_STATUS = re.compile(r"^/v2/requests/([^/]+)/status$")
_RESULT = re.compile(r"^/v2/requests/([^/]+)$")


@dataclass(frozen=True)
class Timed:
    request_id: str
    sent: float  # perf_counter before the submit was sent
    done: float  # perf_counter with the result in hand


@dataclass(frozen=True)
class Outcome:
    """One run: each job's lateness, and the mock's count of requests per job."""

    late: list[float]
    status_per_job: list[int]
    results_per_job: list[int]
    requests: int  # every request the mock answered (images included)
    wall: float


async def _ours(base_url: str, jobs: int, concurrency: int) -> list[Timed]:
    gate = asyncio.Semaphore(concurrency)
    async with realdream.AsyncClient(KEY, base_url=base_url, api="v2") as client:

        async def one() -> Timed:
            async with gate:
                sent = time.perf_counter()
                job = await client.submit(**PARAMS)
                await job.wait()
                return Timed(job.request_id, sent, time.perf_counter())

        return list(await asyncio.gather(*(one() for _ in range(jobs))))


def _sdk(base_url: str, jobs: int, concurrency: int) -> list[Timed]:
    from segmind import SegmindClient

    client = SegmindClient(api_key=KEY, base_url=base_url + "/v1")

    def one(_: int) -> Timed:
        sent = time.perf_counter()
        body = client.run(MODEL_SLUG, **PARAMS)  # submit, poll every 1 s, result body
        return Timed(str(body["request_id"]), sent, time.perf_counter())

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(jobs)))


def measure(who: str, job_s: float, jobs: int, concurrency: int) -> Outcome:
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "mock.log"
        with mock_process(job_s, "--queue-time", "0", log=log) as mock:
            t0 = time.perf_counter()
            if who == "ours":
                timed = asyncio.run(_ours(mock.base_url, jobs, concurrency))
            else:
                timed = _sdk(mock.base_url, jobs, concurrency)
            wall = time.perf_counter() - t0
        logged = requests_logged(log)
    status = Counter(m.group(1) for r in logged if (m := _STATUS.match(r.path)))
    results = Counter(m.group(1) for r in logged if (m := _RESULT.match(r.path)))
    return Outcome(
        late=[t.done - (t.sent + job_s) for t in timed],
        status_per_job=[status[t.request_id] for t in timed],
        results_per_job=[results[t.request_id] for t in timed],
        requests=len(logged),
        wall=wall,
    )


def rows(jobs: int = JOBS, concurrency: int = CONCURRENCY, off_grid: bool = True) -> list[Row]:
    out = []
    lengths = (JOB_S, OFF_GRID_JOB_S) if off_grid else (JOB_S,)
    for job_s in lengths:
        outcomes = {who: measure(who, job_s, jobs, concurrency) for who in ("ours", "sdk")}
        out += _rows(outcomes, job_s, jobs, concurrency)
    return out


def _rows(outcomes: dict[str, Outcome], job_s: float, jobs: int, concurrency: int) -> list[Row]:
    method = (
        f"{job_s:g} s jobs (mock latency {job_s:g}, queue 0), {concurrency} in flight; "
        "late = result in hand minus (submit sent + job length); requests counted on the mock"
    )
    names = {
        "ours": "AsyncClient(api='v2'): submit + wait (images downloaded)",
        "sdk": "segmind SDK run() (1 s polls; result body, no image)",
    }
    sdk = outcomes["sdk"]
    out = []
    for who in ("ours", "sdk"):
        o = outcomes[who]
        late, polls = median(o.late), statistics.median(o.status_per_job)
        value = (
            f"late {late:.3f} s (p90 {_p90(o.late):.3f} s), {polls:g} status requests/job "
            f"(max {max(o.status_per_job)}), {o.requests / jobs:.1f} requests/job in all"
        )
        if who == "ours":
            gap = late - median(sdk.late)
            shown = f"{gap:+.3f} s late, {polls / _median(sdk):.2f}x status requests vs SDK"
            if job_s == JOB_S:
                shown += f" (targets <= {LATE_TARGET_S} s, <= {STATUS_TARGET} requests)"
        else:
            shown = "baseline"
        out.append(Row(SECTION, names[who], method, f"{jobs} jobs", value, shown))
    return out


def _median(outcome: Outcome) -> float:
    return float(statistics.median(outcome.status_per_job)) or 1.0


def _p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=JOBS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args(argv)
    for row in rows(args.jobs, args.concurrency):
        print(f"{row.name:58} {row.value}  {row.ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
