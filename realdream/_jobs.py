"""v2 jobs: submit, then poll. The bodies' parsing and the polling schedule are pure; a
:class:`Job` (or :class:`AsyncJob`) asks its client to send.

A job is billed once, when it completes; a FAILED job is not billed. Results (and the job's
status) are kept for one hour after submission; after that every poll answers 404
(:class:`~realdream.JobExpiredError`).
"""

from __future__ import annotations

import base64
import binascii
import math
import statistics
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final, cast

from realdream import contract
from realdream._errors import (
    GenerationFailedError,
    InvalidResponseError,
    JobTimeoutError,
    RealDreamError,
)
from realdream._headers import parse_float
from realdream._params import GenerationRequest
from realdream._result import GeneratedImage, GenerationResult, image_size, sniff_mime_type

if TYPE_CHECKING:
    from realdream._client import AsyncClient, Client

__all__ = [
    "DEFAULT_WAIT_TIMEOUT",
    "AsyncJob",
    "Job",
    "JobStatus",
    "OnStatus",
    "Output",
    "PollSchedule",
    "job_outputs",
    "parse_job_body",
]

#: How long ``wait`` waits by default (a cold model can take minutes; the SDK waits 600 s).
DEFAULT_WAIT_TIMEOUT: Final = 600.0
#: Polls after the first come this long apart at first, then 1.5 times longer each, at most 5 s.
FIRST_INTERVAL: Final = 0.2
INTERVAL_GROWTH: Final = 1.5
MAX_INTERVAL: Final = 5.0
_FAILED_RULE: Final = next(r for r in contract.STATUS_TABLE if r.error == "GenerationFailedError")


