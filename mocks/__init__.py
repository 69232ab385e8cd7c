"""mocks: an offline mock of Segmind's RealDream Lightning API, with every error on demand.

>>> import mocks, realdream                                            # doctest: +SKIP
>>> transport = mocks.MockTransport(mocks.MockConfig(latency=0))        # no sockets
>>> client = realdream.Client(mocks.MOCK_API_KEY, transport=transport)
>>> client.generate("a lighthouse at dusk").image.width
1024

Real HTTP: ``with mocks.serve() as mock: ...`` (``mock.base_url``), or ``python -m mocks``.
The v2 queue API too: ``realdream.Client(..., api="v2")`` submits, polls and downloads here.
"""

from mocks._asgi import create_app
from mocks._cli import add_arguments, config_from_args
from mocks._config import MOCK_API_KEY, MockConfig
from mocks._http import MockRequest, MockResponse
from mocks._jobbodies import CDN_PREFIX
from mocks._jobs import IMAGE_TTL_S
from mocks._render import render_jpeg, render_uncached
from mocks._rules import CHECK_ORDER, POLL_CHECK_ORDER, SUBMIT_CHECK_ORDER
from mocks._scenarios import (
    FORCE_STATUS_HEADER,
    FORCEABLE_CASES,
    FORCEABLE_STATUSES,
    JOB_FAILED,
    TIMEOUT,
)
from mocks._server import KEEP_ALIVE_S, PortInUseError, RunningMock, run, serve
from mocks._service import CONTROL_PATH, MAX_BODY_BYTES, OPENAPI_PATH, MockService, MockStats, Plan
from mocks._transport import AsyncMockTransport, MockTransport

__all__ = [
    "CDN_PREFIX",
    "CHECK_ORDER",
    "CONTROL_PATH",
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
    "SUBMIT_CHECK_ORDER",
    "TIMEOUT",
    "AsyncMockTransport",
    "MockConfig",
    "MockRequest",
    "MockResponse",
    "MockService",
    "MockStats",
    "MockTransport",
    "Plan",
    "PortInUseError",
    "RunningMock",
    "add_arguments",
    "config_from_args",
    "create_app",
    "render_jpeg",
    "render_uncached",
    "run",
    "serve",
]
