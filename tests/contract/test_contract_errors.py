"""Every documented status forced through the mock raises its mapped class, message intact;
scripted failures prove the retry policy end to end."""

from __future__ import annotations

import httpx
import pytest

import realdream
import realdream.mock as mocks
from realdream import contract


@pytest.mark.parametrize("status", contract.DOCUMENTED_STATUSES)
def test_each_documented_status_raises_its_class_with_the_bodys_message(realdream_mock, status):
    raw = httpx.Client(transport=mocks.MockTransport(realdream_mock), base_url="http://mock")
    forced = {"x-api-key": mocks.MOCK_API_KEY, mocks.FORCE_STATUS_HEADER: str(status)}
    body = raw.post(contract.GENERATE_PATH, json={"prompt": "x"}, headers=forced)
    expected = realdream.error_for_status(status, body.content, body.headers)

    realdream_mock.script([status] * 3)
    client = realdream.Client(
        mocks.MOCK_API_KEY,
        base_url="http://mock",
        retry=realdream.RetryPolicy(max_retries=0),
        transport=mocks.MockTransport(realdream_mock),
    )
    with pytest.raises(realdream.APIStatusError) as info:
        client.generate("x")
    assert type(info.value) is type(expected)
    assert isinstance(info.value, realdream.STATUS_ERRORS[status])
    assert info.value.status_code == status
    assert info.value.message == expected.message
    assert info.value.message


def test_429_then_502_then_success_retries_twice_and_debits_once(realdream_client, realdream_mock):
    start = realdream_mock.balance
    realdream_mock.script([429, 502])
    result = realdream_client.generate("x")
    assert result.retries == 2
    assert realdream_mock.balance == pytest.approx(start - contract.COST_PER_IMAGE_USD)
    assert realdream_mock.stats.by_status == {429: 1, 502: 1, 200: 1}


def test_too_many_failures_raise_the_last_one_and_debit_nothing(realdream_client, realdream_mock):
    start = realdream_mock.balance
    realdream_mock.script([500, 502, 504, 500])
    with pytest.raises(realdream.GatewayTimeoutError):
        realdream_client.generate("x")
    assert realdream_mock.balance == start


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 406, 422])
def test_refusals_are_sent_once(realdream_client, realdream_mock, status):
    realdream_mock.script([status, status])
    with pytest.raises(realdream.APIStatusError):
        realdream_client.generate("x")
    assert realdream_mock.stats.requests == 1


def test_a_read_timeout_is_not_retried_by_default_and_may_be_billed(realdream_mock):
    realdream_mock.script([mocks.TIMEOUT])
    client = realdream.Client(
        mocks.MOCK_API_KEY,
        base_url="http://mock",
        timeout=0.2,
        transport=mocks.MockTransport(realdream_mock),
    )
    start = realdream_mock.balance
    with pytest.raises(realdream.APITimeoutError) as info:
        client.generate("x")
    assert info.value.maybe_billed
    assert realdream_mock.stats.requests == 1
    assert realdream_mock.balance < start  # the server finished, and billed, what it started


def test_the_async_client_against_the_asgi_app(realdream_mock):
    import asyncio

    async def main() -> list[realdream.GenerationResult]:
        transport = httpx.ASGITransport(app=mocks.create_app(service=realdream_mock))
        async with realdream.AsyncClient(
            mocks.MOCK_API_KEY, base_url="http://mock", transport=transport
        ) as client:
            return await asyncio.gather(*(client.generate("x", seed=i) for i in range(20)))

    results = asyncio.run(main())
    assert [r.seed for r in results] == list(range(20))
    assert realdream_mock.stats.by_status == {200: 20}
