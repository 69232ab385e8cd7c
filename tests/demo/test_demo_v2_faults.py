"""Issue 23 in the demo: on v2 the core's ``Job.wait`` rides out a service that answers its
status, result and image requests with errors until the deadline, and the demo adds nothing of
its own. The progress text says the service is answering with errors and the wait goes on; a
visitor whose job completed gets the image; every image the mock's ledger billed reaches a
visitor; a wait that ends at its deadline holds the job as spent (it was billed, or may be).

The mock and the handler share one frozen clock: nothing really waits."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import gradio as gr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import realdream.mock as mocks
from demo import Handlers
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
    visitor,
)

PRICE = cost(1)
#: The requests that are safe to repeat: a fault there never bills, and never ends a wait.
SAFE_GETS = ("poll", "result", "download")
BUDGET_REACHED = "Daily budget reached: "
ERRORS = "the service is answering with errors, still waiting"


@pytest.fixture
def clock() -> SkipAheadClock:
    return SkipAheadClock(frozen=True)


# --- the progress text ---------------------------------------------------------------------------


def test_the_progress_says_the_service_is_answering_with_errors_and_the_wait_goes_on(
    clock: SkipAheadClock, tmp_path: Path
) -> None:
    handlers, service = offline_v2(clock, tmp_path, latency=1.0)
    service.script([200, 500, 502, 504])  # the submit is accepted; its first three polls fail
    progress = Progress()
    out = handlers.generate(**form(), progress=progress)
    assert len(out.files) == 1
    assert progress.words() == [
        "Sending the request (1 image)",
        "Submitting the job",
        "Submitted, waiting for its state",
        f"Queued; {ERRORS}",  # no state read yet: the job is known queued
        "Completed, downloading the images",
    ]
    assert status_requests(service) == 4  # three failed, the fourth found it completed


def test_failing_image_downloads_are_shown_on_the_completed_job_until_they_arrive(
    clock: SkipAheadClock, tmp_path: Path
) -> None:
    handlers, service = offline_v2(
        clock, tmp_path, latency=1.0, fault_rate=0.6, fault_on=("download",), seed=3
    )
    progress = Progress()
    out = handlers.generate(**form(samples=4.0), progress=progress)
    assert len(out.files) == 4
    assert progress.words()[-2:] == [
        "Completed, downloading the images",
        f"Completed, downloading the images; {ERRORS}",
    ]
    assert status_requests(service) == 1  # a failed download asks for no status again


# --- a visitor on the app's key ------------------------------------------------------------------


def test_a_visitor_whose_job_completed_gets_the_image_while_polls_fail(
    clock: SkipAheadClock, tmp_path: Path
) -> None:
    handlers, service, guard = on_apps_key(clock, tmp_path, latency=1.0)
    service.script(
        [200, 500, 502]
    )  # before: "Internal server error (500) ... may have been billed"
    out = handlers.generate(**form(samples=2.0), progress=Progress())
    assert len(out.files) == 2 == service.stats.images
    assert guard.spent_today_usd() == pytest.approx(2 * PRICE) == spent(service)
    assert guard.open_reservations() == 0


def test_a_completed_job_whose_images_cannot_be_fetched_by_the_deadline_is_held_as_spent(
    clock: SkipAheadClock, tmp_path: Path
) -> None:
    handlers, service, guard = on_apps_key(
        clock, tmp_path, latency=1.0, fault_rate=1.0, fault_on=("download",)
    )
    handlers.job_timeout_s = 30.0
    progress = Progress()
    message = refused(handlers, progress, samples=2.0)
    assert message.startswith("The job ")
    assert "completed and was billed, but the app gave up fetching its images" in message
    assert "(the service kept answering with errors: " in message
    assert "with seed 7 and the same settings remakes them" in message
    assert "may have been billed" not in message  # it was: the message says so plainly
    assert progress.words()[-1] == f"Completed, downloading the images; {ERRORS}"
    assert clock.now - clock.start == pytest.approx(30.0)  # the wait went on to its deadline
    assert service.stats.images == 2  # billed by the mock, and held as spent by the guard
    assert guard.spent_today_usd() == pytest.approx(2 * PRICE) == spent(service)
    assert guard.open_reservations() == 0
    assert "8 of 10 images left for you this hour" in handlers.allowance()


def test_a_job_whose_polls_keep_failing_is_held_as_spent_at_the_deadline(
    clock: SkipAheadClock, tmp_path: Path
) -> None:
    handlers, service, guard = on_apps_key(
        clock, tmp_path, latency=1.0, fault_rate=1.0, fault_on=("poll",)
    )
    handlers.job_timeout_s = 30.0
    progress = Progress()
    message = refused(handlers, progress, samples=2.0)
    assert message.startswith("Gave up waiting: the job ")
    assert "is still queued (the service kept answering with errors: " in message
    assert "billed if it completes" in message
    assert progress.words()[-1] == f"Queued; {ERRORS}"
    assert status_requests(service) > 3  # it kept asking until the deadline
    assert clock.now - clock.start == pytest.approx(30.0)
    assert guard.spent_today_usd() == pytest.approx(2 * PRICE)
    assert guard.open_reservations() == 0
    assert spent(service) == pytest.approx(2 * PRICE)  # the job completed on the server


# --- every billed image reaches a visitor ---------------------------------------------------------


@settings(max_examples=12)
@given(
    seed=st.integers(0, 2**16),
    fault_rate=st.floats(0.2, 0.6),
    samples=st.lists(st.integers(1, 2), min_size=1, max_size=8),
    budget_images=st.integers(1, 6),
)
def test_every_image_billed_reaches_a_visitor_in_turn(
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    fault_rate: float,
    samples: list[int],
    budget_images: int,
) -> None:
    clock = SkipAheadClock(frozen=True)
    handlers, service, _ = on_apps_key(
        clock,
        tmp_path_factory.mktemp("visitors"),
        budget_usd=budget_images * PRICE,
        latency=1.0,
        fault_rate=fault_rate,
        fault_on=SAFE_GETS,
        seed=seed,
    )
    delivered = sum(
        _visit(handlers, f"10.0.0.{number}", count) for number, count in enumerate(samples)
    )
    _assert_paid_once_and_delivered(handlers, service, delivered, budget_images)


def test_every_image_billed_reaches_a_visitor_when_they_come_at_once(tmp_path: Path) -> None:
    """Twelve visitors side by side on a $0.01 budget, half the safe GETs failing. Their waits
    share one frozen clock that all of them move, so each gets a deadline that outlasts the
    others' pauses (and the mock keeps results as long)."""
    clock = SkipAheadClock(frozen=True)
    handlers, service, _ = on_apps_key(
        clock,
        tmp_path,
        budget_usd=5 * PRICE,
        latency=1.0,
        fault_rate=0.5,
        fault_on=SAFE_GETS,
        seed=23,
        result_ttl=1e6,
    )
    handlers.job_timeout_s = 1e5
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        visits = [pool.submit(_visit, handlers, f"10.0.1.{n}", 1) for n in range(12)]
        delivered = sum(visit.result() for visit in visits)
    assert delivered == 5  # the budget, to the image
    _assert_paid_once_and_delivered(handlers, service, delivered, 5)


def _visit(handlers: Handlers, address: str, samples: int) -> int:
    """One visitor's images: the number delivered, or 0 when the budget refused them."""
    try:
        out = handlers.generate(
            **form(samples=float(samples)), progress=Progress(), request=visitor(address)
        )
    except gr.Error as refusal:
        message = str(refusal.message)
    else:
        assert len(out.files) == samples
        return samples
    assert message.startswith(BUDGET_REACHED), message
    return 0


def _assert_paid_once_and_delivered(
    handlers: Handlers, service: mocks.MockService, delivered: int, budget_images: int
) -> None:
    guard = handlers.guard
    assert guard is not None
    assert service.stats.images == delivered  # every image the mock billed reached a visitor
    assert spent(service) == pytest.approx(delivered * PRICE)
    assert guard.spent_today_usd() == pytest.approx(delivered * PRICE)
    assert guard.open_reservations() == 0
    assert delivered <= budget_images
