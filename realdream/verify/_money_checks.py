"""The facts the balance shows: the price per image, as announced and as measured, and which
answers are billed. Both are judged on the balance read before and after every probe that
could spend (reading it is free), never on what the service says alone."""

from __future__ import annotations

from realdream import contract
from realdream.verify._exchange import Exchange
from realdream.verify._observations import TOLERANCE, Observations, Window
from realdream.verify._rows import Check, Seen
from realdream.verify._spending import label, moved

__all__ = ["money_checks"]


def _price(ex: Exchange, obs: Observations) -> Seen | str:
    billed = [w for w in obs.windows if w.bill.kind == "billed" and w.bill.images]
    measured = [w for w in billed if w.drop is not None]
    if not measured:
        if billed:
            return f"the balance could not be read after {label(billed[0].probe)}"
        return f"no probe was billed (the {ex.probe} probe answered {ex.status})"
    wrong = [w for w in measured if not _priced_right(w)]
    shown = [measured[0], *(w for w in wrong[:1] if w is not measured[0])]
    return Seen("; ".join(_priced(w) for w in shown), not wrong)


def _priced_right(window: Window) -> bool:
    drop = window.drop or 0.0
    price = contract.COST_PER_IMAGE_USD * window.bill.images
    return abs(drop - price) <= TOLERANCE and window.matches is not False


def _priced(window: Window) -> str:
    bill = window.bill
    each = round((window.drop or 0.0) / bill.images, 6)
    said = (
        f"{bill.source} announced ${round(bill.announced / bill.images, 6):g}"
        if bill.announced is not None
        else f"no readable {bill.source}"
    )
    return f"{window.probe}: the balance {moved(each)} per image, {said}"


def _billed_statuses(ex: Exchange, obs: Observations) -> Seen | str:
    measured = [w for w in obs.windows if not w.job and w.statuses and w.drop is not None]
    if not measured:
        return obs.stopped or "the balance was not read around any answer"
    odd = [w for w in measured if _dropped(w) != (200 in w.statuses)]
    free = sorted({s for w in measured if not _dropped(w) and w not in odd for s in w.statuses})
    parts = [f"no drop for {', '.join(map(str, free))}"] if free else []
    paid = [w for w in measured if _dropped(w) and w not in odd]
    parts += ["a drop for 200"] if paid else []
    parts += [_odd(w) for w in odd[:1]]
    return Seen("; ".join(parts), not odd)


def _dropped(window: Window) -> bool:
    return (window.drop or 0.0) > TOLERANCE


def _odd(window: Window) -> str:
    statuses = ", ".join(map(str, window.statuses))
    if _dropped(window):
        return f"but it {moved(window.drop or 0.0)} for {statuses} ({label(window.probe)})"
    return f"but no drop for {statuses} ({label(window.probe)})"


def money_checks() -> tuple[Check, ...]:
    """The price row (on the image probe) and the billed-statuses row (on the whole run)."""
    price = contract.COST_PER_IMAGE_USD
    announced = f"{contract.HEADER_COST}, {contract.JOB_METRICS_KEY}.{contract.METRIC_COST}"
    return (
        Check(
            "COST_PER_IMAGE_USD",
            "the price per image, measured on the balance",
            f"${price:g} per image, announced ({announced}) and measured alike",
            "image",
            _price,
        ),
        Check(
            "BILLED_STATUSES",
            "which answers the balance drops for",
            "a drop for 200, none for an error",
            "credits",
            _billed_statuses,
        ),
    )
