"""The mock's rules as pure functions: each returns the refusal, or ``None`` to go on.

The documented check order for ``POST /v1/sdxl1.0-realdream-lightning`` (see :data:`CHECK_ORDER`)
is applied by :class:`realdream.mock.MockService`; each step lives here and is testable alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Final

from realdream import GenerationRequest, ValidationError, contract, parse_json_object
from realdream.mock._config import MockConfig
from realdream.mock._http import JSON_TYPE, MockRequest, MockResponse, error_response, json_response

__all__ = [
    "CHECK_ORDER",
    "POLL_CHECK_ORDER",
    "SUBMIT_CHECK_ORDER",
    "check_auth",
    "check_content_type",
    "failed_job_body",
    "format_reset_at",
    "method_not_allowed",
    "not_found",
    "parse_generation",
    "rate_limited",
    "read_json_object",
    "refusal",
    "rule_response",
    "validate_generation",
]

#: The order in which a generation request is checked; the first failing step answers.
CHECK_ORDER: Final = (
    "X-Mock-Status header: forced status or case (debits nothing)",
    "400 body over 2 MiB (read no further)",
    "401 missing key",
    "401 unknown key",
    "403 forbidden key",
    "404 other /v1/<model> path",
    "405 wrong method (HTML body)",
    "scripted outcome for this key (service.script / POST /mock/script)",
    "406 missing or wrong Content-Type",
    "400 body not JSON, or a parameter outside the contract",
    "406 not enough credits (the cost is reserved here)",
    "429 over the rate limit",
    "injected fault 500/502/504 (fault_rate), then the latency",
    "200 image (credits debited)",
)

#: The order in which a v2 submit (``POST /v2/sdxl1.0-realdream-lightning``) is checked.
SUBMIT_CHECK_ORDER: Final = (
    "X-Mock-Status header: forced status or case (debits nothing)",
    "400 body over 2 MiB (read no further)",
    "401 missing key",
    "401 unknown key",
    "403 forbidden key",
    "404 other /v2/<model> path",
    "405 wrong method (HTML body)",
    "scripted outcome for this key (a v2 submit or poll takes the next entry)",
    "406 missing or wrong Content-Type",
    "400 body not one JSON object",
    "406 not enough credits (a valid request's cost is reserved here)",
    "429 over the rate limit",
    "injected fault 500/502/504 (fault_rate): no job",
    "200 QUEUED: the job is accepted; invalid parameters end it FAILED, unbilled",
)

#: The order in which a poll (``GET`` status, result or v1 poll URL) is checked.
POLL_CHECK_ORDER: Final = (
    "X-Mock-Status header: forced status or case",
    "400 body over 2 MiB (read no further)",
    "401 missing key",
    "401 unknown key",
    "403 forbidden key",
    "405 wrong method (HTML body)",
    "scripted outcome for this key",
    "429 over the rate limit (polls count against it)",
    "injected fault 500/502/504 (fault_rate)",
    "404 unknown id, another key's job, or past its result TTL",
    "200 QUEUED, PROCESSING or COMPLETED; FAILED with failed_status (422)",
)


_RATE_LIMITED: Final = contract.rules_for_status(429)[0]


def api_key_of(request: MockRequest) -> str:
    """The key the request carries (stripped), or ``""``."""
    return (request.header(contract.API_KEY_HEADER) or "").strip()


def rule_response(
    rule: contract.StatusRule, message: str, headers: Mapping[str, str] | None = None
) -> MockResponse:
    """The body of ``rule`` with ``message``, in the rule's shape (auth errors name a code)."""
    assert rule.status is not None
    if rule.body == "auth":
        code = rule.markers[0] if rule.markers else "unauthorized"
        body = {
            contract.ERROR_BODY_KEY: code,
            contract.ERROR_DESCRIPTION_KEY: message,
            "status_code": rule.status,
        }
        return json_response(rule.status, body, headers)
    if rule.body == "job":
        return json_response(rule.status, failed_job_body(message), headers)
    return error_response(rule.status, message, headers)


def failed_job_body(
    message: str, request_id: str | None = None, *, metrics: Mapping[str, float] | None = None
) -> dict[str, object]:
    """A FAILED v2 job: its error and timings (zeros unless given), no cost (nothing billed)."""
    timings = {
        contract.METRIC_INFERENCE_TIME: 0.0,
        contract.METRIC_QUEUE_TIME: 0.0,
        contract.METRIC_TOTAL_TIME: 0.0,
    }
    body: dict[str, object] = {
        contract.JOB_STATUS_KEY: "FAILED",
        contract.JOB_ERROR_KEY: message,
        contract.JOB_METRICS_KEY: {**timings, **(metrics or {})},
    }
    if request_id is not None:
        body["request_id"] = request_id
    return body


def refusal(case: str) -> MockResponse:
    """The documented answer of status-table case ``case``, with the table's own message."""
    rule = contract.rule_for_case(case)
    if rule is None or rule.message is None:
        raise KeyError(case)
    return rule_response(rule, rule.message)


def check_auth(request: MockRequest, config: MockConfig) -> MockResponse | None:
    """401 for a missing or unknown key, 403 for a forbidden one."""
    key = api_key_of(request)
    if not key:
        return refusal("401-missing-key")
    if key in config.forbidden_keys:
        return refusal("403")
    if key not in config.api_keys:
        return refusal("401")
    return None


def not_found() -> MockResponse:
    return refusal("404")


def method_not_allowed(allow: str) -> MockResponse:
    """405 with an HTML page, as the real service's proxy answers."""
    headers = {"content-type": "text/html; charset=utf-8", "allow": allow}
    return MockResponse(405, contract.METHOD_NOT_ALLOWED_HTML.encode(), headers)


def check_content_type(request: MockRequest) -> MockResponse | None:
    """406 unless the body is declared as ``application/json`` (parameters allowed)."""
    declared = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
    if declared == JSON_TYPE:
        return None
    return refusal("406-content-type")


def parse_generation(body: bytes) -> GenerationRequest | MockResponse:
    """The validated request, or 400 whose message is the core's ValidationError text."""
    checked = validate_generation(body)
    if isinstance(checked, ValidationError):
        return error_response(400, str(checked))
    return checked


def validate_generation(body: bytes) -> GenerationRequest | ValidationError:
    """The validated request, or the core's ValidationError (a v1 400, a v2 FAILED job)."""
    try:
        return GenerationRequest.from_json(body)
    except ValidationError as exc:
        return exc


def read_json_object(body: bytes) -> MockResponse | None:
    """400 unless the body is one JSON object (the core's text), else ``None``."""
    try:
        parse_json_object(body)
    except ValidationError as exc:
        return error_response(400, str(exc))
    return None


def format_reset_at(moment: float) -> str:
    """ISO 8601 UTC at whole seconds, rounded up: ``2026-11-25T16:00:00Z``."""
    when = datetime.fromtimestamp(math.ceil(moment), tz=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def rate_limited(reset_at: float, now: float) -> MockResponse:
    """429 with ``x-rate-limit-reset-at-utc`` and ``Retry-After`` (whole seconds, >= 1)."""
    wait = max(1, math.ceil(reset_at - now))
    headers = {
        contract.HEADER_RATE_LIMIT_RESET: format_reset_at(now + wait),
        contract.HEADER_RETRY_AFTER: str(wait),
    }
    return rule_response(_RATE_LIMITED, contract.message("429"), headers)
