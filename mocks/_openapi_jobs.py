"""The v2 part of the OpenAPI document: submit, the three polls, the image host. Pure.

The submit takes the same parameters as v1 (``GenerationRequest``), but invalid ones are
accepted and the job ends FAILED: only a body that is not one JSON object is refused (400).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from realdream import contract
from realdream.mock._jobbodies import CDN_PREFIX, IMAGE_CONTENT_TYPE, IMAGE_SUFFIX
from realdream.mock._scenarios import FORCEABLE_STATUSES, JOB_FAILED

__all__ = ["IMAGE_OPERATION", "POLL_OPERATIONS", "SUBMIT_OPERATION", "job_paths", "job_schemas"]

SUBMIT_OPERATION: Final = "submitJob"
#: The operation ids of the status, result and v1 poll endpoints.
POLL_OPERATIONS: Final = ("getJobStatus", "getJobResult", "getJobV1Poll")
IMAGE_OPERATION: Final = "getImage"
IMAGE_PATH: Final = CDN_PREFIX + "{file_name}"

ErrorSpec = Callable[[int], dict[str, Any]]

_STRING: Final = {"type": "string"}
_NUMBER: Final = {"type": "number"}
_URL: Final = {"type": "string", "format": "uri"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def job_schemas() -> dict[str, Any]:
    """``JobSubmitted``, ``JobStatus``, ``JobResult``, ``FailedJob`` and ``ResultImage``."""
    names = (contract.METRIC_INFERENCE_TIME, contract.METRIC_QUEUE_TIME, contract.METRIC_TOTAL_TIME)
    timings = dict.fromkeys(names, _NUMBER)
    return {
        "JobSubmitted": {
            "type": "object",
            "properties": {
                "request_id": _STRING,
                contract.JOB_STATUS_KEY: {"const": "QUEUED"},
                "poll_url": _URL,
                "status_url": _URL,
                "response_url": _URL,
            },
            "required": list(contract.V2_SUBMIT_KEYS),
        },
        "JobStatus": {
            "type": "object",
            "description": "QUEUED and PROCESSING carry the poll URLs and empty metrics; "
            "COMPLETED its inference time; FAILED (when served with 200) its error.",
            "properties": {
                contract.JOB_STATUS_KEY: {"enum": list(contract.JOB_STATES)},
                "request_id": _STRING,
                "status_url": _URL,
                "response_url": _URL,
                contract.JOB_ERROR_KEY: {"type": ["string", "null"]},
                contract.JOB_OUTPUT_KEY: {"type": "null"},
                contract.JOB_METRICS_KEY: {"type": "object", "properties": timings},
            },
            "required": [contract.JOB_STATUS_KEY, contract.JOB_METRICS_KEY],
        },
        "JobResult": _result_schema(timings),
        "ResultImage": {
            "type": "object",
            "properties": {
                "url": _URL,
                "content_type": {"const": IMAGE_CONTENT_TYPE},
                "file_name": _STRING,
                "file_size": {"type": "integer", "minimum": 1},
            },
            "required": ["url", "content_type", "file_name", "file_size"],
        },
        "FailedJob": {
            "type": "object",
            "properties": {
                contract.JOB_STATUS_KEY: {"const": "FAILED"},
                contract.JOB_ERROR_KEY: _STRING,
                "request_id": _STRING,
                contract.JOB_METRICS_KEY: {"type": "object", "properties": timings},
            },
            "required": [contract.JOB_STATUS_KEY, contract.JOB_ERROR_KEY, contract.JOB_METRICS_KEY],
        },
    }


def _result_schema(timings: dict[str, Any]) -> dict[str, Any]:
    outputs = {"anyOf": [_STRING, {"type": "array", "items": _STRING, "minItems": 2}]}
    metrics = {
        "type": "object",
        "properties": {
            contract.METRIC_COST: _NUMBER,
            contract.METRIC_REMAINING_CREDITS: _NUMBER,
            **timings,
        },
        "required": [contract.METRIC_COST, contract.METRIC_REMAINING_CREDITS, *timings],
    }
    return {
        "type": "object",
        "description": "output: the image URL (a list for several samples), or base64 JPEG "
        "when base64: true was sent (then no images list).",
        "properties": {
            contract.JOB_STATUS_KEY: {"const": "COMPLETED"},
            "request_id": _STRING,
            contract.JOB_ERROR_KEY: {"type": "null"},
            contract.JOB_OUTPUT_KEY: outputs,
            contract.JOB_IMAGES_KEY: {"type": "array", "items": _ref("ResultImage"), "minItems": 1},
            contract.JOB_SEED_KEY: {"type": "string", "pattern": "^[0-9]+$"},
            contract.JOB_METRICS_KEY: metrics,
        },
        "required": [
            contract.JOB_STATUS_KEY,
            contract.JOB_OUTPUT_KEY,
            contract.JOB_SEED_KEY,
            contract.JOB_METRICS_KEY,
        ],
    }


def job_paths(errors: ErrorSpec) -> dict[str, Any]:
    """The v2 paths; ``errors(status)`` is the document's response for an error status."""
    polls = zip(
        POLL_OPERATIONS,
        (contract.V2_STATUS_PATH, contract.V2_RESULT_PATH, contract.V1_POLL_PATH),
        strict=True,
    )
    paths: dict[str, Any] = {contract.V2_SUBMIT_PATH: {"post": _submit(errors)}}
    for operation_id, template in polls:
        paths[template] = {"get": _poll(operation_id, errors)}
    paths[IMAGE_PATH] = {"get": _image()}
    return paths


