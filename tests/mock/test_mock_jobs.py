"""The v2 job state machine alone: states by time, settlement once, forgetting what expired."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realdream import GenerationRequest
from realdream.mock._jobs import JobBook, MockJob, Settlement
from realdream.mock._ledger import Ledger

REQUEST = GenerationRequest.create(prompt="a lighthouse", seed=7, samples=2)
T0 = 1_000.0
TTL = 3_600.0
COST = 4_000  # micro-dollars: two images at $0.002


def job(
    request_id: str = "job-1",
    *,
    queue: float = 1.0,
    run: float = 2.0,
    request: GenerationRequest | None = REQUEST,
    error: str | None = None,
    cost: int = COST,
    submitted: float = T0,
    ttl: float = TTL,
    key: str = "key",
) -> MockJob:
    return MockJob(
        request_id=request_id,
        key=key,
        submitted=submitted,
        queue_time=queue,
        run_time=run,
        request=request,
        error=error,
        cost_micros=cost,
        image_ids=(f"{request_id}-0", f"{request_id}-1") if request and not error else (),
        expires=submitted + ttl,
    )


def booked(*jobs: MockJob, credits: float = 10.0) -> tuple[JobBook, Ledger]:
    ledger = Ledger(credits)
    book = JobBook(ledger)
    for item in jobs:
        assert ledger.reserve(item.cost_micros)
        book.add(item)
    return book, ledger


# --- states by time ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("at", "state"),
    [
        (0.0, "QUEUED"),
        (0.999, "QUEUED"),
        (1.0, "PROCESSING"),
        (2.999, "PROCESSING"),
        (3.0, "COMPLETED"),
        (TTL - 0.001, "COMPLETED"),
        (TTL, None),
    ],
)
def test_a_valid_job_queues_then_processes_then_completes_then_expires(
    at: float, state: str | None
) -> None:
    assert job().state_at(T0 + at) == state


def test_invalid_parameters_fail_as_the_worker_picks_the_job_up() -> None:
    bad = job(request=None, error="samples=9: must be between 1 and 4", cost=0)
    assert bad.state_at(T0 + 0.5) == "QUEUED"
    assert bad.state_at(T0 + 1.0) == "FAILED"
    assert bad.inference_time == 0.0
    assert not bad.completes


def test_a_job_failed_at_run_time_processes_first() -> None:
    failing = job(error="worker died", cost=0)
    assert failing.state_at(T0 + 2.0) == "PROCESSING"
    assert failing.state_at(T0 + 3.0) == "FAILED"
    assert failing.inference_time == 2.0


def test_zero_times_complete_at_submit() -> None:
    assert job(queue=0.0, run=0.0).state_at(T0) == "COMPLETED"


def test_a_job_whose_result_expires_before_it_ends_never_completes() -> None:
    slow = job(run=10.0, ttl=5.0)
    assert slow.state_at(T0 + 4.0) == "PROCESSING"
    assert slow.state_at(T0 + 5.0) is None
    assert not slow.completes


# --- settlement ----------------------------------------------------------------------------------
def test_nothing_is_billed_before_the_job_completes() -> None:
    book, ledger = booked(job())
    book.settle(T0 + 2.999)
    assert ledger.balance_micros == 10_000_000
    assert ledger.reserved_micros == COST


def test_completion_bills_once_and_records_the_balance_after() -> None:
    book, ledger = booked(job())
    for moment in (3.0, 3.0, 10.0, 100.0):
        book.settle(T0 + moment)
    assert ledger.balance_micros == 10_000_000 - COST
    assert ledger.reserved_micros == 0
    found = book.get("key", "job-1", T0 + 100.0)
    assert found is not None
    assert found[1] == Settlement(billed=True, remaining_micros=10_000_000 - COST)
    assert book.billed_images == 2


def test_a_job_that_completed_is_billed_even_if_never_polled() -> None:
    book, ledger = booked(job())
    book.settle(T0 + 50.0)  # any later moment: a request of anyone, or reading the balance
    assert ledger.balance_micros == 10_000_000 - COST


def test_jobs_are_billed_in_the_order_they_complete() -> None:
    late, early = job("late", run=5.0), job("early", run=1.0)
    book, _ = booked(late, early)
    book.settle(T0 + 10.0)
    early_found, late_found = book.get("key", "early", T0 + 10), book.get("key", "late", T0 + 10)
    assert early_found is not None
    assert late_found is not None
    assert early_found[1] == Settlement(True, 10_000_000 - COST)
    assert late_found[1] == Settlement(True, 10_000_000 - 2 * COST)


def test_a_failed_job_releases_its_reservation_unbilled() -> None:
    failing = job(error="worker died")
    book, ledger = booked(failing)
    book.settle(T0 + 3.0)
    assert (ledger.balance_micros, ledger.reserved_micros) == (10_000_000, 0)
    found = book.get("key", "job-1", T0 + 3.0)
    assert found is not None
    assert found[1] == Settlement(billed=False)
    assert book.billed_images == 0


def test_a_job_that_expires_before_completing_is_released() -> None:
    book, ledger = booked(job(run=10.0, ttl=5.0))
    book.settle(T0 + 5.0)
    assert (ledger.balance_micros, ledger.reserved_micros) == (10_000_000, 0)


def test_cancel_before_completion_releases_and_forgets() -> None:
    book, ledger = booked(job())
    book.cancel("job-1")
    book.settle(T0 + 10.0)
    assert (ledger.balance_micros, ledger.reserved_micros) == (10_000_000, 0)
    assert book.get("key", "job-1", T0 + 10.0) is None


def test_cancel_after_completion_keeps_the_job_billed() -> None:
    book, ledger = booked(job())
    book.settle(T0 + 3.0)
    book.cancel("job-1")
    assert ledger.balance_micros == 10_000_000 - COST
    assert book.get("key", "job-1", T0 + 3.0) is not None


def test_settling_from_many_threads_bills_once() -> None:
    book, ledger = booked(*(job(f"job-{i}") for i in range(50)), credits=1.0)
    start = threading.Barrier(20)

    def poll() -> None:
        start.wait()
        for i in range(50):
            book.get("key", f"job-{i}", T0 + 3.0)

    threads = [threading.Thread(target=poll) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.balance_micros == 1_000_000 - 50 * COST
    assert ledger.reserved_micros == 0


# --- lookups and memory ---------------------------------------------------------------------------
def test_another_keys_job_is_not_found() -> None:
    book, _ = booked(job())
    assert book.get("other", "job-1", T0) is None
    assert book.get("key", "job-1", T0) is not None


def test_expired_jobs_are_forgotten() -> None:
    book, _ = booked(*(job(f"job-{i}", submitted=T0 + i) for i in range(10)))
    assert len(book) == 10
    book.settle(T0 + TTL + 4.5)  # jobs 0..4 are past their hour
    assert len(book) == 5
    assert book.get("key", "job-4", T0 + TTL + 4.5) is None
    assert book.get("key", "job-5", T0 + TTL + 4.5) is not None


def test_images_exist_once_billed_and_outlive_the_job() -> None:
    book, _ = booked(job(ttl=10.0))
    assert book.image("job-1-0", T0 + 2.0) is None
    stored = book.image("job-1-1", T0 + 3.0)
    assert stored is not None
    assert (stored.request, stored.index) == (REQUEST, 1)
    assert book.get("key", "job-1", T0 + 11.0) is None
    assert book.image("job-1-0", T0 + 11.0) is not None
    assert book.image("job-1-0", T0 + book.image_ttl) is None


def test_a_failed_job_has_no_images() -> None:
    failing = dataclasses.replace(job(error="worker died"), image_ids=("job-1-0",))
    book, _ = booked(failing)
    assert book.image("job-1-0", T0 + 5.0) is None


def test_at_most_max_images_are_kept_oldest_first() -> None:
    book = JobBook(Ledger(10.0), max_images=3)
    for i in range(3):
        book.add(job(f"job-{i}", cost=0, run=float(i)))
    book.settle(T0 + 3.0)  # 6 images billed in completion order, 3 kept
    kept = [name for i in range(3) for name in (f"job-{i}-0", f"job-{i}-1")]
    found = [name for name in kept if book.image(name, T0 + 3.0) is not None]
    assert found == ["job-1-1", "job-2-0", "job-2-1"]


# --- property ------------------------------------------------------------------------------------
jobs_strategy = st.lists(
    st.tuples(
        st.floats(0, 5),  # submitted offset
        st.floats(0, 5),  # queue
        st.floats(0, 5),  # run
        st.sampled_from(["ok", "invalid", "fails"]),
        st.integers(1, 4),  # samples
    ),
    max_size=12,
)


@given(jobs_strategy, st.lists(st.floats(0, 40), max_size=8), st.floats(1, 20))
def test_every_job_is_billed_once_or_released_and_the_ledger_stays_exact(
    specs: list[tuple[float, float, float, str, int]], polls: list[float], ttl: float
) -> None:
    ledger = Ledger(10.0)
    book = JobBook(ledger)
    made: list[MockJob] = []
    for i, (offset, queue, run, kind, samples) in enumerate(specs):
        request = None if kind == "invalid" else REQUEST.replace(samples=samples)
        error = None if kind == "ok" else "bad"
        cost = samples * 2_000 if kind == "ok" else 0
        item = job(
            f"job-{i}", queue=queue, run=run, request=request, error=error, cost=cost,
            submitted=T0 + offset, ttl=ttl,
        )  # fmt: skip
        assert ledger.reserve(item.cost_micros)
        book.add(item)
        made.append(item)
    for moment in sorted(polls):
        book.settle(T0 + moment)
        due = [item for item in made if min(item.ends, item.expires) <= T0 + moment]
        billed = sum(item.cost_micros for item in due if item.completes)
        pending = sum(item.cost_micros for item in made if item not in due)
        assert ledger.balance_micros == 10_000_000 - billed
        assert ledger.reserved_micros == pending
    book.settle(T0 + 100.0)
    assert ledger.reserved_micros == 0
    assert ledger.balance_micros == 10_000_000 - sum(m.cost_micros for m in made if m.completes)
    assert book.billed_images == sum(m.request.samples for m in made if m.completes and m.request)
