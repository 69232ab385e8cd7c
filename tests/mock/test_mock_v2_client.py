"""The real client's v2 path against the mock: in-process on one fake clock (the client's
``sleep`` moves the service's clock), and over loopback with the real clock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import realdream
import realdream.mock as mocks
from realdream import GenerationRequest, contract
from realdream.testing.clock import SkipAheadClock
from tests.mock.conftest import JSON_HEADERS, KEY, body

BASE = "http://mock.test"
CONFIG = mocks.MockConfig(latency=2.0, queue_time=1.0)


class Recording(httpx.BaseTransport):
    """A transport that notes every request, then hands it to the mock."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.inner.handle_request(request)


class Setup:
    """One service and one fake clock, and clients sharing them."""

    def __init__(self, config: mocks.MockConfig = CONFIG) -> None:
        self.clock = SkipAheadClock(frozen=True)
        self.service = mocks.MockService(config, clock=self.clock)
        self.transport = Recording(mocks.MockTransport(self.service))

    def client(self, **options: Any) -> realdream.Client:
        return realdream.Client(
            KEY,
            base_url=BASE,
            transport=self.transport,
            api="v2",
            sleep=self.clock.sleep,
            clock=self.clock,
            **options,
        )

    def raw(self) -> httpx.Client:
        return httpx.Client(transport=mocks.MockTransport(self.service), base_url=BASE)


@pytest.fixture
def setup() -> Setup:
    return Setup()


@pytest.fixture
def client(setup: Setup) -> Iterator[realdream.Client]:
    with setup.client() as made:
        yield made


def sent(prompt: str = "a lighthouse at dusk", **params: Any) -> GenerationRequest:
    return GenerationRequest.create(prompt=prompt, **params).as_sent()


# --- generate, submit, wait ----------------------------------------------------------------------
def test_generate_over_v2_returns_the_mocks_image_billed_once(
    setup: Setup, client: realdream.Client
) -> None:
    result = client.generate("a lighthouse at dusk", seed=11, img_width=768)
    assert result.image.data == mocks.render_jpeg(sent(seed=11, img_width=768))
    assert (result.image.width, result.image.height) == (768, 1024)
    assert result.seed == 11
    assert result.cost == pytest.approx(0.002)
    assert result.remaining_credits == pytest.approx(9.998)
    assert result.generation_time == pytest.approx(CONFIG.latency)
    assert setup.service.balance == pytest.approx(9.998)
    assert setup.clock.now - setup.clock.start >= CONFIG.queue_time + CONFIG.latency


def test_generate_over_v2_returns_every_sample(setup: Setup, client: realdream.Client) -> None:
    result = client.generate("boats", samples=3, seed=4)
    request = sent("boats", samples=3, seed=4)
    assert [image.data for image in result.images] == [
        mocks.render_jpeg(request, index) for index in range(3)
    ]
    assert setup.service.balance == pytest.approx(10 - 0.006)


def test_submit_then_wait(setup: Setup, client: realdream.Client) -> None:
    job = client.submit("a red fox", seed=2)
    assert job.status().state == "QUEUED"
    assert setup.service.balance == 10.0
    result = job.wait()
    assert result.request_id == job.request_id
    assert result.image.data == mocks.render_jpeg(sent("a red fox", seed=2))
    assert job.status().state == "COMPLETED"
    assert setup.service.balance == pytest.approx(9.998)


def test_a_job_resumed_by_id_after_a_crash_completes(setup: Setup) -> None:
    with setup.client() as first:
        job = first.submit("a red fox", seed=2)
        request_id, request = job.request_id, job.request
    setup.clock.advance(1.5)  # the process died here, mid-job
    with setup.client() as second:
        result = second.job(request_id, request=request).wait()
    assert result.image.data == mocks.render_jpeg(sent("a red fox", seed=2))
    assert result.request == request
    assert setup.service.balance == pytest.approx(9.998)


def test_a_job_resumed_from_its_id_alone_reports_the_servers_seed(setup: Setup) -> None:
    with setup.client() as first:
        request_id = first.submit("a red fox", seed=77).request_id
    with setup.client() as second:
        result = second.job(request_id).wait()
    assert result.server_seed == 77


def test_a_timeout_leaves_the_job_running_and_waiting_again_collects_it() -> None:
    setup = Setup(mocks.MockConfig(latency=30.0, queue_time=5.0))
    with setup.client() as client:
        job = client.submit("a slow one", seed=3)
        with pytest.raises(realdream.JobTimeoutError) as raised:
            job.wait(timeout=10.0)
        assert raised.value.job is job
        assert raised.value.state == "PROCESSING"
        assert setup.service.balance == 10.0
        result = raised.value.job.wait()
    assert result.image.data == mocks.render_jpeg(sent("a slow one", seed=3))
    assert setup.service.balance == pytest.approx(9.998)


def test_a_job_past_its_hour_is_expired(setup: Setup, client: realdream.Client) -> None:
    job = client.submit("too late")
    setup.clock.advance(contract.RESULT_TTL_S)
    with pytest.raises(realdream.JobExpiredError) as raised:
        job.wait()
    assert raised.value.status_code == 404
    assert job.request_id in raised.value.message
    with pytest.raises(realdream.JobExpiredError):
        client.job("2c7f59ea-13f1-402c-9353-915a2b5a2124").status()


