"""The report's table: one row per fact of :mod:`realdream.contract` and per documented status
case, the probed ones in the order the probes were sent, then the rest, each saying why it was
not probed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from realdream import contract
from realdream.verify._describe import clip
from realdream.verify._image_checks import image_checks, ok
from realdream.verify._job_checks import job_checks
from realdream.verify._observations import Observations
from realdream.verify._probes import unconfirmed_schedulers
from realdream.verify._rows import Check, VerifyRow, judged, unprobed
from realdream.verify._status_checks import expected_answer, free_checks, rate_limit_rows

__all__ = ["build_rows"]

#: Why the facts verify has no probe for are not probed (the rest: "no probe for this fact").
_UNPROBED: Final = {
    "BASE64_ONE_KEY": "a one-sample base64 request would cost another image",
    "CONFIRMED_SCHEDULERS": "shown on the vendor's page",
    "RESULT_TTL_S": "it takes an hour",
    "FAILED_STATUS_CODES": "it needs a job that fails",
    "POLLS_COUNT_AGAINST_RATE_LIMIT": "it needs a run at the rate limit",
    "RATE_LIMIT_FREE_PER_MINUTE": "it needs a run at the rate limit",
    "RATE_LIMIT_PRO_PER_MINUTE": "it needs a run at the rate limit",
    "BILLED_STATUSES": "the balance is not compared before and after",
    "401-invalid-api-key": "see STATUS_TABLE[401] and ERROR_DESCRIPTION_KEY",
}


def build_rows(obs: Observations) -> list[VerifyRow]:
    """One row per fact: the probed ones in the order they were sent, then the rest."""
    rows = [judged(check, obs) for check in (*free_checks(), *image_checks(), *job_checks())]
    rows += _scheduler_rows(obs) + rate_limit_rows(obs)
    return rows + _rest(rows)


def _scheduler_rows(obs: Observations) -> list[VerifyRow]:
    names = unconfirmed_schedulers()
    if not obs.schedulers:
        reason = f"pass --schedulers: each of the {len(names)} names costs an image if accepted"
        return [unprobed("SCHEDULERS", "the unconfirmed names are accepted", "200", reason)]
    return [
        judged(Check("SCHEDULERS", f"{name!r} is accepted", "200", f"scheduler:{name}", ok), obs)
        for name in names
    ]


def _rest(rows: Sequence[VerifyRow]) -> list[VerifyRow]:
    """A not-probed row for every fact and status case no check covered."""
    seen = {row.fact for row in rows}
    out = [
        unprobed(name, "", _value(fact.value), _UNPROBED.get(name, "no probe for this fact"))
        for name, fact in contract.FACTS.items()
        if name not in seen
    ]
    for rule in contract.STATUS_TABLE:
        fact = f"STATUS_TABLE[{rule.case}]"
        if rule.case and fact not in seen:
            reason = _UNPROBED.get(rule.case, "verify cannot cause it for free")
            out.append(unprobed(fact, rule.title, expected_answer(rule), reason, rule.mark))
    return out


def _value(value: object) -> str:
    if isinstance(value, (frozenset, set)):
        value = sorted(value, key=str)
    return clip(value if isinstance(value, str) else repr(value))
