"""The mock's log of requests received (``MockService.requests``): each request's method, path,
headers and body in arrival order, the key never kept; enough to check that a sync and an async
client sent the same requests."""

from __future__ import annotations

import asyncio

import httpx

import realdream
import realdream.mock as mocks
from realdream import contract
from realdream.mock._http import MockRequest
from realdream.mock._stats import LOGGED_BODY_BYTES, Tally
from tests.mock.conftest import GENERATE, JSON_HEADERS, KEY, body

Sent = tuple[str, str, bytes, str | None, str | None]


def test_the_log_holds_each_request_in_arrival_order(
    http: httpx.Client, service: mocks.MockService
) -> None:
    http.post(GENERATE, content=body(seed=3), headers=JSON_HEADERS)
    http.get("/nowhere")
    http.post(GENERATE, content=b"{}", headers=JSON_HEADERS | {mocks.FORCE_STATUS_HEADER: "429"})
    log = service.requests
    assert [(r.method, r.path) for r in log] == [
        ("POST", GENERATE),
        ("GET", "/nowhere"),
        ("POST", GENERATE),
    ]
    assert (log[0].body, log[2].body) == (body(seed=3), b"{}")
    assert log[0].header("Content-Type") == contract.CONTENT_TYPE
    assert log[2].header(mocks.FORCE_STATUS_HEADER) == "429"
    assert log[0].header(contract.API_KEY_HEADER) == "REDACTED"
    assert log[1].header(contract.API_KEY_HEADER) is None


def test_the_log_never_holds_the_key(http: httpx.Client, service: mocks.MockService) -> None:
    http.get(contract.CREDITS_PATH, headers={contract.API_KEY_HEADER: KEY})
    http.get(contract.CREDITS_PATH, headers={"Authorization": f"Bearer {KEY}"})
    assert KEY not in repr(service.requests)
    assert {r.header("authorization") for r in service.requests} == {None, "REDACTED"}


def test_the_log_keeps_the_latest_requests_only_and_bounds_their_bodies() -> None:
    tally = Tally(log_size=3)
    for number in range(5):
        tally.received(MockRequest("POST", f"/{number}", body=b"x" * (LOGGED_BODY_BYTES + number)))
    assert [r.path for r in tally.requests()] == ["/2", "/3", "/4"]
    assert {len(r.body) for r in tally.requests()} == {LOGGED_BODY_BYTES}
    assert mocks.REQUEST_LOG_SIZE >= 1_000


def sent(service: mocks.MockService) -> list[Sent]:
    return [
        (r.method, r.path, r.body, r.header("content-type"), r.header(contract.API_KEY_HEADER))
        for r in service.requests
    ]


def sync_scenario(service: mocks.MockService, seed: int) -> None:
    transport = mocks.MockTransport(service)
    with realdream.Client(KEY, base_url="http://mock", transport=transport) as client:
        client.generate("a red fox in the snow", seed=seed, samples=2, base64=True)
        client.credits()


async def async_scenario(service: mocks.MockService, seed: int) -> None:
    transport = mocks.AsyncMockTransport(service)
    async with realdream.AsyncClient(KEY, base_url="http://mock", transport=transport) as client:
        await client.generate("a red fox in the snow", seed=seed, samples=2, base64=True)
        await client.credits()


def test_a_sync_and_an_async_client_can_be_compared_request_by_request() -> None:
    synced, awaited, other = (mocks.MockService(mocks.MockConfig(latency=0)) for _ in range(3))
    sync_scenario(synced, seed=5)
    asyncio.run(async_scenario(awaited, seed=5))
    asyncio.run(async_scenario(other, seed=6))
    assert [(method, path) for method, path, *_ in sent(synced)] == [
        ("POST", GENERATE),
        ("GET", contract.CREDITS_PATH),
    ]
    assert sent(synced) == sent(awaited)
    assert sent(other) != sent(synced)  # the comparison sees a different body
