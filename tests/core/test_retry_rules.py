"""The money rules of retrying, pinned down one by one (mutation testing found them loose).

What may have been billed is never sent again unasked; each attempt's timeouts are the
configured ones cut to the deadline; an error answer whose body is lost keeps its headers and
its (scrubbed) cause; the boundaries sit where the docs say; and the words that tell a user
whether they paid are exact.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import realdream
from realdream._retry import RetryPolicy, RetryState, backoff_ceiling, backoff_delay
from realdream.testing.clock import SkipAheadClock
from tests.core.fakes import KEY, FakeServer

URL = "https://api.example.test:8443/v1/realdream-lightning"
REQUEST_ID = "req-7f3a"


def Clock(start: float = 5_000.25) -> SkipAheadClock:
    """The shipped clock, standing still at an arbitrary moment, as real ones never start at 0."""
    return SkipAheadClock(start, frozen=True)


def _request() -> httpx.Request:
    return httpx.Request("POST", URL, headers={"x-api-key": KEY})


def _status(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": f"status {status}"}, headers=headers)


# --- what may have been billed --------------------------------------------------------------

# (failure, error class, maybe billed, the words of its message after the host)
TRANSPORT_FAILURES = [
    (httpx.ConnectError, realdream.APIConnectionError, False, "Could not reach"),
    (httpx.ConnectTimeout, realdream.APITimeoutError, False, "before it was sent"),
    (httpx.PoolTimeout, realdream.APITimeoutError, False, "before it was sent"),
    (httpx.ReadTimeout, realdream.APITimeoutError, True, "after the request was sent"),
    (httpx.WriteTimeout, realdream.APITimeoutError, True, "after the request was sent"),
    (httpx.ReadError, realdream.APIConnectionError, True, "Could not reach"),
    (httpx.WriteError, realdream.APIConnectionError, True, "Could not reach"),
    (httpx.RemoteProtocolError, realdream.APIConnectionError, True, "Could not reach"),
]


@pytest.mark.parametrize(("failure", "error", "billed", "words"), TRANSPORT_FAILURES)
def test_a_transport_failure_says_whether_the_request_may_have_been_billed(
    failure, error, billed, words
):
    state = RetryState(RetryPolicy(max_retries=0))
    with pytest.raises(error) as info:
        state.after_exception(failure("cut off", request=_request()))
    assert type(info.value) is error
    assert info.value.maybe_billed is billed
    if error is realdream.APITimeoutError:
        expected = (
            f"Timed out talking to api.example.test:8443 {words} ({failure.__name__}: cut off)."
        )
    else:
        expected = f"Could not reach api.example.test:8443 ({failure.__name__}: cut off)."
    assert str(info.value) == expected


@pytest.mark.parametrize("failure", [httpx.WriteError, httpx.WriteTimeout])
def test_a_failed_write_may_have_been_received_so_it_is_not_retried_by_default(failure):
    state = RetryState(RetryPolicy(max_retries=5), rand=lambda: 0.0)
    with pytest.raises(realdream.APIConnectionError) as info:
        state.after_exception(failure("broken pipe"))
    assert info.value.maybe_billed
    assert state.retries == 0


@pytest.mark.parametrize("failure", [httpx.WriteError, httpx.WriteTimeout])
def test_a_failed_write_is_retried_only_when_the_caller_accepts_paying_twice(failure):
    state = RetryState(RetryPolicy(retry_read_errors=True), rand=lambda: 0.5)
    assert state.after_exception(failure("broken pipe")) == 0.25
    assert state.retries == 1


@pytest.mark.parametrize("failure", [httpx.WriteError, httpx.WriteTimeout])
def test_a_generate_whose_write_failed_is_sent_once_and_reported_as_maybe_billed(failure):
    server = FakeServer(replies=[failure("broken pipe")])
    client = realdream.Client(
        KEY, transport=httpx.MockTransport(server), sleep=SkipAheadClock(frozen=True).sleep
    )
    with pytest.raises(realdream.APIConnectionError) as info:
        client.generate("a lighthouse")
    assert len(server.requests) == 1
    assert info.value.maybe_billed


def test_a_failure_without_a_request_names_no_host_and_an_empty_one_says_no_detail():
    with pytest.raises(realdream.APIConnectionError) as info:
        RetryState(RetryPolicy(max_retries=0)).after_exception(httpx.ConnectError(""))
    assert str(info.value) == "Could not reach the server (ConnectError: no detail)."


def test_a_request_without_a_host_names_the_server():
    request = httpx.Request("POST", "/v1/x")
    with pytest.raises(realdream.APIConnectionError) as info:
        RetryState(RetryPolicy(max_retries=0)).after_exception(
            httpx.ConnectError("x", request=request)
        )
    assert str(info.value) == "Could not reach the server (ConnectError: x)."


def test_the_message_names_a_default_port_by_the_host_alone():
    request = httpx.Request("POST", "https://api.example.test/v1/x")
    with pytest.raises(realdream.APITimeoutError) as info:
        RetryState(RetryPolicy()).after_exception(httpx.ReadTimeout("late", request=request))
    assert str(info.value) == (
        "Timed out talking to api.example.test after the request was sent (ReadTimeout: late)."
    )


def test_each_retry_is_logged_with_its_reason_its_number_and_its_wait(caplog):
    state = RetryState(RetryPolicy(max_retries=3), rand=lambda: 0.5)
    with caplog.at_level(logging.WARNING, logger="realdream"):
        state.after_response(_status(503))
        state.after_exception(httpx.ConnectError("refused"))
    title = realdream.ServiceUnavailableError("x", status_code=503).title
    assert caplog.messages == [
        f"realdream: HTTP 503 {title}; retry 1/3 in 0.25s",
        "realdream: APIConnectionError; retry 2/3 in 0.50s",
    ]


# --- per-attempt timeouts -------------------------------------------------------------------

_TIMEOUT = st.none() | st.floats(0.01, 300)


@given(
    start=st.floats(1.0, 1e6),
    elapsed=st.floats(0, 200),
    deadline=st.floats(0.5, 200),
    connect=_TIMEOUT,
    read=_TIMEOUT,
    write=_TIMEOUT,
    pool=_TIMEOUT,
)
@example(start=1_000.0, elapsed=2.0, deadline=10.0, connect=1.0, read=2.0, write=3.0, pool=4.0)
@example(start=1_000.0, elapsed=9.0, deadline=10.0, connect=5.0, read=5.0, write=5.0, pool=5.0)
def test_each_configured_timeout_is_kept_or_cut_to_the_time_left(
    start, elapsed, deadline, connect, read, write, pool
):
    clock = Clock(start)
    state = RetryState(RetryPolicy(deadline=deadline), clock=clock)
    clock.advance(elapsed)
    configured = httpx.Timeout(connect=connect, read=read, write=write, pool=pool)
    used = state.timeout(configured)
    left = max(0.001, deadline - elapsed)
    for name, value in {"connect": connect, "read": read, "write": write, "pool": pool}.items():
        expected = left if value is None else min(value, left)
        assert getattr(used, name) == pytest.approx(expected, rel=1e-6, abs=1e-6), name


def test_without_a_deadline_the_configured_timeouts_are_used_as_they_are():
    configured = httpx.Timeout(connect=1.0, read=None, write=3.0, pool=None)
    assert RetryState(RetryPolicy(), clock=Clock()).timeout(configured) == configured


def test_past_the_deadline_an_attempt_gets_a_tiny_timeout_never_zero_or_none():
    clock = Clock()
    state = RetryState(RetryPolicy(deadline=5), clock=clock)
    clock.sleep(60)
    left = state.time_left()
    assert left is not None
    assert 0 < left <= 0.01
    used = state.timeout(httpx.Timeout(10.0))
    assert (used.connect, used.read, used.write, used.pool) == (left, left, left, left)


def test_every_attempt_a_client_sends_carries_the_timeouts_left_before_the_deadline():
    clock = Clock(start=86_400.5)
    server = FakeServer(replies=[_status(503, {"Retry-After": "7.5"})])
    client = realdream.Client(
        KEY,
        transport=httpx.MockTransport(server),
        timeout=httpx.Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0),
        retry=RetryPolicy(deadline=10),
        clock=clock,
        sleep=clock.sleep,
    )
    client.generate("a lighthouse", seed=1)
    used = [r.extensions["timeout"] for r in server.requests]
    assert used == [
        {"connect": 1.0, "read": 2.0, "write": 3.0, "pool": 4.0},
        {"connect": 1.0, "read": 2.0, "write": 2.5, "pool": 2.5},
    ]


# --- an error answer whose body is lost -----------------------------------------------------


def test_an_unreadable_retryable_answer_still_waits_as_its_headers_ask():
    state = RetryState(RetryPolicy(), rand=lambda: 0.5)
    response = httpx.Response(503, headers={"Retry-After": "3", "x-request-id": REQUEST_ID})
    assert state.after_unreadable(response, httpx.ReadError("dropped")) == 3.0
    assert state.retries == 1


@pytest.mark.parametrize(
    ("status", "policy", "error"),
    [
        (400, RetryPolicy(max_retries=5), realdream.BadRequestError),
        (503, RetryPolicy(max_retries=0), realdream.ServiceUnavailableError),
    ],
    ids=["refusal", "last-attempt"],
)
def test_an_unreadable_error_answer_keeps_its_headers_and_its_scrubbed_cause(status, policy, error):
    request = _request()
    cause = httpx.ReadError(f"dropped while {KEY} waited", request=request)
    response = httpx.Response(status, headers={"x-request-id": REQUEST_ID, "Retry-After": "1"})
    state = RetryState(policy, secret=KEY)
    with pytest.raises(error) as info:
        state.after_unreadable(response, cause)
    assert info.value.status_code == status
    assert info.value.request_id == REQUEST_ID
    assert info.value.body == b""
    assert info.value.message == "(empty response body)"
    assert info.value.__cause__ is cause
    assert request.headers["x-api-key"] == realdream.REDACTED
    assert str(cause) == f"dropped while {realdream.REDACTED} waited"
    assert state.retries == 0


def test_an_unreadable_200_is_billed_never_retried_and_says_so():
    request = _request()
    response = httpx.Response(200, headers={"x-request-id": REQUEST_ID})
    cause = httpx.ReadError(f"dropped {KEY}", request=request)
    state = RetryState(RetryPolicy(max_retries=5, retry_read_errors=True), secret=KEY)
    with pytest.raises(realdream.InvalidResponseError) as info:
        state.after_unreadable(response, cause)
    assert str(info.value) == (
        "The server answered 200 but its body could not be read (ReadError: dropped <api key>). "
        "It was billed; its request id is kept on this error."
    )
    assert info.value.billed
    assert info.value.maybe_billed
    assert info.value.request_id == REQUEST_ID
    assert info.value.__cause__ is cause
    assert request.headers["x-api-key"] == realdream.REDACTED
    assert state.retries == 0


@pytest.mark.parametrize("status", [201, 204, 299])
def test_an_unreadable_2xx_other_than_200_was_not_billed_and_does_not_say_it_was(status):
    response = httpx.Response(status, headers={"x-request-id": REQUEST_ID})
    with pytest.raises(realdream.InvalidResponseError) as info:
        RetryState(RetryPolicy(max_retries=5)).after_unreadable(response, httpx.ReadError(""))
    assert str(info.value) == (
        f"The server answered {status} but its body could not be read (ReadError: no detail)."
    )
    assert not info.value.maybe_billed
    assert info.value.status_code == status
    assert info.value.request_id == REQUEST_ID


def test_an_unreadable_300_is_a_redirect_error_not_an_unreadable_success():
    response = httpx.Response(300, headers={"location": "https://elsewhere.test/"})
    with pytest.raises(realdream.APIStatusError) as info:
        RetryState(RetryPolicy()).after_unreadable(response, httpx.ReadError("x"))
    assert not isinstance(info.value, realdream.InvalidResponseError)
    assert info.value.status_code == 300


# --- boundaries -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_every_2xx_is_an_answer_to_keep(status):
    assert RetryState(RetryPolicy()).after_response(httpx.Response(status)) is None


@pytest.mark.parametrize("status", [300, 301, 302, 307, 308])
def test_a_redirect_is_an_error_never_followed_nor_retried(status):
    response = httpx.Response(status, headers={"location": "https://elsewhere.test/"})
    state = RetryState(RetryPolicy(max_retries=5))
    with pytest.raises(realdream.APIStatusError, match="does not follow redirects") as info:
        state.after_response(response)
    assert info.value.status_code == status
    assert state.retries == 0


def test_a_server_wait_exactly_at_the_cap_is_honoured():
    state = RetryState(RetryPolicy(max_wait=10), rand=lambda: 0.5)
    assert state.after_response(_status(429, {"Retry-After": "10"})) == 10.0


def test_a_server_wait_just_over_the_cap_raises_at_once_naming_it():
    state = RetryState(RetryPolicy(max_wait=10))
    with pytest.raises(realdream.RateLimitError) as info:
        state.after_response(_status(429, {"Retry-After": "10.6"}))
    assert info.value.message == "status 429 (the server asks to wait 11s, over the cap)"
    assert state.retries == 0


def test_a_5xx_asking_for_a_wait_over_the_cap_raises_with_its_own_message():
    with pytest.raises(realdream.ServiceUnavailableError) as info:
        RetryState(RetryPolicy(max_wait=10)).after_response(_status(503, {"Retry-After": "60"}))
    assert info.value.message == "status 503"


def test_a_wait_that_ends_exactly_at_the_deadline_leaves_no_time_to_try_so_it_raises():
    clock = Clock()
    state = RetryState(RetryPolicy(deadline=10), clock=clock)
    clock.sleep(4)
    with pytest.raises(realdream.RateLimitError):
        state.after_response(_status(429, {"Retry-After": "6"}))
    assert state.retries == 0


def test_a_wait_that_ends_before_the_deadline_is_taken():
    clock = Clock()
    state = RetryState(RetryPolicy(deadline=10), clock=clock)
    clock.sleep(4)
    assert state.after_response(_status(429, {"Retry-After": "5.5"})) == 5.5


@given(start=st.floats(1.0, 1e6), elapsed=st.floats(0, 9.5))
def test_the_time_left_counts_from_the_state_s_own_start(start, elapsed):
    clock = Clock(start)
    state = RetryState(RetryPolicy(deadline=10), clock=clock)
    clock.advance(elapsed)
    assert state.time_left() == pytest.approx(10 - elapsed, abs=1e-6)


def test_a_state_without_a_deadline_has_no_time_left_to_count():
    assert RetryState(RetryPolicy(), clock=Clock()).time_left() is None


# --- the key never reaches an error ---------------------------------------------------------


def test_an_error_body_echoing_the_key_is_kept_with_the_key_replaced():
    response = httpx.Response(401, content=f'{{"error": "bad key {KEY}"}}'.encode())
    with pytest.raises(realdream.AuthenticationError) as info:
        RetryState(RetryPolicy(), secret=KEY).after_response(response)
    assert info.value.body == b'{"error": "bad key <api key>"}'
    assert info.value.message == "bad key <api key>"


def test_without_a_secret_an_error_body_is_kept_as_it_came():
    body = b'{"error": "bad key XXXX"}'  # nothing, not even a placeholder, is replaced
    with pytest.raises(realdream.AuthenticationError) as info:
        RetryState(RetryPolicy()).after_response(httpx.Response(401, content=body))
    assert info.value.body == body


def test_the_key_is_scrubbed_from_every_argument_of_the_cause_and_only_the_key():
    request = _request()
    request.headers["x-trace"] = "keep-me"
    cause = httpx.ConnectError(f"refused {KEY}", request=request)
    cause.args = (*cause.args, 7)
    with pytest.raises(realdream.APIConnectionError):
        RetryState(RetryPolicy(max_retries=0), secret=KEY).after_exception(cause)
    assert cause.args == ("refused <api key>", 7)
    assert request.headers["x-trace"] == "keep-me"
    assert request.headers["x-api-key"] == realdream.REDACTED


# --- the policy -----------------------------------------------------------------------------


@pytest.mark.parametrize("deadline", [0, 0.0, -1.5])
def test_a_deadline_must_leave_some_time(deadline):
    with pytest.raises(ValueError, match=r"^deadline=") as info:
        RetryPolicy(deadline=deadline)
    assert str(info.value) == f"deadline={deadline!r}: must be a number of seconds > 0"


@pytest.mark.parametrize("max_retries", [-1, True])
def test_max_retries_must_be_a_whole_count(max_retries):
    with pytest.raises(ValueError, match=r"^max_retries=") as info:
        RetryPolicy(max_retries=max_retries)
    assert str(info.value) == f"max_retries={max_retries!r}: must be an integer >= 0"


def test_the_smallest_policy_values_are_accepted():
    assert RetryPolicy(max_retries=0, deadline=0.001).deadline == 0.001


@given(
    attempt=st.integers(0, 200),
    initial=st.floats(0.01, 10),
    cap=st.floats(0.01, 1e12) | st.just(float("inf")),
    fraction=st.floats(0, 1, exclude_max=True),
)
@example(attempt=31, initial=1.0, cap=float("inf"), fraction=0.5)
def test_backoff_doubles_from_the_policy_s_start_up_to_its_cap(attempt, initial, cap, fraction):
    policy = RetryPolicy(initial_backoff=initial, max_backoff=cap)
    ceiling = min(cap, initial * 2.0 ** min(attempt, 30))  # doubling stops after 30 attempts
    assert policy.backoff_ceiling(attempt) == ceiling
    assert backoff_ceiling(attempt, policy) == ceiling
    assert backoff_delay(attempt, policy, lambda: fraction) == ceiling * fraction
