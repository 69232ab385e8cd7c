"""Everything ``realdream verify``'s probes saw, kept for the checks to judge: the exchanges,
why some probes were not sent, and what the balance measured around each probe that could
spend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from realdream import contract
from realdream.verify._exchange import Exchange

__all__ = ["TOLERANCE", "Bill", "Observations", "Window"]

#: How far a measured drop may be from an announced cost and still be the same amount (USD).
TOLERANCE: Final = 1e-6


@dataclass(frozen=True)
class Bill:
    """What a probe's answer says it cost.

    ``free``: an answer the contract does not bill (an error, a failed job). ``billed``: a 200
    (or a finished job) for ``images`` images, announcing ``announced`` USD in ``source``
    (``None``: it announced nothing readable). ``maybe``: billed or not, nobody can tell yet
    (a submit without a usable id, a job that did not end, a request with no answer).
    """

    kind: Literal["free", "billed", "maybe"]
    images: int = 0
    announced: float | None = None
    source: str = ""

    @property
    def expected(self) -> float | None:
        """The drop this answer should cause (``None``: it cannot be said)."""
        if self.kind == "free":
            return 0.0
        return self.announced if self.kind == "billed" else None


@dataclass(frozen=True)
class Window:
    """The stretch between two balance readings: the answers in it, what the probe that ended
    it said it cost, and how far the balance dropped (``None``: it could not be read)."""

    probe: str
    #: The v1 answers' statuses in the stretch, in order (free probes' and this probe's).
    statuses: tuple[int, ...]
    bill: Bill
    drop: float | None
    #: Whether the probe was the v2 job (billed when it completes, not by status).
    job: bool = False

    @property
    def matches(self) -> bool | None:
        """Whether the drop is what was announced (``None``: one of them is unknown)."""
        expected = self.bill.expected
        if self.drop is None or expected is None:
            return None
        return abs(self.drop - expected) <= TOLERANCE


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
    #: The balance's drop around every probe that could spend, in order.
    windows: list[Window] = field(default_factory=list)
    #: Why spending stopped before the end ("" when it did not).
    stopped: str = ""
    base_url: str = contract.BASE_URL
    #: Whether the user's key has the documented shape (the key itself is never kept).
    key_has_shape: bool = True
    #: Whether ``--schedulers`` asked for the scheduler probes.
    schedulers: bool = False
