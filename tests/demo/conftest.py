"""Fixtures for the demo: backends with no network, and the app served in a subprocess.

The served app runs in its own process (``python app.py``) so that Gradio's server threads
live outside pytest's ``filterwarnings = error``; the test talks to it over loopback only.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import realdream
import realdream.mock as mocks
from demo import API_ENV, MOCK_ENV, MOCK_LATENCY_ENV, Backend, Handlers, Mode

ROOT = Path(__file__).resolve().parents[2]
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
#: Seconds a test of a served app waits for it (to start, to answer): generous, so that a busy
#: machine slows these tests down instead of failing them. ``REALDREAM_TEST_TIMEOUT_S`` sets it.
TIMEOUT_S = float(os.environ.get("REALDREAM_TEST_TIMEOUT_S") or 120)
_READY_LINE = "Running on local URL"

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServedApp:
    """``python app.py`` running in a subprocess."""

    url: str
    process: subprocess.Popen[str]
    log: Path
    reader: _LogReader


class _LogReader:
    """Drains a subprocess's output into a file; tells when Gradio prints its URL."""

    def __init__(self, process: subprocess.Popen[str], log: Path) -> None:
        self.url_seen = threading.Event()
        self._thread = threading.Thread(target=self._drain, args=(process, log), daemon=True)
        self._thread.start()

    def _drain(self, process: subprocess.Popen[str], log: Path) -> None:
        assert process.stdout is not None
        with log.open("w") as out:
            for line in process.stdout:
                out.write(line)
                out.flush()
                if _READY_LINE in line:
                    self.url_seen.set()
        self.url_seen.set()  # the process ended: stop waiting


def _start(log: Path, port: int, *args: str, env: dict[str, str] | None = None) -> ServedApp:
    environ = {k: v for k, v in os.environ.items() if k not in _ENV_NAMES}
    environ.update(GRADIO_TEMP_DIR=str(log.parent / f"gradio-{port}"))  # not the shared /tmp
    environ.update(env or {}, GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port), *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return ServedApp(f"http://127.0.0.1:{port}", process, log, _LogReader(process, log))


def _wait_until_up(app: ServedApp) -> None:
    if not app.reader.url_seen.wait(TIMEOUT_S) or app.process.poll() is not None:
        app.process.kill()
        pytest.fail(f"app.py did not start:\n{app.log.read_text()}")


def _stop(app: ServedApp) -> None:
    if app.process.poll() is None:
        app.process.terminate()
    try:
        app.process.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        app.process.kill()
        app.process.wait()
    if app.process.stdout is not None:
        app.process.stdout.close()


def _stop_all(apps: list[ServedApp]) -> None:
    """Ask every app to stop first, then wait for each: they shut down side by side."""
    for app in apps:
        if app.process.poll() is None:
            app.process.terminate()
    for app in apps:
        _stop(app)


@pytest.fixture(scope="session")
def mock_server() -> Iterator[mocks.RunningMock]:
    """A real mock server on loopback, in this process: tests script its answers."""
    with mocks.serve(mocks.MockConfig(latency=0.0)) as running:
        yield running


@pytest.fixture(scope="session")
def served(
    tmp_path_factory: pytest.TempPathFactory, mock_server: mocks.RunningMock
) -> Iterator[dict[str, ServedApp]]:
    """Two apps, started together: ``offline`` (forced in-process mock) and ``remote``
    (``REALDREAM_BASE_URL`` pointing at :func:`mock_server`)."""
    logs = tmp_path_factory.mktemp("served")
    apps = {
        "offline": _start(logs / "offline.log", free_port(), "--mock", "--mock-latency", "0"),
        "remote": _start(
            logs / "remote.log",
            free_port(),
            env={realdream.BASE_URL_ENV: mock_server.base_url},
        ),
    }
    try:
        for app in apps.values():
            _wait_until_up(app)
        yield apps
    finally:
        _stop_all(list(apps.values()))


@pytest.fixture(scope="session")
def served_offline(served: dict[str, ServedApp]) -> ServedApp:
    return served["offline"]


@pytest.fixture(scope="session")
def served_remote(served: dict[str, ServedApp]) -> ServedApp:
    return served["remote"]


class Launcher:
    """Starts ``python app.py`` processes (several at once, then waits), and stops them all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.apps: list[ServedApp] = []

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> ServedApp:
        log = self.folder / f"{name}-{len(self.apps)}.log"
        app = _start(log, free_port(), *args, env=env)
        self.apps.append(app)
        return app

    def wait(self, *apps: ServedApp) -> None:
        for app in apps:
            _wait_until_up(app)

    def stop(self, app: ServedApp) -> None:
        _stop(app)

    def stop_all(self) -> None:
        _stop_all(self.apps)


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """Serve more apps for a module: ``launcher.start(name, *args, env=...)``."""
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
