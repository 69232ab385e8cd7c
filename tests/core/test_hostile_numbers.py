"""Numbers from a response that cannot be true (issue 19.5): a balance is refused with
``InvalidResponseError``; a price, balance, duration or seed reported beside paid images
reads as unknown, and the images are kept."""

from __future__ import annotations

import asyncio
import json
import math

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

import realdream
from realdream import contract, reported_amount
from realdream._amounts import MAX_AMOUNT
from realdream._headers import reported_seed
from realdream._jobbodies import metric, result_seed
from realdream._polling import Durations
from tests.core.fakes import KEY, encode

#: JSON texts of balances that cannot be true.
IMPOSSIBLE_JSON = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "-0.5",
    "1" + "0" * 400,
    '"nan"',
    '"inf"',
    '"-1"',
    '"1e999"',
    '""',
    "true",
    "false",
    "null",
    "[5]",
    '{"amount": 5}',
    '[[["nested"]]]',
    "1e13",
]
#: Hostile values as Python objects, for the parsers that take what ``json.loads`` gives.
HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.just(10**400),
    st.sampled_from([-0.0, True, False, None, "nan", "NaN", "inf", "-inf", "1e999", "-0.0"]),
    st.text(max_size=30),
    st.from_regex(r"-?[0-9]{1,400}(\.[0-9]*)?(e-?[0-9]{1,4})?", fullmatch=True),
    st.recursive(
        st.floats() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=5,
    ),
)
#: Hostile header values (a header is text).
HOSTILE_TEXT = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "-1", "-0.0", " 0.5 "]),
    st.from_regex(r"-?[0-9]{1,400}(\.[0-9]*)?(e-?[0-9]{1,4})?", fullmatch=True),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)


def _sane(value: float | None) -> bool:
    return value is None or (math.isfinite(value) and 0.0 <= value <= MAX_AMOUNT)


def _credits_client(body: bytes) -> realdream.Client:
    transport = httpx.MockTransport(lambda _: httpx.Response(200, content=body))
    return realdream.Client(KEY, transport=transport)


# --- the balance: refused ------------------------------------------------------------------------
@pytest.mark.parametrize("text", IMPOSSIBLE_JSON)
def test_an_impossible_balance_is_refused_with_invalid_response(text: str) -> None:
    body = f'{{"credits": {text}, "free-credits": 0}}'.encode()
    with _credits_client(body) as client, pytest.raises(realdream.InvalidResponseError) as info:
        client.credits()
    assert "credits" in str(info.value)
    assert info.value.body == body


@pytest.mark.parametrize("text", ["NaN", "-3", '"inf"', "[]"])
def test_an_impossible_free_balance_is_refused_too(text: str) -> None:
    body = f'{{"credits": 2.5, "free-credits": {text}}}'.encode()
    with _credits_client(body) as client, pytest.raises(realdream.InvalidResponseError):
        client.credits()


@pytest.mark.parametrize("body", [b"[1, 2]", b'"5"', b"{}", b'{"free-credits": 1}', b"nan"])
def test_a_body_without_a_balance_is_refused(body: bytes) -> None:
    with _credits_client(body) as client, pytest.raises(realdream.InvalidResponseError):
        client.credits()


def test_a_balance_that_can_be_true_is_read_and_negative_zero_is_zero() -> None:
    with _credits_client(b'{"credits": "12.5", "free-credits": -0.0}') as client:
        balance = client.credits()
    assert balance == realdream.Credits(12.5, 0.0)
    assert math.copysign(1.0, balance.free_credits) == 1.0


def test_the_async_client_refuses_an_impossible_balance_too() -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(200, content=b'{"credits": NaN}'))

    async def go() -> None:
        async with realdream.AsyncClient(KEY, transport=transport) as client:
            await client.credits()

    with pytest.raises(realdream.InvalidResponseError):
        asyncio.run(go())


@given(value=HOSTILE)
def test_any_balance_is_either_refused_or_a_finite_amount_within_bounds(value: object) -> None:
    try:
        body = json.dumps({"credits": value}).encode()
    except (ValueError, RecursionError):  # too large an int for json: send its digits
        body = b'{"credits": ' + str(value).encode() + b"}"
    with _credits_client(body) as client:
        try:
            balance = client.credits()
        except realdream.InvalidResponseError:
            return
    assert _sane(balance.credits)
    assert _sane(balance.free_credits)
    assert not isinstance(value, bool)


# --- numbers beside paid images: unknown, never wrong ---------------------------------------------
@given(value=HOSTILE)
def test_a_reported_amount_is_a_finite_amount_within_bounds_or_unknown(value: object) -> None:
    assert _sane(reported_amount(value, field="x"))
    assert _sane(metric({"cost": value}, "cost"))


@given(value=HOSTILE)
def test_a_reported_seed_is_a_whole_number_in_range_or_unknown(value: object) -> None:
    for seed in (reported_seed(value), result_seed({"seed": value})):
        assert seed is None or (type(seed) is int and 0 <= seed <= contract.LIMITS["seed"].maximum)


@given(cost=HOSTILE_TEXT, remaining=HOSTILE_TEXT, took=HOSTILE_TEXT, seed=HOSTILE_TEXT)
def test_hostile_headers_on_a_paid_image_read_as_unknown_and_the_image_is_kept(
    cost: str, remaining: str, took: str, seed: str
) -> None:
    request = realdream.GenerationRequest.create(prompt="a lighthouse", seed=7)
    headers = {
        contract.HEADER_COST: cost,
        contract.HEADER_REMAINING_CREDITS: remaining,
        contract.HEADER_GENERATION_TIME: took,
        contract.HEADER_SEED: seed,
    }
    result = realdream.GenerationResult.from_response(request, encode("JPEG"), headers, elapsed=0)
    assert len(result.images) == 1
    assert _sane(result.cost)
    assert _sane(result.remaining_credits)
    assert _sane(result.generation_time)
    assert result.seed is not None
    assert 0 <= result.seed <= contract.LIMITS["seed"].maximum


@pytest.mark.parametrize(
    ("header", "expected"),
    [("nan", None), ("1e999", None), ("-0.002", None), ("0.0048", 0.0048), ("-0.0", 0.0)],
)
def test_a_cost_header_that_cannot_be_true_falls_back_to_the_contract_price(
    header: str, expected: float | None
) -> None:
    request = realdream.GenerationRequest.create(prompt="a lighthouse", seed=7)
    headers = {contract.HEADER_COST: header, contract.HEADER_REMAINING_CREDITS: header}
    result = realdream.GenerationResult.from_response(request, encode("JPEG"), headers, elapsed=0)
    assert result.cost == (contract.COST_PER_IMAGE_USD if expected is None else expected)
    assert result.remaining_credits == expected


@pytest.mark.parametrize(
    "seconds", [math.nan, math.inf, -3.0, 0.0, 1e11, contract.RESULT_TTL_S + 1]
)
def test_a_job_duration_that_cannot_be_true_never_moves_the_first_poll(seconds: float) -> None:
    durations = Durations()
    durations.add(seconds)
    assert durations.expected() == contract.ADVERTISED_LATENCY_S
    durations.add(4.0)
    assert durations.expected() == 4.0
