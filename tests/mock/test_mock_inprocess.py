"""The whole check order and every rule, in-process through ``MockTransport``."""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import time

import httpx
import pytest
from PIL import Image

import realdream
import realdream.mock as mocks
from realdream import STATUS_ERRORS, GenerationRequest, contract, error_for_status
from realdream._headers import parse_datetime
from realdream.testing.clock import SkipAheadClock
from tests.mock.conftest import GENERATE, JSON_HEADERS, KEY, body

FORBIDDEN = "SG_ffffffffffffffff"


def error_of(response: httpx.Response) -> str:
    return str(response.json()[contract.ERROR_BODY_KEY])


def client_for(
    service: mocks.MockService, *, max_retries: int = 2, timeout: float | None = None
) -> realdream.Client:
    """A client of ``service`` whose waits return at once, on the shipped clock."""
    clock = SkipAheadClock()
    return realdream.Client(
        KEY,
        base_url="http://mock.test",
        transport=mocks.MockTransport(service),
        retry=realdream.RetryPolicy(max_retries=max_retries),
        timeout=timeout,
        sleep=clock.sleep,
        clock=clock,
    )


# --- 200 ---------------------------------------------------------------------------------------
def test_the_client_gets_an_image_of_the_requested_size(service: mocks.MockService) -> None:
    result = client_for(service).generate("a red fox", img_width=768, img_height=1152, seed=5)
    assert (result.image.width, result.image.height) == (768, 1152)
    assert result.image.mime_type == "image/jpeg"
    assert result.seed == 5
    assert result.remaining_credits == pytest.approx(10.0 - contract.COST_PER_IMAGE_USD)


