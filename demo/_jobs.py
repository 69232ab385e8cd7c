"""A v2 job with a visitor watching: submit, then the core's ``Job.wait``, its states reported.

The demo keeps no poll schedule of its own: ``job.wait(on_status=...)`` polls (its first poll
near the expected finish, then backing off), rides out a service that answers with errors
until its deadline, collects the result and downloads the images, and hands each status it
reads to :func:`run_job`'s ``on_state``. A 3 s job costs one status request, as it does a
plain client.

Once the submit was accepted the job may complete, and be billed, whatever happens here: every
error after it except a FAILED job says ``maybe_billed``. A wait that reaches ``timeout_s``
raises :class:`realdream.JobTimeoutError` (the job goes on on the server; its ``state`` is
COMPLETED when the job was billed but its images could not be fetched in time).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Final, NamedTuple

import realdream

__all__ = [
    "JOB_TIMEOUT_S",
    "SERVICE_ERRORS",
    "SUBMITTED",
    "SUBMITTING",
    "OnState",
    "State",
    "describe",
    "run_job",
]

#: How long a visitor waits for a job before the app stops waiting (it runs on regardless).
JOB_TIMEOUT_S: Final = 300.0
#: The states a job has before the server reported one.
SUBMITTING: Final = "SUBMITTING"
SUBMITTED: Final = "SUBMITTED"
#: Shown while the wait rides out failed requests (the job goes on; only the deadline ends it).
SERVICE_ERRORS: Final = "the service is answering with errors, still waiting"
#: The first poll of a job the route expects at once comes this long after the submit.
_SOONEST_S: Final = 0.1

_WORDS: Final = {
    SUBMITTING: "Submitting the job",
    SUBMITTED: "Submitted, waiting for its state",
    "QUEUED": "Queued",
    "PROCESSING": "Processing",
    "COMPLETED": "Completed, downloading the images",
    "FAILED": "Failed",
}


class State(NamedTuple):
    """What the visitor is told: the job's state (or SUBMITTING, SUBMITTED), the seconds since
    the submit, and the error the last request met while the wait goes on (``None``: none)."""

    state: str
    waited: float
    transient: realdream.RealDreamError | None = None


#: Called with each :class:`State`, in order, from the thread that runs the job.
OnState = Callable[[State], None]
Clock = Callable[[], float]


def describe(state: str, waited: float, transient: object = None) -> str:
    """The progress text: ``Queued… 3 s``, or while requests fail ``Queued; the service is
    answering with errors, still waiting… 12 s``."""
    words = _WORDS.get(state, state.capitalize())
    if transient is not None:
        words = f"{words}; {SERVICE_ERRORS}"
    return f"{words}… {waited:.0f} s"


def run_job(
    client: realdream.Client,
    request: realdream.GenerationRequest,
    *,
    expected_s: float,
    on_state: OnState,
    timeout_s: float = JOB_TIMEOUT_S,
    clock: Clock = time.monotonic,
) -> realdream.GenerationResult:
    """Submit ``request``, wait on the job with the core's ``Job.wait``, report each state.

    ``expected_s`` is when the route expects the job done: the client's first poll goes
    there. ``result.elapsed`` counts from the submit; ``result.retries`` includes every
    request's.
    """
    started = clock()

    def report(status: realdream.JobStatus) -> None:
        on_state(State(status.state, clock() - started, status.transient))

    on_state(State(SUBMITTING, 0.0))
    job = client.submit(request)
    on_state(State(SUBMITTED, clock() - started))
    client.durations.add(max(expected_s, _SOONEST_S))  # a fresh client has measured none
    try:
        result = job.wait(timeout_s, on_status=report)
    except realdream.GenerationFailedError:
        raise  # a FAILED job is not billed
    except realdream.RealDreamError as exc:
        exc.maybe_billed = True  # the job was queued: it may still complete, and be billed
        raise
    return dataclasses.replace(result, elapsed=clock() - started)
