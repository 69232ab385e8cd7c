"""``pytest --realdream-live``: the plugin's clients talk to the real API, within a spending cap.

The cap is one :class:`realdream.Budget`. A request that may be billed (a v1 generation, a v2
submit) reserves its images at the highest price per image seen before it is sent (the
contract's price until an answer announces, or the balance measures, a higher one); one that
would pass ``--realdream-max-cost`` is not sent, and its test is skipped saying so.

What was spent is what the balance measured, never what the service announced. The balance is
free to read: it is read before the first billable request and after each one, and the spend
counts every drop (at least a 200's announced cost, in case the balance lags). A v2 job stays
reserved until a poll sees it end, when the balance is read again; a request whose answer never
came counts as spent at its reservation. A balance that cannot be read stops the spending.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Final, Literal

import httpx
import pytest

from realdream import Budget, contract, reported_amount

__all__ = [
    "DEFAULT_LIVE_MAX_COST",
    "AsyncCappedTransport",
    "CappedTransport",
    "Live",
    "LiveMeter",
    "Ticket",
]

#: What a live run may spend unless told otherwise (USD): 25 images at the contract's price.
DEFAULT_LIVE_MAX_COST: Final = 0.05
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
#: Where the API's own part of a request's path starts (what comes before is the base URL's).
_PATH_MARKS: Final = (
    contract.GENERATE_PATH,
    contract.V2_SUBMIT_PATH,
    contract.V2_STATUS_PATH.split("{")[0],
    contract.V1_POLL_PATH.split("{")[0],
)


@dataclass(frozen=True)
class Ticket:
    """A billable request on its way: what it reserved, and the balance before it was sent."""

    kind: Literal["v1", "v2"]
    images: int
    held: float
    before: float


@dataclass
class LiveMeter:
    """The session's spending: the budget, and the balance readings that measure it.

    Thread-safe; it does no I/O (the transports read the balance and hand the readings in).
    """

    budget: Budget
    #: The latest balance reading (``None`` before the first).
    last: float | None = None
    #: Why spending stopped ("" while it goes on).
    stopped: str = ""
    _measured: float = 0.0  # every drop between consecutive readings
    _announced: float = 0.0  # what the billed 200s said they cost
    _unresolved: float = 0.0  # reservations of requests nobody can tell about
    _jobs: dict[str, float] = field(default_factory=dict)  # v2 job id -> its reservation
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def pending(self) -> float:
        """What v2 jobs not yet seen to end hold."""
        with self._lock:
            return sum(self._jobs.values())

    def needs_reading(self) -> bool:
        return self.last is None and not self.stopped

    def open(self, request: httpx.Request) -> Ticket | None:
        """Reserve for ``request`` (``None``: it cannot be billed); skip its test when the cap
        cannot pay for it or the balance cannot measure it."""
        images = billable_images(request)
        if not images:
            return None
        if self.stopped or self.last is None:
            pytest.skip(f"--realdream-max-cost: {self.stopped or 'no balance'}; nothing was sent")
        held = self.budget.reserve_images(images)
        if held is None:
            pytest.skip(
                f"--realdream-max-cost: ${self.budget.estimate(images):g} more would pass the "
                f"${self.budget.limit or 0:g} cap (${self.budget.spent:g} spent); nothing was sent"
            )
        kind: Literal["v1", "v2"] = "v2" if _is_submit(request) else "v1"
        return Ticket(kind, images, held, self.last)

    def read(self, reading: float | None, when: str) -> None:
        """A balance reading (``None``: it could not be read), taken ``when``."""
        with self._lock:
            if reading is None:
                self.stopped = self.stopped or (
                    f"the balance could not be read {when}, so what is spent cannot be measured"
                )
                return
            if self.last is not None:
                self._measured += max(0.0, self.last - reading)
            self.last = reading

    def unsent(self, ticket: Ticket | None) -> None:
        """Nothing reached the service."""
        if ticket is not None:
            self.budget.release(ticket.held)

    def unanswered(self, ticket: Ticket | None) -> None:
        """Sent, with no answer: it may have been billed, and nobody can tell."""
        if ticket is not None:
            with self._lock:
                self._unresolved += ticket.held
            self.budget.settle(ticket.held, ticket.held)

    def answered(self, ticket: Ticket, response: httpx.Response) -> None:
        """A billable request's answer (its balance already read in)."""
        if ticket.kind == "v2" and 200 <= response.status_code < 300:
            job = _job_id(response)
            if job is None:  # a job nobody can follow: held as spent
                self.unanswered(ticket)
            else:
                with self._lock:
                    self._jobs[job] = ticket.held
            return
        if response.status_code == 200 and ticket.kind == "v1":
            cost = response.headers.get(contract.HEADER_COST)
            announced = reported_amount(cost, field=contract.HEADER_COST)
            self._billed(ticket, announced)
        self._catch_up()
        self.budget.release(ticket.held)

    def watches(self, request: httpx.Request) -> str | None:
        """The pending v2 job ``request`` polls, if any."""
        if request.method != "GET":
            return None
        with self._lock:
            return next((job for job in self._jobs if job in request.url.path.split("/")), None)

    def job_ended(self, job: str) -> None:
        """``job`` ended and the balance was read since: its bill, if any, is measured."""
        with self._lock:
            held = self._jobs.pop(job, 0.0)
        self._catch_up()
        self.budget.release(held)

    def _billed(self, ticket: Ticket, announced: float | None) -> None:
        cost = ticket.held if announced is None else announced
        with self._lock:
            self._announced += cost
            drop = max(0.0, ticket.before - (self.last or ticket.before))
        self.budget.note_price(max(cost, drop) / ticket.images)

    def _catch_up(self) -> None:
        """Count what was measured (or announced, if the balance lags) and not yet counted."""
        with self._lock:
            target = max(self._measured, self._announced) + self._unresolved
        missing = round(target - self.budget.spent, 9)
        if missing > 0:
            self.budget.settle(0.0, missing)


