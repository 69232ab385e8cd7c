"""The real mock, in-process on one frozen fake clock, behind a transport that fails a chosen
schedule of a v2 job's GETs: status, result and image requests. The mock's own faults
(``fault_rate``, scripts) reach submits and polls, never its image host, so the faults here
are injected in front of it, each in the shape a real failure takes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Final

import httpx

import realdream
import realdream.mock as mocks
from realdream import contract
from realdream.testing.clock import SkipAheadClock

BASE: Final = "http://mock.test"
#: Answers with this status (a 429 asks for a 1 s wait; ``"429:90"`` asks for 90 s).
STATUS_FAULTS: Final = ("500", "502", "503", "504", "429")
#: ``connect``: refused before sending. ``read-timeout``: the mock answered, the answer was
#: lost. ``cut-body``: the status line arrived, then the connection dropped mid-body.
#: (``pending``, for a result request only: a 200 saying the job is still PROCESSING.)
TRANSPORT_FAULTS: Final = ("connect", "read-timeout", "cut-body")
FAULTS: Final = STATUS_FAULTS + TRANSPORT_FAULTS
GETS: Final = ("status", "result", "image")


def kind_of(request: httpx.Request) -> str | None:
    """``status``, ``result`` or ``image`` for a job's GET; ``None`` for anything else."""
    path = request.url.path
    if request.method != "GET":
        return None
    if path.startswith(mocks.CDN_PREFIX):
        return "image"
    if path.startswith("/v2/requests/"):
        return "status" if path.endswith("/status") else "result"
    return None


class Faults:
    """Which fault each GET of ``kinds`` meets, in order: ``schedule`` first (``None``: that
    request goes through), then ``then`` for every later one (``None``: all go through)."""

    def __init__(
        self,
        schedule: Iterable[str | None] = (),
        *,
        kinds: Iterable[str] = GETS,
        then: str | None = None,
    ) -> None:
        self.pending = list(schedule)
        self.kinds = frozenset(kinds)
        self.then = then
        #: Every fault injected, in order, with the kind of request it hit.
        self.injected: list[tuple[str, str]] = []
        #: The kind of every job GET, faulted or not.
        self.requests: list[str] = []

    def next(self, request: httpx.Request) -> str | None:
        kind = kind_of(request)
        if kind is not None:
            self.requests.append(kind)
        if kind is None or kind not in self.kinds:
            return None
        fault = self.pending.pop(0) if self.pending else self.then
        if fault is not None:
            self.injected.append((kind, fault))
        return fault


class _Cut(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that breaks off after its first byte."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"{"
        raise httpx.ReadError("injected: connection reset mid-body")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{"
        raise httpx.ReadError("injected: connection reset mid-body")


def _answer(fault: str, request: httpx.Request) -> httpx.Response:
    code, _, wait = fault.partition(":")
    status = int(code)
    headers = {contract.HEADER_RETRY_AFTER: wait or "1"} if status == 429 else {}
    return httpx.Response(
        status, json={"error": f"injected {status}"}, headers=headers, request=request
    )


def _before(fault: str | None, request: httpx.Request) -> httpx.Response | None:
    if fault == "connect":
        raise httpx.ConnectError("injected: connection refused", request=request)
    if fault == "pending":
        return httpx.Response(200, json={"status": "PROCESSING", "metrics": {}}, request=request)
    return _answer(fault, request) if fault is not None and fault[:1].isdigit() else None


def _after(fault: str | None, response: httpx.Response, request: httpx.Request) -> httpx.Response:
    if fault == "read-timeout":
        raise httpx.ReadTimeout("injected: no answer in time", request=request)
    if fault == "cut-body":
        headers = {"content-type": response.headers.get("content-type", "application/json")}
        return httpx.Response(response.status_code, headers=headers, stream=_Cut(), request=request)
    return response


class FaultyTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, faults: Faults) -> None:
        self.inner, self.faults = inner, faults

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.faults.next(request)
        early = _before(fault, request)
        if early is not None:
            return early
        return _after(fault, self.inner.handle_request(request), request)


class AsyncFaultyTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, faults: Faults) -> None:
        self.inner, self.faults = inner, faults

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.faults.next(request)
        early = _before(fault, request)
        if early is not None:
            return early
        return _after(fault, await self.inner.handle_async_request(request), request)


class Rig:
    """One mock service, one frozen clock, one fault schedule, and clients wired to them."""

    def __init__(self, faults: Faults | None = None, **config: Any) -> None:
        self.clock = SkipAheadClock(frozen=True)
        self.service = mocks.MockService(
            mocks.MockConfig(**{"latency": 2.0, **config}), clock=self.clock
        )
        self.faults = faults or Faults()

    def client(self, **options: Any) -> realdream.Client:
        transport = FaultyTransport(mocks.MockTransport(self.service), self.faults)
        return realdream.Client(
            mocks.MOCK_API_KEY, base_url=BASE, api="v2", transport=transport,
            sleep=self.clock.sleep, clock=self.clock, **options,
        )  # fmt: skip

    def async_client(self, **options: Any) -> realdream.AsyncClient:
        transport = AsyncFaultyTransport(mocks.AsyncMockTransport(self.service), self.faults)
        return realdream.AsyncClient(
            mocks.MOCK_API_KEY, base_url=BASE, api="v2", transport=transport,
            sleep=self.clock.async_sleep, clock=self.clock, **options,
        )  # fmt: skip

    @property
    def billed_images(self) -> int:
        """Images the mock has billed (its own ledger: v2 jobs debit when they complete)."""
        return self.service.stats.images
