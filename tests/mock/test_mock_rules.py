"""The pure rules, each alone: auth, content type, validation, ledger, rate limiter, scenarios."""

from __future__ import annotations

import json
import random
import threading
from datetime import datetime, timezone

import pytest

import realdream.mock as mocks
from realdream import STATUS_ERRORS, GenerationRequest, ValidationError, contract, error_for_status
from realdream._headers import parse_datetime
from realdream.mock import _rules
from realdream.mock._http import MockRequest
from realdream.mock._ledger import Ledger, format_usd, to_micros
from realdream.mock._ratelimit import RateLimiter
from realdream.mock._scenarios import (
    FAULT_STATUSES,
    Scripts,
    documented_response,
    draw_fault,
    forced_status,
    parse_script_entry,
)
from realdream.testing.clock import SkipAheadClock

KEY = mocks.MOCK_API_KEY
CONFIG = mocks.MockConfig(latency=0, api_keys=(KEY,), forbidden_keys=("SG_ffffffffffffffff",))


def request(headers: dict[str, str] | None = None, body: bytes = b"") -> MockRequest:
    return MockRequest.build("POST", contract.GENERATE_PATH, (headers or {}).items(), body)


def message(response: mocks.MockResponse) -> str:
    return str(json.loads(response.body)[contract.ERROR_BODY_KEY])


@pytest.mark.parametrize(
    ("headers", "status", "expected"),
    [
        ({}, 401, contract.message("401-missing-key")),
        ({"x-api-key": "  "}, 401, contract.message("401-missing-key")),
        ({"Authorization": f"Bearer {KEY}"}, 401, contract.message("401-missing-key")),
        ({"x-api-key": "SG_0000000000000000"}, 401, contract.message("401")),
        ({"x-api-key": "SG_ffffffffffffffff"}, 403, contract.message("403")),
    ],
    ids=["missing", "blank", "bearer-only", "unknown", "forbidden"],
)
def test_auth_refusals_use_the_documented_messages(
    headers: dict[str, str], status: int, expected: str
) -> None:
    refused = _rules.check_auth(request(headers), CONFIG)
    assert refused is not None
    assert (refused.status, message(refused)) == (status, expected)


def test_a_known_key_passes_auth_in_any_header_case() -> None:
    assert _rules.check_auth(request({"X-API-KEY": KEY}), CONFIG) is None


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON", "application/json; charset=utf-8"]
)
def test_json_content_types_pass(content_type: str) -> None:
    assert _rules.check_content_type(request({"content-type": content_type})) is None


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "application/x-www-form-urlencoded"]
)
def test_other_content_types_are_406_with_the_content_type_message(
    content_type: str | None,
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    refused = _rules.check_content_type(request(headers))
    assert refused is not None
    assert (refused.status, message(refused)) == (406, contract.message("406-content-type"))
    error = error_for_status(406, refused.body, refused.headers)
    assert type(error).__name__ == "UnsupportedContentTypeError"


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[1, 2]", b'{"prompt": ""}', b'{"prompt": "x", "seed": -2}', b"\xff\xfe"],
    ids=["empty", "text", "array", "blank-prompt", "seed-below-min", "bad-utf8"],
)
def test_bad_bodies_are_400_with_the_core_validation_text(raw: bytes) -> None:
    with pytest.raises(ValidationError) as caught:
        GenerationRequest.from_json(raw)
    refused = _rules.parse_generation(raw)
    assert isinstance(refused, mocks.MockResponse)
    assert (refused.status, message(refused)) == (400, str(caught.value))


def test_a_valid_body_parses_into_the_core_request() -> None:
    parsed = _rules.parse_generation(b'{"prompt": "x", "img_width": 768}')
    assert parsed == GenerationRequest.create(prompt="x", img_width=768)


def test_405_is_an_html_page_with_an_allow_header() -> None:
    refused = _rules.method_not_allowed("POST")
    assert refused.status == 405
    assert refused.content_type.startswith("text/html")
    assert refused.headers["allow"] == "POST"
    assert refused.body.lstrip().startswith(b"<html>")


def test_reset_at_is_iso_8601_utc_rounded_up_to_the_second() -> None:
    moment = datetime(2026, 11, 25, 15, 59, 59, 100_000, tzinfo=timezone.utc).timestamp()
    assert _rules.format_reset_at(moment) == "2026-11-25T16:00:00Z"


def test_rate_limited_carries_reset_and_retry_after() -> None:
    now = datetime(2026, 11, 25, 15, 59, 30, tzinfo=timezone.utc).timestamp()
    refused = _rules.rate_limited(now + 30, now)
    assert refused.status == 429
    assert refused.headers[contract.HEADER_RATE_LIMIT_RESET] == "2026-11-25T16:00:00Z"
    assert refused.headers[contract.HEADER_RETRY_AFTER] == "30"
    assert message(refused) == contract.message("429")


# --- Ledger ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("usd", "micros"), [(0.002, 2000), (10.0, 10_000_000), (0.002366, 2366), (0.1 + 0.2, 300_000)]
)
def test_usd_converts_exactly_to_micros(usd: float, micros: int) -> None:
    assert to_micros(usd) == micros


@pytest.mark.parametrize(
    ("micros", "text"), [(9_998_000, "9.998"), (10_000_000, "10"), (0, "0"), (2366, "0.002366")]
)
def test_usd_formats_without_trailing_zeros(micros: int, text: str) -> None:
    assert format_usd(micros) == text


