"""mocks: an offline mock of Segmind's RealDream Lightning API, with every error on demand.

>>> import mocks, realdream                                            # doctest: +SKIP
>>> transport = mocks.MockTransport(mocks.MockConfig(latency=0))        # no sockets
>>> client = realdream.Client(mocks.MOCK_API_KEY, transport=transport)
>>> client.generate("a lighthouse at dusk").image.width
1024

Real HTTP: ``with mocks.serve() as mock: ...`` (``mock.base_url``), or ``python -m mocks``.
"""

from mocks._asgi import create_app
from mocks._cli import add_arguments, config_from_args
from mocks._config import MOCK_API_KEY, MockConfig
from mocks._http import MockRequest, MockResponse
from mocks._render import render_jpeg, render_uncached
from mocks._rules import CHECK_ORDER
from mocks._scenarios import FORCE_STATUS_HEADER, FORCEABLE_CASES, FORCEABLE_STATUSES, TIMEOUT
from mocks._server import PortInUseError, RunningMock, run, serve
from mocks._service import CONTROL_PATH, MAX_BODY_BYTES, OPENAPI_PATH, MockService, MockStats, Plan
from mocks._transport import AsyncMockTransport, MockTransport

__all__ = [
    "CHECK_ORDER",
    "CONTROL_PATH",
    "FORCEABLE_CASES",
    "FORCEABLE_STATUSES",
    "FORCE_STATUS_HEADER",
    "MAX_BODY_BYTES",
    "MOCK_API_KEY",
    "OPENAPI_PATH",
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
