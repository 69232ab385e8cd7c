"""``ServiceState``: what every endpoint of one mock service shares, and the ways to answer.

The configuration and clock, the ledger, the rate windows, the scripts, the v2 jobs, the seeded
random draws and the :class:`~realdream.mock._stats.Tally`; and the helpers that turn a decision
into a :class:`~realdream.mock._plan.Plan`. The endpoints (v1 generation, the v2 queue, replay,
the control paths) take a state; :class:`~realdream.mock.MockService` is one, with the routing.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from realdream import LIMITS, GenerationRequest, contract
from realdream.mock import _rules
from realdream.mock._config import MOCK_API_KEY, FaultKind, MockConfig
from realdream.mock._http import MockResponse
from realdream.mock._jobs import JobBook
from realdream.mock._ledger import MICROS_PER_USD, Ledger, format_usd
from realdream.mock._plan import Plan
from realdream.mock._ratelimit import RateLimiter
from realdream.mock._render import render_jpeg
from realdream.mock._scenarios import (
    JOB_FAILED,
    ScriptEntry,
    Scripts,
    documented_response,
    draw_fault,
)
from realdream.mock._stats import MockStats, Tally

__all__ = ["ServiceState"]

_SEED_MAX: Final = int(LIMITS["seed"].maximum)
_CREDITS_RULE: Final = contract.rules_for_status(406)[0]


class ServiceState:
    """One service's state (balance, rate windows, scripts, jobs, draws, counters). Thread-safe."""

    def __init__(
        self, config: MockConfig | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config or MockConfig()
        self.clock = clock
        self.ledger = Ledger(self.config.credits)
        self.limiter = RateLimiter(self.config.rate_limit, clock=clock)
        self.scripts = Scripts()
        #: The v2 jobs and the files of their images (see :mod:`realdream.mock._jobs`).
        self.jobs = JobBook(self.ledger)
        #: The counters and the log of requests received (see :attr:`MockService.requests`).
        self.tally = Tally()
        self._rng_lock = threading.Lock()
        self._fault_rng = _rng(self.config.seed, "faults")
        self._seed_rng = _rng(self.config.seed, "seeds")
        self._jitter_rng = _rng(self.config.seed, "jitter")

    # --- Public state ------------------------------------------------------------------------
    @property
    def balance(self) -> float:
        """The balance in USD now: every v2 job that has completed by now is debited; credits
        held by requests in flight and jobs still running are not yet."""
        self.jobs.settle(self.clock())
        return self.ledger.balance_micros / MICROS_PER_USD

    @property
    def stats(self) -> MockStats:
        """The counters so far (v2 jobs that have completed by now count as billed)."""
        self.jobs.settle(self.clock())
        return self.tally.snapshot(billed_images=self.jobs.billed_images, jobs=len(self.jobs))

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

    # --- Seeded draws ------------------------------------------------------------------------
    def draw(
        self, params: GenerationRequest | None, kind: FaultKind
    ) -> tuple[GenerationRequest | None, int | None, float]:
        """The seed for ``-1``, the injected fault for a request of ``kind`` (``None`` unless
        ``kind`` is in ``config.fault_on``), the latency: one locked, seeded draw."""
        with self._rng_lock:
            if params is not None and params.is_random_seed:
                params = params.model_copy(update={"seed": self._seed_rng.randint(0, _SEED_MAX)})
            fault = self._fault(kind)
            jitter = self.config.jitter
            offset = self._jitter_rng.uniform(-jitter, jitter) if jitter else 0.0
        return params, fault, max(0.0, self.config.latency + offset)

    def fault(self, kind: FaultKind) -> int | None:
        """The injected fault for a request of ``kind`` alone (no latency drawn)."""
        with self._rng_lock:
            return self._fault(kind)

    def _fault(self, kind: FaultKind) -> int | None:
        rate = self.config.fault_rate if kind in self.config.fault_on else 0.0
        return draw_fault(rate, self._fault_rng)  # draws nothing at rate 0

    # --- Answers -----------------------------------------------------------------------------
    def answer_now(self, response: MockResponse) -> Plan:
        """A plan that answers ``response`` at once."""
        return Plan(0.0, lambda: response, on_done=self.tally.answered)

    def answer_later(
        self,
        delay: float,
        finish: Callable[[], MockResponse],
        *,
        cancel: Callable[[], None] | None = None,
        blocking: bool = False,
    ) -> Plan:
        """A plan that answers ``finish()`` after ``delay`` seconds."""
        return Plan(delay, finish, cancel=cancel, blocking=blocking, on_done=self.tally.answered)

    def fault_response(self, status: int) -> MockResponse:
        """The documented answer of an injected fault."""
        return documented_response(status, self.clock())

    def insufficient(self, cost: int) -> MockResponse:
        """406, naming the balance and what the request needed (as the vendor's does)."""
        available = self.ledger.balance_micros - self.ledger.reserved_micros
        detail = (
            f" Balance ${format_usd(max(0, available))}, this request needs ${format_usd(cost)}."
        )
        return _rules.rule_response(_CREDITS_RULE, contract.message("406") + detail)

    def scripted_response(self, entry: ScriptEntry) -> MockResponse:
        """The answer of a script entry that is a forced case (``"job-failed"`` included:
        outside a v2 submit it answers as ``422-job-failed``)."""
        case = "422-job-failed" if entry == JOB_FAILED else entry
        return documented_response(case, self.clock())

    def render(
        self, request: GenerationRequest, indices: Iterable[int], *, returned: bool = False
    ) -> list[bytes]:
        """The JPEGs of samples ``indices`` of ``request`` (render time counted in stats;
        ``returned``: the images count as returned, as a v1 answer's do)."""
        t0 = time.perf_counter()
        blobs = [render_jpeg(request, index) for index in indices]
        self.tally.rendered(time.perf_counter() - t0, len(blobs) if returned else 0)
        return blobs


def _rng(seed: int | None, purpose: str) -> random.Random:
    return random.Random(f"{seed}:{purpose}") if seed is not None else random.Random()
