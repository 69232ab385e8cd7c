"""Pure parsers for what a response says in numbers: the headers that steer retries, and the
prices, balances, durations and seeds a response reports. Garbage in, ``None`` out.

A number a response reports goes through :func:`realdream.parse_amount` (or its whole-number
twin): what cannot be true (NaN, an infinity, ``1e999``, a 400-digit integer, a negative
price, a boolean, a nested object) reads as unknown. Unknown, not an error: these numbers
arrive with an answer that may have been paid for, and its images must not be lost to them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone

from realdream import contract
from realdream._amounts import parse_count, reported_amount

__all__ = [
    "parse_datetime",
    "parse_float",
    "parse_reset_at",
    "parse_retry_after",
    "reported_amount",
    "reported_seed",
    "server_wait",
]

# Epoch values above this are taken as milliseconds (year 2286 in seconds).
_EPOCH_MS_THRESHOLD = 10_000_000_000
_SEED_MAX = int(contract.LIMITS["seed"].maximum)


def parse_float(value: str | None) -> float | None:
    """A finite float, or ``None`` for a missing or unreadable value."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def reported_seed(value: object) -> int | None:
    """The seed a response reports (a string or a number), or ``None`` when it is not one."""
    if value is None:
        return None
    try:
        return parse_count(value, field="seed", maximum=_SEED_MAX)
    except ValueError:
        return None


def parse_datetime(value: str | None) -> datetime | None:
    """An aware UTC datetime from ISO 8601, epoch seconds (or ms), or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    epoch = parse_float(text)
    if epoch is not None:
        if epoch < 0:
            return None
        seconds = epoch / 1000 if epoch > _EPOCH_MS_THRESHOLD else epoch
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return _parse_iso(text) or _parse_http_date(text)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or HTTP date).

    Negative, non-finite or unreadable values give ``None``; dates in the past give ``0``.
    """
    if value is None:
        return None
    seconds = parse_float(value)
    if seconds is not None:
        return seconds if seconds >= 0 else None
    when = _parse_http_date(value.strip()) or _parse_iso(value.strip())
    return _seconds_until(when, now)


def parse_reset_at(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds until the ``x-rate-limit-reset-at-utc`` moment (``0`` if it has passed)."""
    return _seconds_until(parse_datetime(value), now)


def server_wait(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The wait the server asked for: the longer of ``Retry-After`` and the reset header.

    ``headers`` must answer lowercase names (a lowercased dict, or ``httpx.Headers``).
    """
    waits = [
        parse_retry_after(headers.get(contract.HEADER_RETRY_AFTER), now),
        parse_reset_at(headers.get(contract.HEADER_RATE_LIMIT_RESET), now),
    ]
    known = [wait for wait in waits if wait is not None]
    return max(known) if known else None


def _seconds_until(when: datetime | None, now: datetime | None) -> float | None:
    if when is None:
        return None
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _parse_iso(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:  # the header's name says UTC
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _parse_http_date(text: str) -> datetime | None:
    from email.utils import parsedate_to_datetime  # rare (Retry-After as a date): loaded late

    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