# --- FAILED --------------------------------------------------------------------------------------
@pytest.mark.parametrize("failed_status", sorted(contract.FAILED_STATUS_CODES))
def test_an_invalid_request_sent_raw_fails_with_the_validation_text(failed_status: int) -> None:
    setup = Setup(mocks.MockConfig(latency=2.0, queue_time=1.0, failed_status=failed_status))
    with setup.raw() as raw:
        submitted = raw.post(contract.V2_SUBMIT_PATH, content=body(samples=9), headers=JSON_HEADERS)
    request_id = submitted.json()["request_id"]
    with setup.client() as client, pytest.raises(realdream.GenerationFailedError) as raised:
        client.job(request_id).wait()
    assert raised.value.message == "samples=9: must be between 1 and 4"
    assert raised.value.status_code == failed_status
    assert not raised.value.maybe_billed
    assert setup.service.balance == 10.0


def test_a_job_failed_script_raises_generation_failed_unbilled(
    setup: Setup, client: realdream.Client
) -> None:
    setup.service.script([mocks.JOB_FAILED])
    with pytest.raises(realdream.GenerationFailedError) as raised:
        client.generate("a valid prompt")
    assert raised.value.metrics[contract.METRIC_INFERENCE_TIME] == CONFIG.latency
    assert setup.service.balance == 10.0
    assert setup.service.ledger.reserved_micros == 0


def test_job_status_reports_failed_without_raising(setup: Setup, client: realdream.Client) -> None:
    setup.service.script([mocks.JOB_FAILED])
    job = client.submit("a valid prompt")
    setup.clock.advance(10.0)
    status = job.status()
    assert status.state == "FAILED"
    assert status.error is not None


# --- keys, retries, pacing -----------------------------------------------------------------------
def test_the_client_never_sends_the_key_to_image_urls(
    setup: Setup, client: realdream.Client
) -> None:
    client.generate("a lighthouse", samples=1)
    images = [r for r in setup.transport.requests if r.url.path.startswith(mocks.CDN_PREFIX)]
    api = [r for r in setup.transport.requests if not r.url.path.startswith(mocks.CDN_PREFIX)]
    assert len(images) == 1
    assert all(contract.API_KEY_HEADER not in request.headers for request in images)
    assert all(request.headers[contract.API_KEY_HEADER] == KEY for request in api)


def test_faults_on_submit_and_polls_are_retried_and_billed_once(
    setup: Setup, client: realdream.Client
) -> None:
    setup.service.script([502, 500])  # the submit fails twice (never queued), then goes
    job = client.submit("resilient", seed=1)
    setup.service.script([504, 429])  # then two polls fail
    result = job.wait()
    assert result.image.data == mocks.render_jpeg(sent("resilient", seed=1))
    assert setup.service.stats.jobs == 1
    assert setup.service.balance == pytest.approx(9.998)


def test_a_client_paced_at_the_limit_never_meets_a_429_polls_included() -> None:
    setup = Setup(mocks.MockConfig(latency=2.0, queue_time=1.0, rate_limit=5))
    with setup.client(rate_limit_per_minute=5) as client:
        for seed in range(3):
            client.generate("paced", seed=seed)
    stats = setup.service.stats
    assert 429 not in stats.by_status
    assert stats.requests > 5  # submits, polls and results all counted against the limit
    assert setup.service.balance == pytest.approx(10 - 0.006)


def test_the_async_client_over_v2() -> None:
    clock = SkipAheadClock(frozen=True)
    service = mocks.MockService(CONFIG, clock=clock)

    async def run() -> list[realdream.GenerationResult]:
        async with realdream.AsyncClient(
            KEY,
            base_url=BASE,
            transport=mocks.AsyncMockTransport(service),
            api="v2",
            sleep=clock.async_sleep,
            clock=clock,
        ) as client:
            jobs = [await client.submit("async", seed=seed) for seed in range(3)]
            return list(await asyncio.gather(*(job.wait() for job in jobs)))

    results = asyncio.run(run())
    assert [r.image.data for r in results] == [
        mocks.render_jpeg(sent("async", seed=seed)) for seed in range(3)
    ]
    assert service.balance == pytest.approx(10 - 0.006)


# --- loopback, real clock ------------------------------------------------------------------------
def test_jobs_over_loopback_with_the_real_clock() -> None:
    config = mocks.MockConfig(queue_time=0.05, latency=0.1)
    with (
        mocks.serve(config) as live,
        realdream.Client(live.api_key, base_url=live.base_url, api="v2") as client,
    ):
        client.durations.add(0.15)  # where this client expects jobs to end: first poll there
        results: dict[int, realdream.GenerationResult] = {}

        def run(seed: int) -> None:
            results[seed] = client.generate("over loopback", seed=seed)

        threads = [threading.Thread(target=run, args=(seed,)) for seed in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        job = client.submit("resumed", seed=9)
        resumed = client.job(job.request_id, request=job.request).wait(timeout=30.0)
        balance = live.service.balance
    assert sorted(results) == [0, 1, 2]
    for seed, result in results.items():
        assert result.image.data == mocks.render_jpeg(sent("over loopback", seed=seed))
        assert result.request_id is not None
    assert resumed.image.data == mocks.render_jpeg(sent("resumed", seed=9))
    assert balance == pytest.approx(10 - 4 * 0.002)


def test_urls_over_loopback_point_at_the_server_itself() -> None:
    with mocks.serve(mocks.MockConfig(latency=0.0)) as live, httpx.Client() as raw:
        submitted = raw.post(
            live.url(contract.V2_SUBMIT_PATH), content=body(seed=1), headers=JSON_HEADERS
        ).json()
        assert submitted["status_url"].startswith(live.base_url + "/v2/requests/")
        result = raw.get(submitted["response_url"], headers={contract.API_KEY_HEADER: KEY})
        image = raw.get(result.json()["output"])
    assert result.json()["status"] == "COMPLETED"
    assert image.headers["content-type"] == "image/jpeg"
    assert image.content == mocks.render_jpeg(sent(seed=1))