def test_binary_200_is_jpeg_with_every_documented_header(http: httpx.Client) -> None:
    response = http.post(GENERATE, content=body(seed=42, img_width=512), headers=JSON_HEADERS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == (512, 1024)
    headers = response.headers
    assert headers[contract.HEADER_REMAINING_CREDITS] == "9.998"
    assert headers[contract.HEADER_COST] == "0.002"
    assert headers[contract.HEADER_SEED] == "42"
    assert len(headers[contract.HEADER_REQUEST_ID]) == 32
    assert float(headers[contract.HEADER_GENERATION_TIME]) >= 0


def test_binary_200_with_several_samples_returns_and_bills_the_first_only(
    http: httpx.Client, service: mocks.MockService
) -> None:
    response = http.post(GENERATE, content=body(samples=3, seed=1), headers=JSON_HEADERS)
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers[contract.HEADER_COST] == "0.002"
    assert service.balance == pytest.approx(9.998)


def test_base64_one_sample_is_an_image_string(http: httpx.Client) -> None:
    response = http.post(GENERATE, content=body(base64=True, seed=3), headers=JSON_HEADERS)
    data = response.json()
    assert list(data) == ["image"]
    assert base64.b64decode(data["image"])[:3] == b"\xff\xd8\xff"


def test_base64_several_samples_is_a_list_billed_per_image(
    http: httpx.Client, service: mocks.MockService
) -> None:
    response = http.post(GENERATE, content=body(base64=True, samples=4), headers=JSON_HEADERS)
    images = [base64.b64decode(item) for item in response.json()["images"]]
    assert len(images) == 4
    assert len(set(images)) == 4
    assert response.headers[contract.HEADER_COST] == "0.008"
    assert service.balance == pytest.approx(10 - 0.008)
    assert service.stats.images == 4


def test_the_client_gets_every_sample(service: mocks.MockService) -> None:
    result = client_for(service).generate("boats", samples=2, seed=9)
    assert len(result.images) == 2
    assert result.images[0].data != result.images[1].data


def test_random_seed_is_resolved_by_the_server_and_reported(http: httpx.Client) -> None:
    response = http.post(GENERATE, content=body(seed=-1), headers=JSON_HEADERS)
    seed = int(response.headers[contract.HEADER_SEED])
    assert 0 <= seed <= realdream.LIMITS["seed"].maximum
    again = http.post(GENERATE, content=body(seed=seed), headers=JSON_HEADERS)
    assert again.content == response.content


def test_random_seeds_follow_config_seed() -> None:
    def seeds(config: mocks.MockConfig) -> list[str]:
        with httpx.Client(transport=mocks.MockTransport(config), base_url="http://m") as http:
            return [
                http.post(GENERATE, content=body(), headers=JSON_HEADERS).headers[
                    contract.HEADER_SEED
                ]
                for _ in range(3)
            ]

    seeded = mocks.MockConfig(latency=0, seed=7)
    assert seeds(seeded) == seeds(seeded)
    assert len(set(seeds(seeded))) == 3
    assert seeds(seeded) != seeds(mocks.MockConfig(latency=0, seed=8))


# --- The check order ---------------------------------------------------------------------------
@pytest.fixture
def strict_service() -> mocks.MockService:
    """Forbidden key, a rate limit of 1 and 1 image of credit: every refusal reachable."""
    config = mocks.MockConfig(latency=0, credits=0.002, rate_limit=1, forbidden_keys=(FORBIDDEN,))
    return mocks.MockService(config)


def post(
    service: mocks.MockService,
    path: str = GENERATE,
    *,
    method: str = "POST",
    key: str | None = KEY,
    content_type: str | None = "application/json",
    content: bytes = b"",
) -> httpx.Response:
    headers = {}
    if key is not None:
        headers[contract.API_KEY_HEADER] = key
    if content_type is not None:
        headers["content-type"] = content_type
    with httpx.Client(transport=mocks.MockTransport(service), base_url="http://m") as http:
        return http.request(method, path, headers=headers, content=content)


BAD = b"{not json"


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"key": None, "content": BAD}, 401, contract.message("401-missing-key")),
        ({"key": "SG_0000000000000000", "content": BAD}, 401, contract.message("401")),
        ({"key": FORBIDDEN, "path": "/v1/other", "content": BAD}, 403, contract.message("403")),
        ({"path": "/v1/other-model", "method": "GET"}, 404, contract.message("404")),
        ({"method": "GET", "content_type": None}, 405, None),
        ({"content_type": "text/plain", "content": BAD}, 406, contract.message("406-content-type")),
        ({"content_type": None, "content": BAD}, 406, contract.message("406-content-type")),
        ({"content": BAD}, 400, None),
        ({"content": body(samples=2, base64=True, seed=-7)}, 400, None),
        ({"content": body(samples=2, base64=True)}, 406, contract.message("406")),
    ],
    ids=[
        "missing-key-before-body",
        "unknown-key-before-body",
        "forbidden-before-404",
        "404-before-405",
        "405",
        "406-content-type-before-body",
        "406-missing-content-type",
        "400-not-json",
        "400-bad-parameter",
        "406-credits",
    ],
)
def test_the_check_order(
    strict_service: mocks.MockService,
    kwargs: dict[str, object],
    status: int,
    message: str | None,
) -> None:
    response = post(strict_service, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    if message is not None:
        assert error_of(response).startswith(message)
    assert strict_service.balance == pytest.approx(0.002)


def test_400_is_the_core_validation_text(service: mocks.MockService) -> None:
    raw = body(seed=-7, scheduler="Euler A", img_width=1001)
    response = post(service, content=raw)
    expected = realdream.ValidationError
    with pytest.raises(expected) as caught:
        GenerationRequest.from_json(raw)
    assert error_of(response) == str(caught.value)
    assert "seed=-7" in error_of(response)
    assert "img_width=1001" in error_of(response)


def test_405_is_html_and_maps_to_method_not_allowed(service: mocks.MockService) -> None:
    response = post(service, method="PUT", content=body())
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["allow"] == "POST"
    error = error_for_status(405, response.content, response.headers)
    assert isinstance(error, realdream.MethodNotAllowedError)


def test_429_after_the_credits_check_then_200_again_after_the_window() -> None:
    clock = SkipAheadClock(frozen=True)
    service = mocks.MockService(mocks.MockConfig(latency=0, rate_limit=2), clock=clock)
    statuses = [post(service, content=body(seed=1)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = post(service, content=body(seed=1))
    reset = parse_datetime(refused.headers[contract.HEADER_RATE_LIMIT_RESET])
    assert reset is not None
    assert reset.timestamp() == math.ceil(clock.start + 60)  # whole seconds, rounded up
    assert refused.headers[contract.HEADER_RETRY_AFTER] == "60"
    assert service.balance == pytest.approx(10 - 2 * 0.002)
    clock.advance(60)
    assert post(service, content=body(seed=1)).status_code == 200


def test_other_paths_are_404_without_auth(service: mocks.MockService) -> None:
    response = post(service, "/nothing-here", key=None)
    assert (response.status_code, error_of(response)) == (404, contract.message("404"))


# --- Forced statuses ---------------------------------------------------------------------------
@pytest.mark.parametrize("status", contract.DOCUMENTED_STATUSES)
def test_every_documented_status_can_be_forced_and_debits_nothing(
    service: mocks.MockService, status: int
) -> None:
    with httpx.Client(transport=mocks.MockTransport(service), base_url="http://m") as http:
        response = http.post(
            GENERATE, content=body(), headers={**JSON_HEADERS, "X-Mock-Status": str(status)}
        )
    assert response.status_code == status
    error = error_for_status(status, response.content, response.headers)
    assert isinstance(error, STATUS_ERRORS[status])
    assert service.balance == 10.0
    if status == 406:
        assert isinstance(error, realdream.InsufficientCreditsError)
    if status == 429:
        assert isinstance(error, realdream.RateLimitError)
        assert error.reset_at is not None
        assert error.retry_after is not None


def test_a_forced_status_comes_before_auth(service: mocks.MockService) -> None:
    with httpx.Client(transport=mocks.MockTransport(service), base_url="http://m") as http:
        response = http.get("/v1/anything", headers={"X-Mock-Status": "502"})
    assert response.status_code == 502


def test_a_client_with_a_forced_status_header_raises_the_mapped_error(
    service: mocks.MockService,
) -> None:
    forced = httpx.Client(transport=mocks.MockTransport(service), headers={"X-Mock-Status": "403"})
    client = realdream.Client(KEY, base_url="http://m", http_client=forced)
    with pytest.raises(realdream.PermissionDeniedError) as caught:
        client.generate("x")
    assert caught.value.message == contract.message("403")


# --- Scripts -----------------------------------------------------------------------------------
def test_a_script_fails_n_times_then_the_client_succeeds(service: mocks.MockService) -> None:
    service.script([429, 502])
    result = client_for(service, max_retries=2).generate("a harbour", seed=3)
    assert result.retries == 2
    assert service.stats.by_status == {429: 1, 502: 1, 200: 1}
    assert service.balance == pytest.approx(9.998)


def test_a_script_longer_than_the_retries_reaches_the_caller(service: mocks.MockService) -> None:
    service.script([500, 500, 500])
    with pytest.raises(realdream.InternalServerError):
        client_for(service, max_retries=2).generate("x")
    assert service.balance == 10.0


def test_scripts_are_per_key() -> None:
    other = "SG_1111111111111111"
    service = mocks.MockService(mocks.MockConfig(latency=0, api_keys=(KEY, other)))
    service.script([503], api_key=other)
    assert post(service, content=body()).status_code == 200
    assert post(service, key=other, content=body()).status_code == 503
    assert post(service, key=other, content=body()).status_code == 200


def test_a_script_entry_200_answers_normally(service: mocks.MockService) -> None:
    service.script([200, 504])
    assert [post(service, content=body()).status_code for _ in range(3)] == [200, 504, 200]


def test_scripts_can_be_set_over_http(service: mocks.MockService) -> None:
    with httpx.Client(transport=mocks.MockTransport(service), base_url="http://m") as http:
        set_up = http.post(
            mocks.CONTROL_PATH,
            json={"statuses": [429, "timeout"]},
            headers={contract.API_KEY_HEADER: KEY},
        )
        assert set_up.json() == {"pending": [429, "timeout"]}
        refused = http.post(
            mocks.CONTROL_PATH, json={"statuses": [418]}, headers={contract.API_KEY_HEADER: KEY}
        )
        assert refused.status_code == 400
        assert http.post(mocks.CONTROL_PATH, json={"statuses": [429]}).status_code == 401
    assert service.scripts.pending(KEY) == [429, "timeout"]


@pytest.mark.parametrize(
    "raw", [b"nope", b"[]", b"{}", b'{"statuses": 429}'], ids=["text", "list", "empty", "scalar"]
)
def test_bad_script_bodies_are_400(service: mocks.MockService, raw: bytes) -> None:
    response = post(service, mocks.CONTROL_PATH, content=raw)
    assert response.status_code == 400
    assert "statuses" in error_of(response) or "JSON" in error_of(response)


def test_a_timeout_entry_outlasts_the_read_timeout_and_is_billed() -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0, hang_seconds=0.2))
    service.script(["timeout"])
    client = client_for(service, timeout=0.05, max_retries=0)
    t0 = time.perf_counter()
    with pytest.raises(realdream.APITimeoutError) as caught:
        client.generate("x")
    assert time.perf_counter() - t0 >= 0.05
    assert caught.value.maybe_billed
    assert service.balance == pytest.approx(9.998)
    assert client.generate("x").images


def test_stats_are_served_over_http(service: mocks.MockService) -> None:
    post(service, content=body())
    with httpx.Client(transport=mocks.MockTransport(service), base_url="http://m") as http:
        stats = http.get("/mock/stats", headers={contract.API_KEY_HEADER: KEY}).json()
    assert stats["balance"] == 9.998
    assert (stats["requests"], stats["by_status"], stats["images"]) == (1, {"200": 1}, 1)
    assert 0 < stats["render_seconds"] <= stats["server_seconds"]


# --- Credits, faults, latency ------------------------------------------------------------------
def test_credits_endpoint_reports_the_balance(service: mocks.MockService) -> None:
    client = client_for(service)
    client.generate("x", samples=2)
    assert client.credits() == realdream.Credits(10 - 0.004, 0.0)
    response = post(service, contract.CREDITS_PATH, method="GET", key=None)
    assert response.status_code == 401
    assert post(service, contract.CREDITS_PATH).status_code == 405


def test_a_reservation_refuses_a_concurrent_request_the_balance_cannot_cover() -> None:
    service = mocks.MockService(mocks.MockConfig(latency=5, credits=0.002))
    request = mocks.MockRequest.build("POST", GENERATE, JSON_HEADERS.items(), body())
    first = service.handle(request)
    assert first.delay == 5
    assert service.handle(request).complete().status == 406
    first.cancel()
    assert service.balance == 0.002
    second = service.handle(request)
    assert second.complete().status == 200
    assert service.balance == 0


def test_faults_are_injected_before_billing_and_deterministic() -> None:
    def run() -> list[int]:
        service = mocks.MockService(mocks.MockConfig(latency=0, fault_rate=0.5, seed=4))
        statuses = [post(service, content=body(seed=1)).status_code for _ in range(40)]
        assert service.balance == pytest.approx(10 - statuses.count(200) * 0.002)
        return statuses

    statuses = run()
    assert statuses == run()
    assert set(statuses) == {200, 500, 502, 504}


def test_latency_is_applied(service: mocks.MockService) -> None:
    slow = mocks.MockService(mocks.MockConfig(latency=0.15))
    t0 = time.perf_counter()
    assert post(slow, content=body()).status_code == 200
    assert time.perf_counter() - t0 >= 0.15


def test_jitter_stays_within_bounds_and_never_below_zero() -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0.01, jitter=0.5, seed=2))
    request = mocks.MockRequest.build("POST", GENERATE, JSON_HEADERS.items(), body())
    delays = []
    for _ in range(30):
        plan = service.handle(request)
        delays.append(plan.delay)
        plan.cancel()
    assert all(0 <= delay <= 0.51 for delay in delays)
    assert len(set(delays)) > 1


