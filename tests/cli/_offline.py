"""The command line against an in-process mock on one skip-ahead clock, through its seams.

The mock's jobs, the client's polls and pacing, and the batch's back-off gate all read the same
:class:`realdream.testing.clock.SkipAheadClock`, so a job that takes minutes takes no real time;
every request is noted with the (fake) time it went out.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import realdream.mock as mocks
from realdream import contract
from realdream.cli._app import run
from realdream.cli._common import Seams
from realdream.cli._manifest import MANIFEST_NAME
from realdream.testing.clock import SkipAheadClock
from tests.cli.conftest import Ran

BASE = "http://mock.test"
SMALL = ["--width", "256", "--height", "256"]


@dataclass(frozen=True)
class Exchange:
    """One request as the mock saw it: what, when (fake time), and the answer's status."""

    kind: str  # submit, status, result, image, generate (v1)
    method: str
    path: str
    at: float  # when it went out (past the batch's gate)
    done: float  # when its answer was in
    status: int
    body: bytes
    keyed: bool  # the API key went with it


def kind_of(request: httpx.Request) -> str:
    path = request.url.path
    if path.startswith(mocks.CDN_PREFIX):
        return "image"
    if path == contract.V2_SUBMIT_PATH:
        return "submit"
    if path.startswith("/v2/requests/"):
        return "status" if path.endswith("/status") else "result"
    return "generate"


class _Notes:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.exchanges: list[Exchange] = []

    def note(self, request: httpx.Request, response: httpx.Response, at: float) -> None:
        keyed = contract.API_KEY_HEADER in request.headers
        self.exchanges.append(
            Exchange(kind_of(request), request.method, request.url.path, at, self.clock(),
                     response.status_code, response.content, keyed)
        )  # fmt: skip


class Recording(httpx.BaseTransport):
    """A sync transport to the mock that notes every exchange; ``before`` may answer (or fail)
    a request instead of the mock."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        notes: _Notes,
        before: Callable[[httpx.Request], httpx.Response | None] | None = None,
    ) -> None:
        self.inner = inner
        self.notes = notes
        self.before = before

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        at = self.notes.clock()
        request.read()
        response = self.before(request) if self.before is not None else None
        if response is None:
            response = self.inner.handle_request(request)
            response.read()
        self.notes.note(request, response, at)
        return response


class AsyncRecording(httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`Recording`."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        notes: _Notes,
        before: Callable[[httpx.Request], httpx.Response | None] | None = None,
    ) -> None:
        self.inner = inner
        self.notes = notes
        self.before = before

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        at = self.notes.clock()
        await request.aread()
        try:
            response = self.before(request) if self.before is not None else None
        except httpx.TransportError:
            self.notes.note(request, httpx.Response(0), at)
            raise
        if response is None:
            response = await self.inner.handle_async_request(request)
            await response.aread()
        self.notes.note(request, response, at)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class Offline:
    """One mock service on one skip-ahead clock, and ``realdream`` runs pointed at it."""

    def __init__(self, config: mocks.MockConfig | None = None, **overrides: Any) -> None:
        self.clock = SkipAheadClock()
        self.service = mocks.MockService(
            config or mocks.MockConfig(latency=2.0, queue_time=1.0, credits=1.0), clock=self.clock
        )
        self.notes = _Notes(self.clock)
        self.fail: Callable[[httpx.Request], httpx.Response | None] | None = None
        self.overrides = overrides

    @property
    def exchanges(self) -> list[Exchange]:
        return self.notes.exchanges

    def kinds(self) -> list[str]:
        return [exchange.kind for exchange in self.exchanges]

    def seams(self, **overrides: Any) -> Seams:
        async_transport = AsyncRecording(
            mocks.AsyncMockTransport(self.service), self.notes, lambda r: self._fail(r)
        )
        given: dict[str, Any] = {
            "transport": Recording(
                mocks.MockTransport(self.service), self.notes, lambda r: self._fail(r)
            ),
            "async_transport": async_transport,
            "sleep": self.clock.sleep,
            "async_sleep": self.async_sleep,
            "clock": self.clock,
            **self.overrides,
            **overrides,
        }
        return Seams(**given)

    async def async_sleep(self, seconds: float) -> None:
        """Skip ahead on the shipped clock, then let the other tasks run (as a real sleep would:
        a v2 job's polls must not keep the other workers from submitting theirs). A test whose
        requests must reach the mock the moment their wait ends passes ``clock.async_sleep``."""
        await self.clock.async_sleep(seconds)
        await asyncio.sleep(0)

    def _fail(self, request: httpx.Request) -> httpx.Response | None:
        return self.fail(request) if self.fail is not None else None

    def run(self, *args: str | Path, seams: Seams | None = None) -> Ran:
        """``realdream ARGS... --base-url ... --api-key ...``, output captured (not a terminal)."""
        argv = [str(arg) for arg in args] + ["--base-url", BASE, "--api-key", mocks.MOCK_API_KEY]
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = run(argv, seams=seams or self.seams())
        return Ran(code, stdout.getvalue(), stderr.getvalue())

    def charged_images(self) -> int:
        """Images the mock has billed (v2 jobs are billed when they complete, by the clock)."""
        return self.service.stats.images

    def spent(self) -> float:
        return self.service.config.credits - self.service.balance


def records(out: Path) -> list[dict[str, Any]]:
    lines = (out / MANIFEST_NAME).read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def history(out: Path) -> dict[int, list[str]]:
    """Each line's record statuses, in order."""
    found: dict[int, list[str]] = {}
    for record in records(out):
        found.setdefault(record["line"], []).append(record["status"])
    return found


def last_records(out: Path) -> dict[int, dict[str, Any]]:
    """Each line's last record."""
    return {record["line"]: record for record in records(out)}
