"""``Job.result()``: a finished job's result, read once without waiting (sync and async)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

import realdream
from tests.core.fakes import KEY
from tests.core.faulty import BASE, Faults, Rig

SMALL = {"img_width": 256, "img_height": 256}


def test_a_completed_job_gives_its_images_and_is_billed_once_however_often_it_is_read() -> None:
    rig = Rig()
    with rig.client() as client:
        job = client.submit("a lighthouse", seed=4, samples=2, **SMALL)
        rig.clock.sleep(10.0)
        first, second = job.result(), client.job(job.request_id).result()
    assert len(first.images) == len(second.images) == 2 == rig.billed_images
    assert [image.data for image in first.images] == [image.data for image in second.images]
    assert first.seed == second.seed == 4
    assert rig.faults.requests == ["result", "image", "image"] * 2  # no status poll, no wait
    assert rig.clock.slept == [10.0]


@pytest.mark.parametrize(("after", "state"), [(0.0, "QUEUED"), (1.5, "PROCESSING")])
def test_an_unfinished_job_raises_job_pending_naming_its_state(after: float, state: str) -> None:
    rig = Rig(queue_time=1.0)
    with rig.client() as client:
        job = client.submit("a lighthouse", **SMALL)
        if after:
            rig.clock.sleep(after)
        with pytest.raises(realdream.JobPendingError) as info:
            job.result()
    error = info.value
    assert error.state == state
    assert state in str(error)
    assert job.request_id in str(error)
    assert error.job is job
    assert error.maybe_billed  # it will be, once it completes
    assert isinstance(error, realdream.RealDreamError)
    assert rig.clock.slept == ([after] if after else [])  # result() never sleeps
    assert rig.billed_images == 0


def test_a_failed_job_raises_its_failure_unbilled() -> None:
    rig = Rig()
    rig.service.script(["job-failed"])
    with rig.client() as client:
        job = client.submit("a lighthouse", **SMALL)
        rig.clock.sleep(10.0)
        with pytest.raises(realdream.GenerationFailedError) as info:
            job.result()
    assert not info.value.maybe_billed
    assert rig.billed_images == 0


def test_result_retries_as_the_client_policy_says_and_no_more() -> None:
    patient = Rig(Faults(["502", "connect"]))
    with patient.client() as client:
        job = client.submit("a lighthouse", **SMALL)
        patient.clock.sleep(10.0)
        assert len(job.result().images) == 1
    strict = Rig(Faults(["502"]))
    with strict.client(retry=realdream.RetryPolicy(max_retries=0)) as client:
        job = client.submit("a lighthouse", **SMALL)
        strict.clock.sleep(10.0)
        with pytest.raises(realdream.BadGatewayError):
            job.result()
        assert len(job.result().images) == 1  # the caller may simply ask again


def test_an_image_that_cannot_be_downloaded_says_the_job_was_billed() -> None:
    rig = Rig(Faults(kinds=["image"], then="503"))
    with rig.client(retry=realdream.RetryPolicy(max_retries=0)) as client:
        job = client.submit("a lighthouse", **SMALL)
        rig.clock.sleep(10.0)
        with pytest.raises(realdream.ServiceUnavailableError) as info:
            job.result()
    assert info.value.maybe_billed
    assert rig.billed_images == 1


def test_async_result_reads_a_completed_job_and_refuses_an_unfinished_one() -> None:
    rig = Rig()

    async def go() -> tuple[str, int]:
        async with rig.async_client() as client:
            job = await client.submit("a lighthouse", **SMALL)
            with pytest.raises(realdream.JobPendingError) as info:
                await job.result()
            await rig.clock.async_sleep(10.0)
            return info.value.state, len((await job.result()).images)

    assert asyncio.run(go()) == ("PROCESSING", 1)
    assert rig.billed_images == 1


@pytest.mark.parametrize("state", [["PROCESSING"], {"a": 1}, None, "DONE"])
def test_a_result_whose_state_is_not_one_is_unreadable_and_kept_for_support(state: object) -> None:
    def hostile(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": state, "metrics": {}}, request=request)

    client = realdream.Client(KEY, base_url=BASE, transport=httpx.MockTransport(hostile))
    with client, pytest.raises(realdream.InvalidResponseError) as info:
        client.job("2c7f59ea-13f1-402c-9353-915a2b5a2124").result()
    assert info.value.billed  # a 200: whatever it says, keep it as paid
    assert b"status" in info.value.body
