"""Every documented status maps to its own class, keeping message, body and headers."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import realdream
from realdream import (
    APIStatusError,
    InsufficientCreditsError,
    ServerError,
    UnsupportedContentTypeError,
    contract,
    error_for_status,
)

EXPECTED = {
    400: realdream.BadRequestError,
    401: realdream.AuthenticationError,
    403: realdream.PermissionDeniedError,
    404: realdream.NotFoundError,
    405: realdream.MethodNotAllowedError,
    406: realdream.InsufficientCreditsError,
    422: realdream.UnprocessableEntityError,
    429: realdream.RateLimitError,
    500: realdream.InternalServerError,
    502: realdream.BadGatewayError,
    503: realdream.ServiceUnavailableError,
    504: realdream.GatewayTimeoutError,
}


def test_every_documented_status_has_its_own_class():
    assert set(contract.DOCUMENTED_STATUSES) <= set(realdream.STATUS_ERRORS)
    classes = [realdream.STATUS_ERRORS[code] for code in contract.DOCUMENTED_STATUSES]
    assert len(set(classes)) == len(classes)


@pytest.mark.parametrize(("status", "cls"), sorted(EXPECTED.items()), ids=str)
def test_status_maps_to_class_keeping_message_body_and_headers(status, cls):
    body = json.dumps({"error": f"problem {status}"}).encode()
    headers = {"Content-Type": "application/json", "X-Request-Id": "req-7"}
    error = error_for_status(status, body, headers)
    assert type(error) is cls
    assert error.status_code == status
    assert error.message == f"problem {status}"
    assert error.body == body
    assert error.headers["x-request-id"] == "req-7"
    assert error.request_id == "req-7"
    assert f"({status})" in str(error)
    assert error.title in str(error)


@given(st.integers(400, 599), st.binary(max_size=40))
def test_any_error_status_maps_to_the_nearest_class(status, body):
    error = error_for_status(status, body, {})
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert error.body == body
    if status in realdream.STATUS_ERRORS and status != 406:
        assert type(error) is realdream.STATUS_ERRORS[status]
    elif status >= 500:
        assert isinstance(error, ServerError)
    assert str(error)


@pytest.mark.parametrize(
    ("message", "cls"),
    [
        (contract.message("406"), InsufficientCreditsError),
        (contract.message("406-content-type"), UnsupportedContentTypeError),
        ("Content type must be application/json", UnsupportedContentTypeError),
        ("Not enough credits", InsufficientCreditsError),
        ("something new", InsufficientCreditsError),
    ],
)
def test_406_is_told_apart_by_its_message(message, cls):
    error = error_for_status(406, json.dumps({"error": message}).encode())
    assert type(error) is cls
    assert isinstance(error, realdream.NotAcceptableError)


def test_405_html_body_becomes_a_readable_message():
    page = b"<html><head><title>405 Not Allowed</title></head><body><h1>405</h1></body></html>"
    error = error_for_status(405, page, {"content-type": "text/html"})
    assert type(error) is realdream.MethodNotAllowedError
    assert error.message == "405 Not Allowed"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"error": "Missing Authorization or x-api-key in header"}',
            "Missing Authorization or x-api-key in header",
        ),
        (b'{"message": "from message"}', "from message"),
        (b"plain text failure", "plain text failure"),
        (b"", "(empty response body)"),
        (b'{"error": 5}', '{"error": 5}'),
    ],
)
def test_error_message_is_parsed_from_json_then_text(body, message):
    assert realdream.error_for_status(400, body).message == message


def test_rate_limit_error_reads_its_reset_time_and_wait():
    error = error_for_status(
        429,
        b'{"error": "slow down"}',
        {"x-rate-limit-reset-at-utc": "2999-01-01T00:00:00Z", "Retry-After": "7"},
    )
    assert isinstance(error, realdream.RateLimitError)
    assert error.reset_at is not None
    assert error.reset_at.year == 2999
    assert error.retry_after is not None
    assert error.retry_after > 7


def test_rate_limit_error_without_headers_knows_nothing():
    error = error_for_status(429, b"{}")
    assert isinstance(error, realdream.RateLimitError)
    assert error.reset_at is None
    assert error.retry_after is None


def test_a_long_body_is_shortened_in_the_message_but_kept_whole():
    body = b"x" * 5000
    error = error_for_status(500, body)
    assert len(error.message) <= 500
    assert error.body == body


def test_tree_is_split_by_whether_a_response_arrived():
    assert issubclass(realdream.APITimeoutError, realdream.APIConnectionError)
    assert not issubclass(realdream.APIConnectionError, realdream.APIResponseError)
    assert issubclass(APIStatusError, realdream.APIResponseError)
    assert issubclass(realdream.InvalidResponseError, realdream.APIResponseError)
    for cls in [*EXPECTED.values(), realdream.ConfigurationError, realdream.ValidationError]:
        assert issubclass(cls, realdream.RealDreamError)
