"""The parser of numbers from outside, pinned down at its edges (mutation testing found them
loose): where a count, an amount and a text stop being readable, and what the refusal says."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realdream._amounts import MAX_AMOUNT, parse_amount, parse_count, reported_amount, short_repr


# --- short_repr: a hostile value cannot flood a message -------------------------------------------
def test_a_repr_of_exactly_the_limit_is_kept_whole() -> None:
    value = "x" * 38  # its repr, quotes included, is 40 characters: the default limit
    assert short_repr(value) == repr(value)
    assert short_repr("abcdef", limit=8) == "'abcdef'"


def test_a_repr_one_over_the_limit_is_cut_to_the_limit_with_an_ellipsis() -> None:
    value = "x" * 39  # 41 characters of repr
    assert short_repr(value) == "'" + "x" * 38 + "…"
    assert len(short_repr(value)) == 40
    assert short_repr("abcdefg", limit=8) == "'abcdef…"


@given(st.text(max_size=200), st.integers(2, 60))
def test_a_short_repr_is_never_longer_than_its_limit_and_starts_as_the_repr(
    value: str, limit: int
) -> None:
    text = short_repr(value, limit)
    assert len(text) <= limit
    assert repr(value).startswith(text.removesuffix("…"))


# --- parse_amount: the refusal names the field and the value, whatever the reason -----------------
def test_a_negative_amount_is_refused_naming_the_value() -> None:
    with pytest.raises(
        ValueError, match=_exactly("balance=-1: must be a finite number between 0 and 1e+12")
    ):
        parse_amount(-1, field="balance")


def test_an_amount_over_the_maximum_is_refused_naming_the_bounds() -> None:
    assert parse_amount(MAX_AMOUNT, field="cost") == MAX_AMOUNT
    with pytest.raises(
        ValueError, match=_exactly("cost=5: must be a finite number between -4.5 and 4.5")
    ):
        parse_amount(5, field="cost", maximum=4.5, negative=True)


def test_an_integer_of_nineteen_digits_is_refused_before_it_becomes_a_float() -> None:
    # 10**18 and above are refused as integers, whatever maximum the caller allows
    assert parse_amount(10**18 - 1, field="n", maximum=1e19) == 1e18
    assert parse_amount(-(10**18) + 1, field="n", maximum=1e19, negative=True) == -1e18
    for value in (10**18, -(10**18)):
        with pytest.raises(ValueError, match=r"^n="):
            parse_amount(value, field="n", maximum=1e19, negative=True)


def test_a_numeric_text_is_read_up_to_sixty_four_characters() -> None:
    assert parse_amount("0" * 63 + "1", field="n") == 1.0
    assert parse_amount("  " + "0" * 63 + "1  ", field="n") == 1.0  # spaces around are no part
    with pytest.raises(ValueError, match=r"^n='0000"):
        parse_amount("0" * 64 + "1", field="n")
    for blank in ("", "   "):
        with pytest.raises(ValueError, match=r"^n="):
            parse_amount(blank, field="n")


# --- parse_count ----------------------------------------------------------------------------------
@given(st.integers(0, 1_000_000))
def test_a_whole_number_in_range_reads_as_an_int_in_every_form(value: int) -> None:
    for form in (value, float(value), str(value), f"{value}.0", f" {value} "):
        number = parse_count(form, field="seed")
        assert number == value
        assert type(number) is int


@pytest.mark.parametrize(
    "value",
    [1.5, "2.25", -1, "-1", 1_000_001, math.nan, math.inf, "inf", True, None, "seven", [1]],
)
def test_what_cannot_be_a_count_is_refused_naming_field_value_and_range(value: object) -> None:
    message = f"seed={short_repr(value)}: must be a whole number from 0 to 1000000"
    with pytest.raises(ValueError, match=_exactly(message)):
        parse_count(value, field="seed")


def test_a_count_is_bounded_by_the_maximum_given_both_ends_included() -> None:
    assert parse_count(0, field="n", maximum=7) == 0
    assert parse_count(7, field="n", maximum=7) == 7
    with pytest.raises(ValueError, match=r"^n=8: must be a whole number from 0 to 7$"):
        parse_count(8, field="n", maximum=7)
    with pytest.raises(ValueError, match=r"^n=-0\.5: must be a whole number from 0 to 7$"):
        parse_count(-0.5, field="n", maximum=7)


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


# --- reported_amount: a number beside a paid image is an amount, or unknown --------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("0.002", 0.002), (3, 3.0), (0, 0.0), ("-0.0", 0.0), (MAX_AMOUNT, MAX_AMOUNT)],
)
def test_a_readable_reported_amount_is_that_amount(value: object, expected: float | None) -> None:
    assert reported_amount(value, field="x-cost") == expected


@pytest.mark.parametrize(
    "value", ["-0.002", "abc", "", True, math.nan, math.inf, MAX_AMOUNT * 2, [1], {"a": 1}]
)
def test_a_reported_amount_that_cannot_be_true_is_unknown_not_an_error(value: object) -> None:
    assert reported_amount(value, field="x-cost") is None
