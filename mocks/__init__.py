"""realdream.mock: an offline mock of Segmind's RealDream Lightning API, every error on demand.

The source lives in the repository's top-level ``mocks/`` folder and installs as
``realdream.mock`` (``realdream/mock`` links to it), so a user's own ``mocks`` module never
shadows it. Every module here imports its siblings as ``realdream.mock._x``: one name, one
identity, even when a checkout runs ``python -m mocks``.

>>> import realdream                                                   # doctest: +SKIP
>>> from realdream import mock
>>> transport = mock.MockTransport(mock.MockConfig(latency=0))          # no sockets
>>> client = realdream.Client(mock.MOCK_API_KEY, transport=transport)
>>> client.generate("a lighthouse at dusk").image.width
1024

Real HTTP: ``with mock.serve() as running: ...`` (``running.base_url``), or ``realdream mock``.
The v2 queue API too: ``realdream.Client(..., api="v2")`` submits, polls and downloads here.

Faults on demand: ``MockConfig(fault_rate=0.5, fault_on=("poll", "result", "download"))``
fails half the safe-to-repeat GET requests of a v2 job with a 500, 502 or 504 (never billed).
What a service has seen: ``service.balance``, ``service.stats`` and ``service.requests`` (each
request received, in order, its key redacted: two clients' runs compare request by request).
"""

from realdream.mock._asgi import create_app
from realdream.mock._cli import add_arguments, config_from_args
from realdream.mock._config import (
    DEFAULT_FAULT_ON,
    FAULT_KINDS,
    MOCK_API_KEY,
    FaultKind,
    MockConfig,
)
from realdream.mock._control import CONTROL_PATH, STATS_PATH
from realdream.mock._http import MockRequest, MockResponse
from realdream.mock._jobbodies import CDN_PREFIX
from realdream.mock._jobs import IMAGE_TTL_S
from realdream.mock._plan import Plan
from realdream.mock._render import render_jpeg, render_uncached
from realdream.mock._rules import CHECK_ORDER, POLL_CHECK_ORDER, SUBMIT_CHECK_ORDER
from realdream.mock._scenarios import (
    FORCE_STATUS_HEADER,
    FORCEABLE_CASES,
    FORCEABLE_STATUSES,
    JOB_FAILED,
    TIMEOUT,
)
from realdream.mock._server import KEEP_ALIVE_S, PortInUseError, RunningMock, run, serve
from realdream.mock._service import MAX_BODY_BYTES, OPENAPI_PATH, MockService
from realdream.mock._stats import REQUEST_LOG_SIZE, MockStats, ReceivedRequest
from realdream.mock._transport import AsyncMockTransport, MockTransport

__all__ = [
    "CDN_PREFIX",
    "CHECK_ORDER",
    "CONTROL_PATH",
    "DEFAULT_FAULT_ON",
    "FAULT_KINDS",
    "FORCEABLE_CASES",
    "FORCEABLE_STATUSES",
    "FORCE_STATUS_HEADER",
    "IMAGE_TTL_S",
    "JOB_FAILED",
    "KEEP_ALIVE_S",
    "MAX_BODY_BYTES",
    "MOCK_API_KEY",
    "OPENAPI_PATH",
    "POLL_CHECK_ORDER",
    "REQUEST_LOG_SIZE",
    "STATS_PATH",
    "SUBMIT_CHECK_ORDER",
    "TIMEOUT",
    "AsyncMockTransport",
    "FaultKind",
    "MockConfig",
    "MockRequest",
    "MockResponse",
    "MockService",
    "MockStats",
    "MockTransport",
    "Plan",
    "PortInUseError",
    "ReceivedRequest",
    "RunningMock",
    "add_arguments",
    "config_from_args",
    "create_app",
    "render_jpeg",
    "render_uncached",
    "run",
    "serve",
]