@dataclass(frozen=True)
class Live:
    """The live run's key, base URL and spending (the key is never shown)."""

    api_key: str = field(repr=False)
    base_url: str
    meter: LiveMeter

    @property
    def budget(self) -> Budget:
        return self.meter.budget


def billable_images(request: httpx.Request) -> int:
    """How many images a request may be billed for (0: it cannot be billed)."""
    path = request.url.path
    v1, v2 = path.endswith(contract.GENERATE_PATH), _is_submit(request)
    if request.method != "POST" or not (v1 or v2):
        return 0
    try:
        data = json.loads(request.content)
    except (ValueError, RecursionError):
        return 1
    samples = data.get("samples", 1) if isinstance(data, dict) else 1
    samples = samples if isinstance(samples, int) and samples > 0 else 1
    return samples if v2 or (isinstance(data, dict) and data.get("base64") is True) else 1


def _is_submit(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith(contract.V2_SUBMIT_PATH)


def _job_ended(response: httpx.Response) -> bool:
    """Whether a poll's (read) answer says its job ended."""
    try:
        data = json.loads(response.content)
    except (ValueError, RecursionError):
        return False
    state = data.get(contract.JOB_STATUS_KEY) if isinstance(data, dict) else None
    return state in contract.TERMINAL_STATES


def _job_id(response: httpx.Response) -> str | None:
    try:
        data = json.loads(response.content)
    except (ValueError, RecursionError):
        return None
    found = data.get("request_id") if isinstance(data, dict) else None
    return found if isinstance(found, str) and _ID.fullmatch(found) else None


def _balance_request(request: httpx.Request) -> httpx.Request:
    """The free credits call for ``request``'s service and key (a generation, a submit or a
    poll, under whatever path prefix the base URL has)."""
    path = request.url.path
    ends = [path.rfind(mark) for mark in _PATH_MARKS if mark in path]
    url = request.url.copy_with(
        path=path[: max(ends, default=0)] + contract.CREDITS_PATH, query=None
    )
    key = request.headers.get(contract.API_KEY_HEADER, "")
    return httpx.Request("GET", url, headers={contract.API_KEY_HEADER: key})


def _read_balance(response: httpx.Response) -> float | None:
    """The balance a credits call answered (paid and free together), or ``None``."""
    try:
        data = json.loads(response.content) if response.status_code == 200 else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    paid, free = contract.CREDITS_KEYS
    total = reported_amount(data.get(paid), field=paid)
    extra = reported_amount(data.get(free, 0), field=free)
    return None if total is None or extra is None else total + extra


def _after(request: httpx.Request) -> str:
    return f"after {request.method} {request.url.path}"


class CappedTransport(httpx.BaseTransport):
    """Sends through ``inner`` unless the budget cannot pay for the request."""

    def __init__(self, inner: httpx.BaseTransport, meter: LiveMeter) -> None:
        self.inner, self.meter = inner, meter

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        meter = self.meter
        if billable_images(request) and meter.needs_reading():
            meter.read(self._balance(request), "before the first billable request")
        ticket = meter.open(request)
        job = meter.watches(request)
        try:
            response = self.inner.handle_request(request)
        except httpx.ConnectError:  # nothing reached the server
            meter.unsent(ticket)
            raise
        except BaseException:
            meter.unanswered(ticket)
            raise
        if ticket is not None:
            response.read()
            meter.read(self._balance(request), _after(request))
            meter.answered(ticket, response)
        elif job is not None:
            response.read()
            if _job_ended(response):
                meter.read(self._balance(request), _after(request))
                meter.job_ended(job)
        return response

    def _balance(self, request: httpx.Request) -> float | None:
        try:
            response = self.inner.handle_request(_balance_request(request))
            response.read()
        except httpx.HTTPError:
            return None
        return _read_balance(response)

    def close(self) -> None:
        self.inner.close()


class AsyncCappedTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`CappedTransport`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, meter: LiveMeter) -> None:
        self.inner, self.meter = inner, meter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        meter = self.meter
        if billable_images(request) and meter.needs_reading():
            meter.read(await self._balance(request), "before the first billable request")
        ticket = meter.open(request)
        job = meter.watches(request)
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.ConnectError:  # nothing reached the server
            meter.unsent(ticket)
            raise
        except BaseException:
            meter.unanswered(ticket)
            raise
        if ticket is not None:
            await response.aread()
            meter.read(await self._balance(request), _after(request))
            meter.answered(ticket, response)
        elif job is not None:
            await response.aread()
            if _job_ended(response):
                meter.read(await self._balance(request), _after(request))
                meter.job_ended(job)
        return response

    async def _balance(self, request: httpx.Request) -> float | None:
        try:
            response = await self.inner.handle_async_request(_balance_request(request))
            await response.aread()
        except httpx.HTTPError:
            return None
        return _read_balance(response)

    async def aclose(self) -> None:
        await self.inner.aclose()
