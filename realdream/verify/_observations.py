"""Everything ``realdream verify``'s probes saw, kept for the checks to judge."""

from __future__ import annotations

from dataclasses import dataclass, field

from realdream import contract
from realdream.verify._exchange import Exchange

__all__ = ["Observations"]


@dataclass
class Observations:
    """Everything the probes saw (exchanges by probe name) and why some were not sent."""

    exchanges: dict[str, Exchange] = field(default_factory=dict)
    #: Probe name -> why it was not sent (over the cap, an earlier step failed...).
    skipped: dict[str, str] = field(default_factory=dict)
    #: Every 429 met on the way (retried after the wait the server asked for).
    rate_limited: list[Exchange] = field(default_factory=list)
    #: Every v2 status poll, in order.
    v2_polls: list[Exchange] = field(default_factory=list)
    base_url: str = contract.BASE_URL
    #: Whether the user's key has the documented shape (the key itself is never kept).
    key_has_shape: bool = True
    #: Whether ``--schedulers`` asked for the scheduler probes.
    schedulers: bool = False
