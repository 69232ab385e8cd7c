"""Against the mock (with a v2 queue as v2-facts.md documents it) every probed fact holds; a
service with no v2 queue is one "differs" row, and the v2 rows after it say why they were not
probed."""

from __future__ import annotations

import pytest

import realdream
import realdream.mock as mocks
from realdream import contract
from tests.verify.apps import FakeV2, differing, no_v2, row, run_verify, service_app

#: Every fact the default run probes (the rest need a 429, a failing job, an hour...).
PROBED = [
    "CREDITS_PATH", "CREDITS_KEYS", "API_KEY_HEADER", "API_KEY_PATTERN",
    "STATUS_TABLE[401-missing-key]", "STATUS_TABLE[401]", "STATUS_TABLE[405]",
    "STATUS_TABLE[404]", "CONTENT_TYPE", "STATUS_TABLE[406-content-type]",
    "STATUS_TABLE[400]", "LIMITS", "ERROR_BODY_KEY", "GENERATE_PATH", "IMAGE_CONTENT_TYPE",
    "IMAGE_SIZE_AS_REQUESTED", "HEADER_REMAINING_CREDITS", "HEADER_REQUEST_ID", "HEADER_COST",
    "HEADER_GENERATION_TIME", "HEADER_SEED", "RANDOM_SEED", "COST_PER_IMAGE_USD",
    "BILLED_STATUSES", "BASE64_MANY_KEY", "BASE64_DATA_PREFIX", "BASE64_ALL_SAMPLES",
    "V2_SUBMIT_PATH", "V2_SUBMIT_KEYS", "V2_STATUS_PATH", "JOB_STATES", "V2_RESULT_PATH",
    "JOB_OUTPUT_KEY", "JOB_IMAGES_KEY", "JOB_SEED_KEY", "METRIC_COST", "METRIC_REMAINING_CREDITS",
    "METRIC_INFERENCE_TIME", "METRIC_QUEUE_TIME", "METRIC_TOTAL_TIME", "IMAGE_HOST",
]  # fmt: skip
V2_ROWS = PROBED[PROBED.index("V2_SUBMIT_PATH") :]


def test_every_probe_holds_against_the_mock(service: mocks.MockService) -> None:
    report = run_verify(service_app(service))
    holds = [r.fact for r in report.rows if r.verdict == "holds"]
    assert holds == PROBED
    assert differing(report) == []
    assert report.exit_code == 0


def test_every_fact_and_documented_case_has_exactly_one_row(service: mocks.MockService) -> None:
    report = run_verify(service_app(service))
    facts = [r.fact for r in report.rows]
    cases = [f"STATUS_TABLE[{rule.case}]" for rule in contract.STATUS_TABLE if rule.case]
    assert sorted(facts) == sorted([*contract.FACTS, *cases])


def test_rows_not_probed_say_why(service: mocks.MockService) -> None:
    report = run_verify(service_app(service))
    unprobed = [r for r in report.rows if r.verdict == "not probed"]
    assert unprobed
    assert all(r.reason and not r.observed for r in unprobed)
    assert row(report, "SCHEDULERS").reason.startswith("pass --schedulers")
    assert row(report, "STATUS_TABLE[429]").reason.startswith("no 429 was met")


def test_each_row_carries_the_contracts_mark(service: mocks.MockService) -> None:
    report = run_verify(service_app(service))
    for r in report.rows:
        if r.fact.startswith("STATUS_TABLE["):
            assert r.mark == contract.rule_for_case(r.fact[13:-1]).mark  # type: ignore[union-attr]
        else:
            assert r.mark == contract.FACTS[r.fact].mark


def test_expectations_are_read_from_the_contract(
    service: mocks.MockService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contract, "COST_PER_IMAGE_USD", 0.005)  # the mock still charges 0.002
    report = run_verify(service_app(service))
    assert differing(report) == ["COST_PER_IMAGE_USD"]
    price = row(report, "COST_PER_IMAGE_USD")
    assert price.expected.startswith("$0.005 per image, announced (x-cost, metrics.cost)")
    assert price.observed == "image: the balance dropped $0.002 per image, x-cost announced $0.002"


def test_a_service_without_v2_differs_on_the_submit_row_only(service: mocks.MockService) -> None:
    report = run_verify(service_app(service, v2=no_v2))
    assert differing(report) == ["V2_SUBMIT_PATH"]
    submit = row(report, "V2_SUBMIT_PATH")
    assert submit.observed.startswith("404 ")
    assert "no v2 queue" in submit.observed
    for fact in V2_ROWS[1:]:
        assert row(report, fact).verdict == "not probed", fact
        assert "404" in row(report, fact).reason
    assert report.exit_code == 1


def test_a_failed_v2_job_is_not_billed_and_its_result_rows_say_so(
    service: mocks.MockService,
) -> None:
    queue = FakeV2(service, states=("QUEUED", "FAILED"))
    report = run_verify(service_app(service, v2=queue))
    assert row(report, "JOB_STATES").observed == "QUEUED -> FAILED"
    assert row(report, "V2_RESULT_PATH").reason == "the job ended FAILED"
    assert report.spent == pytest.approx(contract.cost(3))  # image 1, base64 2; the job 0
    assert differing(report) == []


def test_the_report_is_json_with_every_row(service: mocks.MockService, tmp_path) -> None:
    import json

    report = run_verify(service_app(service))
    report.write(tmp_path / "report.json")
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["counts"] == report.counts()
    assert [r["fact"] for r in data["rows"]] == [r.fact for r in report.rows]
    assert data["spent"] == report.spent
    assert data["realdream"] == realdream.__version__
