"""Injected faults restricted to chosen kinds of request (``MockConfig.fault_on``): a fault on a
status, result or image ``GET`` never bills and never changes a job, so the images billed on the
mock's own ledger are those of the jobs that completed, however many GET requests failed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import realdream.mock as mocks
from realdream import contract
from tests.mock.conftest import GENERATE, JSON_HEADERS, body
from tests.mock.test_mock_v2 import Mock

GETS: tuple[mocks.FaultKind, ...] = ("poll", "result", "download")
FAULTS = {500, 502, 504}
PRICE_MICROS = 2_000


def make(**changes: Any) -> Mock:
    return Mock(mocks.MockConfig(**{"latency": 2.0, "queue_time": 1.0, **changes}))


def image_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def until_answered(send: Any) -> tuple[httpx.Response, int]:
    """Send until the answer is not an injected fault (as a client's wait does); the answer
    and how many faults came first."""
    faults = 0
    while (response := send()).status_code in FAULTS:
        faults += 1
    return response, faults


def collect(mock: Mock, request_id: str) -> tuple[list[bytes], int]:
    """A completed job's images, each ``GET`` repeated through faults; and the faults met."""
    status, faults = until_answered(lambda: mock.status(request_id))
    assert status.json()["status"] == "COMPLETED"
    result, more = until_answered(lambda: mock.result(request_id))
    faults += more
    output = result.json()["output"]
    images = []
    for url in output if isinstance(output, list) else [output]:
        image, more = until_answered(lambda url=url: mock.http.get(image_path(url)))
        assert image.status_code == 200
        images.append(image.content)
        faults += more
    return images, faults


# --- configuration -----------------------------------------------------------------------
def test_by_default_every_api_request_may_fault_but_no_download() -> None:
    assert mocks.MockConfig().fault_on == mocks.DEFAULT_FAULT_ON
    assert set(mocks.DEFAULT_FAULT_ON) == {"generate", "submit", "poll", "result"}
    assert mocks.FAULT_KINDS == ("generate", "submit", "poll", "result", "download")


@pytest.mark.parametrize(
    ("given_kinds", "expected"),
    [
        (("download", "poll"), ("poll", "download")),
        (["result", "result"], ("result",)),
        ("poll,download", ("poll", "download")),
        ("all", mocks.FAULT_KINDS),
        ((), ()),
    ],
)
def test_fault_on_takes_kinds_in_one_order(given_kinds: Any, expected: tuple[str, ...]) -> None:
    assert mocks.MockConfig(fault_on=given_kinds).fault_on == expected


@pytest.mark.parametrize("bad", [("polls",), ("poll", 7), "poll,,result", ("ALL",)])
def test_an_unknown_kind_is_refused_naming_fault_on(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"^fault_on=.*: must be 'all' or among generate, submit"):
        mocks.MockConfig(fault_on=bad)


# --- which requests fault ----------------------------------------------------------------
def test_faults_on_gets_leave_every_post_alone_and_bill_each_job_once() -> None:
    mock = make(fault_rate=1.0, fault_on=GETS, seed=1, latency=0.0)  # v1 latency is real time
    request_id = mock.job(samples=2)
    assert mock.http.post(GENERATE, content=body(), headers=JSON_HEADERS).status_code == 200
    mock.clock.advance(3.0)
    answers = [mock.status(request_id), mock.result(request_id)]
    answers.append(mock.get(contract.V1_POLL_PATH, request_id))
    assert {r.status_code for r in answers} <= FAULTS
    assert mock.service.balance == pytest.approx(10.0 - 3 * 0.002)  # the job's 2, v1's 1
    assert mock.service.stats.images == 3
    assert mock.service.ledger.reserved_micros == 0


def test_a_download_faults_only_when_asked() -> None:
    mock = make(fault_rate=1.0, fault_on=("download",), seed=2)
    request_id = mock.job()
    mock.clock.advance(3.0)
    result = mock.result(request_id)
    assert result.status_code == 200
    image = mock.http.get(image_path(result.json()["output"]))
    assert image.status_code in FAULTS
    assert image.json()["error"]


def test_a_kind_left_out_never_faults() -> None:
    mock = make(fault_rate=1.0, fault_on=("poll",), seed=5)
    request_id = mock.job()
    mock.clock.advance(3.0)
    assert mock.status(request_id).status_code in FAULTS
    result = mock.result(request_id)
    assert result.status_code == 200
    assert mock.http.get(image_path(result.json()["output"])).status_code == 200


@pytest.mark.parametrize(
    ("kind", "faulted", "spared"),
    [("submit", "submit", "generate"), ("generate", "generate", "submit")],
)
def test_a_post_kind_faults_alone(kind: mocks.FaultKind, faulted: str, spared: str) -> None:
    mock = make(fault_rate=1.0, fault_on=(kind,), seed=3, latency=0.0, queue_time=0.0)
    send = {
        "submit": mock.submit,
        "generate": lambda: mock.http.post(GENERATE, content=body(), headers=JSON_HEADERS),
    }
    assert send[faulted]().status_code in FAULTS
    assert send[spared]().status_code == 200


def test_a_faulted_submit_queues_and_bills_nothing() -> None:
    mock = make(fault_rate=1.0, fault_on=("submit",), seed=4)
    assert all(mock.submit().status_code in FAULTS for _ in range(5))
    mock.clock.advance(10.0)
    assert (mock.service.stats.jobs, mock.service.stats.images) == (0, 0)
    assert mock.service.balance == 10.0


# --- billing is the same with and without GET faults --------------------------------------
def run_jobs(config: mocks.MockConfig, samples: list[int]) -> tuple[Mock, list[bytes], int]:
    mock = Mock(config)
    ids = [mock.job(samples=n) for n in samples]
    mock.clock.advance(config.queue_time + config.latency + config.jitter + 1)
    delivered: list[bytes] = []
    faults = 0
    for request_id in ids:
        images, met = collect(mock, request_id)
        delivered += images
        faults += met
    return mock, delivered, faults


@pytest.mark.slow  # 25 examples of two mocks each: about 1.5 s
@settings(max_examples=25, deadline=None)
@given(
    fault_rate=st.floats(0.0, 0.9),
    kinds=st.sets(st.sampled_from(GETS), min_size=1),
    seed=st.integers(0, 10_000),
    samples=st.lists(st.integers(1, 4), min_size=1, max_size=6),
)
def test_any_get_fault_schedule_bills_exactly_the_images_delivered(
    fault_rate: float, kinds: set[mocks.FaultKind], seed: int, samples: list[int]
) -> None:
    base = {"latency": 2.0, "queue_time": 1.0, "seed": seed}
    faulty = mocks.MockConfig(**base, fault_rate=fault_rate, fault_on=tuple(kinds))
    mock, delivered, _ = run_jobs(faulty, samples)
    calm, expected, none = run_jobs(mocks.MockConfig(**base), samples)
    assert none == 0
    assert len(delivered) == sum(samples) == mock.service.stats.images
    assert mock.service.ledger.balance_micros == 10_000_000 - PRICE_MICROS * sum(samples)
    assert mock.service.ledger.balance_micros == calm.service.ledger.balance_micros
    assert mock.service.ledger.reserved_micros == 0
    assert delivered == expected  # the same images, in the same order


def test_a_high_get_fault_rate_really_faults_and_still_bills_once() -> None:
    config = mocks.MockConfig(latency=2.0, queue_time=1.0, fault_rate=0.6, fault_on=GETS, seed=9)
    mock, delivered, faults = run_jobs(config, [1, 2, 3, 4])
    by_status = mock.service.stats.by_status
    assert faults == sum(by_status.get(status, 0) for status in FAULTS) > 10
    assert len(delivered) == 10 == mock.service.stats.images
    assert mock.service.balance == pytest.approx(10.0 - 10 * 0.002)
