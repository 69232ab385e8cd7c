"""Hypothesis strategies for RealDream Lightning requests, valid and invalid.

Every strategy reads its bounds from :data:`realdream.LIMITS` and friends, so they follow the
contract when it changes. Edges (each minimum and maximum) are drawn often.

>>> from hypothesis import given                                       # doctest: +SKIP
>>> @given(valid_requests())
... def test_my_app_accepts(request): ...
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

try:
    from hypothesis import strategies as st
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "realdream.testing.strategies needs hypothesis; install it with: "
        "pip install 'realdream[testing]'",
        name=exc.name,
    ) from None

from realdream import LIMITS, PROMPT_MAX_LENGTH, SCHEDULERS, GenerationRequest

__all__ = [
    "FIELDS",
    "InvalidPayload",
    "invalid_payloads",
    "invalid_values",
    "prompts",
    "valid_payloads",
    "valid_requests",
    "valid_values",
]

FIELDS: tuple[str, ...] = tuple(GenerationRequest.model_fields)


class InvalidPayload(NamedTuple):
    """A request body with exactly one thing wrong, and the name of the field that is wrong."""

    field: str
    payload: dict[str, Any]


def prompts(*, max_size: int = 80) -> st.SearchStrategy[str]:
    """Non-blank prompts, sometimes exactly at the maximum length."""
    text = st.text(min_size=1, max_size=max_size).filter(lambda s: not s.isspace())
    longest = st.builds(lambda c: c * PROMPT_MAX_LENGTH, st.sampled_from("ab語😀"))
    return st.one_of(text, longest)


def _ints(field: str) -> st.SearchStrategy[int]:
    lim = LIMITS[field]
    low, high, step = int(lim.minimum), int(lim.maximum), int(lim.step)
    if step == 1:
        return st.one_of(st.sampled_from([low, high]), st.integers(low, high))
    first = -(-low // step)
    return st.integers(first, high // step).map(lambda k: k * step)


def _guidance() -> st.SearchStrategy[float]:
    lim = LIMITS["guidance_scale"]
    edges = st.sampled_from([float(lim.minimum), float(lim.maximum), float(lim.default)])
    return st.one_of(edges, st.floats(lim.minimum, lim.maximum, allow_nan=False))


def valid_values(field: str) -> st.SearchStrategy[Any]:
    """Every value ``field`` accepts, edges included."""
    if field == "prompt":
        return prompts()
    if field == "negative_prompt":
        return st.one_of(st.just(""), st.text(max_size=80))
    if field == "scheduler":
        return st.sampled_from(SCHEDULERS)
    if field == "guidance_scale":
        return _guidance()
    if field == "base64":
        return st.booleans()
    return _ints(field)


@st.composite
def valid_payloads(draw: st.DrawFn, *, defaults: bool = True) -> dict[str, Any]:
    """Valid request bodies: ``prompt`` always, each other field drawn or left to its default."""
    payload: dict[str, Any] = {"prompt": draw(prompts())}
    for field in FIELDS[1:]:
        if not defaults or draw(st.booleans()):
            payload[field] = draw(valid_values(field))
    return payload


def valid_requests() -> st.SearchStrategy[GenerationRequest]:
    """Valid :class:`~realdream.GenerationRequest` objects, every field drawn."""
    return valid_payloads(defaults=False).map(GenerationRequest.create)


def _out_of_range_ints(field: str) -> st.SearchStrategy[int]:
    lim = LIMITS[field]
    low, high = int(lim.minimum), int(lim.maximum)
    below = st.integers(max_value=low - 1)
    above = st.integers(min_value=high + 1)
    ranges = [below, above, st.sampled_from([low - 1, high + 1])]
    if lim.step != 1:
        step = int(lim.step)
        ranges.append(st.integers(low, high).filter(lambda v: v % step != 0))
    return st.one_of(ranges)


_WRONG_TYPES = st.one_of(
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)


def invalid_values(field: str) -> st.SearchStrategy[Any]:
    """Values ``field`` refuses: out of range, wrong type, bools for numbers, NaN, infinity."""
    if field in ("prompt", "negative_prompt"):
        too_long = st.just("x" * (PROMPT_MAX_LENGTH + 1))
        blank = st.text(alphabet=" \t\n\r\u3000\u00a0", max_size=5)
        choices = [too_long, _WRONG_TYPES, st.integers()]
        return st.one_of([blank, *choices] if field == "prompt" else choices)
    if field == "scheduler":
        return st.one_of(
            st.text(max_size=30).filter(lambda s: s not in SCHEDULERS), st.integers(), _WRONG_TYPES
        )
    if field == "base64":
        return st.one_of(st.integers(0, 1), st.sampled_from(["true", "false"]), _WRONG_TYPES)
    if field == "guidance_scale":
        lim = LIMITS["guidance_scale"]
        return st.one_of(
            st.floats(max_value=lim.minimum, exclude_max=True, allow_nan=False),
            st.floats(min_value=lim.maximum, exclude_min=True, allow_nan=False),
            st.sampled_from([math.nan, math.inf, -math.inf]),
            st.booleans(),
            st.sampled_from(["1.2"]),
            _WRONG_TYPES,
        )
    return st.one_of(
        _out_of_range_ints(field),
        st.booleans(),
        st.floats(allow_nan=False).filter(lambda v: not float(v).is_integer()),
        _out_of_range_ints(field).map(float),
        st.text(max_size=4),
        _WRONG_TYPES,
    )


@st.composite
def invalid_payloads(draw: st.DrawFn) -> InvalidPayload:
    """Bodies with exactly one bad field (or one unknown field), tagged with that field."""
    payload = draw(valid_payloads())
    unknown = st.text(min_size=1, max_size=12).filter(lambda k: k not in FIELDS)
    field = draw(st.one_of(st.sampled_from(FIELDS), unknown))
    if field == "prompt" and draw(st.booleans()):
        del payload["prompt"]
    elif field in FIELDS:
        payload[field] = draw(invalid_values(field))
    else:
        payload[field] = draw(st.integers())
    return InvalidPayload(field, payload)
