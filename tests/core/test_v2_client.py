"""The v2 queue API in the client: submit, poll, collect, resume; billing-aware retries."""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics

import httpx
import pytest

import realdream
from realdream.testing.clock import SkipAheadClock
from tests.core.fakes import KEY
from tests.core.v2fakes import API, FakeV2


def _client(server: FakeV2, **kwargs: object) -> realdream.Client:
    return realdream.Client(
        KEY,
        base_url=API,
        api="v2",
        transport=httpx.MockTransport(server),
        sleep=server.clock.sleep,
        clock=server.clock,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def clock() -> SkipAheadClock:
    return SkipAheadClock(frozen=True)


@pytest.fixture
def server(clock: SkipAheadClock) -> FakeV2:
    return FakeV2(clock)


# --- the happy path, every body shape ---------------------------------------------------------
@pytest.mark.parametrize("shape", ["url", "list", "images", "base64"])
@pytest.mark.parametrize("samples", [1, 2])
def test_generate_on_v2_returns_every_image_with_the_request_as_sent(
    server: FakeV2, shape: str, samples: int
) -> None:
    server.shape = shape
    with _client(server) as client:
        result = client.generate("a lighthouse", seed=-1, samples=samples, img_width=512)
    sent = json.loads(server.requests_of("submit")[0].content)
    assert result.request is not None
    assert result.request.payload == sent
    assert result.seed == sent["seed"] != -1
    assert len(result.images) == samples
    assert all(image.data.startswith(b"\xff\xd8") for image in result.images)
    assert (result.images[0].width, result.images[0].height) == (64, 128)
    assert result.cost == pytest.approx(0.0024 * samples)
    assert result.remaining_credits == pytest.approx(9.87)
    assert result.generation_time == pytest.approx(2.9)
    assert result.request_id == server.requests_of("status")[0].url.path.split("/")[3]
    downloads = server.requests_of("image")
    assert len(downloads) == (0 if shape == "base64" else samples)


def test_no_key_is_ever_sent_to_the_image_host(server: FakeV2) -> None:
    with _client(server) as client:
        client.generate("a lighthouse", samples=2)
    downloads = server.requests_of("image")
    assert downloads
    assert all(realdream.contract.API_KEY_HEADER not in r.headers for r in downloads)
    api_calls = [r for r in server.requests if r not in downloads]
    assert all(r.headers[realdream.contract.API_KEY_HEADER] == KEY for r in api_calls)


def test_submit_returns_a_job_that_knows_its_urls_and_request(server: FakeV2) -> None:
    with _client(server) as client:
        job = client.submit("a lighthouse", seed=5)
        assert job.request is not None
        assert job.request.seed == 5
        assert job.status_url == f"{API}/v2/requests/{job.request_id}/status"
        assert job.response_url == f"{API}/v2/requests/{job.request_id}"
        assert job.status().state == "QUEUED"
        assert job.expires_at > job.submitted_at
        assert job.wait().seed == 5


def test_status_walks_queued_processing_completed(server: FakeV2, clock: SkipAheadClock) -> None:
    with _client(server) as client:
        job = client.submit("a lighthouse")
        states = [job.status().state]
        clock.sleep(1.0)
        states.append(job.status().state)
        clock.sleep(3.0)
        states.append(job.status().state)
    assert states == ["QUEUED", "PROCESSING", "COMPLETED"]


# --- failures ------------------------------------------------------------------------------------
@pytest.mark.parametrize("failed_status", [422, 200])
def test_a_failed_job_raises_with_its_text_and_metrics_and_is_not_billed(
    server: FakeV2, failed_status: int
) -> None:
    server.failed_status = failed_status
    server.fail_next = "Prompt is Mandatory and must be string"
    with _client(server) as client:
        job = client.submit("a lighthouse")
        with pytest.raises(realdream.GenerationFailedError) as info:
            job.wait()
        assert job.status().state == "FAILED"
    error = info.value
    assert error.message == "Prompt is Mandatory and must be string"
    assert error.request_id == job.request_id
    assert error.metrics["queue_time"] == pytest.approx(0.23)
    assert not error.maybe_billed
    assert isinstance(error, realdream.UnprocessableEntityError)
    assert server.requests_of("result") == []


def test_a_deadline_raises_job_timeout_carrying_the_job_then_resume_by_id(
    server: FakeV2, clock: SkipAheadClock
) -> None:
    server.duration = 30.0
    with _client(server) as client:
        job = client.submit("a lighthouse", seed=8)
        with pytest.raises(realdream.JobTimeoutError) as info:
            job.wait(timeout=5)
        assert info.value.job is job
        assert info.value.state == "PROCESSING"
        assert info.value.maybe_billed
        assert clock.now - job.submitted_clock == pytest.approx(5.0)  # type: ignore[operator]
        resumed = client.job(job.request_id, request=job.request)
        result = resumed.wait()
    assert result.seed == 8
    assert result.request == job.request


def test_a_job_resumed_from_its_id_alone_still_yields_its_images(server: FakeV2) -> None:
    with _client(server) as client:
        job_id = client.submit("a lighthouse", seed=11).request_id
        result = client.job(job_id).wait()
    assert result.request is None
    assert result.seed == 11  # what the server reported
    assert result.images[0].parameters is None


@pytest.mark.parametrize("job_id", ["expired", "unknown"])
def test_an_expired_or_unknown_job_raises_job_expired(
    server: FakeV2, clock: SkipAheadClock, job_id: str
) -> None:
    with _client(server) as client:
        if job_id == "expired":
            job = client.submit("a lighthouse")
            clock.sleep(realdream.contract.RESULT_TTL_S + 1)
        else:
            job = client.job("00000000-0000-0000-0000-000000000000")
        with pytest.raises(realdream.JobExpiredError) as info:
            job.wait()
    assert info.value.status_code == 404
    assert isinstance(info.value, realdream.NotFoundError)


@pytest.mark.parametrize("bad", ["", "../../v1/get-user-credits", "a b", "x" * 200, 5])
def test_a_job_id_that_is_not_one_is_refused_before_any_request(
    server: FakeV2, bad: object
) -> None:
    with _client(server) as client, pytest.raises(realdream.ValidationError, match="request_id"):
        client.job(bad)  # type: ignore[arg-type]
    assert server.requests == []


# --- retries: billing-aware ----------------------------------------------------------------------
def test_a_submit_that_got_a_5xx_is_retried(server: FakeV2) -> None:
    server.faults["submit"] = [httpx.Response(502, json={"error": "bad gateway"})]
    with _client(server) as client:
        result = client.generate("a lighthouse")
    assert len(server.requests_of("submit")) == 2
    assert result.retries >= 1


def test_a_submit_that_timed_out_reading_is_never_sent_again(server: FakeV2) -> None:
    server.faults["submit"] = [httpx.ReadTimeout("slow")]
    client = _client(server, retry=realdream.RetryPolicy(retry_read_errors=True))
    with client, pytest.raises(realdream.APITimeoutError) as info:
        client.submit("a lighthouse")
    assert len(server.requests_of("submit")) == 1  # it may have queued: never a second job
    assert info.value.maybe_billed


def test_polls_are_retried_through_429_and_502_and_read_timeouts(server: FakeV2) -> None:
    server.faults["status"] = [
        httpx.Response(429, headers={"retry-after": "2"}, json={"error": "slow down"}),
        httpx.Response(502, json={"error": "bad gateway"}),
        httpx.ReadTimeout("slow"),
    ]
    server.faults["result"] = [httpx.Response(503, json={"error": "busy"})]
    with _client(server, retry=realdream.RetryPolicy(max_retries=3)) as client:
        result = client.generate("a lighthouse")
    assert result.retries == 4
    assert 2.0 in server.clock.slept  # the server's wait was honoured


def test_a_download_failure_after_completion_says_it_was_billed(server: FakeV2) -> None:
    server.faults["image"] = [httpx.Response(404, json={"error": "gone"})]
    with _client(server) as client, pytest.raises(realdream.NotFoundError) as info:
        client.generate("a lighthouse")
    assert info.value.maybe_billed
    assert info.value.job.request_id  # type: ignore[attr-defined]


def test_a_submit_answer_without_a_request_id_may_have_queued(server: FakeV2) -> None:
    server.faults["submit"] = [httpx.Response(200, json={"status": "QUEUED"})]
    with _client(server) as client, pytest.raises(realdream.InvalidResponseError) as info:
        client.submit("a lighthouse")
    assert info.value.maybe_billed
    assert "request_id" in str(info.value)


# --- polling: quick and cheap ---------------------------------------------------------------------
def _lateness(server: FakeV2, clock: SkipAheadClock, durations: list[float]) -> tuple[float, float]:
    late, polls = [], []
    with _client(server) as client:  # one client for all jobs: it learns their durations
        for duration in durations:
            server.duration = duration
            before = len(server.requests_of("status"))
            job = client.submit("a lighthouse")
            job.wait()
            finished = job.submitted_clock + duration  # type: ignore[operator]
            last_status = clock.now  # collect is instant on the fake clock
            late.append(last_status - finished)
            polls.append(len(server.requests_of("status")) - before)
    return statistics.median(late), statistics.median(polls)


def test_a_3s_job_is_noticed_quickly_with_few_polls(server: FakeV2, clock: SkipAheadClock) -> None:
    durations = [3.0 + 0.05 * (i % 7) for i in range(40)]
    late, polls = _lateness(server, clock, durations)
    assert late <= 0.3
    assert polls <= 3


def test_the_first_poll_moves_to_what_this_client_has_measured(
    server: FakeV2, clock: SkipAheadClock
) -> None:
    late, polls = _lateness(server, clock, [8.0] * 12)  # slower than the advertised ~3 s
    assert late <= 0.3
    assert polls <= 2


def test_the_first_poll_counts_from_the_submits_answer_not_its_sending(
    server: FakeV2, clock: SkipAheadClock
) -> None:
    """The job starts when the submit arrives, and no later than its answer: timed from the
    answer, the first poll finds a job of the expected length done, however long the trip."""

    def far(request: httpx.Request) -> httpx.Response:  # 50 ms each way
        clock.sleep(0.05)
        response = server(request)
        clock.sleep(0.05)
        return response

    server.duration = realdream.contract.ADVERTISED_LATENCY_S  # what a new client expects
    transport = httpx.MockTransport(far)
    with realdream.Client(
        KEY, base_url=API, api="v2", transport=transport, sleep=clock.sleep, clock=clock
    ) as client:
        client.submit("a lighthouse").wait()
    assert len(server.requests_of("status")) == 1


# --- pacing ---------------------------------------------------------------------------------------
def test_rate_limit_per_minute_spaces_every_request(server: FakeV2, clock: SkipAheadClock) -> None:
    sent_at: list[float] = []
    server.on_request = lambda request: sent_at.append(clock.now)
    with _client(server, rate_limit_per_minute=30) as client:
        for _ in range(3):
            client.submit("a lighthouse")
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert min(gaps) >= 60 / 30


def test_a_429_pushes_the_pace_back_and_slows_it() -> None:
    pacer = realdream.Client(KEY, rate_limit_per_minute=60).pacer
    assert pacer is not None
    assert pacer.reserve(0.0) == 0.0
    spacing = pacer.spacing
    pacer.rate_limited_until(0.5, 10.0)
    assert pacer.reserve(0.5) >= 10.0
    assert pacer.spacing > spacing


@pytest.mark.parametrize("bad", [0, -1, float("nan"), True, "10"])
def test_a_bad_rate_limit_is_a_configuration_error(bad: object) -> None:
    with pytest.raises(realdream.ConfigurationError, match="rate_limit_per_minute"):
        realdream.Client(KEY, rate_limit_per_minute=bad)  # type: ignore[arg-type]


def test_an_unknown_api_is_a_configuration_error() -> None:
    with pytest.raises(realdream.ConfigurationError, match="api='v3'"):
        realdream.Client(KEY, api="v3")  # type: ignore[arg-type]


def test_v1_stays_the_default_and_generate_can_pick_per_call(server: FakeV2) -> None:
    client = realdream.Client(
        KEY, base_url=API, transport=httpx.MockTransport(server), sleep=server.clock.sleep,
        clock=server.clock,
    )  # fmt: skip
    assert client.api == "v1"
    result = client.generate("a lighthouse", api="v2")
    assert result.images
    assert server.requests_of("submit")


# --- async: the same surface ----------------------------------------------------------------------
def test_the_async_client_submits_polls_and_collects(server: FakeV2) -> None:
    async def main() -> tuple[realdream.GenerationResult, str]:
        async with realdream.AsyncClient(
            KEY,
            base_url=API,
            api="v2",
            transport=httpx.MockTransport(server),
            sleep=server.clock.async_sleep,
            clock=server.clock,
        ) as client:
            job = await client.submit("a lighthouse", seed=3)
            state = (await job.status()).state
            result = await job.wait()
            again = await client.job(job.request_id, request=job.request).wait()
            assert again.seed == result.seed
            return result, state

    result, state = asyncio.run(main())
    assert state == "QUEUED"
    assert result.seed == 3
    assert result.images


def test_v2_keeps_the_callers_base64_for_several_samples(server: FakeV2) -> None:
    with _client(server) as client:
        client.submit("a lighthouse", samples=3)
        realdream.Client(KEY, transport=httpx.MockTransport(server), base_url=API).submit(
            "x", samples=2, base64=True
        )
    sent = [json.loads(r.content) for r in server.requests_of("submit")]
    assert [(s["samples"], s["base64"]) for s in sent] == [(3, False), (2, True)]


def test_a_job_resumed_by_id_is_polled_at_once(server: FakeV2, clock: SkipAheadClock) -> None:
    with _client(server) as client:
        job_id = client.submit("a lighthouse").request_id
        clock.sleep(60.0)  # long done
        before = clock.now
        client.job(job_id).wait()
    assert clock.now - before < 0.01
    assert len(server.requests_of("status")) == 1
