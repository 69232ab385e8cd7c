"""``realdream.verify`` against the real mock (v1 and its v2 queue), not a stand-in: every fact
it probes holds, and what it spends stays within the cap on the mock's own ledger.

``IMAGE_HOST`` is not probed on the mock: the vendor's images live on ``images.segmind.com``,
and the mock, which never reaches the network, serves its images from its own address, so it
cannot speak for that fact (against the vendor, or anything not local, the row is judged).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import realdream
import realdream.mock as mocks
from realdream import contract
from realdream.testing.clock import SkipAheadClock
from tests.verify.apps import differing, quiet, row
from tests.verify.test_verify_mock import PROBED, V2_ROWS

BASE_URL = "http://verify.test"
#: Every fact the default run probes that a mock can hold.
HOLDS = [fact for fact in PROBED if fact != "IMAGE_HOST"]
PRICE = contract.COST_PER_IMAGE_USD


def verify_on(
    service: mocks.MockService, clock: SkipAheadClock, **options: object
) -> realdream.VerifyReport:
    """``realdream.verify`` against ``mocks.create_app`` in-process, on ``clock``."""
    app = mocks.create_app(service=service)
    return realdream.verify(
        mocks.MOCK_API_KEY,
        base_url=BASE_URL,
        transport=httpx.ASGITransport(app=app),
        sleep=clock.async_sleep,
        announce=quiet,
        **options,  # type: ignore[arg-type]
    )


def mock_on(clock: SkipAheadClock, **config: float) -> mocks.MockService:
    """The real mock, $10 of credits, its v2 jobs on ``clock`` (the frozen one of conftest, moved
    on only by verify's waits, so a job's states follow the schedule): verify's polls (at 0, 1 and
    2.5 s) find one queued (until 0.95 s), processing (until 1.05 s), then completed.
    ``latency`` is also how long a v1 image takes, in real time: kept short."""
    settings = {"latency": 0.1, "queue_time": 0.95, **config}
    return mocks.MockService(mocks.MockConfig(**settings), clock=clock)


def spent(service: mocks.MockService) -> float:
    return service.config.credits - service.balance


def test_every_probe_holds_against_the_real_mock(clock: SkipAheadClock) -> None:
    report = verify_on(mock_on(clock), clock)
    assert [r.fact for r in report.rows if r.verdict == "holds"] == HOLDS
    assert differing(report) == []
    assert report.exit_code == 0
    image_host = row(report, "IMAGE_HOST")
    assert image_host.verdict == "not probed"
    assert "verify.test is a local stand-in" in image_host.reason


def test_the_v2_rows_hold_on_the_mocks_queue(clock: SkipAheadClock) -> None:
    report = verify_on(mock_on(clock), clock)
    for fact in V2_ROWS:
        if fact != "IMAGE_HOST":
            assert row(report, fact).verdict == "holds", fact
    assert row(report, "JOB_STATES").observed == "QUEUED -> PROCESSING -> COMPLETED"


def test_a_job_that_completes_at_once_holds_too(clock: SkipAheadClock) -> None:
    report = verify_on(mock_on(clock, latency=0.0, queue_time=0.0), clock)
    assert differing(report) == []
    assert row(report, "JOB_STATES").verdict == "holds"


@pytest.mark.parametrize("cap", [0.0, PRICE, 3 * PRICE, 4 * PRICE])
def test_what_verify_spends_on_the_mocks_ledger_stays_within_the_cap(
    clock: SkipAheadClock, cap: float
) -> None:
    service = mock_on(clock)
    report = verify_on(service, clock, max_cost=cap)
    clock.advance(service.config.result_ttl)  # any job still running has ended by now
    assert spent(service) == pytest.approx(report.spent)
    assert spent(service) <= cap + 1e-9
    assert differing(report) == []
    skipped = [r for r in report.rows if r.verdict == "not probed" and "cap" in r.reason]
    if cap < 4 * PRICE:
        assert skipped  # each billed probe over the cap says so
    else:
        assert not skipped


def test_the_default_run_spends_four_images_and_no_more(clock: SkipAheadClock) -> None:
    service = mock_on(clock)
    report = verify_on(service, clock)
    assert report.spent == pytest.approx(4 * PRICE)
    assert spent(service) == pytest.approx(4 * PRICE)
    assert service.stats.jobs == 1  # the v2 probe's one job, billed once


@pytest.fixture
def served() -> Iterator[mocks.RunningMock]:
    with mocks.serve(mocks.MockConfig(latency=0.05, queue_time=0.05)) as running:
        yield running


@pytest.mark.slow  # the v2 job is polled in real time (1 s before the second poll)
def test_over_loopback_every_probe_holds(served: mocks.RunningMock) -> None:
    report = realdream.verify(mocks.MOCK_API_KEY, base_url=served.base_url, announce=quiet)
    assert [r.fact for r in report.rows if r.verdict == "holds"] == HOLDS
    assert differing(report) == []
    assert report.exit_code == 0
    assert "127.0.0.1 is a local stand-in" in row(report, "IMAGE_HOST").reason
    assert served.service.config.credits - served.service.balance == pytest.approx(report.spent)
    assert report.spent <= report.max_cost
