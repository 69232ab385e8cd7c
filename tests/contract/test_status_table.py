"""The one status table, proven row by row: the client's class, the mock's answer, the OpenAPI
description, the retry decision and the billing all follow :data:`realdream.contract.STATUS_TABLE`.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import realdream
import realdream.mock as mocks
from realdream import contract
from realdream.testing.clock import SkipAheadClock

CASES = [rule for rule in contract.STATUS_TABLE if rule.status is not None]
RETRIES = 2


def _client(service: mocks.MockService, clock: SkipAheadClock) -> realdream.Client:
    return realdream.Client(
        mocks.MOCK_API_KEY,
        base_url="http://mock",
        transport=mocks.MockTransport(service),
        retry=realdream.RetryPolicy(max_retries=RETRIES),
        sleep=clock.sleep,
        clock=clock,
    )


@pytest.mark.parametrize("rule", CASES, ids=[rule.case for rule in CASES])
def test_each_case_reaches_the_client_as_its_class_retried_and_billed_as_the_table_says(
    rule: contract.StatusRule,
) -> None:
    clock = SkipAheadClock(frozen=True)
    service = mocks.MockService(mocks.MockConfig(latency=0), clock=clock)
    balance = service.balance
    service.script([rule.case] * (RETRIES + 1))
    with _client(service, clock) as client, pytest.raises(realdream.APIStatusError) as info:
        client.generate("a lighthouse", seed=1)
    error = info.value
    assert type(error) is realdream.error_class(rule)
    assert error.rule == rule
    assert (error.status_code, error.title, error.hint) == (rule.status, rule.title, rule.hint)
    if rule.message is not None and rule.body != "html":
        assert error.message == rule.message
    assert error.retryable is rule.retry
    attempts = RETRIES + 1 if rule.retry else 1
    assert service.stats.requests == attempts
    assert len(clock.slept) == attempts - 1
    assert not rule.billed
    assert error.maybe_billed is False
    assert service.balance == balance  # no error status is billed


@pytest.mark.parametrize("rule", CASES, ids=[rule.case for rule in CASES])
def test_each_case_can_be_forced_by_header_with_the_tables_message(
    rule: contract.StatusRule, realdream_mock: mocks.MockService
) -> None:
    http = httpx.Client(transport=mocks.MockTransport(realdream_mock), base_url="http://mock")
    headers = {contract.API_KEY_HEADER: mocks.MOCK_API_KEY, mocks.FORCE_STATUS_HEADER: rule.case}
    response = http.post(contract.GENERATE_PATH, json={"prompt": "x"}, headers=headers)
    assert response.status_code == rule.status
    error = realdream.error_for_status(response.status_code, response.content, response.headers)
    assert error.rule == rule
    if rule.body == "html":
        assert response.headers["content-type"].startswith("text/html")
    elif rule.message is not None:
        assert error.message == rule.message
    if rule.body == "auth":
        assert set(response.json()) == {
            contract.ERROR_BODY_KEY,
            contract.ERROR_DESCRIPTION_KEY,
            "status_code",
        }


@pytest.mark.parametrize("rule", CASES, ids=[rule.case for rule in CASES])
def test_each_case_is_described_in_the_openapi_document(rule: contract.StatusRule) -> None:
    document = mocks.MockService(mocks.MockConfig(latency=0)).openapi
    responses = document["paths"][contract.GENERATE_PATH]["post"]["responses"]
    description = responses[str(rule.status)]["description"]
    assert rule.title in description
    assert rule.error in description


def test_status_errors_is_derived_from_the_table() -> None:
    statuses = {rule.status for rule in CASES}
    assert set(realdream.STATUS_ERRORS) == statuses
    for status, cls in realdream.STATUS_ERRORS.items():
        classes = {realdream.error_class(rule) for rule in contract.rules_for_status(status)}
        assert all(issubclass(each, cls) for each in classes)
    assert realdream.STATUS_ERRORS[406] is realdream.NotAcceptableError


def test_every_error_class_of_the_tree_has_a_row() -> None:
    named = {rule.error for rule in contract.STATUS_TABLE}
    tree = {
        name
        for name in realdream.__all__
        if isinstance(getattr(realdream, name), type)
        and issubclass(getattr(realdream, name), realdream.APIStatusError)
    }
    assert tree <= named


@given(st.integers(300, 599), st.binary(max_size=60))
def test_any_status_follows_one_rule_per_class(status: int, body: bytes) -> None:
    error = realdream.error_for_status(status, body, {})
    assert error.status_code == status
    assert error.body == body
    rules = contract.rules_for_status(status)
    if rules:
        assert error.rule in rules
        assert isinstance(error, realdream.STATUS_ERRORS[status])
    elif status >= 500:
        assert type(error) is realdream.ServerError
    else:
        assert type(error) is realdream.APIStatusError
    # Retrying is decided by class: 429 and every 5xx, whatever the status number.
    assert error.retryable is (status == 429 or status >= 500)
    assert not error.maybe_billed


@pytest.mark.parametrize(
    ("body", "case"),
    [
        (b'{"error": "Missing Authorization or x-api-key in header"}', "401-missing-key"),
        (b'{"error": "Unauthorized. API key is invalid or may have expired..."}', "401"),
        (
            b'{"error": "invalid_api_key", "error_description": "API key is invalid.", '
            b'"status_code": 401}',
            "401-invalid-api-key",
        ),
    ],
)
def test_both_401_texts_and_the_auth_body_are_told_apart(body: bytes, case: str) -> None:
    error = realdream.error_for_status(401, body, {"content-type": "application/json"})
    assert type(error) is realdream.AuthenticationError
    assert error.rule == contract.rule_for_case(case)
    assert "invalid_api_key" not in error.message  # the description, not the code, is shown


@pytest.mark.parametrize(
    ("message", "cls"),
    [
        ("Insufficient credits: balance $0.001, needed $0.002", realdream.InsufficientCreditsError),
        ("Invalid content type", realdream.UnsupportedContentTypeError),
        ("Team spend limit of $50/month reached", realdream.SpendLimitError),
        ("something new", realdream.InsufficientCreditsError),
    ],
)
def test_the_three_406s_are_told_apart_by_their_message(message: str, cls: type) -> None:
    error = realdream.error_for_status(406, f'{{"error": "{message}"}}'.encode(), {})
    assert type(error) is cls
    assert isinstance(error, realdream.NotAcceptableError)


def test_a_retired_model_is_never_retried(
    realdream_mock: mocks.MockService, realdream_clock: SkipAheadClock
) -> None:
    realdream_mock.script([410, 410, 410])
    with (
        _client(realdream_mock, realdream_clock) as client,
        pytest.raises(realdream.ModelRetiredError),
    ):
        client.generate("x")
    assert realdream_mock.stats.requests == 1
    assert realdream_clock.slept == []


def test_the_credits_endpoint_404_is_its_own_case(realdream_mock: mocks.MockService) -> None:
    http = httpx.Client(transport=mocks.MockTransport(realdream_mock), base_url="http://mock")
    headers = {
        contract.API_KEY_HEADER: mocks.MOCK_API_KEY,
        mocks.FORCE_STATUS_HEADER: "404-no-credits",
    }
    response = http.get(contract.CREDITS_PATH, headers=headers)
    client = realdream.Client(
        mocks.MOCK_API_KEY,
        base_url="http://mock",
        transport=httpx.MockTransport(lambda request: response),
    )
    with pytest.raises(realdream.NotFoundError) as info:
        client.credits()
    assert info.value.title == "No credits found"
    assert info.value.message == contract.message("404-no-credits")