def _submit(errors: ErrorSpec) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "Queued: poll status_url, then fetch response_url.",
            "content": {"application/json": {"schema": _ref("JobSubmitted")}},
            "links": {
                operation_id: {
                    "operationId": operation_id,
                    "parameters": {"request_id": "$response.body#/request_id"},
                }
                for operation_id in POLL_OPERATIONS
            },
        }
    }
    responses.update({str(status): errors(status) for status in FORCEABLE_STATUSES})
    return {
        "operationId": SUBMIT_OPERATION,
        "summary": f"Queue a {contract.MODEL_NAME} job (v2)",
        "description": (
            "The parameters of the v1 endpoint. Invalid ones are accepted: the job ends FAILED "
            "with the validation message, unbilled; only a body that is not one JSON object is "
            f"refused (400). Script entry {JOB_FAILED!r} makes a valid job fail at run time. "
            "Billed once, when the job completes."
        ),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("GenerationRequest")}},
        },
        "responses": responses,
    }


def _poll(operation_id: str, errors: ErrorSpec) -> dict[str, Any]:
    schema = _ref("JobStatus") if operation_id == "getJobStatus" else _result_or_status()
    responses: dict[str, Any] = {
        "200": {
            "description": "The job's state (QUEUED, PROCESSING, COMPLETED; FAILED when the "
            "mock serves it with 200).",
            "content": {"application/json": {"schema": schema}},
        }
    }
    responses.update({str(status): errors(status) for status in FORCEABLE_STATUSES})
    responses["422"]["content"]["application/json"]["schema"] = {
        "anyOf": [_ref("FailedJob"), _ref("Error")]
    }
    responses["422"]["description"] += " A FAILED job: its error, no cost."
    responses["404"]["description"] += " An unknown id, or one past its result TTL."
    return {
        "operationId": operation_id,
        "summary": _POLL_SUMMARIES[operation_id],
        "parameters": [
            {"name": "request_id", "in": "path", "required": True, "schema": _STRING},
        ],
        "responses": responses,
    }


_POLL_SUMMARIES: Final = {
    "getJobStatus": "A job's status and metrics (no output)",
    "getJobResult": "A job's full result (output, images, seed, metrics)",
    "getJobV1Poll": "The v1 poll URL: the mock answers as the result endpoint",
}


def _result_or_status() -> dict[str, Any]:
    return {"anyOf": [_ref("JobResult"), _ref("JobStatus")]}


def _image() -> dict[str, Any]:
    return {
        "operationId": IMAGE_OPERATION,
        "summary": "A generated image on the image host (public: no key)",
        "security": [],
        "parameters": [
            {
                "name": "file_name",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": f"^[0-9a-f]{{32}}\\{IMAGE_SUFFIX}$"},
            }
        ],
        "responses": {
            "200": {
                "description": "The JPEG.",
                "content": {IMAGE_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            },
            "404": {
                "description": "No such file (or past the image host's 7 days).",
                "content": {"application/json": {"schema": _ref("Error")}},
            },
        },
    }
