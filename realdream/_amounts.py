"""The one place a number from outside becomes a value: a balance, a price, a cost, a count.

A response body or header, a ledger or cassette file, an environment variable: whatever
crosses in is parsed here, and what cannot be true (NaN, an infinity, ``1e999``, a 400-digit
integer, a negative balance, a boolean, a nested object) is refused with a message that names
the field, a short form of the value, and what is allowed. Callers turn the ``ValueError`` into
their own error (``InvalidResponseError`` for a response, a refusal at start for a file).
"""

from __future__ import annotations

import math
from typing import Final

__all__ = ["MAX_AMOUNT", "parse_amount", "parse_count", "reported_amount", "short_repr"]

#: No balance, price or cost this API deals in comes near this; anything larger is an error.
MAX_AMOUNT: Final = 1e12
#: Longest numeric text read (a 400-digit integer is refused before ``int`` parses it).
_MAX_TEXT: Final = 64


def short_repr(value: object, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters so a hostile value cannot flood a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_amount(
    value: object, *, field: str, negative: bool = False, maximum: float = MAX_AMOUNT
) -> float:
    """A finite float in ``[0, maximum]`` (``[-maximum, maximum]`` with ``negative=True``).

    Accepts an ``int`` or ``float`` (never a ``bool``) or the text of one; ``-0.0`` reads as
    ``0.0``. Raises ``ValueError`` naming ``field`` for anything else.
    """
    allowed = (
        f"a finite number between {-maximum:g} and {maximum:g}"
        if negative
        else f"a finite number between 0 and {maximum:g}"
    )
    number = _as_float(value)
    if number is None or not math.isfinite(number) or abs(number) > maximum:
        raise ValueError(f"{field}={short_repr(value)}: must be {allowed}")
    if number < 0 and not negative:
        raise ValueError(f"{field}={short_repr(value)}: must be {allowed}")
    return number + 0.0  # -0.0 -> 0.0


def reported_amount(value: object, *, field: str) -> float | None:
    """A price, balance or duration a response reports, or ``None`` when it cannot be true."""
    if value is None:
        return None
    try:
        return parse_amount(value, field=field)
    except ValueError:
        return None


def parse_count(value: object, *, field: str, maximum: int = 1_000_000) -> int:
    """A whole number in ``[0, maximum]`` (an ``int``, an integral float, or their text)."""
    number = _as_float(value)
    if number is None or not math.isfinite(number) or number != int(number):
        raise ValueError(f"{field}={short_repr(value)}: must be a whole number from 0 to {maximum}")
    if not 0 <= number <= maximum:
        raise ValueError(f"{field}={short_repr(value)}: must be a whole number from 0 to {maximum}")
    return int(number)


def _as_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if abs(value) < 10**18 else None
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > _MAX_TEXT:
            return None
        try:
            return float(text)
        except ValueError:
            return None
    return None
