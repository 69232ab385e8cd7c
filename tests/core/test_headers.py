"""Header parsers: seconds, dates, epochs, and garbage that must not crash or mislead."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realdream._headers import parse_datetime, parse_float, parse_reset_at, parse_retry_after

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-1", None),
        ("nan", None),
        ("NaN", None),
        ("inf", None),
        ("-inf", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("Wed, 25 Nov 2026 12:00:30 GMT", 30.0),
        ("Wed, 25 Nov 2026 11:00:00 GMT", 0.0),  # a date in the past: no wait
        ("Wed, 99 Nov 2026 11:00:00 GMT", None),
        ("2026-11-25T12:01:00Z", 60.0),
    ],
)
def test_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-25T12:00:10Z", 10.0),
        ("2026-11-25T12:00:10+00:00", 10.0),
        ("2026-11-25T13:00:10+01:00", 10.0),
        ("2026-11-25T12:00:10", 10.0),  # no zone: the header's name says UTC
        (str(NOW.timestamp() + 5), 5.0),
        (str(int(NOW.timestamp() * 1000) + 4000), 4.0),  # epoch milliseconds
        ("Wed, 25 Nov 2026 12:00:20 GMT", 20.0),
        ("2020-01-01T00:00:00Z", 0.0),
        ("garbage", None),
        ("-5", None),
        ("1e400", None),
        ("", None),
        (None, None),
    ],
)
def test_reset_at(value, expected):
    assert parse_reset_at(value, NOW) == expected


@given(st.text(max_size=40))
def test_parsers_never_raise_and_never_return_negative_waits(text):
    for wait in (parse_retry_after(text, NOW), parse_reset_at(text, NOW)):
        assert wait is None or wait >= 0
    parse_datetime(text)
    parse_float(text)
