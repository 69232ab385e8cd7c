"""A v2 wait rides out a failing service until its deadline (issue 23): against the real mock,
with faults injected on status, result and image requests only, every job that was billed
reaches its caller."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

import realdream
from tests.core.faulty import FAULTS, GETS, Faults, Rig

SMALL = {"img_width": 256, "img_height": 256}
SCHEDULES = st.lists(st.one_of(st.none(), st.sampled_from(FAULTS)), max_size=24)


# --- every billed image is delivered -------------------------------------------------------------
def test_every_queued_job_returns_its_images_while_most_gets_fail() -> None:
    schedule = list(itertools.islice(itertools.cycle([*FAULTS, None]), 45))
    rig = Rig(Faults(schedule))
    with rig.client() as client:
        jobs = [client.submit("a lighthouse", seed=i, samples=1 + i % 2, **SMALL) for i in range(6)]
        results = [job.wait() for job in jobs]
    delivered = sum(len(result.images) for result in results)
    assert delivered == 9 == rig.billed_images
    assert len(rig.faults.injected) == 40  # every fault in the schedule was met...
    assert {kind for kind, _ in rig.faults.injected} == set(GETS)
    assert sum(job.retries for job in jobs) == 40  # ...and cost one retry, never the wait


@given(schedule=SCHEDULES, samples=st.integers(1, 2))
def test_any_fault_schedule_still_delivers_every_billed_image(
    schedule: list[str | None], samples: int
) -> None:
    rig = Rig(Faults(schedule))
    seen: list[realdream.JobStatus] = []
    with rig.client() as client:
        job = client.submit("a lighthouse", seed=3, samples=samples, **SMALL)
        result = job.wait(on_status=seen.append)
    assert len(result.images) == samples == rig.billed_images
    assert job.retries == len(rig.faults.injected)
    assert sum(status.transient is not None for status in seen) == len(rig.faults.injected)


@given(schedule=SCHEDULES, samples=st.integers(1, 2))
def test_any_fault_schedule_still_delivers_every_billed_image_async(
    schedule: list[str | None], samples: int
) -> None:
    rig = Rig(Faults(schedule))
    seen: list[realdream.JobStatus] = []

    async def go() -> tuple[realdream.AsyncJob, realdream.GenerationResult]:
        async with rig.async_client() as client:
            job = await client.submit("a lighthouse", seed=3, samples=samples, **SMALL)
            return job, await job.wait(on_status=seen.append)

    job, result = asyncio.run(go())
    assert len(result.images) == samples == rig.billed_images
    assert job.retries == len(rig.faults.injected)
    assert sum(status.transient is not None for status in seen) == len(rig.faults.injected)


def test_a_client_that_never_retries_a_request_still_rides_out_faults_in_a_wait() -> None:
    rig = Rig(Faults(["502", "connect", None, "503", "read-timeout", "cut-body"]))
    with rig.client(retry=realdream.RetryPolicy(max_retries=0)) as client:
        result = client.generate("a lighthouse", seed=5, **SMALL)
    assert len(result.images) == 1 == rig.billed_images
    assert result.retries == 5


def test_a_result_not_ready_after_a_completed_status_sends_the_wait_back_to_polling() -> None:
    rig = Rig(Faults(["pending"], kinds=["result"]))
    with rig.client() as client:
        result = client.generate("a lighthouse", **SMALL)
    assert len(result.images) == 1 == rig.billed_images
    assert rig.faults.requests == ["status", "result", "status", "result", "image"]


def test_a_result_never_ready_ends_at_the_deadline_saying_so() -> None:
    rig = Rig(Faults(kinds=["result"], then="pending"))
    with rig.client() as client:
        job = client.submit("a lighthouse", **SMALL)
        with pytest.raises(realdream.JobTimeoutError) as info:
            job.wait(timeout=15)
    assert info.value.state == "COMPLETED"
    assert "not ready" in str(info.value)


# --- progress ------------------------------------------------------------------------------------
def test_progress_names_the_failure_and_the_last_state_while_the_wait_goes_on() -> None:
    rig = Rig(Faults(["502", None, "read-timeout"], kinds=["status"]), latency=8.0)
    seen: list[realdream.JobStatus] = []
    with rig.client() as client:
        job = client.submit("a lighthouse", **SMALL)
        job.wait(on_status=seen.append)
    first, second, third = seen[:3]
    assert (first.state, type(first.transient)) == ("QUEUED", realdream.BadGatewayError)
    assert first.request_id == job.request_id  # no status read yet: the job as submitted
    assert (second.state, second.transient) == ("PROCESSING", None)
    assert (third.state, type(third.transient)) == ("PROCESSING", realdream.APITimeoutError)
    assert seen[-1].state == "COMPLETED"
    assert seen[-1].transient is None


# --- the deadline --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("failing", "state"),
    [("status", "QUEUED"), ("result", "COMPLETED"), ("image", "COMPLETED")],
)
def test_a_deadline_while_the_service_keeps_failing_raises_job_timeout_then_collect_by_id(
    failing: str, state: str
) -> None:
    rig = Rig(Faults(kinds=[failing], then="502"))
    with rig.client() as client:
        job = client.submit("a lighthouse", seed=21, samples=2, **SMALL)
        started = rig.clock.now
        with pytest.raises(realdream.JobTimeoutError) as info:
            job.wait(timeout=30)
        assert rig.clock.now == pytest.approx(started + 30)  # no pause ran past the deadline
        rig.faults.then = None
        result = client.job(job.request_id, request=job.request).result()
    error = info.value
    assert error.job is job
    assert error.state == state
    assert isinstance(error.__cause__, realdream.BadGatewayError)
    assert error.maybe_billed
    assert "502" in str(error)
    assert job.request_id in str(error)
    assert result.seed == 21
    assert len(result.images) == 2 == rig.billed_images


def test_a_deadline_while_the_service_keeps_failing_raises_job_timeout_async() -> None:
    rig = Rig(Faults(kinds=["status"], then="connect"))

    async def go() -> tuple[realdream.AsyncJob, realdream.JobTimeoutError, int]:
        async with rig.async_client() as client:
            job = await client.submit("a lighthouse", **SMALL)
            with pytest.raises(realdream.JobTimeoutError) as info:
                await job.wait(timeout=20)
            rig.faults.then = None
            result = await client.job(job.request_id).result()
            return job, info.value, len(result.images)

    job, error, delivered = asyncio.run(go())
    assert error.job is job
    assert isinstance(error.__cause__, realdream.APIConnectionError)
    assert delivered == 1 == rig.billed_images


def test_a_429_is_honoured_for_as_long_as_it_asks() -> None:
    rig = Rig(Faults(["429:7"], kinds=["status"]))
    with rig.client() as client:
        client.generate("a lighthouse", **SMALL)
    assert 7.0 in rig.clock.slept


def test_a_429_asking_past_the_deadline_ends_the_wait_without_sleeping_past_it() -> None:
    rig = Rig(Faults(kinds=["status"], then="429:90"))
    with rig.client() as client:
        job = client.submit("a lighthouse", **SMALL)
        started = rig.clock.now
        with pytest.raises(realdream.JobTimeoutError) as info:
            job.wait(timeout=30)
    assert rig.clock.now < started + 30
    assert isinstance(info.value.__cause__, realdream.RateLimitError)
    assert rig.faults.requests.count("status") == 1


# --- errors a retry cannot fix --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "error"),
    [("401", realdream.AuthenticationError), ("403", realdream.PermissionDeniedError)],
)
def test_an_error_retrying_cannot_fix_ends_the_wait_at_once(
    status: str, error: type[realdream.APIStatusError]
) -> None:
    rig = Rig(Faults([None, "502", None, status], kinds=["status"]), latency=30.0)
    with rig.client() as client:
        job = client.submit("a lighthouse", **SMALL)
        with pytest.raises(error) as info:
            job.wait(timeout=60)
    assert rig.faults.requests == ["status"] * 4  # nothing was tried after it
    assert [fault for _, fault in rig.faults.injected] == ["502", status]
    assert info.value.job is job  # type: ignore[attr-defined]


def test_an_error_retrying_cannot_fix_ends_the_wait_at_once_async() -> None:
    rig = Rig(Faults(["503", "401"], kinds=["status"]))

    async def go() -> None:
        async with rig.async_client() as client:
            job = await client.submit("a lighthouse", **SMALL)
            await job.wait()

    with pytest.raises(realdream.AuthenticationError):
        asyncio.run(go())
    assert rig.faults.requests == ["status"] * 2


def test_an_expired_job_ends_the_wait_at_once() -> None:
    rig = Rig(Faults(["504"], kinds=["status"]))
    with rig.client() as client:
        job = client.job("00000000-0000-0000-0000-000000000000")
        with pytest.raises(realdream.JobExpiredError):
            job.wait()
    assert rig.faults.requests == ["status"] * 2
