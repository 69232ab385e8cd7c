"""httpx transports that call a :class:`~realdream.mock.MockService` in-process: no sockets."""

from __future__ import annotations

import asyncio
import time

import httpx

from realdream.mock._asgi import run_plan
from realdream.mock._config import MockConfig
from realdream.mock._http import MockRequest, MockResponse
from realdream.mock._plan import Plan
from realdream.mock._service import MockService

__all__ = ["AsyncMockTransport", "MockTransport"]


def _service_of(service_or_config: MockService | MockConfig | None) -> MockService:
    if isinstance(service_or_config, MockService):
        return service_or_config
    return MockService(service_or_config)


def _incoming(request: httpx.Request, body: bytes) -> MockRequest:
    return MockRequest.build(
        request.method,
        request.url.path,
        request.headers.multi_items(),
        body,
        scheme=request.url.scheme,
    )


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout", {})
    read = timeout.get("read") if isinstance(timeout, dict) else None
    return float(read) if isinstance(read, (int, float)) else None


def _response(answer: MockResponse, request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        answer.status, headers=dict(answer.headers), content=answer.body, request=request
    )


def _time_out(plan: Plan, request: httpx.Request, read: float) -> httpx.ReadTimeout:
    # The server still finishes (and bills) what it started: that is what a read timeout
    # after sending means for the caller.
    plan.complete()
    return httpx.ReadTimeout(f"mock: no answer within the read timeout ({read}s)", request=request)


class MockTransport(httpx.BaseTransport):
    """A sync transport answering from a :class:`~realdream.mock.MockService` in this process.

    ``httpx.Client(transport=MockTransport(MockConfig(latency=0)))``. The latency is applied
    with ``time.sleep``; a delay longer than the request's read timeout raises
    ``httpx.ReadTimeout`` after that timeout, as a real server would.
    """

    def __init__(self, service_or_config: MockService | MockConfig | None = None) -> None:
        self.service = _service_of(service_or_config)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        t0 = time.perf_counter()
        incoming = _incoming(request, request.read())
        plan = self.service.handle(incoming)
        read = _read_timeout(request)
        try:
            if read is not None and plan.delay > read:
                time.sleep(read)
                raise _time_out(plan, request, read)
            if plan.delay > 0:
                time.sleep(plan.delay)
        except httpx.ReadTimeout:
            raise
        except BaseException:  # interrupted while waiting: as over HTTP, release
            plan.cancel()
            raise
        answer = plan.complete()
        self.service.finished(incoming, answer, time.perf_counter() - t0, plan.delay)
        return _response(answer, request)


class AsyncMockTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`MockTransport` (for ``realdream.AsyncClient``)."""

    def __init__(self, service_or_config: MockService | MockConfig | None = None) -> None:
        self.service = _service_of(service_or_config)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        t0 = time.perf_counter()
        incoming = _incoming(request, await request.aread())
        plan = self.service.handle(incoming)
        read = _read_timeout(request)
        if read is not None and plan.delay > read:
            try:
                await asyncio.sleep(read)
            except BaseException:  # the caller went away first: as over HTTP, release
                plan.cancel()
                raise
            raise _time_out(plan, request, read)
        answer = await run_plan(plan)
        self.service.finished(incoming, answer, time.perf_counter() - t0, plan.delay)
        return _response(answer, request)
