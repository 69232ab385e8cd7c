"""A v2 job with a visitor watching: submit, poll its state for the progress bar, collect.

The demo polls on a schedule of its own, so that the visitor learns the job's state early: a
first look soon after the submit (still queued, or already processing?), then from the
expected finish on, backing off as the client does (0.2 s apart, growing 1.5 times, at most
5 s). When a poll says COMPLETED the job is collected at once (``client.job(id).wait()`` polls
a resumed job immediately, then downloads the images); when one says FAILED its error is
raised (nothing was billed).

Once the submit was accepted the job may complete, and be billed, whatever happens here: every
error after it except a FAILED job says ``maybe_billed``, and a job still unfinished after
``timeout_s`` raises :class:`realdream.JobTimeoutError` (it goes on running on the server).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Final

import realdream

__all__ = [
    "FIRST_LOOK_S",
    "JOB_TIMEOUT_S",
    "SUBMITTED",
    "SUBMITTING",
    "OnState",
    "PollTimes",
    "describe",
    "run_job",
]

#: The first status poll, this long after the submit: queued, or already processing?
FIRST_LOOK_S: Final = 0.5
#: Polls after the expected finish come this far apart, growing 1.5 times, at most 5 s.
FIRST_INTERVAL_S: Final = 0.2
INTERVAL_GROWTH: Final = 1.5
MAX_INTERVAL_S: Final = 5.0
#: How long a visitor waits for a job before the app stops waiting (it runs on regardless).
JOB_TIMEOUT_S: Final = 300.0
#: The states a job has before the server reported one.
SUBMITTING: Final = "SUBMITTING"
SUBMITTED: Final = "SUBMITTED"

#: Called with the job's state (or SUBMITTING, SUBMITTED) and the seconds since the submit.
OnState = Callable[[str, float], None]
Clock = Callable[[], float]
Sleep = Callable[[float], object]

_WORDS: Final = {
    SUBMITTING: "Submitting the job",
    SUBMITTED: "Submitted, waiting for its state",
    "QUEUED": "Queued",
    "PROCESSING": "Processing",
    "COMPLETED": "Completed, downloading the images",
    "FAILED": "Failed",
}


def describe(state: str, waited: float) -> str:
    """The progress text for ``state`` after ``waited`` seconds: ``Queued… 3 s``."""
    return f"{_WORDS.get(state, state.capitalize())}… {waited:.0f} s"


class PollTimes:
    """When to poll, in seconds after the submit: :data:`FIRST_LOOK_S`, then the expected
    finish, then backing off. A poll that ran late pushes the next one back (never a burst)."""

    def __init__(self, expected_s: float) -> None:
        self._planned = [FIRST_LOOK_S, max(expected_s, FIRST_LOOK_S + FIRST_INTERVAL_S)]
        self._interval = FIRST_INTERVAL_S
        self._last = 0.0

    def delay(self, elapsed: float) -> float:
        """Seconds from ``elapsed`` (since the submit) until the next poll is due."""
        if self._planned:
            due = self._planned.pop(0)
        else:
            due = max(self._last, elapsed) + self._interval
            self._interval = min(MAX_INTERVAL_S, self._interval * INTERVAL_GROWTH)
        self._last = due
        return max(0.0, due - elapsed)


def run_job(
    client: realdream.Client,
    request: realdream.GenerationRequest,
    *,
    expected_s: float,
    on_state: OnState,
    timeout_s: float = JOB_TIMEOUT_S,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> realdream.GenerationResult:
    """Submit ``request``, report each state to ``on_state``, and return the result.

    ``result.elapsed`` counts from the submit; ``result.retries`` includes every poll's.
    """
    started = clock()
    on_state(SUBMITTING, 0.0)
    job = client.submit(request)
    watch = _Watch(client, job, on_state, started, clock, sleep)
    on_state(SUBMITTED, watch.elapsed())
    try:
        return watch.follow(PollTimes(expected_s), timeout_s)
    except realdream.GenerationFailedError:
        raise
    except realdream.RealDreamError as exc:
        exc.maybe_billed = True  # the job was queued: it may still complete, and be billed
        raise


@dataclasses.dataclass
class _Watch:
    """One submitted job, polled on the demo's schedule."""

    client: realdream.Client
    job: realdream.Job
    on_state: OnState
    started: float
    clock: Clock
    sleep: Sleep

    def elapsed(self) -> float:
        return self.clock() - self.started

    def follow(self, times: PollTimes, timeout_s: float) -> realdream.GenerationResult:
        while True:
            elapsed = self.elapsed()
            self.sleep(min(times.delay(elapsed), max(0.0, timeout_s - elapsed)))
            status = self.job.status()
            self.on_state(status.state, self.elapsed())
            if status.failure is not None:
                raise status.failure
            if status.state == "COMPLETED":
                return self.collect()
            if self.elapsed() >= timeout_s:
                raise self.timeout(status.state, timeout_s)

    def collect(self) -> realdream.GenerationResult:
        """The completed job's result: a resumed job polls at once, then downloads the images."""
        job = self.job
        result = self.client.job(job.request_id, request=job.request).wait()
        retries = job.retries + result.retries
        return dataclasses.replace(result, elapsed=self.elapsed(), retries=retries)

    def timeout(self, state: str, timeout_s: float) -> realdream.JobTimeoutError:
        return realdream.JobTimeoutError(
            f"Gave up waiting after {timeout_s:g} s: the job {self.job.request_id} is still "
            f"{state.lower()}. It goes on running on the server and is billed if it completes; "
            "check your credits later.",
            job=self.job,
            state=state,
        )
