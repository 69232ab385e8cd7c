"""What a service has seen: counters by status, images, time spent, and the requests received.

:class:`Tally` is written by the service and its shells from any thread; :class:`MockStats` is
a snapshot of its counters and :class:`ReceivedRequest` one entry of its request log (the
sequence of requests, in the order they arrived, that a parity test compares).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from realdream import contract
from realdream.mock._http import MockRequest, MockResponse

__all__ = [
    "LOGGED_BODY_BYTES",
    "REDACTED",
    "REQUEST_LOG_SIZE",
    "MockStats",
    "ReceivedRequest",
    "Tally",
]

#: How many requests the log keeps: the most recent ones (a long-running server stays small).
REQUEST_LOG_SIZE: Final = 1_000
#: The most of a body the log keeps (a request is a few hundred bytes; the log stays small even
#: when every logged body is as large as the mock accepts).
LOGGED_BODY_BYTES: Final = 16 * 1024
#: What the log shows for the value of a key header (the key itself is never kept).
REDACTED: Final = "REDACTED"
_SECRET_HEADERS: Final = frozenset({contract.API_KEY_HEADER, "authorization"})


@dataclass(frozen=True)
class MockStats:
    """What the service has answered so far."""

    requests: int
    by_status: dict[int, int]
    #: Images returned by v1 and billed for v2 jobs.
    images: int
    #: Seconds spent rendering and encoding images.
    render_seconds: float
    #: Seconds the shells spent on requests, latency excluded (reported by ``finished``).
    server_seconds: float
    #: v2 jobs remembered now (each is forgotten when its result expires).
    jobs: int = 0


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the service received it: method, path, headers (names in lower case;
    the value of ``x-api-key`` or ``authorization`` reads :data:`REDACTED`) and body (its
    first :data:`LOGGED_BODY_BYTES`)."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def of(cls, request: MockRequest) -> ReceivedRequest:
        headers = {
            name: REDACTED if name in _SECRET_HEADERS else value
            for name, value in request.headers.items()
        }
        return cls(request.method, request.path, headers, request.body[:LOGGED_BODY_BYTES])

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Tally:
    """The counters and the request log of one service. Thread-safe."""

    def __init__(self, log_size: int = REQUEST_LOG_SIZE) -> None:
        self._lock = threading.Lock()
        self._by_status: Counter[int] = Counter()
        self._images = 0
        self._render_seconds = 0.0
        self._server_seconds = 0.0
        self._received: deque[ReceivedRequest] = deque(maxlen=log_size)

    def received(self, request: MockRequest) -> None:
        """Log ``request`` (in arrival order)."""
        entry = ReceivedRequest.of(request)
        with self._lock:
            self._received.append(entry)

    def answered(self, response: MockResponse) -> None:
        with self._lock:
            self._by_status[response.status] += 1

    def rendered(self, seconds: float, images: int = 0) -> None:
        """``seconds`` spent rendering; ``images`` returned (v1; v2 images count when billed)."""
        with self._lock:
            self._render_seconds += seconds
            self._images += images

    def served(self, seconds: float) -> None:
        """``seconds`` a shell spent on one request, latency excluded."""
        with self._lock:
            self._server_seconds += max(0.0, seconds)

    def requests(self) -> tuple[ReceivedRequest, ...]:
        with self._lock:
            return tuple(self._received)

    def snapshot(self, *, billed_images: int, jobs: int) -> MockStats:
        with self._lock:
            return MockStats(
                requests=sum(self._by_status.values()),
                by_status=dict(self._by_status),
                images=self._images + billed_images,
                render_seconds=self._render_seconds,
                server_seconds=self._server_seconds,
                jobs=jobs,
            )
