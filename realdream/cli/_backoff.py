"""Shared back-off: one HTTP 429 slows the whole batch, not just the task that got it.

Every request of a batch goes through :class:`GatedTransport`, which waits at one
:class:`BackoffGate` before sending. A 429 closes the gate for the wait the server asked for
(the headers :attr:`realdream.RateLimitError.retry_after` reads), or for an exponential
back-off when it named none, so no worker keeps hammering a server that already said "too
many". The client's own retry policy still decides whether and when the refused request
itself is sent again. :func:`batch_client` builds the batch's client on such a transport.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import httpx

from realdream import MAX_RETRY_WAIT, Api, AsyncClient, RetryPolicy, server_wait

__all__ = ["BackoffGate", "GatedTransport", "batch_client"]


class BackoffGate:
    """A gate every request waits at; a rate limit closes it for everyone until a deadline."""

    def __init__(
        self,
        *,
        max_wait: float = MAX_RETRY_WAIT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.max_wait = max_wait
        self._policy = RetryPolicy(max_wait=max_wait)
        self.closures = 0
        self._clock = clock
        self._sleep = sleep
        self._open_at = 0.0
        self._strikes = 0

    @property
    def remaining(self) -> float:
        """Seconds until the gate opens (``0`` when open)."""
        return max(0.0, self._open_at - self._clock())

    async def wait(self) -> None:
        """Return once the gate is open (it may close again while waiting: wait again)."""
        while (delay := self.remaining) > 0:
            await self._sleep(delay)

    def rate_limited(self, retry_after: float | None) -> float:
        """Close the gate after a 429; return how long it stays closed from now."""
        self._strikes += 1
        if not retry_after:  # none named, or a reset already past (clocks differ): back off
            retry_after = self._policy.backoff_ceiling(self._strikes - 1)
        delay = min(max(retry_after, 0.0), self.max_wait)
        self._open_at = max(self._open_at, self._clock() + delay)
        self.closures += 1
        return delay

    def succeeded(self) -> None:
        """A request went through: the next 429 starts the back-off from the beginning."""
        self._strikes = 0


class GatedTransport(httpx.AsyncBaseTransport):
    """Wraps a transport so every request waits at ``gate``, and a 429 closes it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, gate: BackoffGate) -> None:
        self.inner = inner
        self.gate = gate

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.gate.wait()
        response = await self.inner.handle_async_request(request)
        if response.status_code < 400:
            self.gate.succeeded()
            return response
        if response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
            self.gate.rate_limited(server_wait(response.headers))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def batch_client(
    api_key: str | None = None,
    *,
    base_url: str | None = None,
    concurrency: int = 4,
    max_retries: int = 4,
    transport: httpx.AsyncBaseTransport | None = None,
    gate: BackoffGate | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.perf_counter,
    api: Api = "v1",
    rate_limit_per_minute: float | None = None,
) -> AsyncClient:
    """An :class:`AsyncClient` whose requests all wait at one shared :class:`BackoffGate`
    (``gate``, or a new one on the real clock): v2 submits, status polls and downloads too.
    ``rate_limit_per_minute`` paces them all (see :class:`realdream.AsyncClient`)."""
    inner = transport or httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    )
    return AsyncClient(
        api_key,
        base_url=base_url,
        retry=RetryPolicy(max_retries=max_retries),
        api=api,
        rate_limit_per_minute=rate_limit_per_minute,
        transport=GatedTransport(inner, gate or BackoffGate()),
        max_in_flight=concurrency,
        sleep=sleep,
        clock=clock,
    )
