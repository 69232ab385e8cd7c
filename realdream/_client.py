"""``Client`` and ``AsyncClient``: validate, resolve the seed, POST, retry, parse once."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar

import httpx
from httpx import USE_CLIENT_DEFAULT

from realdream import _contract
from realdream._errors import ConfigurationError, InvalidResponseError
from realdream._params import GenerationRequest
from realdream._result import Credits, GenerationResult
from realdream._retry import DEFAULT_MAX_RETRIES, MAX_RETRY_WAIT, RetryPolicy, RetryState
from realdream._version import __version__

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_TIMEOUT",
    "AsyncClient",
    "Client",
]

API_KEY_ENV: Final = "SEGMIND_API_KEY"
BASE_URL_ENV: Final = "REALDREAM_BASE_URL"
#: Survives a cold start: an idle model can take minutes to answer the first request.
DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=10.0, read=180.0, write=30.0, pool=30.0)

if TYPE_CHECKING:
    from httpx._client import UseClientDefault

_KEY_SHAPE = re.compile(r"[!-~]+")  # printable ASCII, no whitespace: safe in a header
_Self = TypeVar("_Self", bound="_BaseClient")
_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)


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
        max_retries: int,
        max_retry_wait: float,
        retry_read_errors: bool,
        deadline: float | None,
    ) -> None:
        self._api_key = _resolve_key(api_key)
        self.base_url = (base_url or os.environ.get(BASE_URL_ENV) or _contract.BASE_URL).rstrip("/")
        self.timeout = _resolve_timeout(timeout)
        self.policy = RetryPolicy(
            max_retries=max_retries,
            max_wait=max_retry_wait,
            retry_read_errors=retry_read_errors,
            deadline=deadline,
        )
        self._headers = {
            _contract.API_KEY_HEADER: self._api_key,
            "Content-Type": "application/json",
            "Accept": "image/jpeg, image/png, image/webp, application/json",
            "User-Agent": f"realdream-python/{__version__}",
        }
        self._rand = random.Random()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=<hidden>)"

    def _attempt_timeout(self, state: RetryState) -> httpx.Timeout | UseClientDefault:
        """Only pass a timeout when it differs from the owned client's (it costs per request)."""
        if state.policy.deadline is None and self._owns_http:
            return USE_CLIENT_DEFAULT
        return state.timeout(self.timeout)

    def _new_state(self, policy: RetryPolicy | None = None) -> RetryState:
        return RetryState(policy or self.policy, secret=self._api_key, rand=self._rand.random)

    def _credits_policy(self) -> RetryPolicy:
        """A GET is idempotent and unbilled: read errors are safe to retry."""
        return dataclasses.replace(self.policy, retry_read_errors=True)

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
        return GenerationResult.from_response(
            request,
            response.content,
            headers,
            elapsed=time.perf_counter() - t0,
            retries=state.retries,
        )

    @staticmethod
    def _credits(response: httpx.Response) -> Credits:
        try:
            data = response.json()
            return Credits(float(data["credits"]), float(data.get("free-credits", 0.0)))
        except (ValueError, KeyError, TypeError):
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
    ``transport`` (or a ready ``http_client``) replaces the network: the offline mock plugs in
    here. Retries follow the billing-aware policy described in the README.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = MAX_RETRY_WAIT,
        retry_read_errors: bool = False,
        deadline: float | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            retry_read_errors=retry_read_errors,
            deadline=deadline,
        )
        self._owns_http = http_client is None
        self._http = http_client or _own(
            httpx.Client(transport=transport, timeout=self.timeout, headers=self._headers)
        )
        self._sleep: Callable[[float], object] = time.sleep  # tests replace it

    def generate(
        self, request: GenerationRequest | str | None = None, /, **params: Any
    ) -> GenerationResult:
        """Generate images. Pass a prompt and parameters, or a :class:`GenerationRequest`.

        Raises :class:`~realdream.ValidationError` before any request for bad parameters, and
        the mapped :class:`~realdream.APIStatusError` subclass when the server refuses.
        """
        sent, body = self._prepare(request, params)
        t0 = time.perf_counter()
        state = self._new_state()
        response = self._send("POST", _contract.GENERATE_PATH, state, body)
        return self._result(sent, response, state, t0)

    def credits(self) -> Credits:
        """The account's remaining credits."""
        state = self._new_state(self._credits_policy())
        return self._credits(self._send("GET", _contract.CREDITS_PATH, state, None))

    def _send(
        self, method: str, path: str, state: RetryState, body: bytes | None
    ) -> httpx.Response:
        url = self.base_url + path
        while True:
            try:
                response = self._http.request(
                    method,
                    url,
                    content=body,
                    headers=None if self._owns_http else self._headers,
                    timeout=self._attempt_timeout(state),
                )
            except httpx.HTTPError as exc:
                self._sleep(state.after_exception(exc))
                continue
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

    One instance serves many concurrent ``generate`` calls (it holds one connection pool).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = MAX_RETRY_WAIT,
        retry_read_errors: bool = False,
        deadline: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        max_connections: int = 100,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            retry_read_errors=retry_read_errors,
            deadline=deadline,
        )
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._owns_http = http_client is None
        self._http = http_client or _own(
            httpx.AsyncClient(
                transport=transport, timeout=self.timeout, limits=limits, headers=self._headers
            )
        )
        self._sleep: Callable[[float], Awaitable[object]] = asyncio.sleep  # tests replace it

    async def generate(
        self, request: GenerationRequest | str | None = None, /, **params: Any
    ) -> GenerationResult:
        """Generate images; see :meth:`Client.generate`."""
        sent, body = self._prepare(request, params)
        t0 = time.perf_counter()
        state = self._new_state()
        response = await self._send("POST", _contract.GENERATE_PATH, state, body)
        return self._result(sent, response, state, t0)

    async def credits(self) -> Credits:
        """The account's remaining credits."""
        state = self._new_state(self._credits_policy())
        return self._credits(await self._send("GET", _contract.CREDITS_PATH, state, None))

    async def _send(
        self, method: str, path: str, state: RetryState, body: bytes | None
    ) -> httpx.Response:
        url = self.base_url + path
        while True:
            try:
                response = await self._http.request(
                    method,
                    url,
                    content=body,
                    headers=None if self._owns_http else self._headers,
                    timeout=self._attempt_timeout(state),
                )
            except httpx.HTTPError as exc:
                await self._sleep(state.after_exception(exc))
                continue
            delay = state.after_response(response)
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


def _resolve_key(api_key: str | None) -> str:
    key = (api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")).strip()
    if not key:
        raise ConfigurationError(
            f"No API key: pass api_key=... or set the {API_KEY_ENV} environment variable "
            f"(keys look like {_contract.API_KEY_SHAPE}; get one at segmind.com)."
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
