"""The v2 probe's job: submit it, poll its status until it ends, read its result, and say what
it cost (a job that answered a submit is paid for unless it is known to have failed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Final

from realdream import contract
from realdream.verify._exchange import Exchange, job_state, request_id, result_cost
from realdream.verify._observations import Bill, Observations
from realdream.verify._probes import V2_PROBE, Probe

__all__ = ["V2_TIMEOUT", "run_job"]

#: How long the v2 job may take, in seconds waited between polls (a cold start takes minutes).
V2_TIMEOUT: Final = 300.0
_FIRST_POLL_WAIT: Final = 1.0
_MAX_POLL_WAIT: Final = 5.0
_METRIC_COST: Final = f"{contract.JOB_METRICS_KEY}.{contract.METRIC_COST}"

Send = Callable[[Probe], Awaitable[Exchange]]
Sleep = Callable[[float], Awaitable[None]]


async def run_job(send: Send, sleep: Sleep, obs: Observations) -> Bill:
    """Submit, poll and collect one job; keep every exchange in ``obs``; what it cost."""
    submit = await send(replace(V2_PROBE, name="v2-submit"))
    obs.exchanges["v2-submit"] = submit
    job = request_id(submit)
    if job is None:
        reason = f"the v2 submit answered {submit.status} without a usable request_id"
        obs.skipped["v2-status"] = obs.skipped["v2-result"] = reason
        # A 2xx may have started a job nobody can follow: it is held as spent.
        return Bill("maybe") if 200 <= submit.status < 300 else Bill("free")
    state = await _poll(send, sleep, obs, job)
    if state == "COMPLETED":
        return await _result(send, obs, job)
    obs.skipped["v2-result"] = _unfinished(state, obs.v2_polls[-1])
    return Bill("free") if state == "FAILED" else Bill("maybe")


async def _poll(send: Send, sleep: Sleep, obs: Observations, job: str) -> str | None:
    """Poll until the job ends or :data:`V2_TIMEOUT` passes: the last state (``None``: a poll
    answered something that is not a job)."""
    status = Probe("v2-status", "GET", contract.job_path(contract.V2_STATUS_PATH, job))
    waited, wait = 0.0, _FIRST_POLL_WAIT
    while True:
        ex = await send(status)
        obs.v2_polls.append(ex)
        state = job_state(ex)
        if state is None or state in contract.TERMINAL_STATES or waited >= V2_TIMEOUT:
            return state
        await sleep(wait)
        waited, wait = waited + wait, min(wait * 1.5, _MAX_POLL_WAIT)


async def _result(send: Send, obs: Observations, job: str) -> Bill:
    ex = await send(Probe("v2-result", "GET", contract.job_path(contract.V2_RESULT_PATH, job)))
    obs.exchanges["v2-result"] = ex
    return Bill("billed", V2_PROBE.images, result_cost(ex), _METRIC_COST)


def _unfinished(state: str | None, last: Exchange) -> str:
    if state is None:
        return f"a status poll answered {last.status}, not a job"
    if state == "FAILED":
        return "the job ended FAILED"
    return f"the job was still {state} after {V2_TIMEOUT:g} s of polling"
