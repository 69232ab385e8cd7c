"""When a wait polls a v2 job, and how it rides out a service that answers with errors.

Pure: the clients ask :class:`PollSchedule` when to poll and :class:`Patience` what to do
after a failed request, and do the sleeping and sending themselves.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Final

import httpx

from realdream import contract
from realdream._errors import (
    APIConnectionError,
    APIStatusError,
    InvalidResponseError,
    RealDreamError,
)
from realdream._headers import server_wait
from realdream._jobs import AsyncJob, Job, JobStatus, JobTimeoutError, OnStatus
from realdream._policy import RetryPolicy, backoff_delay

__all__ = [
    "FIRST_INTERVAL",
    "INTERVAL_GROWTH",
    "MAX_INTERVAL",
    "MIN_RETRY_DELAY",
    "Durations",
    "Patience",
    "PollSchedule",
    "is_transient",
]

logger = logging.getLogger("realdream")

#: Polls after the first come this long apart at first, then 1.5 times longer each, at most 5 s.
FIRST_INTERVAL: Final = 0.2
INTERVAL_GROWTH: Final = 1.5
MAX_INTERVAL: Final = 5.0
#: The shortest pause before a wait tries a failed request again (back-off is jittered).
MIN_RETRY_DELAY: Final = FIRST_INTERVAL


class PollSchedule:
    """When to poll: the first poll near the expected finish, then back off (capped).

    ``expected`` is how long after submission the job should finish (what the client has
    measured, else the advertised latency). The first poll is due then; later polls come
    ``FIRST_INTERVAL`` apart, growing by ``INTERVAL_GROWTH`` up to ``MAX_INTERVAL``.
    """

    def __init__(self, submitted: float, expected: float) -> None:
        self._next = submitted + max(0.0, expected)
        self._interval = FIRST_INTERVAL

    def delay(self, now: float) -> float:
        """Seconds from ``now`` until the next poll is due (then the schedule moves on)."""
        due = self._next
        self._next = max(due, now) + self._interval
        self._interval = min(MAX_INTERVAL, self._interval * INTERVAL_GROWTH)
        return max(0.0, due - now)


class Durations:
    """How long this client's jobs took, for where to put the first poll (thread-safe enough:
    a deque's append and a snapshot copy are atomic in CPython).

    A duration over the hour a job is kept cannot be true, and is not kept."""

    def __init__(self, default: float = contract.ADVERTISED_LATENCY_S, keep: int = 32) -> None:
        self._seen: deque[float] = deque(maxlen=keep)
        self._default = default

    def add(self, seconds: float) -> None:
        if math.isfinite(seconds) and 0 < seconds <= contract.RESULT_TTL_S:
            self._seen.append(seconds)

    def expected(self) -> float:
        seen = list(self._seen)
        return statistics.median(seen) if seen else self._default


def is_transient(exc: RealDreamError) -> bool:
    """Whether trying the same GET again can help: a 429 or 5xx, a connection that failed or
    timed out, or a body cut off in transit. Not a 401, 403, 404 or other final answer."""
    if isinstance(exc, APIStatusError):
        return exc.retryable
    if isinstance(exc, APIConnectionError):
        return not isinstance(exc.__cause__, httpx.UnsupportedProtocol)
    if isinstance(exc, InvalidResponseError):
        return isinstance(exc.__cause__, httpx.TransportError)
    return False


class Patience:
    """How one ``wait`` rides out a service that answers with errors.

    A job's status, result and image requests are safe to repeat and cost nothing, and a
    queued job is paid for once it completes. So within a wait each of them is sent with no
    retries of its own (:attr:`policy`), and every transient failure (see
    :func:`is_transient`) is tried again after capped back-off, or the wait a 429 asks for,
    until the wait's deadline: whatever the client's per-request retry count. No pause runs
    past the deadline; a server that asks for a longer wait ends the wait at once.
    """

    def __init__(
        self,
        job: Job | AsyncJob,
        *,
        timeout: float | None,
        deadline: float | None,
        policy: RetryPolicy,
        clock: Callable[[], float],
        rand: Callable[[], float],
        on_status: OnStatus | None,
    ) -> None:
        self.job = job
        self.timeout = timeout
        self.deadline = deadline
        #: What each request of the wait is sent with: no retries of its own, the wait does the
        #: retrying (so which failures a request would retry does not matter here).
        self.policy = replace(policy, max_retries=0)
        self._backoff = policy
        self._clock = clock
        self._rand = rand
        self._on_status = on_status
        self._failures = 0
        #: The last status a poll read (``None`` before the first).
        self.status: JobStatus | None = None

    def left(self) -> float | None:
        """Seconds to the deadline (``None``: no deadline)."""
        return None if self.deadline is None else self.deadline - self._clock()

    def until_poll(self, delay: float) -> float:
        """The pause before the next poll: ``delay``, but never past the deadline."""
        left = self.left()
        return delay if left is None else min(delay, max(0.0, left))

    def expired(self) -> bool:
        left = self.left()
        return left is not None and left <= 0

    def seen(self, status: JobStatus) -> None:
        """A poll read ``status``: pass it on, and start the back-off afresh."""
        self.status = status
        self._failures = 0
        if self._on_status is not None:
            self._on_status(status)

    def retry_delay(self, exc: RealDreamError) -> float | None:
        """The pause before trying again after ``exc``; ``None`` when retrying cannot help
        (the caller re-raises ``exc``). Raises :class:`JobTimeoutError` at the deadline."""
        if not is_transient(exc):
            return None
        asked = _asked(exc)
        left = self.left()
        if left is not None and (left <= 0 or (asked or 0.0) > left):
            raise self.timed_out(exc) from exc
        delay = asked or max(
            MIN_RETRY_DELAY, backoff_delay(self._failures, self._backoff, self._rand)
        )
        self._failures += 1
        self.job.retries += 1
        delay = delay if left is None else min(delay, left)
        self._report(exc, delay)
        return delay

    def _report(self, exc: RealDreamError, delay: float) -> None:
        """Say the wait goes on: to ``on_status`` each time, to the log once a streak."""
        logger.log(
            logging.WARNING if self._failures == 1 else logging.INFO,
            "realdream: job %s: %s; the wait goes on, try %d in %.2fs",
            self.job.request_id,
            _describe(exc),
            self._failures + 1,
            delay,
        )
        if self._on_status is not None:
            last = self.status or JobStatus("QUEUED", self.job.request_id)
            self._on_status(replace(last, transient=exc))

    def timed_out(self, cause: RealDreamError | None = None) -> JobTimeoutError:
        """The error of a wait whose deadline came first (``cause``: the last failure)."""
        state = self.status.state if self.status is not None else "QUEUED"
        job, after = self.job, f"{self.timeout or 0.0:g} s"
        if state == "COMPLETED":
            why = f"last error: {_describe(cause)}" if cause else "the result was not ready yet"
            message = (
                f"Job {job.request_id} completed (and was billed), but its result could not be "
                f"fetched within {after} ({why}); collect it within the hour with "
                "client.job(request_id).result()."
            )
        else:
            errors = (
                f" the service kept answering with errors ({_describe(cause)});" if cause else ""
            )
            message = (
                f"Job {job.request_id} is still {state} after {after};{errors} it goes on "
                "running on the server: wait on it again, or resume it later with "
                "client.job(request_id)."
            )
        return JobTimeoutError(message, job=job, state=state)


def _asked(exc: RealDreamError) -> float | None:
    """The wait the server asked for (a job is forgotten after its hour: never longer)."""
    asked = server_wait(exc.headers) if isinstance(exc, APIStatusError) else None
    return None if asked is None else min(asked, contract.RESULT_TTL_S)


def _describe(error: RealDreamError) -> str:
    if isinstance(error, APIStatusError):
        return f"HTTP {error.status_code} {error.title}"
    return type(error).__name__
