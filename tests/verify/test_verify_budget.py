"""Spending: free probes first, the cost announced before anything billed, the cap never
passed (measured on the mock's ledger), and the key never shown."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import realdream
import realdream.mock as mocks
from realdream import contract
from realdream.testing.clock import SkipAheadClock
from tests.verify import apps
from tests.verify.apps import differing, row, run_verify, service_app

BILLED_ROWS = ["GENERATE_PATH", "BASE64_MANY_KEY", "V2_SUBMIT_PATH"]
#: Free probes whose rule, if the service ignored it, would bill an image: gated by the cap.
GATED_ROWS = ["STATUS_TABLE[406-content-type]", "STATUS_TABLE[400]"]


def _debited(service: mocks.MockService, start: float = 10.0) -> float:
    return round(start - service.balance, 6)


@settings(max_examples=25, deadline=None)
@given(cap=st.integers(0, 14_000).map(lambda micros: micros / 1_000_000))
def test_the_ledger_never_passes_the_cap(cap: float) -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0.0))
    report = run_verify(service_app(service), max_cost=cap, schedulers=True)
    assert _debited(service) <= cap
    assert report.spent == pytest.approx(_debited(service))


def test_the_default_cap_pays_for_every_billed_probe(service: mocks.MockService) -> None:
    report = run_verify(service_app(service))
    assert report.max_cost == realdream.DEFAULT_VERIFY_MAX_COST == 0.01
    assert _debited(service) == report.spent == contract.cost(4)  # image 1, base64 2, v2 1


def test_a_cap_below_one_image_skips_every_billed_probe_and_says_so(
    service: mocks.MockService,
) -> None:
    said: list[str] = []
    report = run_verify(service_app(service), max_cost=0.001, announce=said.append)
    assert _debited(service) == report.spent == 0
    for fact in BILLED_ROWS + GATED_ROWS:
        found = row(report, fact)
        assert found.verdict == "not probed", fact
        assert found.reason.startswith("over --max-cost: $0.00"), found.reason
        assert "more would pass the $0.001 cap ($0 spent)" in found.reason
    assert "below one image: no billed probe will be sent" in said[0]
    assert row(report, "STATUS_TABLE[401-missing-key]").verdict == "holds"  # free ones ran


def test_a_cap_between_probes_skips_only_what_would_pass_it(service: mocks.MockService) -> None:
    report = run_verify(service_app(service), max_cost=0.005)
    assert row(report, "GENERATE_PATH").verdict == "holds"  # 0.002
    assert row(report, "BASE64_MANY_KEY").verdict == "not probed"  # 0.004 more: 0.006
    assert row(report, "V2_SUBMIT_PATH").verdict == "holds"  # 0.002 more: 0.004
    assert _debited(service) == report.spent == 0.004


class _Log(httpx.AsyncBaseTransport):
    """Notes each request, then hands it to the app."""

    def __init__(self, inner: httpx.AsyncBaseTransport, log: list[str]) -> None:
        self.inner, self.log = inner, log

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append(f"{request.method} {request.url.path} {request.content[:60]!r}")
        return await self.inner.handle_async_request(request)


def test_free_probes_go_first_and_the_cost_is_announced_before_anything_billable(
    service: mocks.MockService, clock: SkipAheadClock
) -> None:
    log: list[str] = []
    realdream.verify(
        mocks.MOCK_API_KEY,
        base_url="http://verify.test",
        transport=_Log(apps.transport(service_app(service)), log),
        sleep=clock.async_sleep,
        announce=lambda text: log.append("ANNOUNCE " + text),
    )
    announced = next(i for i, line in enumerate(log) if line.startswith("ANNOUNCE"))
    before = log[:announced]
    assert [line.split()[0:2] for line in before] == [
        ["GET", contract.CREDITS_PATH],
        ["POST", contract.GENERATE_PATH],  # no key
        ["POST", contract.GENERATE_PATH],  # a malformed key
        ["GET", contract.GENERATE_PATH],
        ["POST", "/v1/realdream-verify-no-such-model"],
        ["GET", contract.CREDITS_PATH],  # the balance after them: what they cost (free)
    ]
    assert "$0.008 (4 images at $0.002" in log[announced]
    assert "--max-cost is $0.01" in log[announced]
    assert "wrong content type" in log[announced + 1]  # the first that a lax service bills


def test_a_scheduler_refusal_is_free_and_differs(service: mocks.MockService) -> None:
    names = set(contract.SCHEDULERS) - set(contract.CONFIRMED_SCHEDULERS)
    app = service_app(service, refuse=apps.rejecting(names))
    report = run_verify(app, schedulers=True)  # 0.002 of room: each refusal is given it back
    rows = [r for r in report.rows if r.fact == "SCHEDULERS"]
    assert len(rows) == len(names) == 19
    assert {r.verdict for r in rows} == {"differs"}
    assert rows[0].observed.startswith("400 ")
    assert _debited(service) == report.spent == contract.cost(4)


def test_accepted_schedulers_cost_one_image_each_within_the_cap(
    service: mocks.MockService,
) -> None:
    report = run_verify(service_app(service), schedulers=True, max_cost=0.014)
    verdicts = [r.verdict for r in report.rows if r.fact == "SCHEDULERS"]
    assert verdicts == ["holds"] * 3 + ["not probed"] * 16
    assert _debited(service) == report.spent == 0.014


KEY = "SG_fedcba9876543210"


def test_the_key_never_appears_in_rows_report_or_announcement(tmp_path: Path) -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0.0, api_keys=(KEY,)))
    said: list[str] = []
    app = service_app(service, change=apps.echo_key_on_404)
    report = run_verify(app, api_key=KEY, announce=said.append, record=tmp_path / "cassettes")
    report.write(tmp_path / "report.json")
    assert "(key <api key>)" in row(report, "STATUS_TABLE[404]").observed  # it was echoed
    assert differing(report) == ["STATUS_TABLE[404]"]
    texts = [json.dumps(report.as_dict()), (tmp_path / "report.json").read_text(), *said]
    texts += [p.read_text() for p in (tmp_path / "cassettes").iterdir()]
    assert all(KEY not in text for text in texts)


def test_a_refused_key_stops_the_run_after_the_free_credits_call(
    service: mocks.MockService,
) -> None:
    with pytest.raises(realdream.ConfigurationError, match=r"refused the key .*\(401\)"):
        run_verify(service_app(service), api_key="SG_0000000000000000")
    assert service.stats.requests == 1


@pytest.mark.parametrize("cap", [-0.01, float("nan"), float("inf")])
def test_a_bad_cap_is_refused_before_anything_is_sent(
    cap: float, service: mocks.MockService
) -> None:
    with pytest.raises(realdream.ConfigurationError, match="max_cost="):
        run_verify(service_app(service), max_cost=cap)
    assert service.stats.requests == 0
