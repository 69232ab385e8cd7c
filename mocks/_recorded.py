"""What a recorded exchange may hold before the mock replays it: every number in it is true.

A cassette is a file from outside, so each number it carries is parsed as one from a response
would be (``realdream.parse_amount``): the prices, balances and times in its headers
(``x-cost``, ``x-remaining-credits``, ``x-generation-time``, a numeric ``retry-after``) and in
its JSON body (``credits``, ``cost``, ``remaining_credits``, the ``*_time`` metrics, anywhere),
its seeds, its file sizes, every JSON number (no ``NaN``, no infinity) and, for an answer the
mock bills, the ``samples`` it was asked for. The status itself is checked when the cassette is
read (``realdream.testing.cassettes``). :func:`check_recorded` raises ``ValueError`` naming the
field, the value and what is allowed; the replay adds the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, Final

from realdream import LIMITS, contract, parse_amount
from realdream.testing.cassettes import REDACTED, Recorded

__all__ = ["billed_request", "check_recorded"]

_SEED_MAX: Final = int(LIMITS["seed"].maximum)
_SAMPLES_MAX: Final = int(LIMITS["samples"].maximum)
_AMOUNT_HEADERS: Final = frozenset(
    {
        contract.HEADER_COST,
        contract.HEADER_REMAINING_CREDITS,
        contract.HEADER_GENERATION_TIME,
        contract.HEADER_RETRY_AFTER,
    }
)
#: JSON members that hold a price, a balance or a time, wherever they appear in a body.
_AMOUNT_KEYS: Final = frozenset(
    {
        *contract.CREDITS_KEYS,
        contract.METRIC_COST,
        contract.METRIC_REMAINING_CREDITS,
        contract.METRIC_INFERENCE_TIME,
        contract.METRIC_QUEUE_TIME,
        contract.METRIC_TOTAL_TIME,
    }
)
_SEED_KEY: Final = contract.JOB_SEED_KEY
_FILE_SIZE_KEY: Final = "file_size"


class _NotFiniteError(ValueError):
    """A JSON body holds ``NaN`` or an infinity."""


def check_recorded(recorded: Recorded, *, billed: bool) -> None:
    """Refuse ``recorded`` if a number in it cannot be true (``billed``: the mock debits its
    answer, so the request's ``samples`` must be a count it could have billed)."""
    for name, value in recorded.headers:
        _check_header(name.lower(), value)
    body = _json(recorded.content, "response.body")
    if body is not None:
        _walk(body, "response.body")
    if billed:
        billed_request(recorded.body)


def billed_request(body: bytes) -> tuple[int, bool]:
    """The ``samples`` (1 when it names none) and ``base64`` of a recorded request whose answer
    the mock bills: ``samples`` must be a whole number from 1 to the contract's maximum, else
    ``ValueError`` naming ``request.body.samples``."""
    data = _json(body, "request.body")
    fields = data if isinstance(data, dict) else {}
    value = fields.get("samples", 1)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _SAMPLES_MAX:
        raise ValueError(
            f"request.body.samples={_shown(value)}: must be a whole number from 1 to "
            f"{_SAMPLES_MAX} (the mock bills it)"
        )
    return value, fields.get("base64") is True


def _check_header(name: str, value: str) -> None:
    field = f"response.headers.{name}"
    if name == contract.HEADER_REMAINING_CREDITS and value.strip() == REDACTED:
        return
    if name == contract.HEADER_RETRY_AFTER and not _looks_numeric(value):
        return  # an HTTP date
    if name in _AMOUNT_HEADERS:
        parse_amount(value, field=field)
    elif name == contract.HEADER_SEED:
        _whole(value.strip(), field, maximum=_SEED_MAX)


def _json(content: bytes, field: str) -> Any:
    """``content`` parsed as JSON, or ``None`` when it is not JSON; ``NaN`` or an infinity in
    it is refused (``ValueError`` naming ``field``)."""

    def constant(name: str) -> Any:
        raise _NotFiniteError(f"{field}: holds {name}: every JSON number must be finite")

    try:
        return json.loads(content, parse_constant=constant)
    except _NotFiniteError:
        raise
    except ValueError:  # not JSON: an image, an HTML page
        return None
    except RecursionError:
        raise ValueError(f"{field}: nested too deep to check") from None


def _walk(value: Any, field: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _member(str(key), item, f"{field}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{field}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{field}={_shown(value)}: every JSON number must be finite")


_MEMBER_CHECKS: Final[dict[str, Callable[[Any, str], object]]] = {
    **{key: lambda value, field: parse_amount(value, field=field) for key in _AMOUNT_KEYS},
    _SEED_KEY: lambda value, field: _whole(value, field, maximum=_SEED_MAX),
    _FILE_SIZE_KEY: lambda value, field: _whole(value, field, maximum=2**40),
}


def _member(key: str, value: Any, field: str) -> None:
    check = _MEMBER_CHECKS.get(key)
    if check is not None and value is not None:
        check(value, field)
    else:
        _walk(value, field)


def _whole(value: object, field: str, *, maximum: int) -> int:
    """A whole number from 0 to ``maximum``, as an ``int`` or its decimal text."""
    text = value if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        number: int | None = value
    elif text is not None and text.isdecimal() and len(text) <= 20:
        number = int(text)
    else:
        number = None
    if number is None or not 0 <= number <= maximum:
        raise ValueError(f"{field}={_shown(value)}: must be a whole number from 0 to {maximum}")
    return number


def _looks_numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
