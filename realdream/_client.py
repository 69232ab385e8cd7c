"""``Client`` and ``AsyncClient``: validate, resolve the seed, POST, retry, parse once.

Seams, never patches: ``transport=`` (or ``http_client=``) replaces the network, ``sleep=``
replaces the waits between retries and ``clock=`` the clock the deadline and timings read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Final, TypeVar

import httpx

from realdream import contract
from realdream._errors import ConfigurationError, InvalidResponseError, RealDreamError
from realdream._params import GenerationRequest
from realdream._result import Credits, GenerationResult
from realdream._retry import DEFAULT_POLICY, RetryPolicy, RetryState
from realdream._version import __version__

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_TIMEOUT",
    "AsyncClient",
    "Client",
]

API_KEY_ENV: Final = contract.API_KEY_ENV
BASE_URL_ENV: Final = contract.BASE_URL_ENV
#: Requests one ``AsyncClient`` sends at once; more wait their turn inside the client.
#: httpcore's pool does O(requests x connections) work per request (encode/httpcore#1035), so
#: a thousand ``gather``-ed calls cost 3x the time and 20x the CPU of the same calls in turns.
DEFAULT_MAX_IN_FLIGHT: Final = 32
#: Survives a cold start: an idle model can take minutes to answer the first request.
DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=10.0, read=180.0, write=30.0, pool=30.0)

_KEY_SHAPE = re.compile(r"[!-~]+")  # printable ASCII, no whitespace: safe in a header
_Self = TypeVar("_Self", bound="_BaseClient")
_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)
Sleep = Callable[[float], object]
AsyncSleep = Callable[[float], Awaitable[object]]
Clock = Callable[[], float]


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


class _BaseClient:
    """Configuration and the pure steps shared by the sync and async clients."""

    _owns_http: bool

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        retry: RetryPolicy | None,
        clock: Clock,
    ) -> None:
        self._api_key = _resolve_key(api_key)
        self.base_url = (base_url or os.environ.get(BASE_URL_ENV) or contract.BASE_URL).rstrip("/")
        self.timeout = _resolve_timeout(timeout)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError(f"retry={retry!r}: must be a realdream.RetryPolicy")
        #: How this client retries (see :class:`~realdream.RetryPolicy`).
        self.retry = retry or DEFAULT_POLICY
        self._clock = clock
        self._headers = {
            contract.API_KEY_HEADER: self._api_key,
            "Content-Type": contract.CONTENT_TYPE,
            "Accept": "image/jpeg, image/png, image/webp, application/json",
            "User-Agent": f"realdream-python/{__version__}",
        }
        self._rand = random.Random()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=<hidden>)"

    def _build(
        self,
        http: httpx.Client | httpx.AsyncClient,
        method: str,
        path: str,
        body: bytes | None,
        state: RetryState,
    ) -> httpx.Request:
        """The request for one attempt (the owned client already carries headers and timeout)."""
        if state.policy.deadline is None and self._owns_http:
            return http.build_request(method, self.base_url + path, content=body)
        return http.build_request(
            method,
            self.base_url + path,
            content=body,
            headers=None if self._owns_http else self._headers,
            timeout=state.timeout(self.timeout),
        )

    def _new_state(self, policy: RetryPolicy | None = None) -> RetryState:
        return RetryState(
            policy or self.retry, secret=self._api_key, rand=self._rand.random, clock=self._clock
        )

    def _get_policy(self) -> RetryPolicy:
        """A GET is idempotent and unbilled: read errors are safe to retry."""
        return dataclasses.replace(self.retry, retry_read_errors=True)

    @staticmethod
    def _prepare(
        request: GenerationRequest | str | None, params: Mapping[str, Any]
    ) -> tuple[GenerationRequest, bytes]:
        """Validate, resolve the seed, and ask for JSON when several samples must come back."""
        if isinstance(request, GenerationRequest):
            validated = request.replace(**params) if params else request
        elif request is None:
            validated = GenerationRequest.create(params)
        else:
            validated = GenerationRequest.create(params, prompt=request)
        sent = validated.as_sent()
        return sent, sent.to_json()

    def _result(
        self, request: GenerationRequest, response: httpx.Response, state: RetryState, t0: float
    ) -> GenerationResult:
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers.raw
        }
        with _sent_as(request):
            return GenerationResult.from_response(
                request,
                response.content,
                headers,
                elapsed=self._clock() - t0,
                retries=state.retries,
                status_code=response.status_code,
            )

    @staticmethod
    def _credits(response: httpx.Response) -> Credits:
        try:
            data = response.json()
            return Credits(float(data["credits"]), float(data.get("free-credits", 0.0)))
        except (ValueError, KeyError, TypeError, RecursionError):
            raise InvalidResponseError(
                "The credits endpoint answered without a readable balance.",
                status_code=response.status_code,
                body=response.content,
                headers=response.headers,
            ) from None


class Client(_BaseClient):
    """A synchronous client for RealDream Lightning.

    >>> with Client() as client:                                   # doctest: +SKIP
    ...     result = client.generate("portrait of a sailor", seed=42)
    ...     result.image.save("sailor.png")

    ``api_key`` falls back to ``SEGMIND_API_KEY``; ``base_url`` to ``REALDREAM_BASE_URL``.
    ``retry`` is a :class:`~realdream.RetryPolicy` (the billing-aware default otherwise).
    ``transport`` (or a ready ``http_client``) replaces the network: the offline mock plugs in
    here. ``sleep`` waits between retries and ``clock`` times calls and deadlines: tests pass
    fakes instead of patching.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.perf_counter,
    ) -> None:
        super().__init__(api_key, base_url=base_url, timeout=timeout, retry=retry, clock=clock)
        self._owns_http = http_client is None
        self._http = http_client or _own(
            httpx.Client(transport=transport, timeout=self.timeout, headers=self._headers)
        )
        self._sleep = sleep

    def generate(
        self, request: GenerationRequest | str | None = None, /, **params: Any
    ) -> GenerationResult:
        """Generate images. Pass a prompt and parameters, or a :class:`GenerationRequest`.

        Raises :class:`~realdream.ValidationError` before any request for bad parameters, and
        the mapped :class:`~realdream.APIStatusError` subclass when the server refuses.
        """
        sent, body = self._prepare(request, params)
        t0 = self._clock()
        state = self._new_state()
        with _sent_as(sent):
            response = self._send("POST", contract.GENERATE_PATH, state, body)
        return self._result(sent, response, state, t0)

    def credits(self) -> Credits:
        """The account's remaining credits."""
        state = self._new_state(self._get_policy())
        return self._credits(self._send("GET", contract.CREDITS_PATH, state, None))

    def _send(
        self, method: str, path: str, state: RetryState, body: bytes | None
    ) -> httpx.Response:
        while True:
            try:
                response = self._http.send(
                    self._build(self._http, method, path, body, state), stream=True
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


class AsyncClient(_BaseClient):
    """The asyncio twin of :class:`Client`: the same arguments, awaitable methods.

    One instance serves any number of concurrent calls: at most ``max_in_flight`` requests
    are on the wire at once, the rest wait their turn inside the client (a wait between
    retries holds no turn). ``sleep`` is awaited between retries.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        sleep: AsyncSleep = asyncio.sleep,
        clock: Clock = time.perf_counter,
    ) -> None:
        super().__init__(api_key, base_url=base_url, timeout=timeout, retry=retry, clock=clock)
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
        self, request: GenerationRequest | str | None = None, /, **params: Any
    ) -> GenerationResult:
        """Generate images; see :meth:`Client.generate`."""
        sent, body = self._prepare(request, params)
        t0 = self._clock()
        state = self._new_state()
        with _sent_as(sent):
            response = await self._send("POST", contract.GENERATE_PATH, state, body)
        return self._result(sent, response, state, t0)

    async def credits(self) -> Credits:
        """The account's remaining credits."""
        state = self._new_state(self._get_policy())
        return self._credits(await self._send("GET", contract.CREDITS_PATH, state, None))

    def _turns(self) -> asyncio.Semaphore:
        """The in-flight bound of the running event loop (a client may outlive a loop)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.max_in_flight))
        return self._slots[1]

    async def _attempt(
        self, method: str, path: str, state: RetryState, body: bytes | None
    ) -> tuple[httpx.Response, float | None]:
        """One attempt, holding a turn: the response, and the delay before a retry (or None)."""
        async with self._turns():
            try:
                response = await self._http.send(
                    self._build(self._http, method, path, body, state), stream=True
                )
            except httpx.HTTPError as exc:
                return _NO_RESPONSE, state.after_exception(exc)
            try:
                await response.aread()
            except httpx.HTTPError as exc:
                return _NO_RESPONSE, state.after_unreadable(response, exc)
            finally:
                await response.aclose()
        return response, state.after_response(response)

    async def _send(
        self, method: str, path: str, state: RetryState, body: bytes | None
    ) -> httpx.Response:
        while True:
            response, delay = await self._attempt(method, path, state, body)
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
def _sent_as(request: GenerationRequest) -> Iterator[None]:
    """Errors raised inside carry the request as it was sent (maybe paid for: see the error)."""
    try:
        yield
    except RealDreamError as exc:
        exc.request = request
        raise


def _resolve_key(api_key: str | None) -> str:
    key = (api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")).strip()
    if not key:
        raise ConfigurationError(
            f"No API key: pass api_key=... or set the {API_KEY_ENV} environment variable "
            f"(keys look like {contract.API_KEY_SHAPE}; get one at segmind.com)."
        )
    if not _KEY_SHAPE.fullmatch(key):
        raise ConfigurationError(
            "The API key contains spaces or characters that cannot be sent in a header; "
            "check for a stray quote or line break."
        )
    return key


def _resolve_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not timeout > 0:
        raise ConfigurationError(f"timeout={timeout!r}: must be a number of seconds > 0")
    return httpx.Timeout(timeout, connect=min(timeout, DEFAULT_TIMEOUT.connect or timeout))
