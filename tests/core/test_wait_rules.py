"""The v2 wait's rules, pinned down one by one (mutation testing found them loose): which
failures a wait tries again, how long it pauses and never past its deadline, how the back-off
grows and starts afresh, what it logs, what its timeout says about billing, and where the
first poll goes. :class:`Patience`, :class:`PollSchedule` and :class:`Durations` are pure, so
they are driven here directly on the shipped frozen clock."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import re

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import realdream
from realdream import contract
from realdream._errors import error_for_status
from realdream._jobs import AsyncJob, Job, JobStatus
from realdream._policy import RetryPolicy
from realdream._polling import (
    FIRST_INTERVAL,
    MAX_INTERVAL,
    MIN_RETRY_DELAY,
    Durations,
    Patience,
    PollSchedule,
    is_transient,
)
from realdream.testing.clock import SkipAheadClock

REQUEST_ID = "req-7f3a"
#: The back-off draws half its ceiling: 0.25 s, 0.5 s, 1 s, ... with the default policy.
HALF = 0.5


def _job(request: realdream.GenerationRequest | None = None) -> Job:
    base = f"https://api.example.test/v2/requests/{REQUEST_ID}"
    return Job(REQUEST_ID, f"{base}/status", base, request=request)


def _patience(
    clock: SkipAheadClock,
    timeout: float | None = 30.0,
    *,
    job: Job | None = None,
    rand: float = HALF,
    on_status: list[JobStatus] | None = None,
    policy: RetryPolicy | None = None,
) -> Patience:
    return Patience(
        job or _job(),
        timeout=timeout,
        deadline=None if timeout is None else clock() + timeout,
        policy=policy or RetryPolicy(),
        clock=clock,
        rand=lambda: rand,
        on_status=None if on_status is None else on_status.append,
    )


def _status(code: int, headers: dict[str, str] | None = None) -> realdream.APIStatusError:
    return error_for_status(code, b'{"error": "injected"}', headers or {})


def _caused(error: realdream.RealDreamError, cause: BaseException) -> realdream.RealDreamError:
    error.__cause__ = cause
    return error


# --- which failures a wait tries again -----------------------------------------------------------
@pytest.mark.parametrize("code", [429, 500, 502, 503, 504])
def test_a_429_or_a_5xx_is_transient(code: int) -> None:
    assert is_transient(_status(code))


@pytest.mark.parametrize("code", [400, 401, 403, 404, 406, 422])
def test_a_final_answer_is_not_transient(code: int) -> None:
    assert not is_transient(_status(code))


def test_a_connection_that_failed_is_transient_unless_the_url_cannot_be_sent_at_all() -> None:
    refused = _caused(realdream.APIConnectionError("refused"), httpx.ConnectError("refused"))
    timed_out = _caused(realdream.APITimeoutError("slow"), httpx.ReadTimeout("slow"))
    assert is_transient(refused)
    assert is_transient(timed_out)
    bad_scheme = _caused(realdream.APIConnectionError("x"), httpx.UnsupportedProtocol("ftp"))
    assert not is_transient(bad_scheme)


def test_a_body_cut_off_in_transit_is_transient_but_an_unreadable_one_is_not() -> None:
    cut = realdream.InvalidResponseError("cut", status_code=200)
    assert is_transient(_caused(cut, httpx.ReadError("reset")))
    garbled = realdream.InvalidResponseError("garbled", status_code=200)
    assert not is_transient(garbled)
    assert not is_transient(_caused(garbled, ValueError("not json")))


@pytest.mark.parametrize(
    "error",
    [
        realdream.ValidationError([("prompt", "must not be blank")]),
        realdream.ConfigurationError("timeout=0: must be > 0"),
        realdream.RealDreamError("anything else"),
    ],
)
def test_an_error_that_is_neither_an_answer_nor_a_connection_is_not_transient(
    error: realdream.RealDreamError,
) -> None:
    assert not is_transient(error)


def test_a_final_answer_is_handed_back_untouched_and_costs_no_retry() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock)
    assert patience.retry_delay(_status(401)) is None
    assert patience.job.retries == 0


# --- the back-off ---------------------------------------------------------------------------------
def test_each_failure_in_a_row_doubles_the_pause_and_counts_a_retry() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock)
    delays = [patience.retry_delay(_status(502)) for _ in range(4)]
    assert delays == [0.25, 0.5, 1.0, 2.0]
    assert patience.job.retries == 4


def test_a_status_read_starts_the_back_off_afresh_and_retries_keep_counting() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock)
    assert [patience.retry_delay(_status(503)) for _ in range(3)] == [0.25, 0.5, 1.0]
    patience.seen(JobStatus("PROCESSING", REQUEST_ID))
    assert [patience.retry_delay(_status(503)) for _ in range(2)] == [0.25, 0.5]
    assert patience.job.retries == 5


def test_the_pause_is_never_shorter_than_the_floor() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock, rand=0.0)
    assert patience.retry_delay(_status(500)) == MIN_RETRY_DELAY


def test_the_back_off_follows_the_clients_policy() -> None:
    clock = SkipAheadClock(frozen=True)
    policy = RetryPolicy(max_retries=0, initial_backoff=2.0, max_backoff=3.0)
    patience = _patience(clock, rand=1.0, policy=policy)
    assert [patience.retry_delay(_status(502)) for _ in range(3)] == [2.0, 3.0, 3.0]


def test_each_request_of_the_wait_is_sent_without_retries_of_its_own() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock, policy=RetryPolicy(max_retries=5, initial_backoff=1.5))
    assert patience.policy.max_retries == 0
    assert patience.policy.initial_backoff == 1.5


def test_a_429_is_waited_out_for_as_long_as_it_asks_not_the_back_off() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock, timeout=None)
    assert patience.retry_delay(_status(429, {"retry-after": "7"})) == 7.0
    assert patience.retry_delay(_status(429, {"retry-after": "0"})) == 0.5  # 0: back off
    # a job is forgotten after its hour: no wait asked for is taken as longer
    assert patience.retry_delay(_status(429, {"retry-after": "99999"})) == contract.RESULT_TTL_S


# --- the deadline ---------------------------------------------------------------------------------
def test_without_a_timeout_there_is_no_deadline_and_every_pause_is_as_asked() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock, timeout=None)
    clock.advance(10 * contract.RESULT_TTL_S)
    assert patience.left() is None
    assert not patience.expired()
    assert patience.until_poll(4.5) == 4.5
    assert patience.retry_delay(_status(502)) == 0.25


def test_time_left_counts_down_on_the_clock_and_expires_at_zero() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock, timeout=30.0)
    assert patience.left() == 30.0
    clock.advance(29.5)
    assert patience.left() == 0.5
    assert not patience.expired()
    assert patience.until_poll(4.0) == 0.5  # never past the deadline
    assert patience.until_poll(0.25) == 0.25
    clock.advance(0.5)
    assert patience.expired()
    clock.advance(5.0)
    assert patience.until_poll(4.0) == 0.0  # past it: no pause at all


def test_a_pause_shortly_before_the_deadline_is_cut_to_it_not_refused() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock, timeout=30.0)
    assert [patience.retry_delay(_status(502)) for _ in range(2)] == [0.25, 0.5]
    clock.advance(29.5)
    assert patience.retry_delay(_status(502)) == 0.5  # back-off 1 s, 0.5 s left
    clock.advance(0.25)
    assert patience.retry_delay(_status(502)) == 0.25


def test_a_wait_asked_for_that_ends_exactly_at_the_deadline_is_taken() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock, timeout=10.0)
    assert patience.retry_delay(_status(429, {"retry-after": "10"})) == 10.0


def test_a_wait_asked_for_past_the_deadline_ends_the_wait_at_once() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock, timeout=10.0)
    asked = _status(429, {"retry-after": "11"})
    with pytest.raises(realdream.JobTimeoutError) as info:
        patience.retry_delay(asked)
    assert info.value.__cause__ is asked
    assert patience.job.retries == 0


def test_a_failure_at_the_deadline_ends_the_wait_carrying_it() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock, timeout=10.0)
    clock.advance(10.0)
    failure = _status(503)
    with pytest.raises(realdream.JobTimeoutError) as info:
        patience.retry_delay(failure)
    assert info.value.__cause__ is failure
    assert info.value.state == "QUEUED"


# --- what the wait says while it goes on ----------------------------------------------------------
def test_the_first_failure_of_a_streak_is_a_warning_the_rest_are_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock)
    connection = _caused(realdream.APIConnectionError("reset"), httpx.ReadError("reset"))
    with caplog.at_level(logging.INFO, logger="realdream"):
        patience.retry_delay(_status(502))
        patience.retry_delay(connection)
        patience.seen(JobStatus("PROCESSING", REQUEST_ID))
        patience.retry_delay(_status(429, {"retry-after": "3"}))
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.WARNING,
            f"realdream: job {REQUEST_ID}: HTTP 502 Bad gateway; the wait goes on, try 2 in 0.25s",
        ),
        (
            logging.INFO,
            f"realdream: job {REQUEST_ID}: APIConnectionError; the wait goes on, try 3 in 0.50s",
        ),
        (
            logging.WARNING,
            f"realdream: job {REQUEST_ID}: HTTP 429 Rate limited; the wait goes on, try 2 in 3.00s",
        ),
    ]


def test_progress_gets_the_last_status_read_with_the_failure_set() -> None:
    clock = SkipAheadClock(frozen=True)
    seen: list[JobStatus] = []
    patience = _patience(clock, on_status=seen)
    first = _status(502)
    patience.retry_delay(first)
    processing = JobStatus("PROCESSING", REQUEST_ID, metrics={"queue_time": 0.2})
    patience.seen(processing)
    second = _status(504)
    patience.retry_delay(second)
    assert [(s.state, s.request_id, s.transient) for s in seen] == [
        ("QUEUED", REQUEST_ID, first),
        ("PROCESSING", REQUEST_ID, None),
        ("PROCESSING", REQUEST_ID, second),
    ]
    assert seen[2].metrics == {"queue_time": 0.2}
    assert patience.status is processing


# --- what a timeout says -------------------------------------------------------------------------
def test_a_timeout_before_completion_says_the_job_goes_on_and_how_to_resume_it() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock, timeout=30.0)
    patience.seen(JobStatus("PROCESSING", REQUEST_ID))
    assert str(patience.timed_out()) == (
        f"Job {REQUEST_ID} is still PROCESSING after 30 s; it goes on running on the server: "
        "wait on it again, or resume it later with client.job(request_id)."
    )


def test_a_timeout_with_no_status_read_counts_the_job_as_queued() -> None:
    clock = SkipAheadClock(frozen=True)
    error = _patience(clock, timeout=2.5).timed_out(_status(502))
    assert error.state == "QUEUED"
    assert str(error) == (
        f"Job {REQUEST_ID} is still QUEUED after 2.5 s; the service kept answering with errors "
        "(HTTP 502 Bad gateway); it goes on running on the server: wait on it again, or resume "
        "it later with client.job(request_id)."
    )


def test_a_timeout_after_completion_says_it_was_billed_and_how_to_collect_it() -> None:
    clock = SkipAheadClock(frozen=True)
    patience = _patience(clock, timeout=45.0)
    patience.seen(JobStatus("COMPLETED", REQUEST_ID))
    assert str(patience.timed_out()) == (
        f"Job {REQUEST_ID} completed (and was billed), but its result could not be fetched "
        "within 45 s (the result was not ready yet); collect it within the hour with "
        "client.job(request_id).result()."
    )
    lost = _caused(realdream.APITimeoutError("slow"), httpx.ReadTimeout("slow"))
    assert str(patience.timed_out(lost)) == (
        f"Job {REQUEST_ID} completed (and was billed), but its result could not be fetched "
        "within 45 s (last error: APITimeoutError); collect it within the hour with "
        "client.job(request_id).result()."
    )


def test_a_timeout_carries_the_job_its_request_and_maybe_billed() -> None:
    clock = SkipAheadClock(frozen=True)
    request = realdream.GenerationRequest(prompt="a lighthouse", seed=9)
    job = _job(request)
    error = _patience(clock, job=job).timed_out()
    assert error.job is job
    assert error.request is request
    assert error.maybe_billed


# --- where the polls go ---------------------------------------------------------------------------
def test_the_first_poll_is_due_at_the_expected_finish_then_polls_back_off_to_the_cap() -> None:
    start = 1_000.0
    schedule = PollSchedule(start, 3.0)
    now, delays = start, []
    for _ in range(12):
        delay = schedule.delay(now)
        delays.append(delay)
        now += delay
    assert delays[0] == 3.0
    assert delays[1:4] == pytest.approx([FIRST_INTERVAL, 0.3, 0.45])
    assert delays[-1] == MAX_INTERVAL
    assert all(b >= a for a, b in itertools.pairwise(delays[1:]))


def test_a_poll_that_comes_late_moves_the_next_one_on_from_then() -> None:
    schedule = PollSchedule(100.0, 2.0)
    assert schedule.delay(110.0) == 0.0  # already due
    assert schedule.delay(110.0) == pytest.approx(FIRST_INTERVAL)


def test_a_negative_expected_time_polls_at_once() -> None:
    assert PollSchedule(50.0, -5.0).delay(50.0) == 0.0


# --- how long jobs take -------------------------------------------------------------------------
def test_with_no_job_measured_the_first_poll_goes_at_the_default() -> None:
    assert Durations().expected() == contract.ADVERTISED_LATENCY_S
    assert Durations(default=4.5).expected() == 4.5


@pytest.mark.parametrize("seconds", [0.0, -1.0, -0.5, math.nan, math.inf, -math.inf, 3600.5])
def test_a_duration_that_cannot_be_true_is_not_kept(seconds: float) -> None:
    durations = Durations(default=4.5)
    durations.add(seconds)
    assert durations.expected() == 4.5


@pytest.mark.parametrize("seconds", [0.5, 1.0, contract.RESULT_TTL_S])
def test_any_duration_within_the_hour_is_kept(seconds: float) -> None:
    durations = Durations(default=4.5)
    durations.add(seconds)
    assert durations.expected() == seconds


def test_the_expected_time_is_the_median_of_the_last_thirty_two() -> None:
    durations = Durations()
    for _ in range(17):
        durations.add(1.0)
    for _ in range(16):
        durations.add(100.0)
    # the oldest of 33 has gone: sixteen of each, and the median falls between them
    assert durations.expected() == 50.5
    durations.add(100.0)
    assert durations.expected() == 100.0


@given(st.lists(st.floats(0.01, 3600.0), min_size=1, max_size=40))
def test_the_expected_time_lies_within_what_was_measured(seen: list[float]) -> None:
    durations = Durations(default=-1.0)
    for seconds in seen:
        durations.add(seconds)
    kept = seen[-32:]
    assert min(kept) <= durations.expected() <= max(kept)


# --- a job with no client -------------------------------------------------------------------------
def test_a_job_without_a_client_says_so() -> None:
    with pytest.raises(RuntimeError, match=r"^this job has no client$"):
        _job().status()
    base = f"https://api.example.test/v2/requests/{REQUEST_ID}"
    orphan = AsyncJob(REQUEST_ID, f"{base}/status", base)
    with pytest.raises(RuntimeError, match=r"^this job has no client$"):
        asyncio.run(orphan.result())


def test_a_job_shows_its_kind_and_its_id_and_nothing_else() -> None:
    base = f"https://api.example.test/v2/requests/{REQUEST_ID}"
    assert repr(_job()) == f"Job(request_id={REQUEST_ID!r})"
    assert repr(AsyncJob(REQUEST_ID, base, base)) == f"AsyncJob(request_id={REQUEST_ID!r})"
    assert re.fullmatch(r"\w+\(request_id='[^']+'\)", repr(_job()))
