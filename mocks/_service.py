"""``MockService``: the mock's state and the check order, independent of any web framework.

:meth:`MockService.handle` answers a :class:`~mocks._http.MockRequest` with a :class:`Plan`:
how long to wait, and what to answer after the wait. The ASGI app and the httpx transports are
thin shells that wait (asyncio or ``time.sleep``) and then call :meth:`Plan.complete`.
"""

from __future__ import annotations

import base64
import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

from realdream import LIMITS, GenerationRequest, ValidationError, contract, parse_json_object
from realdream.mock import _rules
from realdream.mock._config import MOCK_API_KEY, MockConfig
from realdream.mock._http import MockRequest, MockResponse, error_response, json_response
from realdream.mock._jobbodies import CDN_PREFIX, job_endpoint
from realdream.mock._jobs import JobBook
from realdream.mock._ledger import MICROS_PER_USD, Ledger, format_usd, to_micros
from realdream.mock._queue import JobEndpoints
from realdream.mock._ratelimit import RateLimiter
from realdream.mock._render import render_jpeg
from realdream.mock._scenarios import (
    FORCE_STATUS_HEADER,
    JOB_FAILED,
    TIMEOUT,
    ScriptEntry,
    Scripts,
    documented_response,
    draw_fault,
    forced_status,
)

__all__ = [
    "CONTROL_PATH",
    "MAX_BODY_BYTES",
    "OPENAPI_PATH",
    "STATS_PATH",
    "MockService",
    "MockStats",
    "Plan",
    "body_too_large",
]

if TYPE_CHECKING:
    from realdream.mock._replay import Replay

logger = logging.getLogger("realdream.mock")

OPENAPI_PATH: Final = "/openapi.json"
#: ``POST`` here (with the key header) and ``{"statuses": [429, 502]}`` scripts outcomes.
CONTROL_PATH: Final = "/mock/script"
STATS_PATH: Final = "/mock/stats"
_API_PREFIXES: Final = ("/v1/", "/v2/")
_SEED_MAX: Final = int(LIMITS["seed"].maximum)
_CREDITS_RULE: Final = contract.rules_for_status(406)[0]
#: The largest request body read (a request is a few kilobytes; more is a mistake or an attack).
MAX_BODY_BYTES: Final = 2 * 1024 * 1024


@dataclass(frozen=True)
class MockStats:
    """What the service has answered so far."""

    requests: int
    by_status: dict[int, int]
    #: Images returned by v1 and billed for v2 jobs.
    images: int
    #: Seconds spent rendering and encoding images.
    render_seconds: float
    #: Seconds the shells spent on requests, latency excluded (reported by :meth:`finished`).
    server_seconds: float
    #: v2 jobs remembered now (each is forgotten when its result expires).
    jobs: int = 0


class Plan:
    """A decided answer: wait :attr:`delay` seconds, then call :meth:`complete` once.

    :meth:`cancel` (for a client that went away before the answer) releases held credits.
    """

    def __init__(
        self,
        delay: float,
        finish: Callable[[], MockResponse],
        *,
        cancel: Callable[[], None] | None = None,
        blocking: bool = False,
        on_done: Callable[[MockResponse], None] | None = None,
    ) -> None:
        self.delay = delay
        #: True when :meth:`complete` does real work (rendering): run it off the event loop.
        self.blocking = blocking
        self._finish = finish
        self._cancel = cancel
        self._on_done = on_done
        self._done = False
        self._lock = threading.Lock()

    def complete(self) -> MockResponse:
        self._claim()
        response = self._finish()
        if self._on_done is not None:
            self._on_done(response)
        return response

    def cancel(self) -> None:
        if self._try_claim() and self._cancel is not None:
            self._cancel()

    def _claim(self) -> None:
        if not self._try_claim():
            raise RuntimeError("this plan was already completed or cancelled")

    def _try_claim(self) -> bool:
        with self._lock:
            if self._done:
                return False
            self._done = True
            return True


