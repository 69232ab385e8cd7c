"""``AsyncClient``: the asyncio twin of :class:`~realdream.Client`, step for step.

One instance serves any number of concurrent calls, at most ``max_in_flight`` requests on the
wire at once. The same seams: ``transport=``, ``sleep=`` (awaited) and ``clock=``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Final, TypeVar

import httpx

from realdream import contract
from realdream._base import Api, BaseClient, Clock
from realdream._errors import (
    ConfigurationError,
    GenerationFailedError,
    NotFoundError,
    RealDreamError,
)
from realdream._jobs import AsyncJob, JobPendingError, JobStatus, OnStatus
from realdream._params import GenerationRequest
from realdream._polling import Patience
from realdream._result import Credits, GenerationResult
from realdream._retry import RetryPolicy, RetryState
from realdream._sending import NO_RESPONSE, AsyncSleep, billed, expired, own, sent_as, submit_policy

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "AsyncClient"]

#: Requests one ``AsyncClient`` sends at once; more wait their turn inside the client.
#: httpcore's pool does O(requests x connections) work per request (encode/httpcore#1035), so
#: a thousand ``gather``-ed calls cost 3x the time and 20x the CPU of the same calls in turns.
DEFAULT_MAX_IN_FLIGHT: Final = 32

_Self = TypeVar("_Self", bound=BaseClient)
_T = TypeVar("_T")


class AsyncClient(BaseClient):
    """The asyncio twin of :class:`Client`: the same arguments, awaitable methods.

    One instance serves any number of concurrent calls: at most ``max_in_flight`` requests
    are on the wire at once, the rest wait their turn inside the client (a wait between
    retries or polls holds no turn). ``sleep`` is awaited between retries and polls.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        api: Api = "v1",
        rate_limit_per_minute: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        sleep: AsyncSleep = asyncio.sleep,
        clock: Clock = time.perf_counter,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            clock=clock,
            api=api,
            rate_limit_per_minute=rate_limit_per_minute,
        )
        if (
            isinstance(max_in_flight, bool)
            or not isinstance(max_in_flight, int)
            or max_in_flight < 1
        ):
            raise ConfigurationError(f"max_in_flight={max_in_flight!r}: must be an integer >= 1")
        self.max_in_flight = max_in_flight
        limits = httpx.Limits(
            max_connections=max_in_flight, max_keepalive_connections=max_in_flight
        )
        self._owns_http = http_client is None
        self._http = http_client or own(
            httpx.AsyncClient(
                transport=transport, timeout=self.timeout, limits=limits, headers=self._headers
            )
        )
        self._sleep = sleep
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def generate(
        self,
        request: GenerationRequest | str | None = None,
        /,
        *,
        api: Api | None = None,
        **params: Any,
    ) -> GenerationResult:
        """Generate images; see :meth:`Client.generate`."""
        if self._api_of(api) == "v2":
            return await (await self.submit(request, **params)).wait()
        sent, body = self._prepare(request, params)
        t0 = self._clock()
        state = self._new_state()
        with sent_as(sent):
            response = await self._send("POST", self._endpoint(contract.GENERATE_PATH), state, body)
        return self._result(sent, response, state, t0)

    async def submit(
        self, request: GenerationRequest | str | None = None, /, **params: Any
    ) -> AsyncJob:
        """Queue a v2 job; see :meth:`Client.submit`."""
        sent, body = self._prepare(request, params, "v2")
        state = self._new_state(submit_policy(self.retry))
        with sent_as(sent):
            url = self._endpoint(contract.V2_SUBMIT_PATH)
            response = await self._send("POST", url, state, body)
            fields = self._submitted(response, sent, self._clock())
        return AsyncJob(**fields, client=self, retries=state.retries)

    def job(self, request_id: str, *, request: GenerationRequest | None = None) -> AsyncJob:
        """The job ``request_id``; see :meth:`Client.job`."""
        return AsyncJob(**self._job_fields(request_id), request=request, client=self)

    async def credits(self) -> Credits:
        """The account's remaining credits."""
        state = self._new_state(self._get_policy())
        url = self._endpoint(contract.CREDITS_PATH)
        return self._credits(await self._send("GET", url, state, None))

    # --- v2 jobs ---------------------------------------------------------------------------
    async def _get(
        self, job: AsyncJob, url: str, *, key: bool = True, policy: RetryPolicy | None = None
    ) -> httpx.Response:
        state = self._new_state(policy or self._get_policy())
        try:
            return await self._send("GET", url, state, None, key=key)
        except NotFoundError as exc:
            raise expired(exc) if key else exc from None
        finally:
            job.retries += state.retries

    async def _job_status(self, job: AsyncJob, policy: RetryPolicy | None = None) -> JobStatus:
        with sent_as(job.request, job):
            try:
                response = await self._get(job, job.status_url, policy=policy)
            except GenerationFailedError as exc:
                return self._failed(job, exc)
            return self._status(job, response)

    async def _job_wait(
        self, job: AsyncJob, timeout: float | None, on_status: OnStatus | None = None
    ) -> GenerationResult:
        patience = self._patience(job, timeout, on_status)
        schedule = self._schedule(job)
        t0 = self._clock()
        while True:
            delay = patience.until_poll(schedule.delay(self._clock()))
            if delay > 0:
                await self._sleep(delay)
            status = await self._patiently(patience, lambda: self._job_status(job, patience.policy))
            patience.seen(status)
            if status.failure is not None:
                raise status.failure
            if status.state == "COMPLETED":
                try:
                    return await self._collect(job, t0, patience)
                except JobPendingError:
                    pass  # the result is not there yet, whatever the status said: poll on
            if patience.expired():
                raise patience.timed_out()

    async def _job_result(self, job: AsyncJob) -> GenerationResult:
        return await self._collect(job, self._clock())

    async def _collect(
        self, job: AsyncJob, t0: float, patience: Patience | None = None
    ) -> GenerationResult:
        """See :meth:`Client._collect`."""
        with sent_as(job.request, job), billed(patience is not None):
            response = await self._fetch(job, job.response_url, patience)
            data, outputs = self._outputs(job, response)
            with billed():
                blobs = [
                    item
                    if isinstance(item, bytes)
                    else (await self._fetch(job, item, patience, key=False)).content
                    for item in outputs
                ]
                return self._finish(job, data, blobs, t0, job.retries)

    async def _fetch(
        self, job: AsyncJob, url: str, patience: Patience | None, *, key: bool = True
    ) -> httpx.Response:
        """See :meth:`Client._fetch`."""
        if patience is None:
            return await self._get(job, url, key=key)
        policy = patience.policy
        return await self._patiently(patience, lambda: self._get(job, url, key=key, policy=policy))

    async def _patiently(self, patience: Patience, call: Callable[[], Awaitable[_T]]) -> _T:
        """See :meth:`Client._patiently`."""
        while True:
            try:
                return await call()
            except RealDreamError as exc:
                delay = patience.retry_delay(exc)
                if delay is None:
                    raise
            await self._sleep(delay)

    def _turns(self) -> asyncio.Semaphore:
        """The in-flight bound of the running event loop (a client may outlive a loop)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.max_in_flight))
        return self._slots[1]

    async def _attempt(
        self, method: str, url: str | httpx.URL, state: RetryState, body: bytes | None, key: bool
    ) -> tuple[httpx.Response, float | None]:
        """One attempt, holding a turn: the response, and the delay before a retry (or None)."""
        async with self._turns():
            try:
                response = await self._http.send(
                    self._build(self._http, method, url, body, state, key), stream=True
                )
            except httpx.HTTPError as exc:
                return NO_RESPONSE, state.after_exception(exc)
            try:
                await response.aread()
            except httpx.HTTPError as exc:
                return NO_RESPONSE, state.after_unreadable(response, exc)
            finally:
                await response.aclose()
        self._note(response)
        return response, state.after_response(response)

    async def _send(
        self,
        method: str,
        url: str | httpx.URL,
        state: RetryState,
        body: bytes | None,
        *,
        key: bool = True,
    ) -> httpx.Response:
        while True:
            wait = self._pace_delay(pace=key)
            if wait > 0:
                await self._sleep(wait)
            response, delay = await self._attempt(method, url, state, body, key)
            if delay is None:
                return response
            await self._sleep(delay)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
