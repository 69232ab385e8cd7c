"""The budget and the shared back-off gate, driven by the shipped fake clock."""

from __future__ import annotations

import asyncio

import httpx
import pytest

import realdream
import realdream.mock as mocks
from realdream import Budget
from realdream._retry import INITIAL_BACKOFF, MAX_BACKOFF
from realdream.cli._backoff import BackoffGate, GatedTransport
from realdream.contract import COST_PER_IMAGE_USD
from realdream.testing.clock import SkipAheadClock


# --- budget ----------------------------------------------------------------------------------
def test_budget_without_a_limit_allows_anything() -> None:
    budget = Budget()
    assert budget.reserve(1e9)


def test_budget_counts_spent_and_in_flight() -> None:
    budget = Budget(limit=3 * COST_PER_IMAGE_USD)
    one = budget.estimate(1)
    assert budget.reserve(one)
    assert budget.reserve(one)
    assert budget.reserve(one)
    assert not budget.reserve(one)
    budget.settle(one, 0.0)  # a failure is not billed: room again
    assert budget.reserve(one)


def test_budget_estimate_rises_to_what_the_server_charges() -> None:
    budget = Budget(limit=1.0)
    reserved = budget.estimate(2)
    budget.reserve(reserved)
    budget.settle(reserved, 0.01, images=2)
    assert budget.spent == pytest.approx(0.01)
    assert budget.estimate(1) == pytest.approx(0.005)


# --- gate ------------------------------------------------------------------------------------
def test_gate_waits_for_the_servers_reset(clock: SkipAheadClock) -> None:
    gate = BackoffGate(clock=clock, sleep=clock.async_sleep)
    assert gate.rate_limited(3.0) == 3.0
    asyncio.run(gate.wait())
    assert clock.now - clock.start == pytest.approx(3.0)
    assert clock.slept == [pytest.approx(3.0)]
    assert gate.remaining == 0


def test_gate_backs_off_exponentially_without_a_reset_and_resets_on_success(
    clock: SkipAheadClock,
) -> None:
    gate = BackoffGate(clock=clock, sleep=clock.async_sleep)
    delays = [gate.rate_limited(None) for _ in range(8)]
    assert delays[:3] == [INITIAL_BACKOFF, INITIAL_BACKOFF * 2, INITIAL_BACKOFF * 4]
    assert max(delays) == MAX_BACKOFF
    gate.succeeded()
    assert gate.rate_limited(None) == INITIAL_BACKOFF


def test_a_zero_or_past_reset_backs_off_instead_of_reopening_at_once(
    clock: SkipAheadClock,
) -> None:
    gate = BackoffGate(clock=clock)
    assert gate.rate_limited(0.0) == INITIAL_BACKOFF  # clocks differ: retrying now meets the limit


def test_gate_caps_absurd_waits() -> None:
    gate = BackoffGate(max_wait=60.0)
    assert gate.rate_limited(86_400.0) == 60.0


class Recording(httpx.AsyncBaseTransport):
    """Notes the (fake) time, since the clock's start, at which each request really went out."""

    def __init__(self, inner: httpx.AsyncBaseTransport, clock: SkipAheadClock) -> None:
        self.inner = inner
        self.clock = clock
        self.sent_at: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent_at.append(self.clock.now - self.clock.start)
        return await self.inner.handle_async_request(request)


def test_a_429_closes_the_gate_for_every_request(clock: SkipAheadClock) -> None:
    gate = BackoffGate(clock=clock, sleep=clock.async_sleep)
    service = mocks.MockService(mocks.MockConfig(latency=0))
    service.script([429])
    inner = Recording(mocks.AsyncMockTransport(service), clock)
    path = "/v1/sdxl1.0-realdream-lightning"
    kwargs = {"json": {"prompt": "a fox"}, "headers": {"x-api-key": mocks.MOCK_API_KEY}}

    async def scenario() -> list[int]:
        transport = GatedTransport(inner, gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
            first = await http.post(path, **kwargs)
            closed_for = gate.remaining
            assert closed_for > 0
            rest = await asyncio.gather(*[http.post(path, **kwargs) for _ in range(3)])
        assert min(inner.sent_at[1:]) >= closed_for
        return [first.status_code, *(r.status_code for r in rest)]

    assert asyncio.run(scenario()) == [429, 200, 200, 200]
    assert gate.closures == 1
    assert realdream.error_for_status(429, b"", {}).retryable
