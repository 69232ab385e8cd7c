"""``Client`` and ``AsyncClient``: validate, resolve the seed, POST, retry, parse once.

Seams, never patches: ``transport=`` (or ``http_client=``) replaces the network, ``sleep=``
replaces the waits between retries and ``clock=`` the clock the deadline and timings read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Final, TypeVar

import httpx

from realdream import contract
from realdream._base import DEFAULT_TIMEOUT, Api, BaseClient, Clock, sent_as
from realdream._errors import (
    ConfigurationError,
    GenerationFailedError,
    JobExpiredError,
    NotFoundError,
    RealDreamError,
)
from realdream._jobs import AsyncJob, Job, JobStatus, OnStatus, _JobBase
from realdream._params import GenerationRequest
from realdream._result import Credits, GenerationResult
from realdream._retry import RetryPolicy, RetryState

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_TIMEOUT",
    "AsyncClient",
    "Client",
]

#: Requests one ``AsyncClient`` sends at once; more wait their turn inside the client.
#: httpcore's pool does O(requests x connections) work per request (encode/httpcore#1035), so
#: a thousand ``gather``-ed calls cost 3x the time and 20x the CPU of the same calls in turns.
DEFAULT_MAX_IN_FLIGHT: Final = 32

_Self = TypeVar("_Self", bound=BaseClient)
_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)
Sleep = Callable[[float], object]
AsyncSleep = Callable[[float], Awaitable[object]]
_EXPIRED_RULE: Final = next(r for r in contract.STATUS_TABLE if r.error == "JobExpiredError")


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing.

    The API authenticates with a header and sets no cookies, yet httpx runs every response
    through urllib's cookie machinery (tens of microseconds a request, the largest cost this
    client adds over a bare POST). Only clients we own get this jar.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


def _own(http: _Http) -> _Http:
    """Tune an httpx client this package created (never a caller's)."""
    if isinstance(getattr(http, "_cookies", None), httpx.Cookies):  # httpx<1 keeps it here
        http._cookies = _NoCookies()
    return http


def _expired(exc: NotFoundError) -> JobExpiredError:
    """On a job's URL every 404 means the job is unknown, or its hour is over."""
    if isinstance(exc, JobExpiredError):
        return exc
    return JobExpiredError(
        exc.message, status_code=404, body=exc.body, headers=exc.headers, rule=_EXPIRED_RULE
    )


def _submit_policy(policy: RetryPolicy) -> RetryPolicy:
    """A submit is never re-sent once it may have queued: no retry after a read error."""
    return dataclasses.replace(policy, retry_read_errors=False)


class Client(BaseClient):
    """A synchronous client for RealDream Lightning.

    >>> with Client() as client:                                   # doctest: +SKIP
    ...     result = client.generate("portrait of a sailor", seed=42)
    ...     result.image.save("sailor.png")

    ``api_key`` falls back to ``SEGMIND_API_KEY``; ``base_url`` to ``REALDREAM_BASE_URL``.
    ``retry`` is a :class:`~realdream.RetryPolicy` (the billing-aware default otherwise).
    ``api`` picks the path ``generate`` takes: ``"v1"`` (one blocking call, the default) or
    ``"v2"`` (submit to the queue, then poll). ``rate_limit_per_minute`` paces every request.
    ``transport`` (or a ready ``http_client``) replaces the network: the offline mock plugs in
    here. ``sleep`` waits between retries and polls and ``clock`` times calls and deadlines:
    tests pass fakes instead of patching.
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
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        sleep: Sleep = time.sleep,
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
        self._owns_http = http_client is None
        self._http = http_client or _own(
            httpx.Client(transport=transport, timeout=self.timeout, headers=self._headers)
        )
        self._sleep = sleep

    def generate(
        self,
        request: GenerationRequest | str | None = None,
        /,
        *,
        api: Api | None = None,
        **params: Any,
    ) -> GenerationResult:
        """Generate images. Pass a prompt and parameters, or a :class:`GenerationRequest`.

        Raises :class:`~realdream.ValidationError` before any request for bad parameters, and
        the mapped :class:`~realdream.APIStatusError` subclass when the server refuses.
        ``api="v2"`` (or the client's ``api``) submits a job and waits for it.
        """
        if self._api_of(api) == "v2":
            return self.submit(request, **params).wait()
        sent, body = self._prepare(request, params)
        t0 = self._clock()
        state = self._new_state()
        with sent_as(sent):
            response = self._send("POST", self._endpoint(contract.GENERATE_PATH), state, body)
        return self._result(sent, response, state, t0)

    def submit(self, request: GenerationRequest | str | None = None, /, **params: Any) -> Job:
        """Queue a v2 job (validated exactly as :meth:`generate` validates) and return it.

        Nothing is billed until the job completes. A submit is retried only when it surely did
        not queue (a 429, a 5xx, or a connection that failed before sending).
        """
        sent, body = self._prepare(request, params, "v2")
        state = self._new_state(_submit_policy(self.retry))
        with sent_as(sent):
            response = self._send("POST", self._endpoint(contract.V2_SUBMIT_PATH), state, body)
            fields = self._submitted(response, sent, self._clock())
        return Job(**fields, client=self, retries=state.retries)

    def job(self, request_id: str, *, request: GenerationRequest | None = None) -> Job:
        """The job ``request_id`` (within its hour), to poll or wait on, e.g. after a crash.

        Pass the ``request`` as sent, when known, so the result carries its parameters.
        """
        return Job(**self._job_fields(request_id), request=request, client=self)

    def credits(self) -> Credits:
        """The account's remaining credits."""
        state = self._new_state(self._get_policy())
        return self._credits(self._send("GET", self._endpoint(contract.CREDITS_PATH), state, None))

    # --- v2 polling ------------------------------------------------------------------------
    def _get(self, job: _JobBase, url: str, *, key: bool = True) -> httpx.Response:
        state = self._new_state(self._get_policy())
        try:
            return self._send("GET", url, state, None, key=key)
        except NotFoundError as exc:
            raise _expired(exc) if key else exc from None
        finally:
            job.retries += state.retries

    def _job_status(self, job: _JobBase) -> JobStatus:
        with sent_as(job.request, job):
            try:
                response = self._get(job, job.status_url)
            except GenerationFailedError as exc:
                return self._failed(job, exc)
            return self._status(job, response)

    def _job_wait(
        self, job: _JobBase, timeout: float | None, on_status: OnStatus | None = None
    ) -> GenerationResult:
        deadline = self._deadline(timeout)
        schedule = self._schedule(job)
        t0 = self._clock()
        while True:
            now = self._clock()
            delay = schedule.delay(now)
            if deadline is not None:
                delay = min(delay, max(0.0, deadline - now))
            if delay > 0:
                self._sleep(delay)
            status = self._job_status(job)
            if on_status is not None:
                on_status(status)
            if status.failure is not None:
                raise status.failure
            if status.state == "COMPLETED":
                return self._collect(job, t0)
            if deadline is not None and self._clock() >= deadline:
                raise job._timeout(status.state, timeout or 0.0)

    def _collect(self, job: _JobBase, t0: float) -> GenerationResult:
        """Fetch the result and download every image (no key goes to the image host)."""
        with sent_as(job.request, job), _billed():
            data, outputs = self._outputs(job, self._get(job, job.response_url))
            blobs = [
                item if isinstance(item, bytes) else self._get(job, item, key=False).content
                for item in outputs
            ]
            return self._finish(job, data, blobs, t0, job.retries)

    def _send(
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
                self._sleep(wait)
            try:
                response = self._http.send(
                    self._build(self._http, method, url, body, state, key), stream=True
                )
            except httpx.HTTPError as exc:
                self._sleep(state.after_exception(exc))
                continue
            try:
                response.read()
            except httpx.HTTPError as exc:
                self._sleep(state.after_unreadable(response, exc))
                continue
            finally:
                response.close()
            self._note(response)
            delay = state.after_response(response)
            if delay is None:
                return response
            self._sleep(delay)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


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
        self._http = http_client or _own(
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
        state = self._new_state(_submit_policy(self.retry))
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

    # --- v2 polling ------------------------------------------------------------------------
    async def _get(self, job: _JobBase, url: str, *, key: bool = True) -> httpx.Response:
        state = self._new_state(self._get_policy())
        try:
            return await self._send("GET", url, state, None, key=key)
        except NotFoundError as exc:
            raise _expired(exc) if key else exc from None
        finally:
            job.retries += state.retries

    async def _job_status(self, job: _JobBase) -> JobStatus:
        with sent_as(job.request, job):
            try:
                response = await self._get(job, job.status_url)
            except GenerationFailedError as exc:
                return self._failed(job, exc)
            return self._status(job, response)

    async def _job_wait(
        self, job: _JobBase, timeout: float | None, on_status: OnStatus | None = None
    ) -> GenerationResult:
        deadline = self._deadline(timeout)
        schedule = self._schedule(job)
        t0 = self._clock()
        while True:
            now = self._clock()
            delay = schedule.delay(now)
            if deadline is not None:
                delay = min(delay, max(0.0, deadline - now))
            if delay > 0:
                await self._sleep(delay)
            status = await self._job_status(job)
            if on_status is not None:
                on_status(status)
            if status.failure is not None:
                raise status.failure
            if status.state == "COMPLETED":
                return await self._collect(job, t0)
            if deadline is not None and self._clock() >= deadline:
                raise job._timeout(status.state, timeout or 0.0)

    async def _collect(self, job: _JobBase, t0: float) -> GenerationResult:
        with sent_as(job.request, job), _billed():
            data, outputs = self._outputs(job, await self._get(job, job.response_url))
            blobs = [
                item if isinstance(item, bytes) else (await self._get(job, item, key=False)).content
                for item in outputs
            ]
            return self._finish(job, data, blobs, t0, job.retries)

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
                return _NO_RESPONSE, state.after_exception(exc)
            try:
                await response.aread()
            except httpx.HTTPError as exc:
                return _NO_RESPONSE, state.after_unreadable(response, exc)
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


_NO_RESPONSE: Final = httpx.Response(0)


@contextmanager
def _billed() -> Iterator[None]:
    """Errors after a job completed: it was billed (its images may still be fetched)."""
    try:
        yield
    except RealDreamError as exc:
        exc.maybe_billed = True
        raise
