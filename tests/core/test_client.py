"""The sync and async clients end to end over an in-process transport (no sockets)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import respx
from hypothesis import given

import realdream
from realdream import contract
from realdream.testing.strategies import invalid_payloads
from tests.core.fakes import KEY, FakeServer, encode


def _error(status: int, message: str = "nope", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": message}, headers=headers)


def test_generate_sends_the_validated_payload_with_key_and_json_headers(client, server):
    result = client.generate("a lighthouse at dusk", img_width=768, img_height=1152, seed=968875)
    (sent,) = server.requests
    assert sent.method == "POST"
    assert sent.url == contract.BASE_URL + contract.GENERATE_PATH
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.content) == result.request.payload
    assert result.request.seed == 968875
    assert (result.image.width, result.image.height) == (768, 1152)
    assert result.image.mime_type == "image/jpeg"


def test_a_random_seed_is_resolved_before_sending_and_kept(client, server):
    server.default = lambda request: httpx.Response(200, content=encode("PNG"))
    result = client.generate("x")
    assert result.seed != -1
    assert server.payloads[0]["seed"] == result.seed


def test_the_servers_reported_seed_wins_when_it_differs(client, server):
    server.replies = [httpx.Response(200, content=encode("PNG"), headers={"x-seed-value": "77"})]
    assert client.generate("x", seed=5).seed == 77


def test_a_request_object_is_accepted_and_can_be_overridden(client, server):
    request = realdream.GenerationRequest.create(prompt="x", seed=3)
    assert client.generate(request).seed == 3
    assert client.generate(request, seed=4).seed == 4


def test_several_samples_are_asked_for_as_json_and_all_returned(client, server):
    def reply(request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        images = [base64.b64encode(encode("JPEG")).decode()] * payload["samples"]
        return httpx.Response(200, json={"images": images})

    server.default = reply
    result = client.generate("x", samples=3)
    assert server.payloads[0]["base64"] is True
    assert len(result.images) == 3
    assert [image.index for image in result.images] == [0, 1, 2]


def test_result_reads_credits_request_id_cost_and_time(client, server):
    headers = {
        "x-remaining-credits": "9.998",
        "x-request-id": "req-1",
        "x-cost": "0.0024",
        "x-generation-time": "2.9",
    }
    server.replies = [httpx.Response(200, content=encode("JPEG"), headers=headers)]
    result = client.generate("x")
    assert result.remaining_credits == 9.998
    assert result.request_id == "req-1"
    assert result.cost == 0.0024
    assert result.generation_time == 2.9
    assert result.elapsed >= 0


def test_without_a_cost_header_the_cost_is_estimated_per_image(client):
    assert client.generate("x").cost == contract.COST_PER_IMAGE_USD


def test_429_then_200_succeeds_after_one_retry_honouring_retry_after(client, server, sleeps):
    server.replies = [_error(429, "slow down", **{"Retry-After": "4"})]
    result = client.generate("x")
    assert result.retries == 1
    assert sleeps == [4.0]
    assert len(server.requests) == 2


def test_a_reset_time_within_the_cap_sets_the_wait(client, server, sleeps):
    soon = datetime.now(timezone.utc) + timedelta(seconds=5)
    server.replies = [_error(429, **{"x-rate-limit-reset-at-utc": soon.isoformat()})]
    assert client.generate("x").retries == 1
    assert sleeps == [pytest.approx(5, abs=1)]


def test_a_reset_time_beyond_the_cap_raises_at_once(client, server, sleeps):
    server.replies = [_error(429, **{"x-rate-limit-reset-at-utc": "2999-01-01T00:00:00Z"})]
    with pytest.raises(realdream.RateLimitError, match="over the cap"):
        client.generate("x")
    assert sleeps == []
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 406, 422])
def test_refusals_are_never_retried(client, server, sleeps, status):
    server.replies = [_error(status)]
    with pytest.raises(realdream.APIStatusError) as info:
        client.generate("x")
    assert info.value.status_code == status
    assert len(server.requests) == 1
    assert sleeps == []


def test_retries_stop_at_max_retries_and_raise_the_last_error(server, clock, sleeps):
    client = realdream.Client(
        KEY,
        retry=realdream.RetryPolicy(max_retries=3),
        transport=httpx.MockTransport(server),
        sleep=clock.sleep,
        clock=clock,
    )
    server.replies = [_error(500), _error(502), _error(503), _error(504), _error(500)]
    with pytest.raises(realdream.GatewayTimeoutError):
        client.generate("x")
    assert len(server.requests) == 4
    assert len(sleeps) == 3


def test_max_retries_zero_sends_once(server, sleeps):
    client = realdream.Client(
        KEY, retry=realdream.RetryPolicy(max_retries=0), transport=httpx.MockTransport(server)
    )
    server.replies = [_error(502)]
    with pytest.raises(realdream.BadGatewayError):
        client.generate("x")
    assert len(server.requests) == 1


def test_a_connection_refused_is_retried(client, server, sleeps):
    server.replies = [httpx.ConnectError("refused")]
    assert client.generate("x").retries == 1


def test_a_read_timeout_is_not_retried_by_default(client, server):
    server.replies = [httpx.ReadTimeout("late")]
    with pytest.raises(realdream.APITimeoutError) as info:
        client.generate("x")
    assert info.value.maybe_billed
    assert len(server.requests) == 1


def test_a_read_timeout_is_retried_when_opted_in(server, clock):
    client = realdream.Client(
        KEY,
        retry=realdream.RetryPolicy(retry_read_errors=True),
        transport=httpx.MockTransport(server),
        sleep=clock.sleep,
        clock=clock,
    )
    server.replies = [httpx.ReadTimeout("late")]
    assert client.generate("x").retries == 1


def test_retries_are_logged_with_status_and_wait(client, server, caplog):
    server.replies = [_error(503, **{"Retry-After": "1"})]
    with caplog.at_level(logging.INFO, logger="realdream"):
        client.generate("x")
    assert any("503" in r.getMessage() and "1.00s" in r.getMessage() for r in caplog.records)


_NETWORK_CLIENT = realdream.Client(KEY)  # a real transport; respx intercepts it below


@given(invalid_payloads())
def test_an_invalid_request_never_reaches_the_network(case):
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        route = router.post(url__startswith=contract.BASE_URL).respond(200)
        with pytest.raises(realdream.ValidationError):
            _NETWORK_CLIENT.generate(**case.payload)
        assert route.call_count == 0


def test_respx_does_intercept_the_shared_client():
    """Guards the test above: a valid request through the same client reaches respx."""
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post(url__startswith=contract.BASE_URL).respond(200, content=encode("PNG"))
        _NETWORK_CLIENT.generate("x")
        assert route.call_count == 1


def test_no_key_is_a_clear_error_before_any_request():
    with pytest.raises(realdream.ConfigurationError, match="SEGMIND_API_KEY"):
        realdream.Client()


def test_the_key_and_base_url_fall_back_to_the_environment(monkeypatch, server):
    monkeypatch.setenv("SEGMIND_API_KEY", KEY)
    monkeypatch.setenv("REALDREAM_BASE_URL", "http://localhost:9/")
    client = realdream.Client(transport=httpx.MockTransport(server))
    client.generate("x")
    assert server.requests[0].url == "http://localhost:9" + contract.GENERATE_PATH
    assert server.requests[0].headers["x-api-key"] == KEY


@pytest.mark.parametrize("key", ["SG_1 2", "SG_\n123", "  ", "SG_ключ"])
def test_a_key_that_cannot_be_sent_is_refused(key):
    with pytest.raises(realdream.ConfigurationError):
        realdream.Client(key)


def test_credits_reads_the_balance(server):
    server.default = lambda r: httpx.Response(200, json={"credits": 4.5, "free-credits": 1})
    client = realdream.Client(KEY, transport=httpx.MockTransport(server))
    assert client.credits() == realdream.Credits(4.5, 1.0)
    assert server.requests[0].url.path == contract.CREDITS_PATH
    assert server.requests[0].method == "GET"


def test_the_deadline_bounds_all_attempts(server, clock):
    client = realdream.Client(
        KEY,
        retry=realdream.RetryPolicy(deadline=5),
        transport=httpx.MockTransport(server),
        sleep=clock.sleep,
        clock=clock,
    )
    server.replies = [_error(429, **{"Retry-After": "30"})]
    with pytest.raises(realdream.RateLimitError):
        client.generate("x")
    assert len(server.requests) == 1
    assert clock.slept == []  # a 30 s wait would overrun the 5 s deadline: none was taken


def test_context_manager_closes_an_owned_http_client():
    with realdream.Client(KEY) as client:
        pass
    assert client._http.is_closed


def test_a_caller_supplied_http_client_is_left_open(server):
    http = httpx.Client(transport=httpx.MockTransport(server))
    with realdream.Client(KEY, http_client=http) as client:
        client.generate("x")
    assert not http.is_closed
    http.close()


def test_async_client_handles_many_concurrent_generates():
    server = FakeServer()

    async def main() -> list[realdream.GenerationResult]:
        async with realdream.AsyncClient(KEY, transport=httpx.MockTransport(server)) as client:
            return await asyncio.gather(*(client.generate(f"p{i}", seed=i) for i in range(50)))

    results = asyncio.run(main())
    assert sorted(r.seed for r in results) == list(range(50))
    assert len(server.requests) == 50


def test_async_client_retries_like_the_sync_one(clock):
    server = FakeServer(replies=[_error(502)])

    async def main() -> realdream.GenerationResult:
        async with realdream.AsyncClient(
            KEY, transport=httpx.MockTransport(server), sleep=clock.async_sleep, clock=clock
        ) as client:
            return await client.generate("x")

    assert asyncio.run(main()).retries == 1
    assert len(clock.slept) == 1


def test_async_client_validates_before_sending():
    server = FakeServer()

    async def main() -> None:
        async with realdream.AsyncClient(KEY, transport=httpx.MockTransport(server)) as client:
            await client.generate("x", samples=9)

    with pytest.raises(realdream.ValidationError, match="samples=9"):
        asyncio.run(main())
    assert server.requests == []


def test_an_owned_http_client_keeps_no_cookies(server):
    server.default = lambda r: httpx.Response(
        200, content=encode("JPEG"), headers={"set-cookie": "session=abc; Path=/"}
    )
    client = realdream.Client(KEY, transport=httpx.MockTransport(server))
    client.generate("x")
    client.generate("x")
    assert "cookie" not in server.requests[1].headers
    assert len(client._http.cookies.jar) == 0


def test_a_callers_http_client_keeps_its_cookies(server):
    server.default = lambda r: httpx.Response(
        200, content=encode("JPEG"), headers={"set-cookie": "session=abc; Path=/"}
    )
    http = httpx.Client(transport=httpx.MockTransport(server))
    realdream.Client(KEY, base_url="http://example.test", http_client=http).generate("x")
    assert http.cookies.get("session") == "abc"
