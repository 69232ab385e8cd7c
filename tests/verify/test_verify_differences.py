"""Against a service that differs from the contract in one deliberate way, exactly that row
says "differs", and the run exits 1."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import pytest

import realdream.mock as mocks
from realdream import contract
from tests.verify import apps
from tests.verify.apps import FakeV2, differing, row, run_verify, service_app

AppFor = Callable[[mocks.MockService], Any]


def _v2_result(change: Callable[[dict[str, Any]], dict[str, Any]]) -> AppFor:
    return lambda service: service_app(service, v2=FakeV2(service, result=change))


def _without_metric(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(body: dict[str, Any]) -> dict[str, Any]:
        del body["metrics"][name]
        return body

    return change


def _other_host(body: dict[str, Any]) -> dict[str, Any]:
    body["output"] = "https://cdn.example.net/generations/x.jpeg"
    return body


def _without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(body: dict[str, Any]) -> dict[str, Any]:
        del body[key]
        return body

    return change


def _changed(change: apps.Change) -> AppFor:
    return lambda service: service_app(service, change=change)


DIFFERENCES: dict[str, tuple[AppFor, str]] = {
    "another 401 text": (_changed(apps.other_401_text), "STATUS_TABLE[401-missing-key]"),
    "a PNG instead of a JPEG": (_changed(apps.png_instead_of_jpeg), "IMAGE_CONTENT_TYPE"),
    "{'image': [...]} for two samples": (_changed(apps.images_under_image), "BASE64_MANY_KEY"),
    "a data: prefix": (_changed(apps.data_url_prefix), "BASE64_DATA_PREFIX"),
    "405 as JSON": (_changed(apps.json_405), "STATUS_TABLE[405]"),
    "422 for an out-of-range value": (_changed(apps.out_of_range_is_422), "STATUS_TABLE[400]"),
    "no metrics.cost in the v2 result": (
        _v2_result(_without_metric(contract.METRIC_COST)), "METRIC_COST"),
    "no seed in the v2 result": (_v2_result(_without(contract.JOB_SEED_KEY)), "JOB_SEED_KEY"),
    "another image host": (_v2_result(_other_host), "IMAGE_HOST"),
}  # fmt: skip
HEADERS = ["HEADER_REMAINING_CREDITS", "HEADER_REQUEST_ID", "HEADER_COST",
           "HEADER_GENERATION_TIME", "HEADER_SEED"]  # fmt: skip


@pytest.mark.parametrize("name", sorted(DIFFERENCES))
def test_one_difference_differs_on_exactly_its_row(name: str, service: mocks.MockService) -> None:
    app_for, fact = DIFFERENCES[name]
    report = run_verify(app_for(service))
    assert differing(report) == [fact]
    assert report.exit_code == 1


@pytest.mark.parametrize("fact", HEADERS)
def test_a_missing_header_differs_on_exactly_its_row(fact: str, service: mocks.MockService) -> None:
    header = getattr(contract, fact)
    report = run_verify(service_app(service, change=apps.without_header(header)))
    assert differing(report) == [fact]
    assert row(report, fact).observed == "absent"


def test_a_missing_seed_header_leaves_seed_resolution_not_probed(
    service: mocks.MockService,
) -> None:
    report = run_verify(service_app(service, change=apps.without_header(contract.HEADER_SEED)))
    assert row(report, "RANDOM_SEED").verdict == "not probed"
    assert row(report, "RANDOM_SEED").reason == f"no {contract.HEADER_SEED} header"


def test_another_price_set_with_the_mocks_cost_per_image_option_differs_on_the_price() -> None:
    parser = argparse.ArgumentParser()
    mocks.add_arguments(parser)
    config = mocks.config_from_args(
        parser.parse_args(["--latency", "0", "--cost-per-image", "0.003"])
    )
    service = mocks.MockService(config)
    report = run_verify(service_app(service), max_cost=0.02)
    assert differing(report) == ["COST_PER_IMAGE_USD"]
    assert row(report, "COST_PER_IMAGE_USD").observed == (
        "image: the balance dropped $0.003 per image, x-cost announced $0.003"
    )
    assert report.stopped == ""  # an honest price, if not the contract's, stops nothing


def test_another_401_text_is_shown_as_observed(service: mocks.MockService) -> None:
    report = run_verify(service_app(service, change=apps.other_401_text))
    found = row(report, "STATUS_TABLE[401-missing-key]")
    assert found.expected == f'401 {{"error": "{contract.message("401-missing-key")}"}}'
    assert found.observed == '401 {"error": "Authentication required"}'


def test_a_png_is_named_in_the_row(service: mocks.MockService) -> None:
    report = run_verify(service_app(service, change=apps.png_instead_of_jpeg))
    found = row(report, "IMAGE_CONTENT_TYPE")
    assert found.observed == "content-type image/png, image/png body"
    assert row(report, "IMAGE_SIZE_AS_REQUESTED").verdict == "holds"
