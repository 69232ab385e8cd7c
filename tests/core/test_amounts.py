"""The one parser of numbers from outside, and the one Budget every spender shares."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realdream import Budget, parse_amount
from realdream.contract import COST_PER_IMAGE_USD

HOSTILE = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, "nan", "NaN", "inf", "-Infinity", "1e999"]),
    st.just(10**400),
    st.just(-(10**400)),
    st.booleans(),
    st.none(),
    st.lists(st.floats(0, 1), max_size=2),
    st.dictionaries(st.text(max_size=3), st.floats(0, 1), max_size=2),
    st.text(alphabet="abcxyz,;", min_size=1, max_size=10),
    st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
)


@given(HOSTILE)
def test_what_cannot_be_a_balance_is_refused_naming_the_field(value: object) -> None:
    with pytest.raises(ValueError, match=r"^credits=.*: must be a finite number between 0 and"):
        parse_amount(value, field="credits")


@given(st.floats(0, 1e12) | st.integers(0, 10**12))
def test_what_can_be_a_balance_is_read_as_itself(value: float) -> None:
    assert parse_amount(value, field="credits") == float(value)
    assert parse_amount(str(value), field="credits") == float(value)


def test_negative_zero_reads_as_zero_and_negatives_only_where_allowed() -> None:
    assert math.copysign(1.0, parse_amount(-0.0, field="x")) == 1.0
    assert parse_amount("-2.5", field="x", negative=True) == -2.5
    with pytest.raises(ValueError, match="between -1e"):
        parse_amount(math.nan, field="x", negative=True)


def test_a_hostile_value_is_cut_short_in_the_message() -> None:
    with pytest.raises(ValueError, match=r"^credits=") as caught:
        parse_amount("9" * 5000, field="credits")
    assert len(str(caught.value)) < 120


def test_budget_reserves_at_the_highest_price_seen_and_never_overshoots() -> None:
    budget = Budget(limit=0.01)
    assert budget.reserve_images(1) == pytest.approx(COST_PER_IMAGE_USD)
    budget.settle(COST_PER_IMAGE_USD, 0.005, images=1)  # measured: 2.5 times the price
    assert budget.price == pytest.approx(0.005)
    assert budget.reserve_images(1) == pytest.approx(0.005)  # 0.010 now spent or held
    assert budget.reserve_images(1) is None
    assert budget.remaining == pytest.approx(0.0)


def test_budget_price_never_falls_and_refuses_a_non_finite_report() -> None:
    budget = Budget(limit=1.0)
    budget.note_price(0.004)
    budget.note_price(0.001)
    assert budget.price == pytest.approx(0.004)
    with pytest.raises(ValueError, match="price=nan"):
        budget.note_price(math.nan)
    with pytest.raises(ValueError, match="cost=inf"):
        budget.settle(0.0, math.inf)


def test_a_release_frees_the_reservation_and_spends_nothing() -> None:
    budget = Budget(limit=COST_PER_IMAGE_USD)
    held = budget.reserve_images(1)
    assert held is not None
    assert budget.reserve_images(1) is None
    budget.release(held)
    assert budget.spent == 0.0
    assert budget.reserve_images(1) == pytest.approx(COST_PER_IMAGE_USD)
