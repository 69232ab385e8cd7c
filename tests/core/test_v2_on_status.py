"""``wait(on_status=...)``: every status a poll reads reaches the caller, sync and async."""

from __future__ import annotations

import asyncio

import httpx
import pytest

import realdream
from realdream.testing.clock import SkipAheadClock
from tests.core.fakes import KEY
from tests.core.v2fakes import API, FakeV2


def test_wait_reports_each_polled_status_in_order() -> None:
    clock = SkipAheadClock(frozen=True)
    server = FakeV2(clock, duration=4.0)
    seen: list[realdream.JobStatus] = []
    with realdream.Client(
        KEY, base_url=API, api="v2", transport=httpx.MockTransport(server),
        sleep=clock.sleep, clock=clock,
    ) as client:  # fmt: skip
        job = client.submit("a lighthouse")
        job.wait(on_status=seen.append)
    assert [status.state for status in seen][-1] == "COMPLETED"
    assert {status.state for status in seen[:-1]} == {"PROCESSING"}
    assert len(seen) == len(server.requests_of("status"))
    assert {status.request_id for status in seen} == {job.request_id}


def test_async_wait_reports_a_failed_status_before_raising() -> None:
    clock = SkipAheadClock(frozen=True)
    server = FakeV2(clock)
    server.fail_next = "Prompt is Mandatory"
    seen: list[str] = []

    async def go() -> None:
        async with realdream.AsyncClient(
            KEY, base_url=API, api="v2", transport=httpx.MockTransport(server),
            sleep=clock.async_sleep, clock=clock,
        ) as client:  # fmt: skip
            job = await client.submit("a lighthouse")
            with pytest.raises(realdream.GenerationFailedError):
                await job.wait(on_status=lambda status: seen.append(status.state))

    asyncio.run(go())
    assert seen == ["FAILED"]
