"""The rows of ``realdream verify``'s report: one per fact, with its verdict, and the pieces a
check is made of (what it saw, and how a probe's exchange is judged)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from realdream import contract
from realdream.verify._exchange import Exchange
from realdream.verify._observations import Observations

__all__ = [
    "Check",
    "Judge",
    "Seen",
    "Verdict",
    "VerifyRow",
    "judged",
    "mark_of",
    "row",
    "rule",
    "unprobed",
]

Verdict = Literal["holds", "differs", "not probed"]


@dataclass(frozen=True)
class VerifyRow:
    """One fact: its mark, what the contract says, what the service did, and the verdict."""

    fact: str
    check: str
    mark: contract.Mark
    expected: str
    observed: str
    verdict: Verdict
    #: Why a fact was not probed (empty otherwise).
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "fact": self.fact,
            "check": self.check,
            "mark": self.mark,
            "expected": self.expected,
            "observed": self.observed,
            "verdict": self.verdict,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Seen:
    """What a check saw, and whether that holds."""

    observed: str
    holds: bool


#: Reads a probe's exchange (and whatever else the run saw): what it saw, or why it cannot tell.
Judge = Callable[[Exchange, Observations], "Seen | str"]


@dataclass(frozen=True)
class Check:
    """A fact, what is checked, the expectation, the probe it reads and how it is judged."""

    fact: str
    check: str
    expected: str
    probe: str
    judge: Judge
    mark: contract.Mark | None = None


def judged(check: Check, obs: Observations) -> VerifyRow:
    """``check``'s row: judged on its probe's exchange, or not probed, saying why."""
    mark = check.mark or contract.FACTS[check.fact].mark
    ex = obs.exchanges.get(check.probe)
    if ex is None:
        reason = obs.skipped.get(check.probe, "not sent")
        return unprobed(check.fact, check.check, check.expected, reason, mark)
    outcome = check.judge(ex, obs)
    if isinstance(outcome, str):
        return unprobed(check.fact, check.check, check.expected, outcome, mark)
    return row(check.fact, check.check, check.expected, outcome, mark)


def row(
    fact: str, check: str, expected: str, seen: Seen, mark: contract.Mark | None = None
) -> VerifyRow:
    verdict: Verdict = "holds" if seen.holds else "differs"
    return VerifyRow(fact, check, mark or mark_of(fact), expected, seen.observed, verdict)


def unprobed(
    fact: str, check: str, expected: str, reason: str, mark: contract.Mark | None = None
) -> VerifyRow:
    return VerifyRow(fact, check, mark or mark_of(fact), expected, "", "not probed", reason)


def mark_of(fact: str) -> contract.Mark:
    """The contract's mark of ``fact`` (a constant, or ``STATUS_TABLE[<case>]``)."""
    if fact.startswith("STATUS_TABLE["):
        return rule(fact[len("STATUS_TABLE[") : -1]).mark
    return contract.FACTS[fact].mark


def rule(case: str) -> contract.StatusRule:
    """The status table's rule for ``case``."""
    found = contract.rule_for_case(case)
    if found is None:  # pragma: no cover - the table is fixed
        raise KeyError(case)
    return found
