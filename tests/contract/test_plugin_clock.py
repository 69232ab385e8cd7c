"""The plugin's shared clock: v2 jobs and retries against the mock take no real time."""

from __future__ import annotations

import time

import pytest

import realdream
import realdream.mock as mocks


@pytest.fixture
def realdream_mock_config() -> mocks.MockConfig:
    return mocks.MockConfig(latency=3.0, queue_time=1.0)


def test_a_v2_job_of_four_seconds_finishes_at_once_on_the_shared_clock(
    realdream_client: realdream.Client,
    realdream_mock: mocks.MockService,
    realdream_sleeps: list[float],
) -> None:
    started = time.monotonic()
    result = realdream_client.generate("a lighthouse", seed=4, api="v2")
    assert time.monotonic() - started < 2.0  # the job took 4 s of the mock's time, none of ours
    assert result.seed == 4
    assert sum(realdream_sleeps) >= 4.0  # the client waited on the clock it shares with the mock
    assert realdream_mock.balance == pytest.approx(10.0 - realdream.contract.COST_PER_IMAGE_USD)


# A v1 image's latency is real time (only v2 jobs and retries follow the clock): none here.
@pytest.mark.parametrize("realdream_mock_config", [mocks.MockConfig(latency=0.0)], ids=["v1"])
def test_retries_wait_on_the_same_clock(
    realdream_client: realdream.Client,
    realdream_mock: mocks.MockService,
    realdream_sleeps: list[float],
) -> None:
    realdream_mock.script([429, 502])
    assert realdream_client.generate("a lighthouse", seed=1).retries == 2
    assert len(realdream_sleeps) == 2
