"""The mock's numbers refuse what cannot be meant, in MockConfig and on the command line alike:
NaN, infinities, ``1e999``, 400-digit integers, negatives, booleans, strings, nesting."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import realdream.mock as mocks

SECONDS = ("latency", "jitter", "hang_seconds", "queue_time", "result_ttl")
USD = ("credits", "cost_per_image")
NUMBERS = (*SECONDS, *USD, "fault_rate")

HOSTILE = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, float("1e999"), -1e-9, -5]),
    st.just(10**400),
    st.just(-(10**400)),
    st.booleans(),
    st.sampled_from(["nan", "1.5", "", "inf"]),
    st.lists(st.floats(0, 1), max_size=2),
    st.dictionaries(st.text(max_size=3), st.floats(0, 1), max_size=2),
    st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
)


@given(field=st.sampled_from(NUMBERS), value=HOSTILE)
def test_a_number_that_cannot_be_is_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"^{field}=.*: must be") as caught:
        mocks.MockConfig(**{field: value})  # type: ignore[arg-type]
    assert len(str(caught.value)) < 120  # a 400-digit value is cut short


@given(field=st.sampled_from((*SECONDS, *USD)), value=st.floats(1e-6, 1e6) | st.integers(1, 10**6))
def test_a_sane_time_or_price_is_kept(field: str, value: float) -> None:
    assert getattr(mocks.MockConfig(**{field: value}), field) == value  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("latency", 1e8, "must be at most 1e+07 seconds"),
        ("credits", 1e13, "must be at most 1e+12 USD"),
        ("fault_rate", 1.5, "must be between 0 and 1"),
        ("result_ttl", 0, "must be a number of seconds > 0"),
        ("rate_limit", True, "must be a whole number >= 1"),
        ("rate_limit", 2.5, "must be a whole number >= 1"),
        ("seed", "7", "must be a whole number or None"),
    ],
)
def test_each_rule_is_named(field: str, value: object, rule: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}=.*: {re.escape(rule)}"):
        mocks.MockConfig(**{field: value})  # type: ignore[arg-type]