def test_a_plan_completes_once(service: mocks.MockService) -> None:
    plan = service.handle(mocks.MockRequest.build("POST", GENERATE, JSON_HEADERS.items(), body()))
    plan.complete()
    with pytest.raises(RuntimeError, match="already"):
        plan.complete()


# --- Logging -----------------------------------------------------------------------------------
def test_one_log_line_per_request_without_the_key(
    service: mocks.MockService, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="realdream.mock"):
        post(service, content=body())
        post(service, key="SG_0000000000000000", content=body())
    lines = [record.getMessage() for record in caplog.records if record.name == "realdream.mock"]
    assert len(lines) == 2
    assert lines[0].startswith(f"POST {GENERATE} 200 ")
    assert lines[1].startswith(f"POST {GENERATE} 401 ")
    assert all(line.endswith("ms") for line in lines)
    assert not any(KEY in line or "SG_0000000000000000" in line for line in lines)


def test_the_service_never_shows_the_key_in_its_repr(service: mocks.MockService) -> None:
    assert KEY not in repr(service)
    assert json.dumps(service.openapi).count(KEY) == 0


def test_a_cancelled_async_request_releases_its_reserved_credits() -> None:
    import asyncio

    import httpx

    import realdream.mock as mocks
    from realdream import contract

    service = mocks.MockService(mocks.MockConfig(latency=0, hang_seconds=60))
    service.script([mocks.TIMEOUT])
    start = service.balance

    async def main() -> None:
        transport = mocks.AsyncMockTransport(service)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            task = asyncio.create_task(
                client.post(
                    contract.GENERATE_PATH,
                    json={"prompt": "x"},
                    headers={"x-api-key": mocks.MOCK_API_KEY},
                    timeout=30,
                )
            )
            while service.ledger.reserved_micros == 0:
                await asyncio.sleep(0)  # yield until the request is being held
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    import contextlib

    asyncio.run(main())
    assert service.ledger.reserved_micros == 0
    assert service.balance == start
