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
    USD and ``cost_per_image`` is charged per image returned.

    v2 jobs stay QUEUED ``queue_time`` seconds, then PROCESSING ``latency`` (± ``jitter``)
    seconds; their status and result are kept ``result_ttl`` seconds after the submit. A
    FAILED job is served with ``failed_status`` (422 as documented, or 200 as the vendor's SDK
    tests have it); ``result_images=False`` leaves the REPORTED ``images`` list out of a result
    (``output`` alone, the VERIFIED minimum). ``api_keys`` are accepted,
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
    queue_time: float = 0.0
    result_ttl: float = contract.RESULT_TTL_S
    failed_status: int = 422
    result_images: bool = True
    replay: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_keys", tuple(self.api_keys))
        object.__setattr__(self, "forbidden_keys", tuple(self.forbidden_keys))
        numbers = ("latency", "jitter", "credits", "cost_per_image", "hang_seconds", "queue_time")
        for name in (*numbers, "result_ttl"):
            _check_non_negative(name, getattr(self, name))
        if self.result_ttl <= 0:
            raise ValueError(f"result_ttl={self.result_ttl!r}: must be a number of seconds > 0")
        if self.failed_status not in contract.FAILED_STATUS_CODES:
            allowed = " or ".join(map(str, sorted(contract.FAILED_STATUS_CODES)))
            raise ValueError(f"failed_status={self.failed_status!r}: must be {allowed}")
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
