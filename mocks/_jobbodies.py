"""The v2 bodies and paths, as pure functions of a :class:`~realdream.mock._jobs.MockJob`.

Shapes (see the README's "offline mock server" section for what is VERIFIED and what is our
choice): the submit answer, the status body, the result body (the INFERRED composite of
``output``, ``images[]``, ``seed`` as a string and ``metrics``), the FAILED body and the 404
of an unknown or expired id. Every absolute URL is built on the base the caller used.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any, Final, Literal

from realdream import contract
from realdream.mock._http import MockResponse, error_response, json_response
from realdream.mock._jobs import MockJob, Settlement
from realdream.mock._ledger import MICROS_PER_USD
from realdream.mock._rules import failed_job_body

__all__ = [
    "CDN_PREFIX",
    "IMAGE_CONTENT_TYPE",
    "IMAGE_SUFFIX",
    "JobEndpoint",
    "completed_body",
    "failed_response",
    "image_id_of",
    "image_url",
    "job_endpoint",
    "job_not_found",
    "pending_body",
    "status_body",
    "submit_body",
    "timings",
]

#: Where the mock's image host serves files (no key needed): ``/cdn/generations/<id>.jpeg``.
CDN_PREFIX: Final = "/cdn/generations/"
IMAGE_SUFFIX: Final = ".jpeg"
IMAGE_CONTENT_TYPE: Final = "image/jpeg"
#: Which of the three poll endpoints a path names.
JobEndpoint = Literal["status", "result", "poll"]

_ID: Final = "([^/]+)"
_ZERO_ID: Final = "00000000-0000-0000-0000-000000000000"
_QUOTED_ID: Final = 64


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.escape(template).replace(re.escape("{request_id}"), _ID))


_ENDPOINTS: Final[tuple[tuple[JobEndpoint, re.Pattern[str]], ...]] = (
    ("status", _pattern(contract.V2_STATUS_PATH)),
    ("result", _pattern(contract.V2_RESULT_PATH)),
    ("poll", _pattern(contract.V1_POLL_PATH)),
)
_IMAGE: Final = re.compile(re.escape(CDN_PREFIX) + r"([0-9a-f]{32})" + re.escape(IMAGE_SUFFIX))


def job_endpoint(path: str) -> tuple[JobEndpoint, str] | None:
    """``("status", id)``, ``("result", id)`` or ``("poll", id)`` for a job path, else ``None``."""
    for endpoint, pattern in _ENDPOINTS:
        match = pattern.fullmatch(path)
        if match:
            return endpoint, match.group(1)
    return None


def image_id_of(path: str) -> str | None:
    """The file id of an image-host path, or ``None``."""
    match = _IMAGE.fullmatch(path)
    return match.group(1) if match else None


def image_url(base: str, image_id: str) -> str:
    return f"{base}{CDN_PREFIX}{image_id}{IMAGE_SUFFIX}"


def _urls(job: MockJob, base: str) -> dict[str, str]:
    def url(template: str) -> str:
        return base + contract.job_path(template, job.request_id)

    return {
        "poll_url": url(contract.V1_POLL_PATH),
        "status_url": url(contract.V2_STATUS_PATH),
        "response_url": url(contract.V2_RESULT_PATH),
    }


def submit_body(job: MockJob, base: str) -> dict[str, Any]:
    """The submit's answer: the id, QUEUED, and the three absolute poll URLs (VERIFIED)."""
    body: dict[str, Any] = {"request_id": job.request_id, contract.JOB_STATUS_KEY: "QUEUED"}
    body.update(_urls(job, base))
    assert tuple(body) == contract.V2_SUBMIT_KEYS
    return body


def timings(job: MockJob) -> dict[str, float]:
    """The seconds a finished job spent queued, running, and in all."""
    return {
        contract.METRIC_INFERENCE_TIME: round(float(job.inference_time), 3),
        contract.METRIC_QUEUE_TIME: round(float(job.queue_time), 3),
        contract.METRIC_TOTAL_TIME: round(float(job.queue_time + job.inference_time), 3),
    }


def status_body(job: MockJob, state: contract.JobState, base: str) -> dict[str, Any]:
    """A status poll's body for QUEUED, PROCESSING (as QUEUED's, INFERRED) or COMPLETED."""
    body: dict[str, Any] = {contract.JOB_STATUS_KEY: state, "request_id": job.request_id}
    if state == "COMPLETED":
        body[contract.JOB_METRICS_KEY] = {
            contract.METRIC_INFERENCE_TIME: round(float(job.inference_time), 3)
        }
        return body
    urls = _urls(job, base)
    body.update(status_url=urls["status_url"], response_url=urls["response_url"])
    body[contract.JOB_METRICS_KEY] = {}
    return body


def pending_body(job: MockJob, state: contract.JobState, base: str) -> dict[str, Any]:
    """The result endpoint before the job ends: its status body, with ``output: null``."""
    return {**status_body(job, state, base), contract.JOB_OUTPUT_KEY: None}


def failed_response(job: MockJob, status: int) -> MockResponse:
    """A FAILED job: its error and timings, no cost (nothing was billed)."""
    body = failed_job_body(job.error or "", job.request_id, metrics=timings(job))
    return json_response(status, body)


def completed_body(
    job: MockJob,
    settlement: Settlement,
    blobs: Sequence[bytes],
    *,
    base: str,
    with_images: bool,
) -> dict[str, Any]:
    """A COMPLETED result: ``output`` (the URL, or a list for several images; base64 strings
    when ``base64: true`` was sent), ``images[]`` for URLs (unless ``with_images`` is off),
    the seed as a string, and metrics with the cost and the balance right after billing."""
    assert job.request is not None
    assert settlement.remaining_micros is not None
    if job.image_ids:
        outputs = [image_url(base, image_id) for image_id in job.image_ids]
    else:
        outputs = [base64.b64encode(blob).decode("ascii") for blob in blobs]
    metrics = {
        contract.METRIC_COST: job.cost_micros / MICROS_PER_USD,
        contract.METRIC_REMAINING_CREDITS: settlement.remaining_micros / MICROS_PER_USD,
        **timings(job),
    }
    body: dict[str, Any] = {
        contract.JOB_STATUS_KEY: "COMPLETED",
        "request_id": job.request_id,
        contract.JOB_ERROR_KEY: None,
        contract.JOB_OUTPUT_KEY: outputs[0] if len(outputs) == 1 else outputs,
    }
    if job.image_ids and with_images:
        body[contract.JOB_IMAGES_KEY] = [
            _image_entry(url, image_id, blob)
            for url, image_id, blob in zip(outputs, job.image_ids, blobs, strict=True)
        ]
    body[contract.JOB_SEED_KEY] = str(job.request.seed)
    body[contract.JOB_METRICS_KEY] = metrics
    return body


def _image_entry(url: str, image_id: str, blob: bytes) -> dict[str, Any]:
    return {
        "url": url,
        "content_type": IMAGE_CONTENT_TYPE,
        "file_name": image_id + IMAGE_SUFFIX,
        "file_size": len(blob),
    }


def job_not_found(request_id: str) -> MockResponse:
    """404 ``{"error": "Request <id> not found"}``: an unknown id, or one whose hour is over."""
    shown = request_id if len(request_id) <= _QUOTED_ID else request_id[: _QUOTED_ID - 1] + "…"
    return error_response(404, contract.message("404-job-expired").replace(_ZERO_ID, shown))
