"""Start ``python app.py`` in a fraction of the time: fork it from a process that has already
imported Gradio and the demo.

Importing Gradio costs 3 to 5 s of CPU, and the suite serves about twenty apps: on two cores that
import was a fifth of the whole run. The zygote (``python -m tests.zygote``, one per test
process) imports it once; each app is then a fork of it that runs ``app.py`` as ``__main__``,
with its own arguments, environment, working folder and output, and ends as ``python app.py``
ends (``sys.exit``, an exception, a signal: its status is reported back).

What a fork cannot give an app is an import of its own. A few modules read the environment when
they are imported (``gradio.oauth`` its ``OAUTH_*``, several its ``GRADIO_TEMP_DIR``), so an app is
forked only when its environment agrees with the zygote's on every name in :data:`IMPORT_TIME`;
:func:`fork_fits` tells, and the harness starts any other app as a plain subprocess.

Protocol, over a ``SOCK_SEQPACKET`` socket pair (one JSON message a packet):

- zygote -> harness: ``{"ready": pid}`` once imported;
- harness -> zygote: ``{"start": n, "argv": [...], "env": {...}, "cwd": "..."}`` with the write
  end of the app's output pipe attached (``SCM_RIGHTS``); answered ``{"started": n, "pid": pid}``;
- harness -> zygote: ``{"signal": sig, "pid": pid}``, sent only while the zygote has not reaped
  that app (so never to a reused pid);
- zygote -> harness: ``{"exited": pid, "returncode": rc}``, ``rc`` as ``subprocess`` gives it;
- the harness closing its end ends the zygote, and any app still running.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Prefixes of the environment variables some module reads when it is imported: an app whose
#: values differ from the zygote's cannot be forked from it.
IMPORT_TIME = ("GRADIO_", "OAUTH_", "OPENID_", "HF_", "HUGGINGFACE_")
_PACKET = 1 << 20


def _import_time(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(IMPORT_TIME)}


def fork_fits(zygote_env: Mapping[str, str], app_env: Mapping[str, str]) -> bool:
    """Whether an app with ``app_env`` may be forked from a zygote started with ``zygote_env``."""
    return _import_time(zygote_env) == _import_time(app_env)


# -- the zygote (``python -m tests.zygote``) ------------------------------------------------------


def _preload() -> None:
    """What ``python app.py`` imports before it serves: the cost this process pays once."""
    import pkgutil

    import gradio
    import gradio.mcp  # noqa: F401

    import demo

    for module in pkgutil.iter_modules(demo.__path__, "demo."):
        if not module.name.endswith("__main__"):
            __import__(module.name)
    if threading.active_count() != 1:  # a fork keeps only the forking thread
        raise RuntimeError(f"importing the app started threads: {threading.enumerate()}")


def _send(channel: socket.socket, message: dict[str, Any]) -> None:
    channel.send(json.dumps(message).encode())


def _become_app(
    channel: socket.socket, wake: tuple[int, int], request: dict[str, Any], out: int
) -> None:
    """In the forked child: turn into ``python app.py ARGS`` and run it (does not come back
    unless app.py returns without ``sys.exit``)."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    channel.close()
    for fd in wake:
        os.close(fd)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.close(stdin)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    script = request["argv"][0]
    sys.argv = list(request["argv"])
    sys.path[0] = str(Path(script).resolve().parent)
    import runpy

    runpy.run_path(script, run_name="__main__")


def _reap(channel: socket.socket, children: set[int]) -> None:
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return
        children.discard(pid)
        _send(channel, {"exited": pid, "returncode": -os.WTERMSIG(status)
                        if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)})  # fmt: skip


