"""``Client``: validate, resolve the seed, POST, retry, parse once; submit, poll and collect.

Seams, never patches: ``transport=`` (or ``http_client=``) replaces the network, ``sleep=``
replaces the waits between retries and polls, and ``clock=`` the clock the deadline and
timings read. :class:`~realdream.AsyncClient` is its asyncio twin, step for step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import httpx

from realdream import contract
from realdream._base import DEFAULT_TIMEOUT, Api, BaseClient, Clock
from realdream._errors import GenerationFailedError, NotFoundError, RealDreamError
from realdream._jobs import Job, JobPendingError, JobStatus, OnStatus
from realdream._params import GenerationRequest
from realdream._polling import Patience
from realdream._result import Credits, GenerationResult
from realdream._retry import RetryPolicy, RetryState
from realdream._sending import Sleep, billed, expired, own, sent_as, submit_policy

__all__ = ["DEFAULT_TIMEOUT", "Client"]

_Self = TypeVar("_Self", bound=BaseClient)
_T = TypeVar("_T")


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
        self._http = http_client or own(
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
        state = self._new_state(submit_policy(self.retry))
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

    # --- v2 jobs ---------------------------------------------------------------------------
    def _get(
        self, job: Job, url: str, *, key: bool = True, policy: RetryPolicy | None = None
    ) -> httpx.Response:
        state = self._new_state(policy or self._get_policy())
        try:
            return self._send("GET", url, state, None, key=key)
        except NotFoundError as exc:
            raise expired(exc) if key else exc from None
        finally:
            job.retries += state.retries

    def _job_status(self, job: Job, policy: RetryPolicy | None = None) -> JobStatus:
        with sent_as(job.request, job):
            try:
                response = self._get(job, job.status_url, policy=policy)
            except GenerationFailedError as exc:
                return self._failed(job, exc)
            return self._status(job, response)

    def _job_wait(
        self, job: Job, timeout: float | None, on_status: OnStatus | None = None
    ) -> GenerationResult:
        patience = self._patience(job, timeout, on_status)
        schedule = self._schedule(job)
        t0 = self._clock()
        while True:
            delay = patience.until_poll(schedule.delay(self._clock()))
            if delay > 0:
                self._sleep(delay)
            status = self._patiently(patience, lambda: self._job_status(job, patience.policy))
            patience.seen(status)
            if status.failure is not None:
                raise status.failure
            if status.state == "COMPLETED":
                try:
                    return self._collect(job, t0, patience)
                except JobPendingError:
                    pass  # the result is not there yet, whatever the status said: poll on
            if patience.expired():
                raise patience.timed_out()

    def _job_result(self, job: Job) -> GenerationResult:
        return self._collect(job, self._clock())

    def _collect(self, job: Job, t0: float, patience: Patience | None = None) -> GenerationResult:
        """Fetch the result and download every image (no key goes to the image host).

        Within a wait (``patience``) the job is known to have completed: every error counts
        as billed. Read once (``result()``), a FAILED or unfinished job's error does not.
        """
        with sent_as(job.request, job), billed(patience is not None):
            data, outputs = self._outputs(job, self._fetch(job, job.response_url, patience))
            with billed():
                blobs = [
                    item
                    if isinstance(item, bytes)
                    else self._fetch(job, item, patience, key=False).content
                    for item in outputs
                ]
                return self._finish(job, data, blobs, t0, job.retries)

    def _fetch(
        self, job: Job, url: str, patience: Patience | None, *, key: bool = True
    ) -> httpx.Response:
        """GET a job's result (with the key) or an image (without): within a wait, patiently."""
        if patience is None:
            return self._get(job, url, key=key)
        policy = patience.policy
        return self._patiently(patience, lambda: self._get(job, url, key=key, policy=policy))

    def _patiently(self, patience: Patience, call: Callable[[], _T]) -> _T:
        """``call()``, tried again after each transient failure until the wait's deadline."""
        while True:
            try:
                return call()
            except RealDreamError as exc:
                delay = patience.retry_delay(exc)
                if delay is None:
                    raise
            self._sleep(delay)

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