def test_a_reservation_holds_credits_until_commit_or_release() -> None:
    ledger = Ledger(0.004)
    assert ledger.reserve(2000)
    assert ledger.reserve(2000)
    assert not ledger.reserve(1)
    ledger.release(2000)
    assert ledger.commit(2000) == 2000
    assert (ledger.balance_micros, ledger.reserved_micros) == (2000, 0)


def test_the_ledger_is_exact_under_contention() -> None:
    ledger = Ledger(0.3)
    granted: list[bool] = []
    barrier = threading.Barrier(20)

    def worker() -> None:
        barrier.wait()
        for _ in range(10):
            ok = ledger.reserve(2000)
            granted.append(ok)
            if ok:
                ledger.commit(2000)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 150
    assert ledger.balance_micros == 0


# --- Rate limiter ------------------------------------------------------------------------------
def test_the_rate_limit_counts_per_key_in_a_sliding_minute() -> None:
    clock = SkipAheadClock(frozen=True)
    limiter = RateLimiter(2, clock=clock)
    assert limiter.acquire("a") is None
    clock.advance(10)
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == clock.start + 60  # the first hit leaves the window
    assert limiter.acquire("b") is None
    clock.advance(50)
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == clock.start + 70  # now the second one must leave it


def test_no_rate_limit_never_refuses() -> None:
    limiter = RateLimiter(None)
    assert all(limiter.acquire("a") is None for _ in range(1000))


# --- Scenarios ---------------------------------------------------------------------------------
@pytest.mark.parametrize("status", contract.DOCUMENTED_STATUSES)
def test_every_documented_status_has_a_documented_response(status: int) -> None:
    now = 1_700_000_000.0
    response = documented_response(status, now)
    assert response.status == status
    error = error_for_status(status, response.body, response.headers)
    assert isinstance(error, STATUS_ERRORS[status])
    if status == 405:
        assert response.content_type.startswith("text/html")
    else:
        assert message(response) == error.message
    if status == 429:
        reset = parse_datetime(response.headers[contract.HEADER_RATE_LIMIT_RESET])
        assert reset is not None
        assert reset.timestamp() > now
        assert int(response.headers[contract.HEADER_RETRY_AFTER]) >= 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        (" 429 ", 429),
        ("504", 504),
        ("406-spend-limit", "406-spend-limit"),
    ],
)
def test_forced_status_values(value: str | None, expected: int | None) -> None:
    assert forced_status(value) == expected


@pytest.mark.parametrize("value", ["200", "418", "abc", "4o4", "-1", "²", "٤٠٤", "4" * 5000])
def test_an_unknown_forced_status_is_a_400_naming_the_header(value: str) -> None:
    refused = forced_status(value)
    assert isinstance(refused, mocks.MockResponse)
    assert refused.status == 400
    assert message(refused).startswith("x-mock-status=")
    assert len(message(refused)) < 1000  # a huge value is not echoed back whole


@pytest.mark.parametrize("entry", [200, 429, 502, "timeout", "406-spend-limit", "401-missing-key"])
def test_script_entries_accepted(entry: object) -> None:
    assert parse_script_entry(entry) == entry


def test_a_status_written_as_text_is_that_status() -> None:
    assert parse_script_entry("429") == 429


@pytest.mark.parametrize("entry", [True, 418, "418", "²", "4" * 5000, None, 3.5, "406-other"])
def test_script_entries_refused(entry: object) -> None:
    with pytest.raises(ValueError, match="script entry"):
        parse_script_entry(entry)


def test_scripts_are_per_key_fifo_and_all_or_nothing() -> None:
    scripts = Scripts()
    scripts.add("a", [429, "timeout"])
    with pytest.raises(ValueError, match="script entry"):
        scripts.add("a", [500, 999])
    assert scripts.pop("b") is None
    assert [scripts.pop("a"), scripts.pop("a"), scripts.pop("a")] == [429, "timeout", None]


def test_faults_are_drawn_from_the_seeded_generator() -> None:
    first, second = random.Random(3), random.Random(3)
    assert [draw_fault(0.5, first) for _ in range(50)] == [
        draw_fault(0.5, second) for _ in range(50)
    ]
    rng = random.Random(11)
    sequence = [draw_fault(0.5, rng) for _ in range(400)]
    faults = [status for status in sequence if status is not None]
    assert set(faults) == set(FAULT_STATUSES)
    assert 120 < len(faults) < 280
    assert all(draw_fault(0.0, rng) is None for _ in range(100))
    assert all(draw_fault(1.0, rng) in FAULT_STATUSES for _ in range(100))


# --- Config ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {"latency": -1},
        {"latency": float("nan")},
        {"credits": -0.5},
        {"fault_rate": 1.5},
        {"rate_limit": 0},
        {"api_keys": ("",)},
        {"hang_seconds": -1},
        {"queue_time": -0.1},
        {"queue_time": float("inf")},
        {"result_ttl": 0},
        {"failed_status": 500},
    ],
)
def test_bad_configs_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        mocks.MockConfig(**kwargs)  # type: ignore[arg-type]


def test_config_turns_key_lists_into_tuples() -> None:
    config = mocks.MockConfig(api_keys=["SG_1"], forbidden_keys=["SG_2"])  # type: ignore[arg-type]
    assert (config.api_keys, config.forbidden_keys) == (("SG_1",), ("SG_2",))


def test_the_balance_can_be_set_directly() -> None:
    ledger = Ledger(10)
    ledger.set_balance(0.001)
    assert not ledger.reserve(2000)
    assert ledger.balance_micros == 1000
