"""Outcomes on demand: forced statuses, per-key scripts and random faults.

Every case of the contract's status table has one documented response here
(:func:`documented_response`), used for the ``X-Mock-Status`` header, for scripted entries and
for injected faults alike.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable
from functools import cache
from typing import Final

from realdream import GenerationRequest, ValidationError, contract
from realdream.mock._http import MockResponse, error_response
from realdream.mock._rules import method_not_allowed, rate_limited, rule_response

__all__ = [
    "FAULT_STATUSES",
    "FORCEABLE_CASES",
    "FORCEABLE_STATUSES",
    "FORCE_STATUS_HEADER",
    "JOB_FAILED",
    "JOB_FAILED_MESSAGE",
    "TIMEOUT",
    "ScriptEntry",
    "Scripts",
    "documented_response",
    "draw_fault",
    "forced_status",
    "parse_script_entry",
]

#: Request header that forces a documented answer: ``X-Mock-Status: 429`` or a named case
#: such as ``X-Mock-Status: 406-spend-limit`` (see :data:`FORCEABLE_CASES`).
FORCE_STATUS_HEADER: Final = "x-mock-status"
#: Every case of the contract's status table, by the name ``X-Mock-Status`` and scripts take.
FORCEABLE_CASES: Final = tuple(rule.case for rule in contract.STATUS_TABLE if rule.status)
#: Every status the mock can be made to answer.
FORCEABLE_STATUSES: Final = tuple(
    sorted({rule.status for rule in contract.STATUS_TABLE if rule.status})
)
#: What ``fault_rate`` injects: the documented server errors that a retry may cure.
FAULT_STATUSES: Final = tuple(
    rule.status
    for rule in contract.STATUS_TABLE
    if rule.status and rule.status >= 500 and rule.retry and rule.mark != "CHOSEN"
)
#: A script entry that holds the answer back ``config.hang_seconds``, then answers normally.
TIMEOUT: Final = "timeout"
#: A script entry for a v2 submit: the job is accepted, runs, and ends FAILED (not billed).
#: Taken by any other request, it answers as the case ``422-job-failed`` does.
JOB_FAILED: Final = "job-failed"
#: The error of a job that failed at run time (its parameters were valid). Mock text.
JOB_FAILED_MESSAGE: Final = "Inference failed: the worker could not complete this request."
#: Seconds a forced or scripted 429 asks the client to wait.
FORCED_RETRY_AFTER: Final = 1.0
#: Characters of a bad value quoted back in a 400 (a header may be kilobytes long).
_QUOTED: Final = 40

#: A forced case (``"429"``, ``"406-spend-limit"``), ``200`` (answer normally), ``"timeout"``
#: or ``"job-failed"``.
ScriptEntry = str | int


@cache
def _bad_request_message() -> str:
    """A 400 message in the core's own words (the one for an empty body)."""
    try:
        GenerationRequest.create({})
    except ValidationError as exc:
        return str(exc)
    raise AssertionError("an empty request must be invalid")  # pragma: no cover


def documented_response(case: str | int, now: float) -> MockResponse:
    """The documented body and headers of ``case`` (a status, or a named case of one)."""
    rule = contract.rule_for_case(str(case))
    if rule is None or rule.status is None:
        raise ValueError(f"case={case!r}: not one of {', '.join(FORCEABLE_CASES)}")
    if rule.body == "html":
        return method_not_allowed("POST")
    if rule.status == 429:
        return rate_limited(now + FORCED_RETRY_AFTER, now)
    return rule_response(rule, rule.message or _bad_request_message())


def forced_status(value: str | None) -> ScriptEntry | MockResponse | None:
    """The case an ``X-Mock-Status`` value forces (a status as an int, a named case as a
    string), a 400 for a bad value, or ``None``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text in FORCEABLE_CASES:
        return _entry(text)
    return error_response(400, f"{FORCE_STATUS_HEADER}={_quote(text)}: must be one of {_cases()}")


def parse_script_entry(value: object) -> ScriptEntry:
    """A script entry: a forceable status or case, 200 (answer normally), ``"timeout"`` or
    ``"job-failed"``."""
    if isinstance(value, str) and value in (TIMEOUT, JOB_FAILED):
        return value
    if value == 200:
        return 200
    is_int = isinstance(value, int) and not isinstance(value, bool)
    case = str(value) if is_int or isinstance(value, str) else ""
    if case in FORCEABLE_CASES:
        return _entry(case)
    raise ValueError(
        f"script entry {_quote(value)}: must be 200, {TIMEOUT!r}, {JOB_FAILED!r} or one of "
        f"{_cases()}"
    )


def _entry(case: str) -> ScriptEntry:
    """A plain status as its number (``"429"`` -> ``429``), a named case as it is."""
    return int(case) if case.isdecimal() else case


def _cases() -> str:
    return ", ".join(FORCEABLE_CASES)


def _quote(value: object) -> str:
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else "<number>"
    return text if len(text) <= _QUOTED else text[: _QUOTED - 1] + "…"


class Scripts:
    """Per-key queues of scripted outcomes, consumed one per API request of the key (a v1
    generation, a v2 submit or a v2 poll; not the credits endpoint nor the image host)."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[ScriptEntry]] = {}
        self._lock = threading.Lock()

    def add(self, key: str, entries: Iterable[object]) -> list[ScriptEntry]:
        """Append ``entries`` (validated first, all or nothing) to ``key``'s queue."""
        parsed = [parse_script_entry(entry) for entry in entries]
        with self._lock:
            self._queues.setdefault(key, deque()).extend(parsed)
        return parsed

    def pop(self, key: str) -> ScriptEntry | None:
        with self._lock:
            queue = self._queues.get(key)
            return queue.popleft() if queue else None

    def pending(self, key: str) -> list[ScriptEntry]:
        with self._lock:
            return list(self._queues.get(key, ()))

    def clear(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._queues.clear()
            else:
                self._queues.pop(key, None)


def draw_fault(rate: float, rng: random.Random) -> int | None:
    """An injected fault status with probability ``rate``, else ``None`` (draws nothing at 0)."""
    if rate <= 0.0 or rng.random() >= rate:
        return None
    return rng.choice(FAULT_STATUSES)
