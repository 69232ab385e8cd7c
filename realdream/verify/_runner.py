"""Sends ``realdream verify``'s probes in order and keeps what came back: the free probes, then
(after the cost is announced) those that could be billed, the v2 job and the scheduler names,
each within the budget and measured by the balance before and after it."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Final

import httpx

from realdream import contract
from realdream._errors import APIConnectionError, ConfigurationError
from realdream.verify._describe import describe
from realdream.verify._exchange import Exchange, announced_cost, balance
from realdream.verify._job import run_job
from realdream.verify._observations import Bill, Observations
from realdream.verify._probes import (
    FREE_PROBES,
    V2_PROBE,
    Probe,
    billed_probes,
    scheduler_probe,
    unconfirmed_schedulers,
)
from realdream.verify._report import announcement
from realdream.verify._sender import Sender, Sleep
from realdream.verify._spending import FREE_STRETCH, Spending

__all__ = ["Record", "Runner"]

#: ``with record(name):`` records the exchanges inside as the cassette ``name`` (``--record``).
Record = Callable[[str], AbstractContextManager[None]]
#: Free probes that need no announcement: nothing they send can be billed.
_UNBILLABLE: Final = tuple(p for p in FREE_PROBES if not p.images)
_GATED: Final = tuple(p for p in FREE_PROBES if p.images)
#: The free balance reading taken around every probe that could spend.
_BALANCE: Final = Probe("balance", "GET", contract.CREDITS_PATH)


class Runner:
    """Sends the probes in order, within the budget, and keeps what came back."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        key: str,
        cap: float,
        sleep: Sleep,
        record: Record | None,
        announce: Callable[[str], None],
    ) -> None:
        self.sender = Sender(http, key, sleep)
        self.spending = Spending(cap)
        self.record = record
        self.announce = announce
        self.announcement = ""
        self.obs = Observations(key_has_shape=bool(re.fullmatch(contract.API_KEY_PATTERN, key)))
        self.obs.rate_limited = self.sender.rate_limited
        self.obs.windows = self.spending.windows

    async def run(self, schedulers: bool) -> None:
        credits = await self.probe(_UNBILLABLE[0])
        _refuse_bad_key(credits)
        self.spending.start(*_starting_balance(credits))
        for probe in _UNBILLABLE[1:]:
            await self.probe(probe)
        if self.spending.balance is not None:
            await self.settle(FREE_STRETCH, 0.0, Bill("free"))
        limit = self.spending.budget.limit or 0.0
        self.announcement = announcement(limit, schedulers)
        self.announce(self.announcement)
        for probe in (*_GATED, *billed_probes()):
            await self.probe(probe)
        await self.v2()
        for name in unconfirmed_schedulers() if schedulers else ():
            await self.probe(scheduler_probe(name))
        self.obs.stopped = self.spending.stopped

    async def probe(self, probe: Probe) -> Exchange | None:
        """Send ``probe`` if the budget allows; keep its exchange (or why it was not sent), and
        settle what it reserved with what the balance measured."""
        held = self.spending.reserve(probe.images) if probe.images else 0.0
        if held is None:
            self.obs.skipped[probe.name] = self.spending.why_not(probe.images)
            return None
        ex: Exchange | None = None
        with self.cassette(probe.name):
            try:
                ex = await self.sender.exchange(probe)
            except APIConnectionError as exc:
                if probe.name == "credits":
                    raise
                self.obs.skipped[probe.name] = f"no answer: {exc}"
                bill = Bill("maybe" if exc.maybe_billed else "free")
        if ex is not None:
            self.obs.exchanges[probe.name] = ex
            if probe.path != contract.CREDITS_PATH:
                self.spending.answered(ex.status)
            bill = _bill(ex, probe.images)
        if probe.images:
            await self.settle(probe.name, held, bill)
        return ex

    def cassette(self, name: str) -> AbstractContextManager[None]:
        return self.record(name) if self.record is not None else nullcontext()

    async def settle(self, probe: str, held: float, bill: Bill, *, job: bool = False) -> None:
        """Read the balance (free) and settle ``probe``'s reservation with the drop."""
        try:
            reading = balance(await self.sender.exchange(_BALANCE))
        except APIConnectionError:
            reading = None
        self.spending.settle(probe, held, bill, reading, job=job)

    async def v2(self) -> None:
        """Submit one job, poll its status until it ends, then read its result."""
        held = self.spending.reserve(V2_PROBE.images)
        if held is None:
            self.obs.skipped["v2-submit"] = self.spending.why_not(V2_PROBE.images)
            self.obs.skipped["v2-result"] = self.obs.skipped["v2-submit"]
            return
        bill = Bill("maybe")  # a job whose end is unknown may be billed
        try:
            with self.cassette(V2_PROBE.name):
                bill = await run_job(self.sender.exchange, self.sender.sleep, self.obs)
        except APIConnectionError as exc:
            self.obs.skipped.setdefault("v2-result", f"no answer: {exc}")
        await self.settle(V2_PROBE.name, held, bill, job=True)


def _bill(ex: Exchange, images: int) -> Bill:
    """What a v1 answer says it cost: a 200 is billed (``x-cost``), anything else is not."""
    if ex.status != 200 or not images:
        return Bill("free")
    return Bill("billed", images, announced_cost(ex), contract.HEADER_COST)


def _starting_balance(credits: Exchange | None) -> tuple[float | None, str]:
    if credits is None:
        return None, "nothing"
    return balance(credits), describe(credits, values=False)


def _refuse_bad_key(credits: Exchange | None) -> None:
    if credits is not None and credits.status in (401, 403):
        raise ConfigurationError(
            f"The service refused the key on the credits call ({credits.status}): check it "
            f"(set {contract.API_KEY_ENV} or pass --api-key). Nothing billed was sent."
        )
