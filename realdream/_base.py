"""What the sync and async clients share: configuration, and every step that does no I/O.

The clients only send; building requests, reading answers, the v2 job bodies, pacing and the
retry decisions all live here (or in the pure modules this one calls), once.
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, cast, get_args

import httpx

from realdream import contract
from realdream._amounts import parse_amount
from realdream._errors import (
    ConfigurationError,
    GenerationFailedError,
    InvalidResponseError,
    ValidationError,
)
from realdream._headers import server_wait
from realdream._jobbodies import (
    PENDING_STATES,
    build_result,
    failed_error,
    job_outputs,
    metric,
    parse_job_body,
    status_of,
)
from realdream._jobs import AnyJob, JobPendingError, JobStatus, OnStatus, Output, _JobBase
from realdream._pacing import Pacer
from realdream._params import GenerationRequest
from realdream._policy import DEFAULT_POLICY, RetryPolicy
from realdream._polling import Durations, Patience, PollSchedule
from realdream._result import Credits, GenerationResult
from realdream._retry import RetryState
from realdream._sending import sent_as
from realdream._version import __version__

__all__ = ["DEFAULT_TIMEOUT", "Api", "BaseClient", "Clock"]

#: Survives a cold start: an idle model can take minutes to answer the first request.
DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=10.0, read=180.0, write=30.0, pool=30.0)
Api = contract.Api
Clock = Callable[[], float]

_KEY_SHAPE: Final = re.compile(r"[!-~]+")  # printable ASCII, no whitespace: safe in a header
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # safe in a URL path


class BaseClient:
    """Configuration and the pure steps shared by :class:`Client` and :class:`AsyncClient`."""

    _owns_http: bool

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        retry: RetryPolicy | None,
        clock: Clock,
        api: Api,
        rate_limit_per_minute: float | None,
    ) -> None:
        self._api_key = _resolve_key(api_key)
        self.base_url = (
            base_url or os.environ.get(contract.BASE_URL_ENV) or contract.BASE_URL
        ).rstrip("/")
        self.timeout = _resolve_timeout(timeout)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError(f"retry={retry!r}: must be a realdream.RetryPolicy")
        #: How this client retries (see :class:`~realdream.RetryPolicy`).
        self.retry = retry or DEFAULT_POLICY
        #: Which path ``generate`` takes: ``"v1"`` (one blocking call) or ``"v2"`` (the queue).
        self.api: Api = _check_api(api)
        #: Paces every request to the API (not image downloads), shared by every thread or
        #: task using this client; ``None``: no pacing.
        self.pacer = _pacer(rate_limit_per_minute)
        #: How long this client's v2 jobs took: the first poll goes near their median.
        self.durations = Durations()
        self._clock = clock
        self._headers = {
            contract.API_KEY_HEADER: self._api_key,
            "Content-Type": contract.CONTENT_TYPE,
            "Accept": "image/jpeg, image/png, image/webp, application/json",
            "User-Agent": f"realdream-python/{__version__}",
        }
        self._rand = random.Random()
        self._endpoints: dict[str, httpx.URL] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=<hidden>)"

    # --- requests ------------------------------------------------------------------------
    def _build(
        self,
        http: httpx.Client | httpx.AsyncClient,
        method: str,
        url: str | httpx.URL,
        body: bytes | None,
        state: RetryState,
        key: bool,
    ) -> httpx.Request:
        """The request for one attempt (an owned client already carries headers and timeout).

        ``key=False`` (image downloads) sends no API key, whatever the client's defaults.
        """
        if state.policy.deadline is None and self._owns_http:
            request = http.build_request(method, url, content=body)
        else:
            request = http.build_request(
                method,
                url,
                content=body,
                headers=None if self._owns_http else self._headers,
                timeout=state.timeout(self.timeout),
            )
        if not key:
            request.headers.pop(contract.API_KEY_HEADER, None)
        return request

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _endpoint(self, path: str) -> httpx.URL:
        """The parsed URL of one of the API's fixed paths (parsed once: httpx re-parses a
        string URL on every request, a third of a small request's client time)."""
        url = self._endpoints.get(path)
        if url is None:
            url = self._endpoints[path] = httpx.URL(self._url(path))
        return url

    def _new_state(self, policy: RetryPolicy | None = None) -> RetryState:
        return RetryState(
            policy or self.retry, secret=self._api_key, rand=self._rand.random, clock=self._clock
        )

    def _get_policy(self) -> RetryPolicy:
        """A GET is idempotent and unbilled: read errors are safe to retry."""
        return dataclasses.replace(self.retry, retry_read_errors=True)

    def _pace_delay(self, pace: bool) -> float:
        """How long to hold this attempt for the client's rate (0 without pacing)."""
        if not pace or self.pacer is None:
            return 0.0
        return self.pacer.reserve(self._clock())

    def _note(self, response: httpx.Response) -> None:
        """A 429 pushes the pacing schedule back to when the server says it resets."""
        if self.pacer is not None and response.status_code == 429:
            self.pacer.rate_limited_until(self._clock(), server_wait(response.headers))

    def _api_of(self, api: Api | None) -> Api:
        return self.api if api is None else _check_api(api)

    @staticmethod
    def _prepare(
        request: GenerationRequest | str | None, params: Mapping[str, Any], api: Api = "v1"
    ) -> tuple[GenerationRequest, bytes]:
        """Validate and resolve the seed; on v1 also ask for JSON when several samples must
        come back (one binary body holds one image; a v2 result lists every image anyway)."""
        if isinstance(request, GenerationRequest):
            validated = request.replace(**params) if params else request
        elif request is None:
            validated = GenerationRequest.create(params)
        else:
            validated = GenerationRequest.create(params, prompt=request)
        sent = validated.as_sent() if api == "v1" else validated.with_resolved_seed()
        return sent, sent.to_json()

    # --- v1 answers ----------------------------------------------------------------------
    def _result(
        self, request: GenerationRequest, response: httpx.Response, state: RetryState, t0: float
    ) -> GenerationResult:
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers.raw
        }
        with sent_as(request):
            return GenerationResult.from_response(
                request,
                response.content,
                headers,
                elapsed=self._clock() - t0,
                retries=state.retries,
                status_code=response.status_code,
            )

    @staticmethod
    def _credits(response: httpx.Response) -> Credits:
        """The balance, refused unless each amount is a finite number >= 0 (a NaN or an
        infinity here would pass every later comparison with a floor or a budget)."""
        paid, free = contract.CREDITS_KEYS
        try:
            data = response.json()
            if not isinstance(data, dict) or paid not in data:
                raise ValueError(f"the body has no {paid!r} field")
            return Credits(
                parse_amount(data[paid], field=paid),
                parse_amount(data.get(free, 0.0), field=free),
            )
        except (ValueError, RecursionError) as exc:
            raise InvalidResponseError(
                f"The credits endpoint answered without a readable balance ({exc}).",
                status_code=response.status_code,
                body=response.content,
                headers=response.headers,
            ) from None

    # --- v2 jobs -------------------------------------------------------------------------
    def _job_fields(self, request_id: object) -> dict[str, Any]:
        """A job's URLs, built on this client's base URL: the key goes nowhere else."""
        if not isinstance(request_id, str) or not _REQUEST_ID.fullmatch(request_id):
            raise ValidationError(
                [
                    (
                        "request_id",
                        f"request_id={request_id!r}: must be a job id such as "
                        "2c7f59ea-13f1-402c-9353-915a2b5a2124",
                    )
                ]
            )
        return {
            "request_id": request_id,
            "status_url": self._url(contract.job_path(contract.V2_STATUS_PATH, request_id)),
            "response_url": self._url(contract.job_path(contract.V2_RESULT_PATH, request_id)),
            "poll_url": self._url(contract.job_path(contract.V1_POLL_PATH, request_id)),
        }

    def _submitted(
        self, response: httpx.Response, sent: GenerationRequest, submitted: float
    ) -> dict[str, Any]:
        """A job's fields from a submit's answer (any 2xx carrying a request id)."""
        data = parse_job_body(response.content, response.status_code, response.headers)
        request_id = data.get("request_id")
        try:
            fields: dict[str, Any] = dict(self._job_fields(request_id))
        except ValidationError:
            raise InvalidResponseError(
                f"The server answered {response.status_code} to the submit without a usable "
                f"request_id ({request_id!r}); the job may have been queued, and billed.",
                status_code=response.status_code,
                body=response.content,
                headers=response.headers,
            ) from None
        return {**fields, "request": sent, "submitted_clock": submitted}

    def _status(self, job: _JobBase, response: httpx.Response) -> JobStatus:
        data = parse_job_body(response.content, response.status_code, response.headers)
        try:
            status = status_of(data, job.request_id)
        except ValueError as exc:
            raise InvalidResponseError(
                f"The server answered {response.status_code} to a status poll with {exc}.",
                status_code=response.status_code,
                body=response.content,
                headers=response.headers,
            ) from None
        if status.state == "FAILED":
            failure = failed_error(status, response.content, response.status_code)
            return dataclasses.replace(status, failure=failure)
        return status

    @staticmethod
    def _failed(job: _JobBase, exc: GenerationFailedError) -> JobStatus:
        """A FAILED job served with 422 (as documented) is a state of the job, not an error."""
        request_id = exc.request_id or job.request_id
        return JobStatus("FAILED", request_id, exc.metrics, exc.message, failure=exc)

    @staticmethod
    def _outputs(job: AnyJob, response: httpx.Response) -> tuple[dict[str, Any], list[Output]]:
        """A result's body and images; a FAILED or unfinished job's error."""
        data = parse_job_body(response.content, response.status_code, response.headers)
        state = data.get(contract.JOB_STATUS_KEY)
        if state == "FAILED":
            status = status_of(data, job.request_id)
            raise failed_error(status, response.content, response.status_code)
        if isinstance(state, str) and state in PENDING_STATES:
            raise JobPendingError(
                f"Job {job.request_id} is still {state}: nothing to collect yet; wait on it, "
                "or ask again later.",
                job=job,
                state=state,
            )
        try:
            return data, job_outputs(data)
        except ValueError as exc:
            raise InvalidResponseError(
                f"The job completed (and was billed) but its result is unreadable: {exc}.",
                status_code=response.status_code,
                body=response.content,
                headers=response.headers,
            ) from None

    def _finish(
        self,
        job: _JobBase,
        data: Mapping[str, Any],
        blobs: list[bytes],
        t0: float,
        retries: int,
    ) -> GenerationResult:
        metrics = data.get(contract.JOB_METRICS_KEY)
        took = metric(metrics, contract.METRIC_TOTAL_TIME) if isinstance(metrics, dict) else None
        if took is None and job.submitted_clock is not None:
            took = self._clock() - job.submitted_clock
        if took is not None:
            self.durations.add(took)
        try:
            return build_result(job, data, blobs, elapsed=self._clock() - t0, retries=retries)
        except ValueError as exc:
            raise InvalidResponseError(
                f"The job completed (and was billed) but an image is unreadable: {exc}.",
                status_code=200,
            ) from None

    def _schedule(self, job: _JobBase) -> PollSchedule:
        """Poll near the expected finish; a job resumed from its id may be long done: at once."""
        if job.submitted_clock is None:
            return PollSchedule(self._clock(), 0.0)
        return PollSchedule(job.submitted_clock, self.durations.expected())

    def _patience(self, job: AnyJob, timeout: float | None, on_status: OnStatus | None) -> Patience:
        """How a wait on ``job`` rides out errors, with its deadline ``timeout`` from now."""
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise ConfigurationError(f"timeout={timeout!r}: must be a number of seconds > 0")
        return Patience(
            job,
            timeout=timeout,
            deadline=None if timeout is None else self._clock() + timeout,
            policy=self.retry,
            clock=self._clock,
            rand=self._rand.random,
            on_status=on_status,
        )


def _check_api(api: object) -> Api:
    allowed = get_args(Api)
    if api not in allowed:
        raise ConfigurationError(f"api={api!r}: must be one of {', '.join(map(repr, allowed))}")
    return cast("Api", api)


def _pacer(per_minute: float | None) -> Pacer | None:
    if per_minute is None:
        return None
    try:
        return Pacer(per_minute)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _resolve_key(api_key: str | None) -> str:
    key = (api_key if api_key is not None else os.environ.get(contract.API_KEY_ENV, "")).strip()
    if not key:
        raise ConfigurationError(
            f"No API key: pass api_key=... or set the {contract.API_KEY_ENV} environment "
            f"variable (keys look like {contract.API_KEY_SHAPE}; get one at segmind.com)."
        )
    if not _KEY_SHAPE.fullmatch(key):
        raise ConfigurationError(
            "The API key contains spaces or characters that cannot be sent in a header; "
            "check for a stray quote or line break."
        )
    return key


def _resolve_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not timeout > 0:
        raise ConfigurationError(f"timeout={timeout!r}: must be a number of seconds > 0")
    return httpx.Timeout(timeout, connect=min(timeout, DEFAULT_TIMEOUT.connect or timeout))
