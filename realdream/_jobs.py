"""v2 jobs: what a submitted job is, what a poll says of it, and the errors that carry one.

A :class:`Job` (or :class:`AsyncJob`) asks its client to send; it knows its client only as
the small :class:`JobClient` (or :class:`AsyncJobClient`) protocol below. Reading the job
bodies lives in :mod:`realdream._jobbodies`, the poll schedule and the patience of a wait in
:mod:`realdream._polling`.

A job is billed once, when it completes; a FAILED job is not billed. Results (and the job's
status) are kept for one hour after submission; after that every poll answers 404
(:class:`~realdream.JobExpiredError`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final, Protocol

from realdream import contract
from realdream._errors import GenerationFailedError, RealDreamError
from realdream._params import GenerationRequest
from realdream._result import GenerationResult

__all__ = [
    "DEFAULT_WAIT_TIMEOUT",
    "AnyJob",
    "AsyncJob",
    "AsyncJobClient",
    "Job",
    "JobClient",
    "JobPendingError",
    "JobStatus",
    "JobTimeoutError",
    "OnStatus",
    "Output",
]

#: How long ``wait`` waits by default (a cold model can take minutes; the SDK waits 600 s).
DEFAULT_WAIT_TIMEOUT: Final = 600.0


@dataclass(frozen=True)
class JobStatus:
    """What a status poll said: the state, the server's metrics and, when FAILED, why.

    While ``wait`` rides out a failing service, ``on_status`` gets the last status read with
    :attr:`transient` set to the error that the last try met: the wait goes on.
    """

    state: contract.JobState
    request_id: str
    metrics: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    #: For a FAILED job: the error ``wait`` raises (status code and body included).
    failure: GenerationFailedError | None = field(default=None, repr=False, compare=False)
    #: The error a status, result or image request just met (a 5xx, a 429, a dropped
    #: connection, a read timeout); ``wait`` tries again until its deadline. ``None`` for a
    #: status the server answered.
    transient: RealDreamError | None = field(default=None, compare=False)

    @property
    def done(self) -> bool:
        return self.state in contract.TERMINAL_STATES


#: What ``wait(on_status=...)`` calls with each status a poll reads.
OnStatus = Callable[[JobStatus], object]

#: One image of a result: a URL to download, or the image's bytes (base64 outputs).
Output = str | bytes


class JobClient(Protocol):
    """What a :class:`Job` needs of its client (a :class:`~realdream.Client` is one)."""

    def _job_status(self, job: Job) -> JobStatus: ...

    def _job_wait(
        self, job: Job, timeout: float | None, on_status: OnStatus | None
    ) -> GenerationResult: ...

    def _job_result(self, job: Job) -> GenerationResult: ...


class AsyncJobClient(Protocol):
    """What an :class:`AsyncJob` needs of its client (an :class:`~realdream.AsyncClient`)."""

    async def _job_status(self, job: AsyncJob) -> JobStatus: ...

    async def _job_wait(
        self, job: AsyncJob, timeout: float | None, on_status: OnStatus | None
    ) -> GenerationResult: ...

    async def _job_result(self, job: AsyncJob) -> GenerationResult: ...


@dataclass(eq=False)
class _JobBase:
    """What a job is: its id and URLs, when it was submitted, and the request as sent."""

    request_id: str
    status_url: str
    response_url: str
    poll_url: str | None = None
    #: Wall-clock time of the submit (UTC).
    submitted_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    #: The request as sent (seed resolved); ``None`` for a job resumed from its id alone.
    request: GenerationRequest | None = None
    #: When the submit was answered, on the client's clock (``None``: unknown, e.g. resumed).
    #: The job started no later, so the first poll counts from here.
    submitted_clock: float | None = field(default=None, repr=False)
    #: Retries taken so far for this job (the submit's, every poll's and every download's).
    retries: int = field(default=0, repr=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(request_id={self.request_id!r})"

    @property
    def expires_at(self) -> datetime:
        """When the server forgets the job (one hour after submission)."""
        return datetime.fromtimestamp(
            self.submitted_at.timestamp() + contract.RESULT_TTL_S, tz=timezone.utc
        )


@dataclass(eq=False, repr=False)
class Job(_JobBase):
    """A submitted v2 job of a sync :class:`~realdream.Client`."""

    client: JobClient | None = field(default=None, repr=False, compare=False)

    def status(self) -> JobStatus:
        """Poll the job's state once (QUEUED, PROCESSING, COMPLETED or FAILED)."""
        return self._client()._job_status(self)

    def wait(
        self, timeout: float | None = DEFAULT_WAIT_TIMEOUT, *, on_status: OnStatus | None = None
    ) -> GenerationResult:
        """Poll until the job ends; return its result with every image downloaded.

        ``on_status`` is called with every :class:`JobStatus` a poll reads (to show progress).
        A status, result or image request that meets a 5xx, a 429 (after the wait it asks
        for), a dropped connection or a read timeout is tried again, with capped back-off,
        until ``timeout``; ``on_status`` then gets the last status with ``transient`` set.
        Raises :class:`~realdream.GenerationFailedError` for a FAILED job,
        :class:`~realdream.JobTimeoutError` (carrying this job, and the last such error as its
        ``__cause__``) when ``timeout`` passes first, :class:`~realdream.JobExpiredError` when
        the server no longer knows the job, and at once any error a retry cannot fix (401, 403).
        """
        return self._client()._job_wait(self, timeout, on_status)

    def result(self) -> GenerationResult:
        """The finished job's result, read once without waiting (images downloaded).

        Each request is retried as the client's :class:`~realdream.RetryPolicy` says, no
        more. Raises :class:`~realdream.JobPendingError` while the job is QUEUED or
        PROCESSING, :class:`~realdream.GenerationFailedError` for a FAILED job and
        :class:`~realdream.JobExpiredError` once the server has forgotten it.
        """
        return self._client()._job_result(self)

    def _client(self) -> JobClient:
        if self.client is None:
            raise RuntimeError("this job has no client")
        return self.client


