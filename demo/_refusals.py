"""Why the guard refused a request, in words a visitor can act on: which limit, what is left,
when it frees up, and that nothing was spent. Money and time read the same everywhere."""

from __future__ import annotations

import enum
import math
from datetime import datetime, timedelta, timezone
from typing import Final

__all__ = [
    "NOTHING_SPENT",
    "Limit",
    "RefusedError",
    "duration",
    "format_usd",
    "images",
    "ledger_refusal",
    "next_midnight",
    "sign_in_refusal",
    "when",
]

NOTHING_SPENT: Final = "Paste your own Segmind key to generate now. Nothing was spent."


class Limit(enum.Enum):
    """Which rule refused a request."""

    SIGN_IN = "sign-in required"
    DAILY_BUDGET = "daily budget"
    BALANCE_FLOOR = "balance floor"
    VISITOR_LIMIT = "visitor limit"
    LEDGER = "spend ledger unavailable"
    PRICE_CHECK = "price check in progress"


class RefusedError(Exception):
    """A request the guard refused before anything was sent: ``message`` is for the visitor."""

    def __init__(self, limit: Limit, message: str) -> None:
        self.limit = limit
        self.message = message
        super().__init__(message)


def format_usd(amount: float) -> str:
    """``$1.00``, ``$0.096``, ``$0.0025``: cents always, more digits only when they matter."""
    text = f"{amount:,.4f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def images(count: int) -> str:
    """``1 image``, ``4 images``."""
    return f"{count} image{'s' if count != 1 else ''}"


def next_midnight(now: float) -> float:
    """The epoch seconds of the UTC midnight after ``now``."""
    moment = datetime.fromtimestamp(now, timezone.utc)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight + timedelta(days=1)).timestamp()


def when(at: float, now: float) -> str:
    """``at 00:00 UTC (in 3 h 12 min)``."""
    clock = datetime.fromtimestamp(at, timezone.utc).strftime("%H:%M")
    return f"at {clock} UTC (in {duration(at - now)})"


def duration(seconds: float) -> str:
    """``3 h 12 min``, ``12 min``, ``under a minute``."""
    minutes = math.ceil(max(seconds, 0) / 60)
    if minutes <= 0:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def sign_in_refusal() -> RefusedError:
    return RefusedError(
        Limit.SIGN_IN,
        "Sign-in required: this app's Segmind key is for signed-in Hugging Face users. Sign in "
        "with the button at the top of the page, paste your own Segmind key, or tick "
        '"Offline mock" for free placeholder images. Nothing was spent.',
    )


def ledger_refusal() -> RefusedError:
    return RefusedError(
        Limit.LEDGER,
        "This app cannot record what it spends right now, so its key is paused. Paste your own "
        "Segmind key to generate, or try again later. Nothing was spent.",
    )
