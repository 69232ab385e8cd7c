"""The retry policy as pure decisions: what is retried, how long it waits, when it stops."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import realdream
from realdream._retry import RetryPolicy, RetryState, backoff_delay, server_wait
from realdream.testing.clock import SkipAheadClock


def _response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": f"status {status}"}, headers=headers)


@given(st.integers(0, 100), st.floats(0, 1, exclude_max=True))
def test_backoff_is_full_jitter_under_the_cap(attempt, fraction):
    policy = RetryPolicy()
    delay = backoff_delay(attempt, policy, lambda: fraction)
    ceiling = min(policy.max_backoff, policy.initial_backoff * 2**attempt)
    assert 0 <= delay <= ceiling


def test_server_wait_takes_the_longer_of_both_headers():
    assert server_wait({"retry-after": "2"}) == 2
    assert server_wait({"retry-after": "nan"}) is None
    assert server_wait({}) is None
    both = server_wait({"retry-after": "1", "x-rate-limit-reset-at-utc": "2999-01-01T00:00:00Z"})
    assert both is not None
    assert both > 1000


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses_wait_then_retry(status):
    state = RetryState(RetryPolicy(max_retries=1), rand=lambda: 0.5)
    assert state.after_response(_response(status)) == 0.25
    assert state.retries == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 406, 422])
def test_refusals_are_never_retried(status):
    state = RetryState(RetryPolicy(max_retries=5))
    with pytest.raises(realdream.APIStatusError) as info:
        state.after_response(_response(status))
    assert info.value.status_code == status
    assert state.retries == 0


def test_success_needs_no_retry():
    assert RetryState(RetryPolicy()).after_response(httpx.Response(200)) is None


def test_retry_after_header_sets_the_delay():
    state = RetryState(RetryPolicy(), rand=lambda: 0.0)
    assert state.after_response(_response(429, {"Retry-After": "3"})) == 3.0


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "-1"},
        {"Retry-After": "nan"},
        {"Retry-After": "soon"},
        {"Retry-After": "0"},
        {"Retry-After": "Wed, 01 Jan 2020 00:00:00 GMT"},
        {"x-rate-limit-reset-at-utc": "2020-01-01T00:00:00Z"},
        {"x-rate-limit-reset-at-utc": "garbage"},
    ],
    ids=["negative", "nan", "text", "zero", "past-date", "past-reset", "garbage-reset"],
)
def test_garbage_zero_or_past_waits_fall_back_to_backoff(headers):
    state = RetryState(RetryPolicy(), rand=lambda: 0.5)
    assert state.after_response(_response(429, headers)) == 0.25


def test_a_wait_beyond_the_cap_raises_at_once():
    state = RetryState(RetryPolicy(max_wait=10))
    with pytest.raises(realdream.RateLimitError, match="over the cap"):
        state.after_response(_response(429, {"Retry-After": "600"}))
    assert state.retries == 0


def test_retries_stop_at_max_retries_with_the_last_error():
    state = RetryState(RetryPolicy(max_retries=2), rand=lambda: 0.0)
    state.after_response(_response(502))
    state.after_response(_response(503))
    with pytest.raises(realdream.GatewayTimeoutError):
        state.after_response(_response(504))
    assert state.retries == 2


def test_max_retries_zero_disables_retries():
    with pytest.raises(realdream.InternalServerError):
        RetryState(RetryPolicy(max_retries=0)).after_response(_response(500))


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")]
)
def test_failures_before_sending_are_retried(exc):
    state = RetryState(RetryPolicy(), rand=lambda: 0.0)
    assert state.after_exception(exc) == 0.0


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout("late"), httpx.RemoteProtocolError("dropped"), httpx.ReadError("x")]
)
def test_failures_after_sending_are_not_retried_by_default(exc):
    with pytest.raises(realdream.APIConnectionError) as info:
        RetryState(RetryPolicy()).after_exception(exc)
    assert info.value.maybe_billed
    assert isinstance(info.value.__cause__, httpx.HTTPError)


def test_read_timeouts_are_retried_when_the_caller_opts_in():
    state = RetryState(RetryPolicy(retry_read_errors=True), rand=lambda: 0.0)
    assert state.after_exception(httpx.ReadTimeout("late")) == 0.0


def test_a_cause_carrying_the_key_is_chained_with_the_key_scrubbed():
    key = "SG_00112233445566aa"
    request = httpx.Request("POST", "https://api.example.test/v1/x", headers={"x-api-key": key})
    state = RetryState(RetryPolicy(max_retries=0), secret=key)
    with pytest.raises(realdream.APIConnectionError) as info:
        state.after_exception(httpx.ConnectError(f"refused for {key}", request=request))
    cause = info.value.__cause__
    assert isinstance(cause, httpx.ConnectError)
    assert key not in str(info.value)
    assert key not in str(cause)
    assert key not in repr(cause.args)
    assert cause.request.headers["x-api-key"] == realdream.REDACTED  # structured loggers walk it
    assert "api.example.test" in str(info.value)  # the message names the host it tried


def test_a_harmless_cause_is_kept_for_debugging():
    state = RetryState(RetryPolicy(max_retries=0), secret="SG_00112233445566aa")
    with pytest.raises(realdream.APIConnectionError) as info:
        state.after_exception(httpx.ConnectError("refused"))
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_a_read_timeout_becomes_an_api_timeout_error():
    with pytest.raises(realdream.APITimeoutError, match="after the request was sent"):
        RetryState(RetryPolicy()).after_exception(httpx.ReadTimeout("late"))


def test_the_deadline_stops_retries_that_would_overrun_it():
    clock = SkipAheadClock(frozen=True)
    state = RetryState(RetryPolicy(deadline=10), rand=lambda: 0.0, clock=clock)
    clock.advance(9.0)
    with pytest.raises(realdream.RateLimitError):
        state.after_response(_response(429, {"Retry-After": "5"}))


def test_the_deadline_shortens_each_attempts_timeout():
    clock = SkipAheadClock(frozen=True)
    state = RetryState(RetryPolicy(deadline=10), clock=clock)
    clock.advance(7.0)
    timeout = state.timeout(httpx.Timeout(connect=10, read=180, write=30, pool=30))
    assert timeout.read == pytest.approx(3.0)
    assert timeout.connect == pytest.approx(3.0)


@pytest.mark.parametrize("bad", [-1, True])
def test_policy_rejects_nonsense(bad):
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=bad)
