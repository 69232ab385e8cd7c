"""``python app.py`` served in a subprocess, for the tests that need the real app over loopback.

Shared by the demo's and the Space MCP tests. An app counts as up only when Gradio has printed
its URL and the process is still running. Two things a busy machine does are handled here
rather than failing a test:

- the port picked for it is taken by someone else before the app binds it, or Gradio gives up
  on its own server after 5 s of a slow start: either way Gradio says "Cannot find empty port",
  and the app is started again on a new port (at most :data:`STARTS` times);
- everything is slower: every wait is :data:`TIMEOUT_S` (``REALDREAM_TEST_TIMEOUT_S``).

Any other failure to start fails the test at once, with the app's log.

An app is forked from a zygote that has imported Gradio already (:mod:`tests.zygote`): it runs
``app.py`` as ``__main__`` as ``python app.py`` does, without paying 3 to 5 s of CPU for the
import each time. ``ServedApp(..., fork=False)`` starts a plain ``python app.py`` instead, as a
Space does; the suite keeps one served module on that path.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import pytest
from filelock import FileLock

from tests.zygote import IMPORT_TIME, ForkedApp, Zygote, ZygoteGoneError, fork_fits

Process = Union["subprocess.Popen[str]", ForkedApp]

ROOT = Path(__file__).resolve().parents[1]
#: Seconds a test of a served app waits for it (to start, to answer): generous, so that a busy
#: machine slows these tests down instead of failing them. ``REALDREAM_TEST_TIMEOUT_S`` sets it.
TIMEOUT_S = float(os.environ.get("REALDREAM_TEST_TIMEOUT_S") or 120)
#: How many times an app is started when Gradio cannot hold the port it was given.
STARTS = 3
_READY_LINE = "Running on local URL"
_PORT_LOST = "Cannot find empty port"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Zygotes:
    """This test process's connections to the run's zygotes, one zygote for each import-time
    environment (most apps share one). Under xdist the workers share them: the first to need
    one starts it, under a lock in the run's folder (:meth:`use`)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._zygotes: list[Zygote] = []
        self._folder: Path | None = None

    def use(self, folder: Path) -> None:
        """Keep the zygotes' logs and the apps' Gradio files in ``folder``: the run's (shared by
        its xdist workers; tests/conftest.py names it for the session)."""
        with self._lock:
            (folder / "gradio").mkdir(parents=True, exist_ok=True)
            if self._folder is None:
                atexit.register(self.close)
            self._folder = folder

    def folder(self) -> Path:
        """The zygotes' folder: their logs, and Gradio's temporary folder for every forked app
        (the zygote's modules read it when imported, so its apps cannot each have one)."""
        with self._lock:
            if self._folder is None:
                raise RuntimeError("no folder for the zygotes: tests/conftest.py names it")
            return self._folder

    def _join(self, environ: dict[str, str]) -> Zygote:
        """Connect to the zygote for ``environ``'s import-time names, starting it if needed."""
        imported = sorted((k, v) for k, v in environ.items() if k.startswith(IMPORT_TIME))
        folder = self.folder()
        name = hashlib.sha256(repr((str(folder), imported)).encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"realdream-zygote-{name}.sock"  # short: AF_UNIX
        base = {k: v for k, v in os.environ.items()  # and no key, no app settings
                if not k.startswith((*IMPORT_TIME, "SEGMIND_", "REALDREAM_"))}  # fmt: skip
        env = {**base, **dict(imported), "PYTHONUNBUFFERED": "1"}
        with FileLock(folder / f"{name}.lock"):
            try:
                return Zygote(env, path, folder / f"{name}.log")
            except OSError:  # none yet, or it has ended
                return Zygote.spawn(env, path, folder / f"{name}.log")

    def start(self, argv: list[str], environ: dict[str, str]) -> ForkedApp:
        for _ in range(2):  # a zygote that ended just as we joined it: once more, afresh
            with self._lock:
                zygote = next((z for z in self._zygotes if fork_fits(z.env, environ)), None)
                if zygote is None:
                    zygote = self._join(environ)
                    self._zygotes.append(zygote)
            try:
                return zygote.start(argv, environ, ROOT, TIMEOUT_S)
            except ZygoteGoneError:
                with self._lock:
                    self._zygotes.remove(zygote)
        raise RuntimeError("no zygote stayed up long enough to start an app")

    def close(self) -> None:
        for zygote in self._zygotes:
            zygote.close()


ZYGOTES = _Zygotes()


def app_environ(environ: dict[str, str], gradio_temp: Path | None = None) -> dict[str, str]:
    """``environ`` as an app gets it: no analytics, unbuffered output, and Gradio's temporary
    files in ``gradio_temp`` (by default the folder of the forked apps), not the shared /tmp."""
    return dict(
        environ,
        GRADIO_ANALYTICS_ENABLED="False",
        PYTHONUNBUFFERED="1",
        GRADIO_TEMP_DIR=str(gradio_temp or ZYGOTES.folder() / "gradio"),
    )


class _LogReader:
    """Drains a subprocess's output into a file; tells when Gradio prints its URL, or the
    output ends (the process is going)."""

    def __init__(self, process: Process, log: Path) -> None:
        self.ready = False
        self.changed = threading.Event()
        self._thread = threading.Thread(target=self._drain, args=(process, log), daemon=True)
        self._thread.start()

    def _drain(self, process: Process, log: Path) -> None:
        assert process.stdout is not None
        with log.open("w") as out:
            for line in process.stdout:
                out.write(line)
                out.flush()
                if _READY_LINE in line:
                    self.ready = True
                    self.changed.set()
        self.changed.set()

    def join(self) -> None:
        self._thread.join(timeout=TIMEOUT_S)


@dataclass
class ServedApp:
    """``python app.py ARGS`` on a loopback port, forked from a zygote unless ``fork`` is
    false; :meth:`wait` until it is up."""

    log: Path
    args: tuple[str, ...]
    environ: dict[str, str]
    fork: bool = True
    url: str = ""
    process: Process = field(init=False, repr=False)
    reader: _LogReader = field(init=False, repr=False)
    earlier_logs: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._launch()

    def _launch(self) -> None:
        port = free_port()
        argv = [str(ROOT / "app.py"), "--port", str(port), *self.args]
        self.url = f"http://127.0.0.1:{port}"
        if self.fork:
            self.process = ZYGOTES.start(argv, app_environ(self.environ))
        else:
            environ = app_environ(self.environ, self.log.parent / f"gradio-{port}")
            self.process = subprocess.Popen(
                [sys.executable, *argv], cwd=ROOT, env=environ, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.reader = _LogReader(self.process, self.log)

    def wait(self) -> None:
        """Until Gradio serves the app; start it again on a new port if it lost its port."""
        for _ in range(STARTS):
            self.reader.changed.wait(TIMEOUT_S)
            if self.reader.ready and self.process.poll() is None:
                return
            self.stop()
            text = self.log.read_text()
            if _PORT_LOST not in text:
                break
            self.earlier_logs.append(text)
            self._launch()
        logs = "\n".join([*self.earlier_logs, self.log.read_text()])
        pytest.fail(f"app.py {' '.join(self.args)} did not start:\n{logs}")

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        self.terminate()
        try:
            self.process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join()
        if self.process.stdout is not None:
            self.process.stdout.close()


def stop_all(apps: list[ServedApp]) -> None:
    """Ask every app to stop first, then wait for each: they shut down side by side."""
    for app in apps:
        app.terminate()
    for app in apps:
        app.stop()