@dataclass(eq=False, repr=False)
class AsyncJob(_JobBase):
    """A submitted v2 job of a :class:`~realdream.AsyncClient`: awaitable methods."""

    client: AsyncJobClient | None = field(default=None, repr=False, compare=False)

    async def status(self) -> JobStatus:
        """Poll the job's state once; see :meth:`Job.status`."""
        return await self._client()._job_status(self)

    async def wait(
        self, timeout: float | None = DEFAULT_WAIT_TIMEOUT, *, on_status: OnStatus | None = None
    ) -> GenerationResult:
        """Poll until the job ends; see :meth:`Job.wait`."""
        return await self._client()._job_wait(self, timeout, on_status)

    async def result(self) -> GenerationResult:
        """The finished job's result, read once without waiting; see :meth:`Job.result`."""
        return await self._client()._job_result(self)

    def _client(self) -> AsyncJobClient:
        if self.client is None:
            raise RuntimeError("this job has no client")
        return self.client


#: A job of either client.
AnyJob = Job | AsyncJob


class _JobError(RealDreamError):
    """An error about a job that goes on, or may go on, on the server (and is billed if it
    completes): it carries the job, to wait on or collect later."""

    def __init__(self, message: str, *, job: AnyJob, state: str) -> None:
        super().__init__(message)
        #: The job: wait on it again, call ``result()``, or rebuild it later from its
        #: ``request_id`` with ``client.job(...)`` (within the hour).
        self.job = job
        #: The last state seen.
        self.state = state
        self.request = job.request
        #: The job will be billed if it completes (or was, if it did).
        self.maybe_billed = True


class JobTimeoutError(_JobError):
    """``Job.wait`` passed its timeout; the job goes on running on the server.

    :attr:`job` is the :class:`~realdream.Job`: wait on it again later (within the hour), or
    rebuild it from ``job.request_id`` with ``client.job(...)``. :attr:`state` is the last
    state seen (COMPLETED when the job finished but its result or images could not be
    fetched in time). When the service was answering with errors, ``__cause__`` is the last.
    """


class JobPendingError(_JobError):
    """``Job.result()`` found the job still QUEUED or PROCESSING (:attr:`state`): nothing to
    collect yet. Call ``wait()``, or ``result()`` again later."""
