"""The mock's configuration: one frozen dataclass, every default taken from the core contract.

Its numbers are checked in one place (:func:`check_numbers`), by the dataclass and by the
command line alike, so ``--credits nan`` and ``MockConfig(credits=math.nan)`` are refused with
the same rule; each message names the field (or the option), the value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from realdream import contract

__all__ = [
    "DEFAULT_CREDITS",
    "DEFAULT_FAULT_ON",
    "DEFAULT_HANG_SECONDS",
    "FAULT_KINDS",
    "MAX_SECONDS",
    "MAX_USD",
    "MOCK_API_KEY",
    "FaultKind",
    "MockConfig",
    "check_numbers",
    "parse_fault_kinds",
]

#: The documented test key: ``SG_`` and 16 hex characters, the shape of a real key.
MOCK_API_KEY: Final = "SG_0123456789abcdef"
#: The starting balance, in USD.
DEFAULT_CREDITS: Final = 10.0
#: How long a scripted ``"timeout"`` entry keeps the answer back (longer than test timeouts).
DEFAULT_HANG_SECONDS: Final = 30.0
#: The longest time setting (about 116 days): more cannot be meant, and ``time.sleep`` overflows.
MAX_SECONDS: Final = 1e7
#: The largest balance or price in USD (as ``realdream.parse_amount`` allows).
MAX_USD: Final = 1e12

#: A kind of request a fault can be injected into: ``generate`` (the v1 ``POST``), ``submit``
#: (the v2 ``POST``), ``poll`` (a v2 status ``GET``, and the v1 poll URL), ``result`` (a v2
#: result ``GET``) and ``download`` (an image ``GET`` from the mock's image host).
FaultKind = Literal["generate", "submit", "poll", "result", "download"]
FAULT_KINDS: Final[tuple[FaultKind, ...]] = ("generate", "submit", "poll", "result", "download")
#: What ``fault_rate`` faults unless told otherwise: every API request, not the image host.
DEFAULT_FAULT_ON: Final[tuple[FaultKind, ...]] = ("generate", "submit", "poll", "result")


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
    (``None``: unlimited).

    ``fault_rate`` is the probability of an injected 500/502/504 on each request of a kind in
    ``fault_on`` (see :data:`FAULT_KINDS`; by default every API request, not image downloads:
    ``fault_on=("poll", "result", "download")`` faults only the safe-to-repeat GET requests, which
    never bill). The draws come from ``random.Random`` seeded with ``seed`` (which also picks the
    seed for ``seed=-1``). ``replay`` is a folder of recorded cassettes to answer matching
    requests from.
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
    fault_on: tuple[FaultKind, ...] = DEFAULT_FAULT_ON

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_keys", tuple(self.api_keys))
        object.__setattr__(self, "forbidden_keys", tuple(self.forbidden_keys))
        object.__setattr__(self, "fault_on", parse_fault_kinds(self.fault_on, field="fault_on"))
        check_numbers({name: getattr(self, name) for name in _RULES})
        if self.failed_status not in contract.FAILED_STATUS_CODES:
            allowed = " or ".join(map(str, sorted(contract.FAILED_STATUS_CODES)))
            raise ValueError(f"failed_status={self.failed_status!r}: must be {allowed}")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise ValueError(f"seed={_shown(self.seed)}: must be a whole number or None")
        if not all(self.api_keys + self.forbidden_keys):
            raise ValueError("api_keys and forbidden_keys must not contain an empty key")


def parse_fault_kinds(kinds: Iterable[str] | str, *, field: str) -> tuple[FaultKind, ...]:
    """``kinds`` as a tuple in :data:`FAULT_KINDS` order; ``ValueError`` naming ``field`` for
    a kind that is not one (a plain string must be a comma-separated list, or ``"all"``)."""
    given = kinds.split(",") if isinstance(kinds, str) else list(kinds)
    names = [str(kind).strip() for kind in given]
    if names == ["all"]:
        return FAULT_KINDS
    unknown = [name for name in names if name not in FAULT_KINDS]
    if unknown or not all(isinstance(kind, str) for kind in given):
        shown = _shown(unknown[0] if unknown else kinds)
        raise ValueError(f"{field}={shown}: must be 'all' or among {', '.join(FAULT_KINDS)}")
    return tuple(kind for kind in FAULT_KINDS if kind in names)


def check_numbers(values: Mapping[str, object], *, label: Callable[[str], str] = str) -> None:
    """Refuse a number of :class:`MockConfig` that cannot be meant (NaN, an infinity, a
    negative time or price, a probability above 1, a boolean). ``values`` maps field names to
    values; ``label`` turns a field's name into the name shown (``"--credits"``, say)."""
    for name, value in values.items():
        _RULES[name](label(name), value)


def _finite(value: object) -> float | None:
    """``value`` as a finite float, or ``None`` (a boolean, a string, NaN, a huge integer)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _seconds(label: str, value: object) -> None:
    number = _finite(value)
    if number is None or number < 0:
        raise ValueError(f"{label}={_shown(value)}: must be a finite number >= 0")
    if number > MAX_SECONDS:
        raise ValueError(f"{label}={_shown(value)}: must be at most {MAX_SECONDS:g} seconds")


def _positive_seconds(label: str, value: object) -> None:
    number = _finite(value)
    if number is None or not 0 < number <= MAX_SECONDS:
        raise ValueError(f"{label}={_shown(value)}: must be a number of seconds > 0")


def _usd(label: str, value: object) -> None:
    number = _finite(value)
    if number is None or number < 0:
        raise ValueError(f"{label}={_shown(value)}: must be a finite number >= 0")
    if number > MAX_USD:
        raise ValueError(f"{label}={_shown(value)}: must be at most {MAX_USD:g} USD")


def _probability(label: str, value: object) -> None:
    number = _finite(value)
    if number is None or not 0.0 <= number <= 1.0:
        raise ValueError(f"{label}={_shown(value)}: must be between 0 and 1")


def _rate_limit(label: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{label}={_shown(value)}: must be a whole number >= 1 (None: unlimited)")


_RULES: Final[dict[str, Callable[[str, object], None]]] = {
    "latency": _seconds,
    "jitter": _seconds,
    "credits": _usd,
    "cost_per_image": _usd,
    "rate_limit": _rate_limit,
    "fault_rate": _probability,
    "hang_seconds": _seconds,
    "queue_time": _seconds,
    "result_ttl": _positive_seconds,
}
