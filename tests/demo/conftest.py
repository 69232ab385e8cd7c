"""Fixtures for the demo: backends with no network, and the app served in a subprocess.

The served app runs in its own process (``python app.py``) so that Gradio's server threads
live outside pytest's ``filterwarnings = error``; the test talks to it over loopback only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import realdream
import realdream.mock as mocks
from demo import API_ENV, MOCK_ENV, MOCK_LATENCY_ENV, Backend, Handlers, Mode
from tests.served import ServedApp, stop_all

SECRET_KEY = "SG_feedfacecafebeef"
#: Anything in a developer's environment that would change what the app does.
_ENV_NAMES = (
    realdream.API_KEY_ENV,
    realdream.BASE_URL_ENV,
    MOCK_ENV,
    MOCK_LATENCY_ENV,
    API_ENV,
    "REALDREAM_DAILY_BUDGET_USD",
    "REALDREAM_MIN_BALANCE_USD",
    "REALDREAM_VISITOR_IMAGES_PER_HOUR",
    "REALDREAM_REQUIRE_LOGIN",
    "REALDREAM_SHOW_BALANCE",
    "REALDREAM_STATE_DIR",
    "REALDREAM_KEEP_OUTPUTS_MB",
    "REALDREAM_CONCURRENCY",
    "REALDREAM_MAX_QUEUE",
    "SPACE_ID",
    "SYSTEM",
    "GRADIO_SERVER_PORT",
    "GRADIO_SERVER_NAME",
    "FORWARDED_ALLOW_IPS",
    "REALDREAM_TRUSTED_PROXY_HOPS",
    "GRADIO_TEMP_DIR",
)

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def _no_real_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real key or server never reaches a demo test."""
    for name in _ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def offline() -> Backend:
    """The real in-process mock, instant, no retries (so scripted errors surface at once)."""
    return Backend.offline(latency_s=0.0, max_retries=0)


@pytest.fixture
def handlers(offline: Backend, tmp_path: Path) -> Handlers:
    return Handlers(offline, tmp_path / "outputs")


def _api_backend(handler: Handler, *, mode: Mode = Mode.SERVER_KEY) -> Backend:
    return Backend(
        mode,
        base_url="https://api.example.test",
        server_key="SG_0000000000000000" if mode is Mode.SERVER_KEY else None,
        api_transport=lambda: httpx.MockTransport(handler),
        max_retries=0,
    )


@pytest.fixture
def api_backend() -> Callable[..., Backend]:
    """``api_backend(handler, mode=...)``: a backend whose "real API" is ``handler``."""
    return _api_backend


@pytest.fixture
def secret_key() -> str:
    """A key with the real shape that no server accepts; it must never show up anywhere."""
    return SECRET_KEY


def _start(
    log: Path, *args: str, env: dict[str, str] | None = None, fork: bool = True
) -> ServedApp:
    environ = {k: v for k, v in os.environ.items() if k not in _ENV_NAMES}
    return ServedApp(log, args, {**environ, **(env or {})}, fork=fork)


@pytest.fixture(scope="session")
def mock_server() -> Iterator[mocks.RunningMock]:
    """A real mock server on loopback, in this process: tests script its answers."""
    with mocks.serve(mocks.MockConfig(latency=0.0)) as running:
        yield running


def _served(log: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[ServedApp]:
    app = _start(log, *args, env=env)
    try:
        app.wait()
        yield app
    finally:
        app.stop()


# The served apps live for one module, not the session: a waiting Gradio app is not idle (its
# queue checks for work every millisecond, about 6% of a core), so an app kept for the whole run
# costs more than starting it again for each module that needs it.
@pytest.fixture(scope="module")
def served_offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """``python app.py --mock``: the forced in-process mock, no latency."""
    log = tmp_path_factory.mktemp("served") / "offline.log"
    yield from _served(log, "--mock", "--mock-latency", "0")


@pytest.fixture(scope="module")
def served_remote(
    tmp_path_factory: pytest.TempPathFactory, mock_server: mocks.RunningMock
) -> Iterator[ServedApp]:
    """``python app.py`` with ``REALDREAM_BASE_URL`` pointing at :func:`mock_server`."""
    log = tmp_path_factory.mktemp("served") / "remote.log"
    yield from _served(log, env={realdream.BASE_URL_ENV: mock_server.base_url})


class Launcher:
    """Starts ``python app.py`` processes (several at once, then waits), and stops them all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.apps: list[ServedApp] = []

    def start(
        self, name: str, *args: str, env: dict[str, str] | None = None, fork: bool = True
    ) -> ServedApp:
        """Forked from the zygote unless ``fork`` is false (then a plain ``python app.py``)."""
        log = self.folder / f"{name}-{len(self.apps)}.log"
        app = _start(log, *args, env=env, fork=fork)
        self.apps.append(app)
        return app

    def wait(self, *apps: ServedApp) -> None:
        for app in apps:
            app.wait()

    def stop(self, app: ServedApp) -> None:
        app.stop()

    def stop_all(self) -> None:
        stop_all(self.apps)


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """Serve more apps for a module: ``launcher.start(name, *args, env=..., fork=...)``."""
    running = Launcher(tmp_path_factory.mktemp("apps"))
    try:
        yield running
    finally:
        running.stop_all()


def form_data(
    samples: int = 1, *, offline: bool = False, prompt: str = "a lighthouse"
) -> list[Any]:
    """``/generate``'s eleven inputs, in order, as a raw HTTP call sends them."""
    scheduler = realdream.DEFAULT_SCHEDULER
    return [prompt, "", scheduler, 8, 1.5, -1, 256, 256, samples, "", offline]


def call_generate(
    http: httpx.Client, url: str, data: list[Any], headers: dict[str, str] | None = None
) -> str:
    """One raw call of ``/generate`` through Gradio's HTTP API (what any script can send):
    ``"ok"``, or the one-line error it answered."""
    started = http.post(f"{url}/gradio_api/call/generate", json={"data": data}, headers=headers)
    started.raise_for_status()
    event = started.json()["event_id"]
    stream = http.get(f"{url}/gradio_api/call/generate/{event}", headers=headers).text
    if "event: complete" in stream:
        return "ok"
    _, _, rest = stream.partition("event: error\ndata: ")
    payload = json.loads(rest.splitlines()[0]) if rest else None
    return str(payload.get("error") if isinstance(payload, dict) else payload)
