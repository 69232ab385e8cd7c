"""Hostile bodies and headers get the documented 400, never a 500 or a traceback."""

from __future__ import annotations

import logging

import httpx
import pytest

import realdream.mock as mocks
from realdream import contract
from tests.mock.conftest import GENERATE, JSON_HEADERS

DEEP = b'{"prompt": "x", "seed": ' + b"[" * 5000 + b"]" * 5000 + b"}"
HOSTILE_BODIES = {
    "nested-5000-deep": (DEEP, "body: nests deeper than"),
    "nested-array": (b"[" * 5000 + b"]" * 5000, "body: nests deeper than"),
    "seed-5000-digits": (b'{"prompt": "x", "seed": ' + b"9" * 5000 + b"}", "seed="),
    "duplicate-key": (b'{"prompt": "a", "prompt": "b"}', "prompt: is given twice"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_a_hostile_generate_body_is_the_documented_400(
    http: httpx.Client, service: mocks.MockService, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    raw, expected = HOSTILE_BODIES[name]
    with caplog.at_level(logging.WARNING):
        response = http.post(GENERATE, content=raw, headers=JSON_HEADERS)
    assert response.status_code == 400
    assert response.json()[contract.ERROR_BODY_KEY].startswith(expected)
    assert len(response.json()[contract.ERROR_BODY_KEY]) < 500
    assert service.balance == pytest.approx(10.0)
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize(
    ("raw", "field"),
    [(DEEP, "body"), (b'{"statuses": [429], "statuses": [502]}', "statuses"), (b"[]", "body")],
)
def test_a_hostile_script_body_is_a_400(http: httpx.Client, raw: bytes, field: str) -> None:
    response = http.post(mocks.CONTROL_PATH, content=raw, headers=JSON_HEADERS)
    assert response.status_code == 400
    assert response.json()[contract.ERROR_BODY_KEY].startswith(f"{field}: ")


@pytest.mark.parametrize("value", ["²", "4" * 5000, "429\u00a0", "٤٢٩"])
def test_a_hostile_forced_status_is_a_400(http: httpx.Client, value: str) -> None:
    headers = {**JSON_HEADERS, mocks.FORCE_STATUS_HEADER: value.encode()}  # UTF-8 on the wire
    response = http.post(GENERATE, json={"prompt": "x"}, headers=headers)
    if value.strip() == "429":  # a non-breaking space is whitespace: stripped, as all values
        assert response.status_code == 429
        return
    assert response.status_code == 400
    assert response.json()[contract.ERROR_BODY_KEY].startswith("x-mock-status=")


def test_a_body_over_the_limit_is_refused_unread(http: httpx.Client) -> None:
    too_big = b'{"prompt": "' + b"x" * (mocks.MAX_BODY_BYTES + 1) + b'"}'
    response = http.post(GENERATE, content=too_big, headers=JSON_HEADERS)
    assert response.status_code == 400
    assert "at most 2,097,152" in response.json()[contract.ERROR_BODY_KEY]


def test_a_body_over_the_limit_is_refused_over_http(live: mocks.RunningMock) -> None:
    too_big = b'{"prompt": "' + b"x" * (3 * mocks.MAX_BODY_BYTES) + b'"}'
    headers = {contract.API_KEY_HEADER: live.api_key, "Content-Type": "application/json"}
    response = httpx.post(live.url(GENERATE), content=too_big, headers=headers, timeout=30)
    assert response.status_code == 400
    assert live.service.stats.by_status == {400: 1}
