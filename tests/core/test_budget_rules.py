"""The one Budget, pinned down rule by rule (mutation testing found them loose): what fits,
what a reservation holds, what a settlement spends, and when the price per image rises."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realdream import Budget
from realdream.contract import COST_PER_IMAGE_USD


def test_without_a_limit_everything_fits_and_is_still_counted() -> None:
    budget = Budget()
    assert budget.limit is None
    assert budget.remaining is None
    assert budget.allows(1e9)
    assert budget.reserve(1e9) is True
    assert budget.reserve_images(1000) == pytest.approx(1000 * COST_PER_IMAGE_USD)
    budget.settle(1e9, 3.5, images=1)
    assert budget.spent == 3.5
    assert budget.price == 3.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": -1}, r"^limit=-1: must be a finite number between 0 and"),
        ({"limit": "ten"}, r"^limit='ten': must be"),
        ({"price": -0.5}, r"^price=-0\.5: must be a finite number between 0 and"),
        ({"price": "inf"}, r"^price='inf': must be"),
    ],
)
def test_a_limit_or_price_that_cannot_be_true_is_refused_naming_it(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Budget(**kwargs)  # type: ignore[arg-type]


def test_reserve_holds_what_fits_and_nothing_of_what_does_not() -> None:
    budget = Budget(limit=1.0)
    assert budget.reserve(0.25) is True
    assert budget.reserve(0.5) is True
    assert budget.reserved == pytest.approx(0.75)
    assert budget.reserve(0.5) is False  # 1.25 would not fit: nothing is held
    assert budget.reserved == pytest.approx(0.75)
    assert budget.remaining == pytest.approx(0.25)
    assert budget.reserve(0.25) is True  # exactly the limit fits
    assert budget.remaining == 0.0
    assert budget.reserve(0.001) is False


def test_the_limit_itself_fits_within_float_rounding_and_no_further() -> None:
    budget = Budget(limit=3 * 0.0024)
    for _ in range(3):
        assert budget.reserve(0.0024)  # 0.0024 three times sums past 0.0072 in floats
    assert not Budget(limit=1.0).allows(1.0 + 2e-9)
    assert Budget(limit=1.0).allows(1.0 + 1e-9)  # the tolerance, and not a hair more


def test_reservations_of_images_add_up() -> None:
    budget = Budget(limit=1.0, price=0.01)
    assert budget.reserve_images(2) == pytest.approx(0.02)
    assert budget.reserve_images(3) == pytest.approx(0.03)
    assert budget.reserved == pytest.approx(0.05)
    assert budget.remaining == pytest.approx(0.95)


def test_settlements_add_up_and_free_their_reservations() -> None:
    budget = Budget(limit=1.0, price=0.01)
    first = budget.reserve_images(1)
    second = budget.reserve_images(1)
    assert first is not None
    assert second is not None
    budget.settle(first, 0.01, images=1)
    budget.settle(second, 0.02, images=1)
    assert budget.spent == pytest.approx(0.03)
    assert budget.reserved == 0.0
    assert budget.remaining == pytest.approx(0.97)


def test_a_settlement_without_images_spends_but_leaves_the_price() -> None:
    budget = Budget(limit=1.0)
    budget.settle(0.0, 0.5)  # a cost for no stated number of images: no price to learn
    assert budget.spent == 0.5
    assert budget.price == COST_PER_IMAGE_USD
    budget.settle(0.0, 0.0, images=3)  # nothing paid for three images: no price either
    assert budget.price == COST_PER_IMAGE_USD


def test_the_price_learned_from_a_settlement_is_per_image() -> None:
    budget = Budget(limit=1.0)
    budget.settle(0.0, 0.01, images=2)
    assert budget.price == pytest.approx(0.005)
    assert budget.estimate(4) == pytest.approx(0.02)
    budget.settle(0.0, 0.004, images=4)  # cheaper per image: the price does not fall
    assert budget.price == pytest.approx(0.005)


@given(
    st.lists(
        st.tuples(st.integers(1, 4), st.floats(0, 0.02, allow_nan=False), st.integers(0, 4)),
        max_size=12,
    )
)
def test_spent_plus_held_never_passes_the_limit(
    requests: list[tuple[int, float, int]],
) -> None:
    """Whatever each request ends up costing, nothing new starts past the limit."""
    budget = Budget(limit=0.05)
    for images, actual, settled_images in requests:
        held = budget.reserve_images(images)
        if held is None:
            assert budget.spent + budget.reserved + budget.estimate(images) > 0.05
            continue
        assert budget.spent + budget.reserved <= 0.05 + 1e-9
        budget.settle(held, actual, settled_images)
    assert budget.reserved == pytest.approx(0.0, abs=1e-12)


def test_the_repr_says_limit_spent_reserved_and_price() -> None:
    budget = Budget(limit=0.5, price=0.003)
    assert budget.reserve(0.125)
    budget.settle(0.0, 0.0625)
    assert repr(budget) == ("Budget(limit=0.5, spent=0.062500, reserved=0.125000, price=0.003000)")


def test_a_release_frees_the_reservation_and_spends_nothing() -> None:
    budget = Budget(limit=0.01, price=0.004)
    held = budget.reserve_images(2)
    assert held == pytest.approx(0.008)
    assert budget.reserve_images(1) is None  # 0.012 would not fit: nothing more is held
    assert budget.reserved == pytest.approx(0.008)
    budget.release(held)
    assert budget.spent == 0.0
    assert budget.reserved == 0.0
    assert budget.price == 0.004  # a request not billed teaches no price
    assert budget.remaining == pytest.approx(0.01)


def test_settling_more_than_is_held_never_leaves_a_negative_reservation() -> None:
    budget = Budget(limit=1.0)
    assert budget.reserve(0.25)
    budget.settle(0.5, 0.0)
    assert budget.reserved == 0.0
    assert budget.reserve(1.0)  # the whole limit fits again: nothing negative was kept


def test_what_remains_is_never_negative_even_after_an_overrun() -> None:
    budget = Budget(limit=0.01)
    budget.settle(0.0, 0.03, images=1)  # billed past the limit (a dearer service)
    assert budget.remaining == 0.0
    assert not budget.allows(0.0 + 1e-6)
    assert budget.reserve_images(1) is None
    assert Budget(limit=0.3).remaining == 0.3  # rounded to the nano-dollar, not to a cent


def test_a_noted_price_only_ever_rises_and_must_be_a_price() -> None:
    budget = Budget(limit=1.0, price=0.002)
    budget.note_price(0.005)
    assert budget.price == 0.005
    assert budget.estimate(2) == pytest.approx(0.01)
    budget.note_price(0.001)
    assert budget.price == 0.005
    with pytest.raises(ValueError, match=r"^price=-1: must be"):
        budget.note_price(-1)
    with pytest.raises(ValueError, match=r"^cost='nan': must be"):
        budget.settle(0.0, "nan")  # type: ignore[arg-type]
    assert budget.spent == 0.0
