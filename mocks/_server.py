"""Run the mock on a real socket: in a thread (:func:`serve`) or blocking (:func:`run`)."""

from __future__ import annotations

import errno
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Final, TextIO

import uvicorn

from realdream.mock._asgi import create_app
from realdream.mock._config import MOCK_API_KEY, MockConfig
from realdream.mock._service import MockService

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "KEEP_ALIVE_S",
    "PortInUseError",
    "RunningMock",
    "run",
    "serve",
]

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8000
_START_TIMEOUT: Final = 10.0
_GRACEFUL_SHUTDOWN: Final = 1
#: How long the server keeps an idle connection open: well past the 5 s after which httpx (and
#: requests' urllib3 pools, which keep theirs until the server closes) stop reusing one. With
#: uvicorn's default of 5 s both sides timed out together, so a client could send a request on a
#: connection the server was closing: a ReadError with nothing answered, about once in a few
#: thousand requests of a batch (a POST the client cannot safely re-send).
KEEP_ALIVE_S: Final = 75


class PortInUseError(OSError):
    """Another program already listens on the port asked for (``str``: says so, in words)."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"port {port} is in use on {host}")
        self.host = host
        self.port = port


@dataclass(frozen=True)
class RunningMock:
    """A mock server that is up: where it listens, a key it accepts, and its service."""

    base_url: str
    api_key: str
    service: MockService

    def url(self, path: str) -> str:
        return self.base_url + path


@contextmanager
def serve(
    config: MockConfig | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    service: MockService | None = None,
) -> Iterator[RunningMock]:
    """Run the mock with uvicorn in a background thread; yield its base URL, key and service.

    ``port=0`` picks a free port; a port another program holds raises :class:`PortInUseError`
    (any other failure to bind, :class:`OSError`). The server stops when the block exits.

    >>> with serve(MockConfig(latency=0)) as mock:                  # doctest: +SKIP
    ...     client = realdream.Client(mock.api_key, base_url=mock.base_url)
    """
    service = service or MockService(config)
    sock = _bind(host, port)  # here, not in uvicorn's thread: a failure is an exception here
    server = uvicorn.Server(_uvicorn_config(service, host, port))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="mocks-uvicorn", daemon=True
    )
    thread.start()
    try:
        _wait_until_started(server, thread)
        bound = int(sock.getsockname()[1])
        keys = service.config.api_keys
        yield RunningMock(_base_url(host, bound), keys[0] if keys else MOCK_API_KEY, service)
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT)
        sock.close()


def run(
    config: MockConfig | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    out: TextIO | None = None,
) -> None:
    """Serve until Ctrl-C (or SIGTERM); print the URL and the test key first."""
    out = out or sys.stdout
    restore = _sigterm_as_interrupt()
    try:
        with _request_log(), serve(config, host=host, port=port) as mock:
            _announce(mock, out)
            _block_forever()
    except KeyboardInterrupt:
        print("mock server stopped", file=out, flush=True)
    finally:
        restore()


def _uvicorn_config(service: MockService, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(service=service),
        host=host,
        port=port,
        access_log=False,  # our own line per request never shows the key; uvicorn's is off
        log_config=None,
        log_level="error",  # the shutdown notice for a held request is expected
        lifespan="off",
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


def _bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (as uvicorn binds it), not yet listening.

    The protocol is named (``IPPROTO_TCP``, not 0): asyncio turns Nagle off (``TCP_NODELAY``)
    only on accepted sockets whose ``proto`` says TCP, and accepted sockets inherit it from this
    one. With Nagle on, uvicorn's separate header and body writes wait for the client's delayed
    ACK: about 40 ms on every reused connection. ``TCP_NODELAY`` is also set here, so it holds
    wherever the listener's options are inherited.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port) from None
        raise
    return sock


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the mock server did not start")
        time.sleep(0.005)


def _base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _announce(mock: RunningMock, out: TextIO) -> None:
    config = mock.service.config
    lines = [
        f"RealDream mock listening on {mock.base_url}",
        f"  test API key: {mock.api_key}",
        f"  latency {config.latency}s, credits ${config.credits}, "
        f"cost ${config.cost_per_image}/image",
        f"  v2 jobs: queued {config.queue_time}s, results kept {config.result_ttl:g}s",
        f"  try: REALDREAM_BASE_URL={mock.base_url} SEGMIND_API_KEY={mock.api_key} ...",
        *([f"  replaying recorded exchanges from {config.replay}"] if config.replay else []),
        "  Ctrl-C stops it.",
    ]
    print("\n".join(lines), file=out, flush=True)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (it may be replaced after start-up)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


@contextmanager
def _request_log() -> Iterator[None]:
    """One line per request on stderr while the server runs; the logger is restored after."""
    logger = logging.getLogger("realdream.mock")
    handler = _Stderr()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _block_forever() -> None:
    while True:
        time.sleep(3600)


def _sigterm_as_interrupt() -> Callable[[], None]:
    """Make SIGTERM stop the server like Ctrl-C; returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore
