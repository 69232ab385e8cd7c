"""What ``realdream verify`` found: one row per fact, what it spent, what it announced before
anything billed was sent, and the exit code that sums it up."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realdream import contract
from realdream._metadata import write_atomic
from realdream._version import __version__
from realdream.verify._probes import V2_PROBE, billed_probes, unconfirmed_schedulers
from realdream.verify._rows import VerifyRow

__all__ = ["VerifyReport", "announcement"]


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify`` found: one row per fact, what it spent, and what it announced."""

    base_url: str
    max_cost: float
    spent: float
    announcement: str
    rows: tuple[VerifyRow, ...] = field(default_factory=tuple)
    #: Why spending stopped before every probe was sent ("" when it did not): a balance drop
    #: that differs from what the service announced, or a balance that could not be read.
    stopped: str = ""

    @property
    def differs(self) -> list[VerifyRow]:
        return [row for row in self.rows if row.verdict == "differs"]

    @property
    def exit_code(self) -> int:
        """0 when nothing differs, 1 when something does or spending had to stop."""
        return 1 if self.differs or self.stopped else 0

    def counts(self) -> dict[str, int]:
        verdicts = ("holds", "differs", "not probed")
        return {v: sum(row.verdict == v for row in self.rows) for v in verdicts}

    def as_dict(self) -> dict[str, Any]:
        return {
            "realdream": __version__,
            "base_url": self.base_url,
            "max_cost": self.max_cost,
            "spent": self.spent,
            "stopped": self.stopped,
            "announcement": self.announcement,
            "counts": self.counts(),
            "rows": [row.as_dict() for row in self.rows],
        }

    def write(self, path: Path) -> None:
        """The report as JSON, written atomically."""
        text = json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"
        write_atomic(path, text.encode())


def announcement(cap: float, schedulers: bool) -> str:
    """What the billed probes may cost, said before any of them is sent."""
    price = contract.COST_PER_IMAGE_USD
    planned = [*billed_probes(), V2_PROBE]
    images = sum(p.images for p in planned)
    parts = ", ".join(f"{p.name} {p.images}" for p in planned)
    text = (
        f"realdream verify: the billed probes cost ${contract.cost(images, price):g} "
        f"({images} images at ${price:g}: {parts}); --max-cost is ${cap:g}."
    )
    if schedulers:
        count = len(unconfirmed_schedulers())
        text += f" Then each of {count} scheduler names costs one image if accepted."
    if cap < contract.cost(1, price):
        return text + " That is below one image: no billed probe will be sent."
    return text + (
        " A probe that would pass the cap is skipped and says so; what each costs is measured"
        " on the balance, read (free) before and after it."
    )
