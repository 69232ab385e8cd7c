"""What the v2 job endpoints answer, read once: a status, a result's images, its metrics.

Pure functions over parsed bodies; the clients send, and call these to read the answers.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

from realdream import contract
from realdream._errors import GenerationFailedError, InvalidResponseError, ValidationError
from realdream._headers import reported_amount, reported_seed
from realdream._jobs import JobStatus, Output, _JobBase
from realdream._params import GenerationRequest, parse_json_object
from realdream._result import GeneratedImage, GenerationResult, image_size, sniff_mime_type

__all__ = [
    "PENDING_STATES",
    "build_result",
    "failed_error",
    "job_outputs",
    "metric",
    "parse_job_body",
    "result_seed",
    "status_of",
]

#: The states of a job that has not finished.
PENDING_STATES: Final = frozenset(contract.JOB_STATES) - contract.TERMINAL_STATES
_FAILED_RULE: Final = next(r for r in contract.STATUS_TABLE if r.error == "GenerationFailedError")


def parse_job_body(body: bytes, status_code: int, headers: Mapping[str, str]) -> dict[str, Any]:
    """A job body as a dict, or an :class:`InvalidResponseError` naming what was wrong."""
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
    """The seed the result reports (a string, REPORTED), when it is a whole number in range."""
    return reported_seed(data.get(contract.JOB_SEED_KEY))


def metric(metrics: Mapping[str, Any], name: str) -> float | None:
    """A metric that is a price, balance or duration; ``None`` when absent or impossible."""
    return reported_amount(metrics.get(name), field=f"metrics.{name}")


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