@dataclass(frozen=True)
class JobStatus:
    """What a status poll said: the state, the server's metrics and, when FAILED, why."""

    state: contract.JobState
    request_id: str
    metrics: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    #: For a FAILED job: the error ``wait`` raises (status code and body included).
    failure: GenerationFailedError | None = field(default=None, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return self.state in contract.TERMINAL_STATES


#: What ``wait(on_status=...)`` calls with each status a poll reads.
OnStatus = Callable[[JobStatus], object]

#: One image of a result: a URL to download, or the image's bytes (base64 outputs).
Output = str | bytes


def parse_job_body(body: bytes, status_code: int, headers: Mapping[str, str]) -> dict[str, Any]:
    """A job body as a dict, or an :class:`InvalidResponseError` naming what was wrong."""
    from realdream._errors import ValidationError
    from realdream._params import parse_json_object

    try:
        return parse_json_object(body)
    except ValidationError as exc:
        raise InvalidResponseError(
            f"The server answered {status_code} with a job body that is not a JSON object ({exc}).",
            status_code=status_code,
            body=body,
            headers=headers,
        ) from None


def status_of(data: Mapping[str, Any], request_id: str) -> JobStatus:
    """The :class:`JobStatus` of a status (or result) body."""
    state = data.get(contract.JOB_STATUS_KEY)
    if state not in contract.JOB_STATES:
        states = ", ".join(contract.JOB_STATES)
        raise ValueError(f"status={state!r}: must be one of {states}")
    metrics = data.get(contract.JOB_METRICS_KEY)
    error = data.get(contract.JOB_ERROR_KEY)
    found_id = data.get("request_id")
    return JobStatus(
        state=cast("contract.JobState", state),
        request_id=found_id if isinstance(found_id, str) else request_id,
        metrics=dict(metrics) if isinstance(metrics, dict) else {},
        error=error if isinstance(error, str) else None,
    )


def job_outputs(data: Mapping[str, Any]) -> list[Output]:
    """The images of a COMPLETED result: ``images[].url`` when present, else ``output`` (a URL
    or a list of them; anything that is not an http(s) URL is base64, any ``data:`` prefix
    stripped)."""
    images = data.get(contract.JOB_IMAGES_KEY)
    if isinstance(images, list):
        urls = [item.get("url") for item in images if isinstance(item, dict)]
        if urls and all(isinstance(url, str) and url for url in urls):
            return cast("list[Output]", urls)
    output = data.get(contract.JOB_OUTPUT_KEY)
    items = output if isinstance(output, list) else [output]
    texts = [item for item in items if isinstance(item, str) and item]
    if not texts or len(texts) != len(items):
        raise ValueError("the result has no images: no images[].url and no output")
    return [_url_or_bytes(text) for text in texts]


def _url_or_bytes(text: str) -> Output:
    if text.startswith(("http://", "https://")):
        return text
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("an output is neither a URL nor base64") from None


def result_seed(data: Mapping[str, Any]) -> int | None:
    """The seed the result reports (a string, REPORTED), when it is a whole number."""
    value = data.get(contract.JOB_SEED_KEY)
    seed = parse_float(str(value)) if isinstance(value, (str, int)) else None
    return int(seed) if seed is not None and seed.is_integer() and seed >= 0 else None


def metric(metrics: Mapping[str, Any], name: str) -> float | None:
    value = metrics.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return parse_float(value) if isinstance(value, str) else None
    return float(value) if math.isfinite(value) else None


def build_result(
    job: _JobBase,
    data: Mapping[str, Any],
    blobs: Sequence[bytes],
    *,
    elapsed: float,
    retries: int,
) -> GenerationResult:
    """The :class:`GenerationResult` of a completed job whose images are ``blobs``."""
    metrics = data.get(contract.JOB_METRICS_KEY)
    metrics = metrics if isinstance(metrics, dict) else {}
    seed = result_seed(data)
    request = job.request
    if request is not None and seed is not None and seed != request.seed:
        request = request.model_copy(update={"seed": seed})
    images = tuple(_image(blob, request, index) for index, blob in enumerate(blobs))
    cost = metric(metrics, contract.METRIC_COST)
    if cost is None and request is not None:
        cost = contract.cost(len(images))
    return GenerationResult(
        images=images,
        request=request,
        elapsed=elapsed,
        remaining_credits=metric(metrics, contract.METRIC_REMAINING_CREDITS),
        request_id=job.request_id,
        cost=cost,
        generation_time=metric(metrics, contract.METRIC_INFERENCE_TIME),
        retries=retries,
        server_seed=seed,
    )


def _image(blob: bytes, request: GenerationRequest | None, index: int) -> GeneratedImage:
    mime = sniff_mime_type(blob)
    size = image_size(blob, mime) if mime else None
    if mime is None or size is None:
        raise ValueError(f"image {index} is not a readable JPEG, PNG or WebP image")
    return GeneratedImage(blob, mime, size[0], size[1], request, index)


def failed_error(status: JobStatus, body: bytes, status_code: int) -> GenerationFailedError:
    """The error of a FAILED job (served with 422, or 200)."""
    return GenerationFailedError(
        status.error or "the job failed (no detail)",
        status_code=status_code,
        body=body,
        rule=_FAILED_RULE,
    )


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

    def not_before(self, moment: float) -> None:
        """Hold the next poll until ``moment`` (the server asked for a wait)."""
        self._next = max(self._next, moment)


class Durations:
    """How long this client's jobs took, for where to put the first poll (thread-safe enough:
    a deque's append and a snapshot copy are atomic in CPython)."""

    def __init__(self, default: float = contract.ADVERTISED_LATENCY_S, keep: int = 32) -> None:
        self._seen: deque[float] = deque(maxlen=keep)
        self._default = default

    def add(self, seconds: float) -> None:
        if math.isfinite(seconds) and seconds > 0:
            self._seen.append(seconds)

    def expected(self) -> float:
        seen = list(self._seen)
        return statistics.median(seen) if seen else self._default


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
    #: Retries taken so far for this job (the submit's and every poll's).
    retries: int = field(default=0, repr=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(request_id={self.request_id!r})"

    @property
    def expires_at(self) -> datetime:
        """When the server forgets the job (one hour after submission)."""
        return datetime.fromtimestamp(
            self.submitted_at.timestamp() + contract.RESULT_TTL_S, tz=timezone.utc
        )

    def _timeout(self, state: str, timeout: float) -> JobTimeoutError:
        return JobTimeoutError(
            f"Job {self.request_id} is still {state} after {timeout:g} s; it goes on running "
            "on the server: wait on it again, or resume it later with client.job(request_id).",
            job=cast("Job", self),
            state=state,
        )


@dataclass(eq=False, repr=False)
class Job(_JobBase):
    """A submitted v2 job of a sync :class:`~realdream.Client`."""

    client: Client | None = field(default=None, repr=False, compare=False)

    def status(self) -> JobStatus:
        """Poll the job's state once (QUEUED, PROCESSING, COMPLETED or FAILED)."""
        return self._client()._job_status(self)

    def wait(
        self, timeout: float | None = DEFAULT_WAIT_TIMEOUT, *, on_status: OnStatus | None = None
    ) -> GenerationResult:
        """Poll until the job ends; return its result with every image downloaded.

        ``on_status`` is called with every :class:`JobStatus` a poll reads (to show progress).
        Raises :class:`~realdream.GenerationFailedError` for a FAILED job,
        :class:`~realdream.JobTimeoutError` (carrying this job) when ``timeout`` passes first,
        and :class:`~realdream.JobExpiredError` when the server no longer knows the job.
        """
        return self._client()._job_wait(self, timeout, on_status)

    def _client(self) -> Client:
        if self.client is None:
            raise RuntimeError("this job has no client")
        return self.client


@dataclass(eq=False, repr=False)
class AsyncJob(_JobBase):
    """A submitted v2 job of a :class:`~realdream.AsyncClient`: awaitable methods."""

    client: AsyncClient | None = field(default=None, repr=False, compare=False)

    async def status(self) -> JobStatus:
        """Poll the job's state once; see :meth:`Job.status`."""
        return await self._client()._job_status(self)

    async def wait(
        self, timeout: float | None = DEFAULT_WAIT_TIMEOUT, *, on_status: OnStatus | None = None
    ) -> GenerationResult:
        """Poll until the job ends; see :meth:`Job.wait`."""
        return await self._client()._job_wait(self, timeout, on_status)

    def _client(self) -> AsyncClient:
        if self.client is None:
            raise RuntimeError("this job has no client")
        return self.client


def attach(exc: RealDreamError, job: _JobBase, *, billed: bool) -> RealDreamError:
    """Mark ``exc`` with its job (and as billed once the job completed)."""
    exc.request = job.request
    setattr(exc, "job", job)  # noqa: B010 (an attribute only job errors carry)
    if billed:
        exc.maybe_billed = True
    return exc