class MockService:
    """The mock's rules and state (balance, rate windows, scripts, counters). Thread-safe.

    One service may sit behind several shells at once (an ASGI app, transports): they share
    its balance and scripts.
    """

    def __init__(
        self, config: MockConfig | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config or MockConfig()
        self.clock = clock
        self.ledger = Ledger(self.config.credits)
        self.limiter = RateLimiter(self.config.rate_limit, clock=clock)
        self.scripts = Scripts()
        #: The v2 jobs and the files of their images (see :mod:`mocks._jobs`).
        self.jobs = JobBook(self.ledger)
        self._queue = JobEndpoints(self)
        self.replay = _replay(self.config.replay)
        self._rng_lock = threading.Lock()
        self._fault_rng = _rng(self.config.seed, "faults")
        self._seed_rng = _rng(self.config.seed, "seeds")
        self._jitter_rng = _rng(self.config.seed, "jitter")
        self._stats_lock = threading.Lock()
        self._by_status: Counter[int] = Counter()
        self._images = 0
        self._render_seconds = 0.0
        self._server_seconds = 0.0

    def __repr__(self) -> str:
        return f"MockService(balance={self.balance!r}, latency={self.config.latency!r})"

    # --- Public state ------------------------------------------------------------------------
    @property
    def balance(self) -> float:
        """The balance in USD now: every v2 job that has completed by now is debited; credits
        held by requests in flight and jobs still running are not yet."""
        self.jobs.settle(self.clock())
        return self.ledger.balance_micros / MICROS_PER_USD

    @property
    def stats(self) -> MockStats:
        self.jobs.settle(self.clock())
        billed = self.jobs.billed_images
        with self._stats_lock:
            return MockStats(
                requests=sum(self._by_status.values()),
                by_status=dict(self._by_status),
                images=self._images + billed,
                render_seconds=self._render_seconds,
                server_seconds=self._server_seconds,
                jobs=len(self.jobs),
            )

    def script(
        self, statuses: Sequence[ScriptEntry], *, api_key: str = MOCK_API_KEY
    ) -> list[ScriptEntry]:
        """Queue outcomes for ``api_key``'s next API requests, one per request: a v1
        generation, a v2 submit or a v2 poll (the credits endpoint and the image host take none).

        Each entry is a status or case (answered with its documented body, debiting nothing),
        ``200`` (answer normally), ``"timeout"`` (hold the answer ``config.hang_seconds``, then
        answer normally) or ``"job-failed"`` (a v2 submit is accepted and its job ends FAILED,
        unbilled; any other request answers as ``"422-job-failed"``). After the queue runs out,
        requests are handled normally.
        """
        return self.scripts.add(api_key, statuses)

    def finished(
        self, request: MockRequest, response: MockResponse, seconds: float, waited: float = 0.0
    ) -> None:
        """Called by a shell once per answered request: the one log line, and the timing.

        ``seconds`` is the request's wall time, ``waited`` the latency part of it. The line
        never holds the key: it only travels in a header, and headers are not logged.
        """
        status, ms = response.status, seconds * 1000
        logger.info("%s %s %d %.1fms", request.method, request.path, status, ms)
        with self._stats_lock:
            self._server_seconds += max(0.0, seconds - waited)

    @cached_property
    def openapi(self) -> dict[str, Any]:
        from realdream.mock._openapi import build_openapi

        return build_openapi()

    # --- The check order ---------------------------------------------------------------------
    def handle(self, request: MockRequest) -> Plan:
        """Decide the answer to ``request`` (see :data:`mocks.CHECK_ORDER`, and for v2
        :data:`mocks.SUBMIT_CHECK_ORDER` and :data:`mocks.POLL_CHECK_ORDER`)."""
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
            return self.answer_now(self._control(request))
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
            return self._generate(request, key)
        poll = job_endpoint(request.path)
        if poll is not None:
            return self._queue.poll(request, key, *poll)
        return self.answer_now(_rules.not_found())

    def _generate(self, request: MockRequest, key: str) -> Plan:
        entry = self.scripts.pop(key)
        if entry is not None and entry not in (200, TIMEOUT):
            return self.answer_now(self.scripted_response(entry))
        hang = self.config.hang_seconds if entry == TIMEOUT else 0.0
        refused = _rules.check_content_type(request)
        if refused is not None:
            return self.answer_now(refused)
        parsed = _rules.parse_generation(request.body)
        if isinstance(parsed, MockResponse):
            return self.answer_now(parsed)
        return self._bill(parsed, key, hang)

    def _bill(self, params: GenerationRequest, key: str, hang: float) -> Plan:
        images = params.samples if params.base64 else 1
        cost = to_micros(contract.cost(images, self.config.cost_per_image))
        if not self.ledger.reserve(cost):
            return self.answer_now(self.insufficient(cost))
        reset_at = self.limiter.acquire(key)
        if reset_at is not None:
            self.ledger.release(cost)
            return self.answer_now(_rules.rate_limited(reset_at, self.clock()))
        drawn, fault, delay = self.draw(params)
        params = drawn if drawn is not None else params

        def finish() -> MockResponse:
            if fault is not None:
                self.ledger.release(cost)
                return documented_response(fault, self.clock())
            return self._success(params, images, cost, delay)

        return Plan(
            delay + hang,
            finish,
            cancel=lambda: self.ledger.release(cost),
            blocking=fault is None,
            on_done=self._record,
        )

    def draw(
        self, params: GenerationRequest | None
    ) -> tuple[GenerationRequest | None, int | None, float]:
        """The seed for ``-1``, the injected fault, the latency: one locked, seeded draw."""
        with self._rng_lock:
            if params is not None and params.is_random_seed:
                params = params.model_copy(update={"seed": self._seed_rng.randint(0, _SEED_MAX)})
            fault = draw_fault(self.config.fault_rate, self._fault_rng)
            jitter = self.config.jitter
            offset = self._jitter_rng.uniform(-jitter, jitter) if jitter else 0.0
        return params, fault, max(0.0, self.config.latency + offset)

    def _success(
        self, params: GenerationRequest, images: int, cost: int, delay: float
    ) -> MockResponse:
        t0 = time.perf_counter()
        blobs = [render_jpeg(params, index) for index in range(images)]
        rendered = time.perf_counter() - t0
        remaining = self.ledger.commit(cost)
        with self._stats_lock:
            self._images += len(blobs)
            self._render_seconds += rendered
        headers = {
            contract.HEADER_REMAINING_CREDITS: format_usd(remaining),
            contract.HEADER_REQUEST_ID: uuid.uuid4().hex,
            contract.HEADER_COST: format_usd(cost),
            contract.HEADER_GENERATION_TIME: f"{delay + rendered:.3f}",
            contract.HEADER_SEED: str(params.seed),
        }
        if not params.base64:
            return MockResponse(200, blobs[0], {"content-type": "image/jpeg", **headers})
        encoded = [base64.b64encode(blob).decode("ascii") for blob in blobs]
        body = {"image": encoded[0]} if len(encoded) == 1 else {"images": encoded}
        return json_response(200, body, headers)

    def insufficient(self, cost: int) -> MockResponse:
        """406, naming the balance and what the request needed (as the vendor's does)."""
        available = self.ledger.balance_micros - self.ledger.reserved_micros
        detail = (
            f" Balance ${format_usd(max(0, available))}, this request needs ${format_usd(cost)}."
        )
        return _rules.rule_response(_CREDITS_RULE, contract.message("406") + detail)

    # --- Other endpoints ---------------------------------------------------------------------
    def _credits(self, request: MockRequest) -> MockResponse:
        if request.method != "GET":
            return _rules.method_not_allowed("GET")
        return json_response(200, {"credits": self.balance, "free-credits": 0.0})

    def _openapi_response(self, request: MockRequest) -> MockResponse:
        if request.method not in ("GET", "HEAD"):
            return _rules.method_not_allowed("GET")
        return json_response(200, self.openapi)

    def _control(self, request: MockRequest) -> MockResponse:
        denied = _rules.check_auth(request, self.config)
        if denied is not None:
            return denied
        key = _rules.api_key_of(request)
        if request.path == STATS_PATH:
            return self._stats_response(request)
        if request.method != "POST":
            return _rules.method_not_allowed("POST")
        return self._script_from_body(key, request.body)

    def _stats_response(self, request: MockRequest) -> MockResponse:
        if request.method != "GET":
            return _rules.method_not_allowed("GET")
        stats = self.stats
        return json_response(
            200,
            {
                "balance": self.balance,
                "requests": stats.requests,
                "by_status": {str(k): v for k, v in sorted(stats.by_status.items())},
                "images": stats.images,
                "render_seconds": stats.render_seconds,
                "server_seconds": stats.server_seconds,
                "jobs": stats.jobs,
            },
        )

    def _script_from_body(self, key: str, body: bytes) -> MockResponse:
        try:
            statuses = _script_statuses(body)
            self.script(statuses, api_key=key)
        except ValueError as exc:
            return error_response(400, str(exc))
        return json_response(200, {"pending": self.scripts.pending(key)})

    # --- Helpers -----------------------------------------------------------------------------
    def answer_now(self, response: MockResponse) -> Plan:
        """A plan that answers ``response`` at once."""
        return Plan(0.0, lambda: response, on_done=self._record)

    def answer_later(
        self,
        delay: float,
        finish: Callable[[], MockResponse],
        *,
        cancel: Callable[[], None] | None = None,
        blocking: bool = False,
    ) -> Plan:
        """A plan that answers ``finish()`` after ``delay`` seconds."""
        return Plan(delay, finish, cancel=cancel, blocking=blocking, on_done=self._record)

    def scripted_response(self, entry: ScriptEntry) -> MockResponse:
        """The answer of a script entry that is a forced case (``"job-failed"`` included:
        outside a v2 submit it answers as ``422-job-failed``)."""
        case = "422-job-failed" if entry == JOB_FAILED else entry
        return documented_response(case, self.clock())

    def render(self, request: GenerationRequest, indices: Iterable[int]) -> list[bytes]:
        """The JPEGs of samples ``indices`` of ``request`` (render time counted in stats)."""
        t0 = time.perf_counter()
        blobs = [render_jpeg(request, index) for index in indices]
        with self._stats_lock:
            self._render_seconds += time.perf_counter() - t0
        return blobs

    def _record(self, response: MockResponse) -> None:
        with self._stats_lock:
            self._by_status[response.status] += 1


def body_too_large(size: int) -> MockResponse:
    """400 for a body over :data:`MAX_BODY_BYTES` (the mock reads no further)."""
    return error_response(400, f"body: is {size:,}+ bytes; at most {MAX_BODY_BYTES:,} are accepted")


def _script_statuses(body: bytes) -> list[Any]:
    """The ``statuses`` list of a ``POST /mock/script`` body."""
    try:
        data = parse_json_object(body)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None
    statuses = data.get("statuses")
    if not isinstance(statuses, list):
        raise ValueError('body: must be {"statuses": [<status, case or "timeout">, ...]}')
    return statuses


def _replay(folder: str | None) -> Replay | None:
    """The recorded exchanges in ``folder`` (``None``: no replay)."""
    from realdream.mock._replay import Replay

    return Replay.load(folder) if folder is not None else None


def _rng(seed: int | None, purpose: str) -> random.Random:
    return random.Random(f"{seed}:{purpose}") if seed is not None else random.Random()
