"""verify's money against stand-ins that differ from the mock on purpose: a v2 submit answered
200 without a usable id is paid for, the cap holds against what the balance measured (never
against what the service announced), and a drop that differs from the announcement stops the
spending with exit 1. Money is counted on each stand-in's own ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

import realdream.mock as mocks
from realdream import contract
from realdream.cli import main
from tests.verify import liars
from tests.verify.apps import Answer, FakeV2, differing, row, run_verify, service_app, serving

KEY = mocks.MOCK_API_KEY
PRICE = contract.COST_PER_IMAGE_USD


def _service(price: float = PRICE) -> mocks.MockService:
    return mocks.MockService(mocks.MockConfig(latency=0.0, cost_per_image=price))


def _cli(url: str, report: Path, *options: str) -> int:
    return main(["verify", "--base-url", url, "--api-key", KEY, "--report", str(report), *options])


def test_a_v2_submit_answered_200_without_an_id_is_paid_for_and_both_its_rows_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = _service()
    app = service_app(service, v2=liars.NoIdQueue(service))
    with serving(app) as url:
        code = _cli(url, tmp_path / "r.json", "--schedulers", "--max-cost", "0.008")
    data = json.loads((tmp_path / "r.json").read_text())
    assert liars.spent(service) <= 0.008
    assert data["spent"] == pytest.approx(liars.spent(service))
    verdicts = {r["fact"]: r["verdict"] for r in data["rows"] if r["fact"].startswith("V2_SUB")}
    assert verdicts == {"V2_SUBMIT_PATH": "differs", "V2_SUBMIT_KEYS": "differs"}
    assert code == 1
    assert "no usable request_id" in capsys.readouterr().out


def test_a_submit_whose_bill_comes_after_the_run_is_still_held_as_spent() -> None:
    service = _service()
    queue = liars.NoIdQueue(service, late=True)
    report = run_verify(service_app(service, v2=queue), schedulers=True, max_cost=0.008)
    assert liars.spent(service) == pytest.approx(0.006)  # the job's image is not billed yet
    queue.run_late()
    assert liars.spent(service) == pytest.approx(0.008) == report.spent
    schedulers = [r for r in report.rows if r.fact == "SCHEDULERS"]
    assert {r.verdict for r in schedulers} == {"not probed"}  # no room was left to spend again
    assert row(report, "V2_SUBMIT_KEYS").observed.endswith("request_id '' is not usable")


def test_a_service_that_bills_more_than_it_announces_is_stopped_after_one_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = _service(price=0.01)
    app = service_app(
        service,
        change=liars.announcing(PRICE),
        v2=FakeV2(service, result=liars.result_announcing(PRICE)),
    )
    with serving(app) as url:
        code = _cli(url, tmp_path / "r.json", "--max-cost", "0.01")
    out = capsys.readouterr().out
    data = json.loads((tmp_path / "r.json").read_text())
    assert liars.spent(service) <= 0.01
    assert data["spent"] == pytest.approx(liars.spent(service))
    price = next(r for r in data["rows"] if r["fact"] == "COST_PER_IMAGE_USD")
    assert price["verdict"] == "differs"
    assert price["observed"] == (
        "image: the balance dropped $0.01 per image, x-cost announced $0.002"
    )
    assert data["stopped"] == (
        "the balance dropped $0.01 for the image probe, which announced $0.002 (x-cost)"
    )
    base64 = next(r for r in data["rows"] if r["fact"] == "BASE64_MANY_KEY")
    assert base64["reason"].startswith("not sent: spending stopped: the balance dropped $0.01")
    assert code == 1
    assert "spending stopped: the balance dropped $0.01 for the image probe" in out


#: Prices per image in micro-dollars: cheaper than the contract, the contract's, dearer.
_PRICES = st.sampled_from([1_000, 2_000, 2_500, 5_000, 10_000, 20_000])


@settings(max_examples=12, deadline=None)
@given(
    price=_PRICES.map(lambda m: m / 1e6),
    honest=st.booleans(),
    cap=st.integers(0, 14_000).map(lambda m: m / 1e6),
)
def test_the_ledger_stays_within_the_cap_whatever_the_service_announces(
    price: float, honest: bool, cap: float
) -> None:
    service = _service(price)
    said = price if honest else PRICE
    app = service_app(
        service,
        change=liars.announcing(said),
        v2=FakeV2(service, result=liars.result_announcing(said)),
    )
    report = run_verify(app, schedulers=True, max_cost=cap)
    # Only the first image, reserved at the contract's price, can pass the cap on its own.
    assert liars.spent(service) <= (max(cap, price) if cap >= PRICE else 0.0) + 1e-9
    assert report.spent >= liars.spent(service) - 1e-9  # what was measured is never undercounted
    if said <= price:
        assert report.spent == pytest.approx(liars.spent(service))
    if said != price and liars.spent(service) > 0:
        assert report.exit_code == 1
        assert report.stopped


def test_a_service_that_bills_an_error_differs_on_billed_statuses_and_stops() -> None:
    service = _service()
    report = run_verify(service_app(service, change=liars.billing_errors(service, 406, PRICE)))
    assert liars.spent(service) == pytest.approx(PRICE) == report.spent  # that 406, nothing after
    billed = row(report, "BILLED_STATUSES")
    assert billed.verdict == "differs"
    assert (
        billed.observed
        == "no drop for 401, 404, 405; but it dropped $0.002 for 406 (the content-type probe)"
    )
    assert row(report, "GENERATE_PATH").reason.startswith("not sent: spending stopped")
    assert report.exit_code == 1


def test_against_the_mock_only_a_200_drops_the_balance() -> None:
    report = run_verify(service_app(_service()))
    billed = row(report, "BILLED_STATUSES")
    assert billed.verdict == "holds"
    assert billed.observed == "no drop for 400, 401, 404, 405, 406; a drop for 200"
    assert report.stopped == ""


@pytest.mark.parametrize(
    "body",
    [b'{"credits": NaN, "free-credits": 0}', b'{"credits": -1, "free-credits": 0}',
     b'{"credits": 1e999, "free-credits": 0}', b'{"credits": "plenty", "free-credits": 0}',
     b'{"credits": 9.9, "free-credits": Infinity}'],
    ids=["nan", "negative", "1e999", "not a number", "infinite free credits"],
)  # fmt: skip
def test_a_balance_that_cannot_be_true_sends_nothing_that_could_be_billed(body: bytes) -> None:
    service = _service()
    report = run_verify(service_app(service, change=liars.credits_body(body)))
    assert liars.spent(service) == 0
    assert row(report, "CREDITS_KEYS").verdict == "differs"
    assert row(report, "GENERATE_PATH").reason.startswith(
        "not sent: spending stopped: the balance could not be read"
    )
    assert report.exit_code == 1


def test_a_balance_that_stops_answering_stops_the_spending() -> None:
    service = _service()
    reads = 0

    def failing(request: Request, body: bytes, answer: Answer) -> Answer:
        nonlocal reads
        if request.url.path != contract.CREDITS_PATH:
            return answer
        reads += 1  # the credits probe, then after the free probes, 406, 400 and the image
        return answer if reads <= 4 else Answer(500, {}, b"")

    report = run_verify(service_app(service, change=failing))
    assert liars.spent(service) == pytest.approx(PRICE) == report.spent  # the image alone
    assert report.stopped == (
        "the balance could not be read after the image probe, so what it cost cannot be measured"
    )
    assert row(report, "V2_SUBMIT_PATH").reason.startswith("not sent: spending stopped")
    assert report.exit_code == 1
    assert differing(report) == []  # nothing differs: the run could not finish measuring
