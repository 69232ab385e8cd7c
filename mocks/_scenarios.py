"""Outcomes on demand: forced statuses, per-key scripts and random faults.

Every documented status has one documented response here (:func:`documented_response`), used
for the ``X-Mock-Status`` header, for scripted entries and for injected faults alike.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable
from functools import cache
from typing import Final, Literal

from mocks._http import MockResponse, error_response
from mocks._rules import method_not_allowed, rate_limited
from realdream import GenerationRequest, ValidationError, _contract

__all__ = [
    "FAULT_STATUSES",
    "FORCEABLE_STATUSES",
    "FORCE_STATUS_HEADER",
    "TIMEOUT",
    "ScriptEntry",
    "Scripts",
    "documented_response",
    "draw_fault",
    "forced_status",
    "parse_script_entry",
]

#: Request header that forces a status: ``X-Mock-Status: 429``.
FORCE_STATUS_HEADER: Final = "x-mock-status"
#: Every documented status, plus 503 which the client also maps.
FORCEABLE_STATUSES: Final = tuple(sorted({*_contract.DOCUMENTED_STATUSES, 503}))
#: What ``fault_rate`` injects.
FAULT_STATUSES: Final = (500, 502, 504)
#: A script entry that holds the answer back ``config.hang_seconds``, then answers normally.
TIMEOUT: Final = "timeout"
#: Seconds a forced or scripted 429 asks the client to wait.
FORCED_RETRY_AFTER: Final = 1.0

ScriptEntry = int | Literal["timeout"]

_MESSAGES: Final = {
    401: _contract.MESSAGE_INVALID_KEY,
    403: _contract.MESSAGE_FORBIDDEN,
    404: _contract.MESSAGE_NOT_FOUND,
    406: _contract.MESSAGE_INSUFFICIENT_CREDITS,
    422: _contract.MESSAGE_UNPROCESSABLE,
    500: _contract.MESSAGE_SERVER_ERROR,
    502: _contract.MESSAGE_BAD_GATEWAY,
    503: _contract.MESSAGE_SERVICE_UNAVAILABLE,
    504: _contract.MESSAGE_GATEWAY_TIMEOUT,
}


@cache
def _bad_request_message() -> str:
    """A 400 message in the core's own words (the one for an empty body)."""
    try:
        GenerationRequest.create({})
    except ValidationError as exc:
        return str(exc)
    raise AssertionError("an empty request must be invalid")  # pragma: no cover


def documented_response(status: int, now: float) -> MockResponse:
    """The documented body and headers of ``status`` (429 carries its reset headers)."""
    if status == 405:
        return method_not_allowed("POST")
    if status == 429:
        return rate_limited(now + FORCED_RETRY_AFTER, now)
    if status == 400:
        return error_response(400, _bad_request_message())
    return error_response(status, _MESSAGES[status])


def forced_status(value: str | None) -> int | MockResponse | None:
    """The status an ``X-Mock-Status`` value forces, a 400 for a bad value, or ``None``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit() and int(text) in FORCEABLE_STATUSES:
        return int(text)
    allowed = ", ".join(map(str, FORCEABLE_STATUSES))
    return error_response(400, f"{FORCE_STATUS_HEADER}={text!r}: must be one of {allowed}")


def parse_script_entry(value: object) -> ScriptEntry:
    """A script entry: a forceable status, 200 (answer normally) or ``"timeout"``."""
    if value == TIMEOUT:
        return TIMEOUT
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if is_int and (value == 200 or value in FORCEABLE_STATUSES):
        return value
    allowed = ", ".join(map(str, (200, *FORCEABLE_STATUSES)))
    raise ValueError(f"script entry {value!r}: must be one of {allowed} or {TIMEOUT!r}")


class Scripts:
    """Per-key queues of scripted outcomes, consumed one per generation request."""

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
