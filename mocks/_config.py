"""The mock's configuration: one frozen dataclass, every default taken from the core contract."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from realdream import contract

__all__ = ["DEFAULT_CREDITS", "DEFAULT_HANG_SECONDS", "MOCK_API_KEY", "MockConfig"]

#: The documented test key: ``SG_`` and 16 hex characters, the shape of a real key.
MOCK_API_KEY: Final = "SG_0123456789abcdef"
#: The starting balance, in USD.
DEFAULT_CREDITS: Final = 10.0
#: How long a scripted ``"timeout"`` entry keeps the answer back (longer than test timeouts).
DEFAULT_HANG_SECONDS: Final = 30.0


@dataclass(frozen=True)
class MockConfig:
    """How the mock behaves. Immutable; every field has a command-line flag.

    ``latency`` (± ``jitter``) seconds pass before a 200; ``credits`` is the starting balance in
    USD and ``cost_per_image`` is charged per image returned. ``api_keys`` are accepted,
    ``forbidden_keys`` are known but answer 403. ``rate_limit`` is requests per minute per key
    (``None``: unlimited). ``fault_rate`` is the probability of an injected 500/502/504, drawn
    from ``random.Random`` seeded with ``seed`` (which also picks the seed for ``seed=-1``).
    ``replay`` is a folder of recorded cassettes to answer matching requests from.
    """

    latency: float = contract.ADVERTISED_LATENCY_S
    jitter: float = 0.0
    credits: float = DEFAULT_CREDITS
    cost_per_image: float = contract.COST_PER_IMAGE_USD
    api_keys: tuple[str, ...] = (MOCK_API_KEY,)
    forbidden_keys: tuple[str, ...] = ()
    rate_limit: int | None = None
    fault_rate: float = 0.0
    seed: int | None = None
    hang_seconds: float = DEFAULT_HANG_SECONDS
    replay: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_keys", tuple(self.api_keys))
        object.__setattr__(self, "forbidden_keys", tuple(self.forbidden_keys))
        for name in ("latency", "jitter", "credits", "cost_per_image", "hang_seconds"):
            _check_non_negative(name, getattr(self, name))
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate={self.fault_rate!r}: must be between 0 and 1")
        if self.rate_limit is not None and (
            isinstance(self.rate_limit, bool) or self.rate_limit < 1
        ):
            raise ValueError(f"rate_limit={self.rate_limit!r}: must be an integer >= 1 or None")
        if not all(self.api_keys + self.forbidden_keys):
            raise ValueError("api_keys and forbidden_keys must not contain an empty key")


def _check_non_negative(name: str, value: float) -> None:
    if isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r}: must be a finite number >= 0")
