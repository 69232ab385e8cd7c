"""The demo on v2: the handler submits a job and follows it with the core's ``Job.wait``,
showing each state it reads; on the app's key the guard settles a completed job with its cost,
releases a FAILED one and counts one it stopped waiting for as spent. The mock and the handler
share one frozen clock, so a job's states follow the schedule exactly and nothing really waits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import realdream
import realdream.mock as mocks
from demo import API_ENV, Backend, Handlers
from demo._backend import api_from_env
from demo._jobs import describe
from realdream.contract import cost
from realdream.testing.clock import SkipAheadClock
from tests.demo.v2_apps import (
    Progress,
    form,
    offline_v2,
    on_apps_key,
    refused,
    spent,
    status_requests,
)

PRICE = cost(1)


@pytest.fixture
def clock() -> SkipAheadClock:
    return SkipAheadClock(frozen=True)


# --- the progress text ------------------------------------------------------------------------


def test_the_progress_shows_each_state_of_the_job_in_order(
    clock: SkipAheadClock, tmp_path: Path
) -> None:
    handlers, service = offline_v2(clock, tmp_path, queue_time=2.0, latency=1.0)
    progress = Progress()
    out = handlers.generate(**form(samples=2.0), progress=progress)
    assert progress.words() == [
        "Sending the request (2 images)",
        "Submitting the job",
        "Submitted, waiting for its state",
        "Queued",
        "Processing",
        "Completed, downloading the images",
    ]
    assert len(out.files) == 2
    assert out.details["api"] == "v2"
    assert service.stats.jobs == 1  # the images came from a job on the queue, not from v1


def test_the_progress_shows_the_seconds_since_the_submit(
    clock: SkipAheadClock, tmp_path: Path
) -> None:
    handlers, _ = offline_v2(clock, tmp_path, queue_time=4.0, latency=2.0)
    progress = Progress()
    out = handlers.generate(**form(), progress=progress)
    polls = _poll_moments(clock)
    assert polls[0] == pytest.approx(2.0)  # the first poll at the route's expected finish
    shown = [text for text in progress.texts() if text.startswith("Processing")]
    first_processing = next(at for at in polls if at >= 4.0)  # it leaves the queue at 4 s
    assert shown[0] == f"Processing… {first_processing:.0f} s"
    noticed = next(at for at in polls if at >= 6.0)  # 4 s queued + 2 s running
    assert polls[-1] == noticed  # no poll after the one that found it completed
    assert out.details["elapsed_s"] == round(noticed, 3)  # details round to milliseconds
    fractions = [fraction for fraction, _ in progress.calls if fraction is not None]
    assert fractions == sorted(fractions)
    assert max(fractions) < 1.0


@pytest.mark.parametrize("route", ["offline", "apps-key"])
def test_a_3_s_job_costs_one_status_request(
    clock: SkipAheadClock, tmp_path: Path, route: str
) -> None:
    """One poller (issue 20): the core's wait polls once, near the expected finish; the demo
    adds no first look and no second job of its own (it cost 3 status requests before)."""
    if route == "offline":
        handlers, service = offline_v2(clock, tmp_path, latency=3.0)
    else:
        handlers, service, _ = on_apps_key(clock, tmp_path, latency=3.0)
    out = handlers.generate(**form(), progress=Progress())
    assert len(out.files) == 1
    assert status_requests(service) == 1
    kinds = [(seen.method, seen.path.split("/")[1]) for seen in service.requests]
    assert kinds == [("POST", "v2"), ("GET", "v2"), ("GET", "v2"), ("GET", "cdn")]
    assert clock.now - clock.start == pytest.approx(3.02 if route == "apps-key" else 3.0)


def test_a_plain_client_costs_as_many_status_requests_as_the_demo(
    clock: SkipAheadClock, tmp_path: Path
) -> None:
    handlers, service = offline_v2(clock, tmp_path, latency=3.0)
    handlers.generate(**form(), progress=Progress())
    by_demo = status_requests(service)
    alone = mocks.MockService(mocks.MockConfig(latency=3.0), clock=clock)
    transport = mocks.MockTransport(alone)
    with realdream.Client(
        mocks.MOCK_API_KEY, transport=transport, api="v2", clock=clock, sleep=clock.sleep
    ) as client:
        client.generate("a lighthouse at dusk")
    assert status_requests(alone) == by_demo == 1


def test_a_v1_backend_sends_no_job(tmp_path: Path) -> None:
    backend = Backend.offline(latency_s=0.0, max_retries=0)
    assert backend.service is not None
    out = Handlers(backend, tmp_path / "out").generate(**form(), progress=Progress())
    assert out.details["api"] == "v1"
    assert backend.service.stats.jobs == 0


def test_a_failed_job_says_why_and_nothing_was_spent(clock: SkipAheadClock, tmp_path: Path) -> None:
    handlers, service = offline_v2(clock, tmp_path, latency=1.0)
    service.script(["job-failed"])
    message = refused(handlers)
    assert message.startswith("Generation failed (422): Inference failed: ")
    assert "nothing was billed" in message
    assert "may have been billed" not in message


# --- the guard on the app's key ----------------------------------------------------------------


def test_a_completed_job_settles_its_reported_cost(clock: SkipAheadClock, tmp_path: Path) -> None:
    handlers, service, guard = on_apps_key(clock, tmp_path, latency=2.0)
    handlers.generate(**form(samples=3.0), progress=Progress())
    assert guard.spent_today_usd() == pytest.approx(3 * PRICE) == spent(service)
    assert guard.open_reservations() == 0


@pytest.mark.parametrize("failed_status", [422, 200])
def test_a_failed_job_releases_its_reservation(
    clock: SkipAheadClock, tmp_path: Path, failed_status: int
) -> None:
    handlers, service, guard = on_apps_key(
        clock, tmp_path, latency=1.0, failed_status=failed_status
    )
    service.script(["job-failed"])
    refused(handlers, samples=4.0)
    assert guard.spent_today_usd() == 0 == spent(service)
    assert guard.open_reservations() == 0
    assert "10 of 10 images left for you this hour" in handlers.allowance()  # 4 given back


def test_a_job_still_queued_at_the_timeout_counts_as_spent(
    clock: SkipAheadClock, tmp_path: Path
) -> None:
    handlers, service, guard = on_apps_key(clock, tmp_path, queue_time=600.0, latency=1.0)
    handlers.job_timeout_s = 30.0
    message = refused(handlers, samples=2.0)
    assert message.startswith("Gave up waiting: the job ")
    assert "is still queued. It goes on running" in message
    assert "billed if it completes" in message
    assert clock.now - clock.start == pytest.approx(30.0)  # the wait ended at its deadline
    assert guard.spent_today_usd() == pytest.approx(2 * PRICE)  # it may yet be billed
    assert guard.open_reservations() == 0
    clock.advance(600.0)
    assert spent(service) == pytest.approx(2 * PRICE)  # and it was


def test_a_poll_refused_for_good_after_the_submit_counts_as_spent(
    clock: SkipAheadClock, tmp_path: Path
) -> None:
    handlers, service, guard = on_apps_key(clock, tmp_path, latency=1.0)
    service.script([200, 403])  # the submit is accepted, the first poll is forbidden
    message = refused(handlers, samples=2.0)
    assert message.startswith("Permission denied (403): ")
    assert message.endswith("may have been billed: check your credits before retrying.")
    assert status_requests(service) == 1  # a 403 ends the wait at once: retrying cannot help
    assert guard.spent_today_usd() == pytest.approx(2 * PRICE)
    assert guard.open_reservations() == 0
    clock.advance(60.0)
    assert spent(service) == pytest.approx(2 * PRICE)  # the job went on, and was billed


def test_a_refused_submit_releases_its_reservation(clock: SkipAheadClock, tmp_path: Path) -> None:
    handlers, service, guard = on_apps_key(clock, tmp_path, latency=1.0)
    service.script([500])  # the submit itself: nothing was queued
    assert refused(handlers).startswith("Internal server error (500): ")
    assert guard.spent_today_usd() == 0 == spent(service)
    assert guard.open_reservations() == 0
    assert service.stats.jobs == 0


def _poll_moments(clock: SkipAheadClock) -> list[float]:
    """When each poll went, in seconds after the submit: every wait of a job's client is the
    pause before a poll, and nothing else moves the frozen clock."""
    moments, at = [], 0.0
    for seconds in clock.slept:
        at += seconds
        moments.append(at)
    return moments


# --- the words and the option -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "waited", "transient", "text"),
    [
        ("QUEUED", 3.2, None, "Queued… 3 s"),
        ("PROCESSING", 12.0, None, "Processing… 12 s"),
        ("COMPLETED", 4.0, None, "Completed, downloading the images… 4 s"),
        (
            "QUEUED",
            9.0,
            realdream.APIConnectionError("dropped"),
            "Queued; the service is answering with errors, still waiting… 9 s",
        ),
    ],
)
def test_states_read_as_words(
    state: str, waited: float, transient: realdream.RealDreamError | None, text: str
) -> None:
    assert describe(state, waited, transient) == text


@pytest.mark.parametrize(("value", "api"), [("", "v1"), ("v1", "v1"), ("v2", "v2"), (" V2 ", "v2")])
def test_the_api_comes_from_its_variable(value: str, api: str) -> None:
    assert api_from_env({API_ENV: value}) == api
    assert Backend.from_env({API_ENV: value}).api == api


def test_a_bad_api_names_the_variable_the_value_and_the_choices() -> None:
    with pytest.raises(realdream.ConfigurationError) as caught:
        api_from_env({API_ENV: "v3"})
    assert str(caught.value) == "REALDREAM_API='v3': must be v1 or v2"


def test_the_api_option_overrides_the_variable() -> None:
    assert Backend.from_env({API_ENV: "v1"}, api="v2").api == "v2"
    key_backend = Backend.from_env({realdream.API_KEY_ENV: "SG_0123456789abcdef", API_ENV: "v2"})
    assert key_backend.route(None).api == "v2"
