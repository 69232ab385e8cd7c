"""``pytest --realdream-live``: the plugin's clients against a real server (here a loopback
mock stands in for the API), the key from the environment, the spend capped; the mock stays
the default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import realdream.mock as mocks
from realdream import contract
from tests.verify import liars
from tests.verify.apps import service_app, serving

ROOT = Path(__file__).resolve().parents[2]

USER_TESTS = """
import pytest

def test_an_image(realdream_client, realdream_live):
    assert realdream_live
    result = realdream_client.generate("a fox", img_width=256, img_height=256)
    assert result.image.mime_type == "image/jpeg"

def test_needs_the_mock(realdream_mock):
    realdream_mock.script([429])

def test_four_images_pass_the_cap(realdream_client):
    realdream_client.generate("a fox", samples=4, img_width=256, img_height=256)

@pytest.mark.anyio
async def test_async_client(realdream_async_client):
    credits = await realdream_async_client.credits()
    assert credits.credits >= 0

def test_raw_http_is_not_capped(realdream_server):
    pass
"""


def test_live_without_a_key_stops_before_any_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="def test_x(realdream_client):\n    raise AssertionError\n")
    result = pytester.runpytest("--realdream-live")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"--realdream-live needs an API key in {contract.API_KEY_ENV}" in result.stderr.str()
    assert "collected" not in result.stdout.str()  # stopped before collecting, let alone running


def test_a_bad_cap_stops_before_any_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(contract.API_KEY_ENV, mocks.MOCK_API_KEY)
    pytester.makepyfile(test_user="def test_x():\n    raise AssertionError\n")
    result = pytester.runpytest("--realdream-live", "--realdream-max-cost", "-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--realdream-max-cost=-1.0: must be a number of USD >= 0" in result.stderr.str()


def test_live_runs_the_users_tests_against_the_server_within_the_cap(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    realdream_server: mocks.RunningMock,
) -> None:
    monkeypatch.setenv(contract.API_KEY_ENV, realdream_server.api_key)
    monkeypatch.setenv(contract.BASE_URL_ENV, realdream_server.base_url)
    pytester.makepyfile(test_user=USER_TESTS)
    start = realdream_server.service.balance
    result = pytester.runpytest("--realdream-live", "--realdream-max-cost", "0.005", "-rs")
    result.assert_outcomes(passed=2, skipped=3)
    out = result.stdout.str()
    assert f"realdream: live against {realdream_server.base_url}, at most $0.005 spent" in out
    assert "--realdream-max-cost: $0.008 more would pass the $0.005 cap" in out
    assert "needs the offline mock" in out
    assert "raw HTTP to the real API cannot be held to --realdream-max-cost" in out
    assert f"realdream live: spent $0.002 of $0.005 at {realdream_server.base_url}" in out
    assert start - realdream_server.service.balance == pytest.approx(0.002)
    assert realdream_server.api_key not in out.replace(f"{realdream_server.base_url}", "")


def test_without_live_the_mock_stays_the_default(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(contract.API_KEY_ENV, "SG_0000000000000000")  # ignored without the flag
    pytester.makepyfile(
        test_user="def test_x(realdream_client, realdream_mock, realdream_live):\n"
        "    assert not realdream_live\n"
        "    realdream_client.generate('a fox')\n"
        "    assert realdream_mock.stats.by_status == {200: 1}\n"
    )
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.slow
def test_the_contract_suite_runs_live(realdream_server: mocks.RunningMock) -> None:
    env = {
        **os.environ,
        contract.API_KEY_ENV: realdream_server.api_key,
        contract.BASE_URL_ENV: realdream_server.base_url,
        "HYPOTHESIS_PROFILE": "dev",
    }
    start = realdream_server.service.balance
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/contract", "-q", "-p", "no:cacheprovider",
         "--realdream-live", "--realdream-max-cost", "0.01", "-rs"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout
    assert "needs the offline mock" in done.stdout  # the mock-only tests skip, saying why
    assert "realdream live: spent $0.006 of $0.01" in done.stdout
    assert start - realdream_server.service.balance == pytest.approx(0.006)


# --- The cap against a service dearer than the contract, or than it says ----------------------
SIX_IMAGES = """
import pytest

@pytest.mark.parametrize("n", range(6))
def test_an_image(realdream_client, n):
    realdream_client.generate("a fox", img_width=256, img_height=256)
"""


@pytest.mark.parametrize("announced", [0.002, 0.005], ids=["says the contract's", "says its own"])
def test_a_dearer_service_is_capped_on_what_its_ledger_took(
    announced: float, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0.0, cost_per_image=0.005))
    app = service_app(service, change=liars.announcing(announced))
    monkeypatch.setenv(contract.API_KEY_ENV, mocks.MOCK_API_KEY)
    pytester.makepyfile(test_user=SIX_IMAGES)
    with serving(app) as url:
        monkeypatch.setenv(contract.BASE_URL_ENV, url)
        result = pytester.runpytest("--realdream-live", "--realdream-max-cost", "0.012", "-rs")
    assert liars.spent(service) <= 0.012  # the first image reserved $0.002 and cost $0.005
    result.assert_outcomes(passed=2, skipped=4)
    out = result.stdout.str()
    assert "--realdream-max-cost: $0.005 more would pass the $0.012 cap ($0.01 spent)" in out
    assert f"realdream live: spent ${liars.spent(service):g} of $0.012" in out
