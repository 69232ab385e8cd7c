"""Sends ``realdream verify``'s probes in order, within the budget, and keeps what came back:
the free probes, then (after the cost is announced) the billed ones, the v2 job, and the
scheduler names."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Final

import httpx

from realdream import contract
from realdream._errors import APIConnectionError, APITimeoutError, ConfigurationError
from realdream._headers import parse_float, server_wait
from realdream._version import __version__
from realdream.verify._exchange import Exchange, job_state, request_id
from realdream.verify._observations import Observations
from realdream.verify._probes import (
    FREE_PROBES,
    MALFORMED_KEY,
    V2_PROBE,
    Budget,
    Probe,
    billed_probes,
    scheduler_probe,
    unconfirmed_schedulers,
)
from realdream.verify._recording import Record
from realdream.verify._report import announcement

__all__ = ["Runner", "Sleep"]

#: How long the v2 job may take, in seconds waited between polls (a cold start takes minutes).
V2_TIMEOUT: Final = 300.0
_FIRST_POLL_WAIT: Final = 1.0
_MAX_POLL_WAIT: Final = 5.0
#: A 429 is waited out (it is not billed) at most this many times per request, this long each.
_RATE_LIMIT_TRIES: Final = 4
_MAX_RATE_LIMIT_WAIT: Final = 65.0
#: Free probes that need no announcement: nothing they send can be billed.
_UNBILLABLE: Final = tuple(p for p in FREE_PROBES if not p.images)
_GATED: Final = tuple(p for p in FREE_PROBES if p.images)

Sleep = Callable[[float], Awaitable[None]]


class Runner:
    """Sends the probes in order, within the budget, and keeps what came back."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        key: str,
        budget: Budget,
        sleep: Sleep,
        record: Record | None,
        announce: Callable[[str], None],
    ) -> None:
        self.http = http
        self.key = key
        self.budget = budget
        self.sleep = sleep
        self.record = record
        self.announce = announce
        self.announcement = ""
        self.obs = Observations(key_has_shape=bool(re.fullmatch(contract.API_KEY_PATTERN, key)))

    async def run(self, schedulers: bool) -> None:
        credits = await self.probe(_UNBILLABLE[0])
        _refuse_bad_key(credits)
        for probe in _UNBILLABLE[1:]:
            await self.probe(probe)
        self.announcement = announcement(self.budget.cap, schedulers)
        self.announce(self.announcement)
        for probe in (*_GATED, *billed_probes()):
            await self.probe(probe)
        await self.v2()
        for name in unconfirmed_schedulers() if schedulers else ():
            await self.probe(scheduler_probe(name))

    # --- one probe -------------------------------------------------------------------------
    async def probe(self, probe: Probe) -> Exchange | None:
        """Send ``probe`` if the budget allows; keep its exchange (or why it was not sent)."""
        held = self.budget.reserve(probe.images) if probe.images else 0.0
        if held is None:
            self.obs.skipped[probe.name] = self.over_cap(probe.images)
            return None
        with self.cassette(probe.name):
            try:
                ex = await self.exchange(probe.name, probe.method, probe.path, probe)
            except APIConnectionError as exc:
                self.budget.settle(held, held if exc.maybe_billed else 0.0)
                self.obs.skipped[probe.name] = f"no answer: {exc}"
                if probe.name == "credits":
                    raise
                return None
        self.budget.settle(held, self.billed(ex, probe.images))
        self.obs.exchanges[probe.name] = ex
        return ex

    def cassette(self, name: str) -> AbstractContextManager[None]:
        return self.record(name) if self.record is not None else nullcontext()

    def over_cap(self, images: int) -> str:
        need = contract.cost(images, self.budget.price)
        return (
            f"over --max-cost: ${need:g} more would pass the ${self.budget.cap:g} cap "
            f"(${self.budget.spent:g} spent)"
        )

    def billed(self, ex: Exchange, images: int) -> float:
        """What a billable answer cost: ``x-cost`` on a 200 (else the estimate), else nothing."""
        if ex.status != 200 or not images:
            return 0.0
        reported = parse_float(ex.header(contract.HEADER_COST))
        if reported is not None and reported >= 0:
            if reported > 0:
                self.budget.price = round(reported / images, 6)
            return reported
        return contract.cost(images, self.budget.price)

    # --- HTTP ------------------------------------------------------------------------------
    async def exchange(self, name: str, method: str, path: str, probe: Probe) -> Exchange:
        """One request, with a 429 waited out (it is not billed) a few times."""
        for attempt in range(_RATE_LIMIT_TRIES):
            ex = await self.send(name, method, path, probe)
            if ex.status != 429 or attempt == _RATE_LIMIT_TRIES - 1:
                return ex
            self.obs.rate_limited.append(ex)
            await self.sleep(_rate_limit_wait(ex, attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(self, name: str, method: str, path: str, probe: Probe) -> Exchange:
        body = probe.encoded()
        headers = self.headers(probe)
        try:
            response = await self.http.request(method, path, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise APITimeoutError(_no_answer(self.http, exc), maybe_billed=True) from None
        except httpx.TransportError as exc:
            sent = not isinstance(exc, httpx.ConnectError)
            raise APIConnectionError(_no_answer(self.http, exc), maybe_billed=sent) from None
        found = {k.lower(): v for k, v in response.headers.items()}
        return Exchange(name, method, path, body, response.status_code, found, response.content)

    def headers(self, probe: Probe) -> dict[str, str]:
        headers = {"User-Agent": f"realdream-verify/{__version__}", "Accept": "*/*"}
        if probe.body is not None:
            headers["Content-Type"] = probe.content_type
        if probe.key != "none":
            headers[contract.API_KEY_HEADER] = self.key if probe.key == "user" else MALFORMED_KEY
        return headers

    # --- v2 --------------------------------------------------------------------------------
    async def v2(self) -> None:
        """Submit one job, poll its status until it ends, then read its result."""
        held = self.budget.reserve(V2_PROBE.images)
        if held is None:
            self.obs.skipped["v2-submit"] = self.over_cap(V2_PROBE.images)
            self.obs.skipped["v2-result"] = self.obs.skipped["v2-submit"]
            return
        spent = held  # a job whose end is unknown may be billed
        try:
            with self.cassette(V2_PROBE.name):
                spent = await self.run_job(held)
        except APIConnectionError as exc:
            self.obs.skipped.setdefault("v2-result", f"no answer: {exc}")
        finally:
            self.budget.settle(held, spent)

    async def run_job(self, held: float) -> float:
        submit = await self.exchange("v2-submit", "POST", V2_PROBE.path, V2_PROBE)
        self.obs.exchanges["v2-submit"] = submit
        job = request_id(submit)
        if job is None:
            reason = f"the v2 submit answered {submit.status} without a usable request_id"
            self.obs.skipped["v2-status"] = self.obs.skipped["v2-result"] = reason
            return 0.0
        state = await self.poll(job)
        if state == "COMPLETED":
            return await self.result(job)
        self.obs.skipped["v2-result"] = _unfinished(state, self.obs.v2_polls[-1])
        return 0.0 if state == "FAILED" else held

    async def poll(self, job: str) -> str | None:
        """Poll until the job ends or :data:`V2_TIMEOUT` passes: the last state (``None``:
        a poll answered something that is not a job)."""
        path = contract.job_path(contract.V2_STATUS_PATH, job)
        status = Probe("v2-status", "GET", path)
        waited, wait = 0.0, _FIRST_POLL_WAIT
        while True:
            ex = await self.exchange(status.name, "GET", path, status)
            self.obs.v2_polls.append(ex)
            state = job_state(ex)
            if state is None or state in contract.TERMINAL_STATES or waited >= V2_TIMEOUT:
                return state
            await self.sleep(wait)
            waited, wait = waited + wait, min(wait * 1.5, _MAX_POLL_WAIT)

    async def result(self, job: str) -> float:
        path = contract.job_path(contract.V2_RESULT_PATH, job)
        ex = await self.exchange("v2-result", "GET", path, Probe("v2-result", "GET", path))
        self.obs.exchanges["v2-result"] = ex
        data = ex.json()
        metrics = data.get(contract.JOB_METRICS_KEY) if isinstance(data, dict) else None
        cost = metrics.get(contract.METRIC_COST) if isinstance(metrics, dict) else None
        if isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost >= 0:
            return float(cost)
        return contract.cost(V2_PROBE.images, self.budget.price)


def _refuse_bad_key(credits: Exchange | None) -> None:
    if credits is not None and credits.status in (401, 403):
        raise ConfigurationError(
            f"The service refused the key on the credits call ({credits.status}): check it "
            f"(set {contract.API_KEY_ENV} or pass --api-key). Nothing billed was sent."
        )


def _unfinished(state: str | None, last: Exchange) -> str:
    if state is None:
        return f"a status poll answered {last.status}, not a job"
    if state == "FAILED":
        return "the job ended FAILED"
    return f"the job was still {state} after {V2_TIMEOUT:g} s of polling"


def _rate_limit_wait(ex: Exchange, attempt: int) -> float:
    asked = server_wait(ex.headers)
    wait = asked if asked is not None and asked > 0 else 2.0 ** (attempt + 1)
    return min(wait, _MAX_RATE_LIMIT_WAIT)


def _no_answer(http: httpx.AsyncClient, exc: Exception) -> str:
    return f"no answer from {http.base_url.host or http.base_url}: {type(exc).__name__}"
