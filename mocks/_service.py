"""``MockService``: the mock's check order and routing, independent of any web framework.

:meth:`MockService.handle` answers a :class:`~realdream.mock.MockRequest` with a
:class:`~realdream.mock.Plan`: how long to wait, and what to answer after the wait. The ASGI
app and the httpx transports are thin shells that wait (asyncio or ``time.sleep``) and then
call :meth:`Plan.complete`. The endpoints live in their own modules (v1 generation, the v2
queue, replay, the control paths); the state they share in
:class:`~realdream.mock._state.ServiceState`, which a service is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any, Final

from realdream import contract
from realdream.mock import _rules
from realdream.mock._config import MockConfig
from realdream.mock._control import CONTROL_PATH, STATS_PATH, control
from realdream.mock._generate import GenerateEndpoint
from realdream.mock._http import MockRequest, MockResponse, error_response, json_response
from realdream.mock._jobbodies import CDN_PREFIX, job_endpoint
from realdream.mock._openapi import build_openapi
from realdream.mock._plan import Plan
from realdream.mock._queue import JobEndpoints
from realdream.mock._replay import Replay
from realdream.mock._scenarios import FORCE_STATUS_HEADER, documented_response, forced_status
from realdream.mock._state import ServiceState
from realdream.mock._stats import ReceivedRequest

__all__ = ["MAX_BODY_BYTES", "OPENAPI_PATH", "MockService", "body_too_large"]

logger = logging.getLogger("realdream.mock")

OPENAPI_PATH: Final = "/openapi.json"
_API_PREFIXES: Final = ("/v1/", "/v2/")
#: The largest request body read (a request is a few kilobytes; more is a mistake or an attack).
MAX_BODY_BYTES: Final = 2 * 1024 * 1024


class MockService(ServiceState):
    """The mock's rules and state (balance, rate windows, scripts, counters). Thread-safe.

    One service may sit behind several shells at once (an ASGI app, transports): they share
    its balance and scripts. What it has seen: :attr:`balance`, :attr:`stats` (counters by
    status, images, time) and :attr:`requests` (each request received, in order, for a test
    that compares what two clients sent).
    """

    def __init__(
        self, config: MockConfig | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(config, clock=clock)
        self._generate = GenerateEndpoint(self)
        self._queue = JobEndpoints(self)
        #: The recorded exchanges answered first (``config.replay``), or ``None``.
        self.replay = Replay.load(self.config.replay) if self.config.replay is not None else None

    def __repr__(self) -> str:
        return f"MockService(balance={self.balance!r}, latency={self.config.latency!r})"

    @property
    def requests(self) -> tuple[ReceivedRequest, ...]:
        """The requests received so far, oldest first (the latest
        :data:`~realdream.mock.REQUEST_LOG_SIZE`): each one's method, path, headers (names in
        lower case, a key header's value ``"REDACTED"``) and body, logged as it arrived,
        whatever it was answered. Two runs of one scenario send the same requests when these
        are equal (pick the headers that matter: ``content-type``, say, not ``user-agent``)."""
        return self.tally.requests()

    def finished(
        self, request: MockRequest, response: MockResponse, seconds: float, waited: float = 0.0
    ) -> None:
        """Called by a shell once per answered request: the one log line, and the timing.

        ``seconds`` is the request's wall time, ``waited`` the latency part of it. The line
        never holds the key: it only travels in a header, and headers are not logged.
        """
        status, ms = response.status, seconds * 1000
        logger.info("%s %s %d %.1fms", request.method, request.path, status, ms)
        self.tally.served(seconds - waited)

    @cached_property
    def openapi(self) -> dict[str, Any]:
        return build_openapi()

    # --- The check order ---------------------------------------------------------------------
    def handle(self, request: MockRequest) -> Plan:
        """Decide the answer to ``request`` (see :data:`realdream.mock.CHECK_ORDER`, and for v2
        :data:`realdream.mock.SUBMIT_CHECK_ORDER` and :data:`realdream.mock.POLL_CHECK_ORDER`)."""
        self.tally.received(request)
        forced = forced_status(request.header(FORCE_STATUS_HEADER))
        if isinstance(forced, MockResponse):
            return self.answer_now(forced)
        if forced is not None:
            return self.answer_now(documented_response(forced, self.clock()))
        if len(request.body) > MAX_BODY_BYTES:
            return self.answer_now(body_too_large(len(request.body)))
        replayed = self.replay.plan(request, self) if self.replay is not None else None
        return replayed or self._route(request)

    def _route(self, request: MockRequest) -> Plan:
        self.jobs.settle(self.clock())
        if request.path == OPENAPI_PATH:
            return self.answer_now(self._openapi_response(request))
        if request.path in (CONTROL_PATH, STATS_PATH):
            return self.answer_now(control(self, request))
        if request.path.startswith(CDN_PREFIX):
            return self._queue.image(request)
        if not request.path.startswith(_API_PREFIXES):
            return self.answer_now(_rules.not_found())
        denied = _rules.check_auth(request, self.config)
        if denied is not None:
            return self.answer_now(denied)
        return self._api(request, _rules.api_key_of(request))

    def _api(self, request: MockRequest, key: str) -> Plan:
        """A request with an accepted key: the endpoint by path, then by method."""
        if request.path == contract.CREDITS_PATH:
            return self.answer_now(self._credits(request))
        if request.path in (contract.GENERATE_PATH, contract.V2_SUBMIT_PATH):
            if request.method != "POST":
                return self.answer_now(_rules.method_not_allowed("POST"))
            if request.path == contract.V2_SUBMIT_PATH:
                return self._queue.submit(request, key)
            return self._generate.generate(request, key)
        poll = job_endpoint(request.path)
        if poll is not None:
            return self._queue.poll(request, key, *poll)
        return self.answer_now(_rules.not_found())

    # --- Other endpoints ---------------------------------------------------------------------
    def _credits(self, request: MockRequest) -> MockResponse:
        if request.method != "GET":
            return _rules.method_not_allowed("GET")
        return json_response(200, {"credits": self.balance, "free-credits": 0.0})

    def _openapi_response(self, request: MockRequest) -> MockResponse:
        if request.method not in ("GET", "HEAD"):
            return _rules.method_not_allowed("GET")
        return json_response(200, self.openapi)


def body_too_large(size: int) -> MockResponse:
    """400 for a body over :data:`MAX_BODY_BYTES` (the mock reads no further)."""
    return error_response(400, f"body: is {size:,}+ bytes; at most {MAX_BODY_BYTES:,} are accepted")
