"""The mock over real loopback HTTP (uvicorn in a thread) and through the ASGI app in-process."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import requests
from PIL import Image

import realdream
import realdream.mock as mocks
from realdream import STATUS_ERRORS, contract, error_for_status
from realdream.testing.clock import SkipAheadClock
from tests.mock.conftest import GENERATE, JSON_HEADERS, KEY, body
from tests.reference import REFERENCE_PAYLOAD


def test_the_vendor_sample_works_with_only_url_and_key_changed(live: mocks.RunningMock) -> None:
    url = live.base_url + "/v1/sdxl1.0-realdream-lightning"
    headers = {"x-api-key": live.api_key, "Content-Type": "application/json"}
    response = requests.post(url, headers=headers, json=REFERENCE_PAYLOAD, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == ("JPEG", (768, 1152))
    assert response.headers["x-seed-value"] == "968875"
    assert live.service.balance == pytest.approx(10 - 0.002)


def test_the_sync_client_over_loopback(live: mocks.RunningMock) -> None:
    with realdream.Client(live.api_key, base_url=live.base_url) as client:
        result = client.generate("a quiet harbour", seed=11, img_width=512, img_height=512)
        assert (result.image.width, result.image.height) == (512, 512)
        assert result.request_id is not None
        assert client.credits().credits == pytest.approx(9.998)


@pytest.mark.parametrize("status", contract.DOCUMENTED_STATUSES)
def test_each_forced_status_over_http(shared_live: mocks.RunningMock, status: int) -> None:
    before = shared_live.service.balance
    response = httpx.post(
        shared_live.url(GENERATE),
        content=body(),
        headers={**JSON_HEADERS, "X-Mock-Status": str(status)},
    )
    assert response.status_code == status
    error = error_for_status(status, response.content, response.headers)
    assert isinstance(error, STATUS_ERRORS[status])
    if status == 405:
        assert response.headers["content-type"].startswith("text/html")
    else:
        assert response.json() == {"error": error.message}
    if status == 429:
        reset = response.headers[contract.HEADER_RATE_LIMIT_RESET]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", reset)
        assert response.headers[contract.HEADER_RETRY_AFTER].isdigit()
    assert shared_live.service.balance == before


def test_auth_is_checked_before_the_body_over_http(shared_live: mocks.RunningMock) -> None:
    response = httpx.post(shared_live.url(GENERATE), content=b"garbage")
    assert response.status_code == 401
    assert response.json() == {"error": contract.message("401-missing-key")}


def test_wrong_method_over_http_is_html_405(shared_live: mocks.RunningMock) -> None:
    response = httpx.get(shared_live.url(GENERATE), headers=JSON_HEADERS)
    assert response.status_code == 405
    assert "<title>405 Not Allowed</title>" in response.text


@pytest.mark.slow  # 200 requests over loopback: about 2 s
def test_200_concurrent_requests_against_credit_for_150() -> None:
    config = mocks.MockConfig(latency=0, credits=150 * contract.COST_PER_IMAGE_USD)
    with mocks.serve(config) as live:

        async def fire() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=200)
            async with httpx.AsyncClient(base_url=live.base_url, limits=limits, timeout=60) as c:
                payload = body(seed=5, img_width=256, img_height=256)
                calls = [
                    c.post(GENERATE, content=payload, headers=JSON_HEADERS) for _ in range(200)
                ]
                return list(await asyncio.gather(*calls))

        responses = asyncio.run(fire())
        statuses = Counter(response.status_code for response in responses)
        assert statuses == {200: 150, 406: 50}
        assert all(
            r.json()["error"].startswith(contract.message("406"))
            for r in responses
            if r.status_code == 406
        )
        remaining = sorted(
            float(r.headers["x-remaining-credits"]) for r in responses if r.is_success
        )
        assert remaining == sorted(round(i * 0.002, 3) for i in range(150))
        assert live.service.ledger.balance_micros == 0
        assert live.service.ledger.reserved_micros == 0
        assert httpx.get(live.url(contract.CREDITS_PATH), headers=JSON_HEADERS).json() == {
            "credits": 0.0,
            "free-credits": 0.0,
        }


def test_a_script_over_http_drives_the_client_retries(live: mocks.RunningMock) -> None:
    response = httpx.post(
        live.url(mocks.CONTROL_PATH),
        json={"statuses": [502, 504]},
        headers={contract.API_KEY_HEADER: live.api_key},
    )
    assert response.json() == {"pending": [502, 504]}
    clock = SkipAheadClock()
    with realdream.Client(
        live.api_key,
        base_url=live.base_url,
        retry=realdream.RetryPolicy(max_retries=2),
        sleep=clock.sleep,
        clock=clock,
    ) as client:
        assert client.generate("x").retries == 2
    assert len(clock.slept) == 2


def test_a_scripted_timeout_gives_a_real_read_timeout() -> None:
    with mocks.serve(mocks.MockConfig(latency=0, hang_seconds=0.3)) as live:
        live.service.script(["timeout"])
        client = realdream.Client(
            live.api_key,
            base_url=live.base_url,
            timeout=0.1,
            retry=realdream.RetryPolicy(max_retries=0),
        )
        with client, pytest.raises(realdream.APITimeoutError) as caught:
            client.generate("x")
        assert caught.value.maybe_billed


def test_latency_over_http_is_at_least_the_configured_time() -> None:
    with mocks.serve(mocks.MockConfig(latency=0.2)) as live:
        t0 = time.perf_counter()
        response = httpx.post(live.url(GENERATE), content=body(), headers=JSON_HEADERS)
        assert response.status_code == 200
        assert time.perf_counter() - t0 >= 0.2
        assert float(response.headers[contract.HEADER_GENERATION_TIME]) >= 0.2


def test_thread_pool_clients_share_one_ledger() -> None:
    with mocks.serve(mocks.MockConfig(latency=0, credits=0.02)) as live:

        def one(_: int) -> int:
            return httpx.post(
                live.url(GENERATE),
                content=body(seed=2, img_width=256),
                headers=JSON_HEADERS,
                timeout=60,  # not httpx's 5 s: 16 clients on a busy machine (issue 21)
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = Counter(pool.map(one, range(16)))
    assert statuses == {200: 10, 406: 6}


def test_no_log_line_ever_carries_the_key(
    live: mocks.RunningMock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        httpx.post(live.url(GENERATE), content=body(), headers=JSON_HEADERS)
        httpx.post(live.url("/v1/x"), content=body(), headers={"x-api-key": "SG_secretsecret00"})
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert f"POST {GENERATE} 200" in text
    assert KEY not in text
    assert "SG_secretsecret00" not in text


# --- In-process ASGI ---------------------------------------------------------------------------
def test_the_async_client_through_asgi_transport() -> None:
    app = mocks.create_app(mocks.MockConfig(latency=0))

    async def main() -> realdream.GenerationResult:
        transport = httpx.ASGITransport(app=app)
        async with realdream.AsyncClient(KEY, base_url="http://m", transport=transport) as client:
            return await client.generate("a kite", seed=1, samples=2)

    result = asyncio.run(main())
    assert len(result.images) == 2
    assert app.state.service.balance == pytest.approx(10 - 0.004)


def test_the_async_client_through_async_mock_transport() -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0))
    service.script([429])

    clock = SkipAheadClock(frozen=True)

    async def main() -> realdream.GenerationResult:
        transport = mocks.AsyncMockTransport(service)
        async with realdream.AsyncClient(
            KEY, base_url="http://m", transport=transport, sleep=clock.async_sleep, clock=clock
        ) as client:
            return await client.generate("a kite", seed=1)

    assert asyncio.run(main()).retries == 1
    assert len(clock.slept) == 1


def test_async_mock_transport_times_out_like_a_server() -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0, hang_seconds=5))
    service.script(["timeout"])

    async def main() -> None:
        transport = mocks.AsyncMockTransport(service)
        async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
            await client.post(GENERATE, content=body(), headers=JSON_HEADERS, timeout=0.05)

    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(main())


def test_create_app_refuses_config_and_service_together() -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0))
    with pytest.raises(ValueError, match="not both"):
        mocks.create_app(mocks.MockConfig(latency=1), service=service)
    assert mocks.create_app(service=service).state.service is service


def test_stopping_the_server_answers_a_held_request_503_and_releases_its_credits() -> None:
    with ThreadPoolExecutor(1) as pool:
        with mocks.serve(mocks.MockConfig(latency=0, hang_seconds=60)) as live:
            live.service.script(["timeout"])
            url = live.url(GENERATE)
            future = pool.submit(
                lambda: httpx.post(url, content=body(), headers=JSON_HEADERS, timeout=30)
            )
            while live.service.ledger.reserved_micros == 0:  # until the request is held
                time.sleep(0.01)
            t0 = time.perf_counter()
        assert time.perf_counter() - t0 < 10
        response = future.result(timeout=10)
    assert response.status_code == 503
    assert live.service.balance == 10.0
    assert live.service.ledger.reserved_micros == 0