def serve(channel: socket.socket) -> int:
    """Import once, then fork an app for each request until the harness hangs up."""
    _preload()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that SIGCHLD wakes the loop
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    children: set[int] = set()
    _send(channel, {"ready": os.getpid()})
    while True:
        readable, _, _ = select.select([channel, wake_r], [], [])
        if wake_r in readable:
            os.read(wake_r, 4096)
            _reap(channel, children)
        if channel not in readable:
            continue
        data, fds, _, _ = socket.recv_fds(channel, _PACKET, 1)
        if not data:  # the harness is gone: so are its apps
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            return 0
        request = json.loads(data)
        if "signal" in request:
            if request["pid"] in children:
                os.kill(request["pid"], request["signal"])
            continue
        pid = os.fork()
        if pid == 0:
            _become_app(channel, (wake_r, wake_w), request, fds[0])
            return 0
        os.close(fds[0])
        children.add(pid)
        _send(channel, {"started": request["start"], "pid": pid})


# -- the harness's side ---------------------------------------------------------------------------


class ForkedApp:
    """An app forked by the zygote, with the part of ``subprocess.Popen`` the harness uses."""

    def __init__(self, zygote: Zygote, pid: int, stdout: Any) -> None:
        self.zygote = zygote
        self.pid = pid
        self.stdout = stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        with self.zygote.changed:
            if not self.zygote.changed.wait_for(lambda: self.returncode is not None, timeout):
                raise subprocess.TimeoutExpired(f"app.py (pid {self.pid})", timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        self.zygote.signal(self, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Zygote:
    """The harness's end of one zygote process: :meth:`start` forks an app from it."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.env = dict(env)
        self.log = log
        self.changed = threading.Condition()
        self._ready = False
        self._count = 0
        self._pending: dict[int, int] = {}  # request number -> read end of its output pipe
        self._started: dict[int, ForkedApp] = {}
        self._running: dict[int, ForkedApp] = {}
        self._channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-u", "-m", "tests.zygote", str(theirs.fileno())],
                cwd=ROOT, env=self.env, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        theirs.close()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while data := self._channel.recv(_PACKET):
            message = json.loads(data)
            with self.changed:
                if "ready" in message:
                    self._ready = True
                elif "started" in message:
                    read = self._pending.pop(message["started"])
                    app = ForkedApp(self, message["pid"], os.fdopen(read, "r"))
                    self._running[app.pid] = self._started[message["started"]] = app
                elif "exited" in message and message["exited"] in self._running:
                    self._running.pop(message["exited"]).returncode = message["returncode"]
                self.changed.notify_all()
        with self.changed:  # the zygote is gone, and it took any app still running with it
            for app in self._running.values():
                app.returncode = -signal.SIGKILL
            self._running.clear()
            self._ready = False
            self.changed.notify_all()

    def _failed(self, what: str) -> RuntimeError:
        return RuntimeError(f"the zygote {what}:\n{self.log.read_text()}")

    def start(
        self, argv: list[str], env: Mapping[str, str], cwd: Path, timeout: float
    ) -> ForkedApp:
        """Fork ``argv`` (``[app.py, *args]``) with ``env`` in ``cwd``; its output is the
        returned app's ``stdout``."""
        if not fork_fits(self.env, env):
            raise ValueError("this app's import-time environment differs from the zygote's")
        with self.changed:
            if not self.changed.wait_for(lambda: self._ready or self.process.poll() is not None,
                                         timeout):  # fmt: skip
                raise self._failed("did not get ready")
            if not self._ready:
                raise self._failed("is not running")
            self._count += 1
            number = self._count
            read, write = os.pipe()
            self._pending[number] = read
            request = {"start": number, "argv": argv, "env": dict(env), "cwd": str(cwd)}
            socket.send_fds(self._channel, [json.dumps(request).encode()], [write])
            os.close(write)
            if not self.changed.wait_for(lambda: number in self._started, timeout):
                raise self._failed("did not fork")
            return self._started.pop(number)

    def signal(self, app: ForkedApp, sig: int) -> None:
        with self.changed:
            if app.returncode is None:
                _send(self._channel, {"signal": int(sig), "pid": app.pid})

    def close(self) -> None:
        """Hang up: the zygote kills any app still running, and exits."""
        self._channel.shutdown(socket.SHUT_WR)
        self._reader.join(timeout=60)
        self.process.wait(timeout=60)
        self._channel.close()


if __name__ == "__main__":
    sys.exit(serve(socket.socket(fileno=int(sys.argv[1]))))
