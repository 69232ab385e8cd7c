"""One request a probe sent and the answer that came back, and what the prober reads from an
answer to go on: a v2 job's id and state, the balance, and the cost an answer announced. Every
number is parsed by :func:`realdream.parse_amount`, which refuses what cannot be true."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from realdream import contract
from realdream._amounts import parse_amount, reported_amount

__all__ = ["Exchange", "announced_cost", "balance", "job_state", "request_id", "result_cost"]

#: What a usable v2 ``request_id`` looks like (it goes into a URL path).
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class Exchange:
    """One request a probe sent and the answer that came back (header names lower case)."""

    probe: str
    method: str
    path: str
    request_body: bytes
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The body as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None


def request_id(submit: Exchange) -> str | None:
    """The job id a v2 submit answered with, or ``None`` when it gave no usable one."""
    data = submit.json()
    found = data.get("request_id") if isinstance(data, dict) else None
    ok = 200 <= submit.status < 300 and isinstance(found, str) and _REQUEST_ID.fullmatch(found)
    return found if ok and isinstance(found, str) else None


def job_state(ex: Exchange) -> str | None:
    """The state a status poll answered, or ``None`` when the answer is not a job."""
    data = ex.json()
    state = data.get(contract.JOB_STATUS_KEY) if isinstance(data, dict) else None
    readable = ex.status in (200, *contract.FAILED_STATUS_CODES) and isinstance(state, str)
    return state if readable and isinstance(state, str) else None


def balance(ex: Exchange) -> float | None:
    """The balance a credits call answered (paid and free credits together), or ``None`` when
    the answer holds no balance that can be true."""
    data = ex.json()
    if ex.status != 200 or not isinstance(data, dict):
        return None
    paid, free = contract.CREDITS_KEYS
    try:
        total = parse_amount(data.get(paid), field=paid)
        if free in data:
            total += parse_amount(data[free], field=free)
    except ValueError:
        return None
    return total


def announced_cost(ex: Exchange) -> float | None:
    """What a v1 answer says it cost (``x-cost``), or ``None`` when it says nothing true."""
    return reported_amount(ex.header(contract.HEADER_COST), field=contract.HEADER_COST)


def result_cost(ex: Exchange) -> float | None:
    """What a v2 result says the job cost (``metrics.cost``), or ``None``."""
    data = ex.json()
    metrics = data.get(contract.JOB_METRICS_KEY) if isinstance(data, dict) else None
    value = metrics.get(contract.METRIC_COST) if isinstance(metrics, dict) else None
    return reported_amount(value, field=f"{contract.JOB_METRICS_KEY}.{contract.METRIC_COST}")
