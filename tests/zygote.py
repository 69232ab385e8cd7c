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

One zygote serves a whole run: the first test process (xdist worker) that needs it starts it
listening on a Unix socket, the others connect to it, and it ends when the last one hangs up.
Protocol, one JSON message a packet (``SOCK_SEQPACKET``), on each harness's connection:

- zygote -> harness: ``{"ready": pid}`` once imported;
- harness -> zygote: ``{"start": n, "argv": [...], "env": {...}, "cwd": "..."}`` with the write
  end of the app's output pipe attached (``SCM_RIGHTS``); answered ``{"started": n, "pid": pid}``;
- harness -> zygote: ``{"signal": sig, "pid": pid}``, for one of its own apps that the zygote
  has not reaped yet (so never to a reused pid);
- zygote -> harness: ``{"exited": pid, "returncode": rc}``, ``rc`` as ``subprocess`` gives it;
- a harness hanging up ends the apps it started.
"""

from __future__ import annotations

import contextlib
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
    with contextlib.suppress(OSError):  # the other end is gone; its hang-up is read in turn
        channel.send(json.dumps(message).encode())


def _become_app(closing: list[int], request: dict[str, Any], out: int) -> None:
    """In the forked child: turn into ``python app.py ARGS`` and run it (does not come back
    unless app.py returns without ``sys.exit``)."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in closing:  # the zygote's sockets and pipe are not the app's
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


def _status(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


class _Server:
    """The zygote's state: its harnesses (one connection each) and whose app each child is."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.harnesses: list[socket.socket] = []
        self.owner: dict[int, socket.socket] = {}  # app pid -> the harness that started it
        self.served = False

    def accept(self) -> None:
        harness, _ = self.listener.accept()
        self.harnesses.append(harness)
        self.served = True
        _send(harness, {"ready": os.getpid()})

    def reap(self) -> None:
        while self.owner:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            harness = self.owner.pop(pid, None)
            if harness in self.harnesses:
                _send(harness, {"exited": pid, "returncode": _status(status)})

    def hang_up(self, harness: socket.socket) -> None:
        """A harness is gone (its test process ended): so are the apps it started."""
        self.harnesses.remove(harness)
        harness.close()
        for pid, owner in list(self.owner.items()):
            if owner is harness:
                os.kill(pid, signal.SIGKILL)


def serve(listener: socket.socket) -> int:
    """Import once, then fork an app for each request of any harness that connects to
    ``listener``; end when the last one has hung up."""
    _preload()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that SIGCHLD wakes the loop
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    server = _Server(listener)
    while server.harnesses or not server.served:
        readable, _, _ = select.select([listener, wake_r, *server.harnesses], [], [])
        if wake_r in readable:
            os.read(wake_r, 4096)
            server.reap()
        if listener in readable:
            server.accept()
        for harness in [h for h in readable if h in server.harnesses]:
            data, fds, _, _ = socket.recv_fds(harness, _PACKET, 1)
            if not data:
                server.hang_up(harness)
                continue
            request = json.loads(data)
            if "signal" in request:
                if server.owner.get(request["pid"]) is harness:  # its own, not yet reaped
                    os.kill(request["pid"], request["signal"])
                continue
            pid = os.fork()
            if pid == 0:
                own = [listener.fileno(), wake_r, wake_w, *(h.fileno() for h in server.harnesses)]
                _become_app(own, request, fds[0])
                return 0
            os.close(fds[0])
            server.owner[pid] = harness
            _send(harness, {"started": request["start"], "pid": pid})
    return 0


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


class ZygoteGoneError(RuntimeError):
    """The zygote ended before it was ready for this harness (its last harness had just hung
    up): start another."""


class Zygote:
    """A harness's connection to a zygote process: :meth:`start` forks an app from it.

    :meth:`spawn` starts a zygote listening at ``path``; :meth:`connect` joins one that another
    test process (an xdist worker) started, so that a run imports Gradio once, not once a worker.
    """

    def __init__(self, env: Mapping[str, str], path: Path, log: Path) -> None:
        self.env = dict(env)
        self.log = log
        self.changed = threading.Condition()
        self._ready = False
        self._gone = False
        self._count = 0
        self._pending: dict[int, int] = {}  # request number -> read end of its output pipe
        self._started: dict[int, ForkedApp] = {}
        self._running: dict[int, ForkedApp] = {}
        self._channel = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._channel.connect(str(path))
        except OSError:
            self._channel.close()
            raise
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def spawn(cls, env: Mapping[str, str], path: Path, log: Path) -> Zygote:
        """Start a zygote listening at ``path`` (it imports while we connect), and connect."""
        path.unlink(missing_ok=True)  # one whose zygote has ended
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(str(path))
        listener.listen(16)
        with log.open("w") as output:  # it forks and its parent returns: the zygote is no child
            subprocess.run(  # of ours, and outlives this test process if others use it
                [sys.executable, "-u", "-m", "tests.zygote", str(listener.fileno()), str(path)],
                cwd=ROOT, env=dict(env), pass_fds=[listener.fileno()], stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT, check=True, timeout=60,
            )  # fmt: skip
        listener.close()
        return cls(env, path, log)

    def _read(self) -> None:
        try:
            while data := self._channel.recv(_PACKET):
                self._handle(json.loads(data))
        except OSError:  # reset: the zygote is gone
            pass
        with self.changed:  # the zygote is gone, and it took any app still running with it
            for app in self._running.values():
                app.returncode = -signal.SIGKILL
            self._running.clear()
            self._gone = True
            self.changed.notify_all()

    def _handle(self, message: dict[str, Any]) -> None:
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
            if not self.changed.wait_for(lambda: self._ready or self._gone, timeout):
                raise self._failed("did not get ready")
            if self._gone:
                raise ZygoteGoneError() if not self._ready else self._failed("is gone")
            self._count += 1
            number = self._count
            read, write = os.pipe()
            self._pending[number] = read
            request = {"start": number, "argv": argv, "env": dict(env), "cwd": str(cwd)}
            socket.send_fds(self._channel, [json.dumps(request).encode()], [write])
            os.close(write)
            if not self.changed.wait_for(lambda: number in self._started or self._gone, timeout):
                raise self._failed("did not fork")
            if number not in self._started:
                raise self._failed("is gone")
            return self._started.pop(number)

    def signal(self, app: ForkedApp, sig: int) -> None:
        with self.changed:
            if app.returncode is None and not self._gone:
                _send(self._channel, {"signal": int(sig), "pid": app.pid})

    def close(self) -> None:
        """Hang up: the zygote kills the apps this harness started, and ends with its last
        harness."""
        with contextlib.suppress(OSError):
            self._channel.shutdown(socket.SHUT_WR)
        self._reader.join(timeout=60)
        self._channel.close()


def main(listener_fd: int, path: str) -> int:
    if os.fork():  # the harness waits for this parent only; the zygote goes on in its own session
        os._exit(0)
    os.setsid()
    zygote = os.getpid()
    listener = socket.socket(fileno=listener_fd)
    try:
        return serve(listener)
    finally:
        if os.getpid() == zygote:  # not in an app that returned
            Path(path).unlink(missing_ok=True)  # no harness connects to a zygote that has ended


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), sys.argv[2]))
