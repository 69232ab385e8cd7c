"""``python app.py`` served in a subprocess, for the tests that need the real app over loopback.

Shared by the demo's and the Space MCP tests. An app counts as up only when Gradio has printed
its URL and the process is still running. Two things a busy machine does are handled here
rather than failing a test:

- the port picked for it is taken by someone else before the app binds it, or Gradio gives up
  on its own server after 5 s of a slow start: either way Gradio says "Cannot find empty port",
  and the app is started again on a new port (at most :data:`STARTS` times);
- everything is slower: every wait is :data:`TIMEOUT_S` (``REALDREAM_TEST_TIMEOUT_S``).

Any other failure to start fails the test at once, with the app's log.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

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


class _LogReader:
    """Drains a subprocess's output into a file; tells when Gradio prints its URL, or the
    output ends (the process is going)."""

    def __init__(self, process: subprocess.Popen[str], log: Path) -> None:
        self.ready = False
        self.changed = threading.Event()
        self._thread = threading.Thread(target=self._drain, args=(process, log), daemon=True)
        self._thread.start()

    def _drain(self, process: subprocess.Popen[str], log: Path) -> None:
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
    """``python app.py ARGS`` on a loopback port; :meth:`wait` until it is up."""

    log: Path
    args: tuple[str, ...]
    environ: dict[str, str]
    url: str = ""
    process: subprocess.Popen[str] = field(init=False, repr=False)
    reader: _LogReader = field(init=False, repr=False)
    earlier_logs: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._launch()

    def _launch(self) -> None:
        port = free_port()
        environ = dict(self.environ)
        environ.update(
            GRADIO_TEMP_DIR=str(self.log.parent / f"gradio-{port}"),  # not the shared /tmp
            GRADIO_ANALYTICS_ENABLED="False",
            PYTHONUNBUFFERED="1",
        )
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port), *self.args],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
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
