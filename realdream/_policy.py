"""How the clients retry, as plain data: :class:`RetryPolicy` and its defaults.

No HTTP library here: the CLI reads these defaults for its ``--help`` without loading httpx.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_POLICY",
    "INITIAL_BACKOFF",
    "MAX_BACKOFF",
    "MAX_RETRY_WAIT",
    "REDACTED",
    "RetryPolicy",
    "backoff_ceiling",
    "backoff_delay",
]

DEFAULT_MAX_RETRIES: Final = 2
INITIAL_BACKOFF: Final = 0.5
MAX_BACKOFF: Final = 8.0
#: A server that asks for a longer wait than this gets a RateLimitError at once, not a sleep.
MAX_RETRY_WAIT: Final = 60.0
#: What an API key echoed back by a server is replaced with in errors.
REDACTED: Final = "<api key>"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. ``max_retries=0`` disables retries."""

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_backoff: float = INITIAL_BACKOFF
    max_backoff: float = MAX_BACKOFF
    max_wait: float = MAX_RETRY_WAIT
    retry_read_errors: bool = False
    deadline: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or self.max_retries < 0:
            raise ValueError(f"max_retries={self.max_retries!r}: must be an integer >= 0")
        if self.deadline is not None and not self.deadline > 0:
            raise ValueError(f"deadline={self.deadline!r}: must be a number of seconds > 0")

    def backoff_ceiling(self, attempt: int) -> float:
        """The exponential back-off bound for ``attempt`` (from 0): min(max, initial * 2**n)."""
        return min(self.max_backoff, self.initial_backoff * 2.0 ** min(attempt, 30))


DEFAULT_POLICY: Final = RetryPolicy()


def backoff_ceiling(attempt: int, policy: RetryPolicy = DEFAULT_POLICY) -> float:
    """The exponential back-off bound for ``attempt``: min(max, initial * 2**attempt)."""
    return policy.backoff_ceiling(attempt)


def backoff_delay(attempt: int, policy: RetryPolicy, rand: Callable[[], float]) -> float:
    """Exponential backoff with full jitter: uniform in [0, backoff_ceiling(attempt))."""
    return backoff_ceiling(attempt, policy) * rand()
