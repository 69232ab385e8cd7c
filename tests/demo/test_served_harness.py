"""The served-app harness itself (tests/served.py): an app counts as up only when Gradio serves
it, a lost port means a new start on a new port, and any other failure is reported at once; the
zygote it forks apps from (tests/zygote.py) gives each its own arguments, environment and end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import tests.served as served
from tests.served import TIMEOUT_S, ServedApp
from tests.zygote import Zygote, fork_fits

pytestmark = pytest.mark.slow  # starts app.py, twice in one test


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SEGMIND_", "REALDREAM_"))}


def test_an_app_that_exits_before_serving_fails_at_once_with_its_log(tmp_path: Path) -> None:
    app = ServedApp(tmp_path / "bad.log", ("--no-such-option",), _environ())
    with pytest.raises(pytest.fail.Exception, match=r"(?s)did not start:.*--no-such-option"):
        app.wait()
    assert app.process.returncode == 2  # argparse's usage error: not retried


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port someone else listens on, as when another process wins the race for it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_an_app_whose_port_was_taken_starts_again_on_another(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = iter([taken_port])
    fresh = served.free_port
    monkeypatch.setattr(served, "free_port", lambda: next(ports, None) or fresh())
    app = ServedApp(tmp_path / "app.log", ("--mock", "--mock-latency", "0"), _environ())
    try:
        app.wait()
        assert app.url != f"http://127.0.0.1:{taken_port}"
        assert len(app.earlier_logs) == 1
        assert "Cannot find empty port" in app.earlier_logs[0]
        assert httpx.get(f"{app.url}/config", timeout=TIMEOUT_S).status_code == 200
    finally:
        app.stop()


# The zygote (tests/zygote.py): a forked app is the script it names, with its own arguments,
# environment and exit, and nothing of the zygote's but the modules it had imported.

_SCRIPT = """\
import json, os, sys
print(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ),
                  "gradio": "gradio" in sys.modules, "main": __name__}), flush=True)
if sys.argv[1] == "raise":
    raise RuntimeError("the app failed")
if sys.argv[1] == "wait":
    import signal
    signal.pause()
sys.exit(int(sys.argv[1]))
"""


def _forked(tmp_path: Path, *args: str, **env: str) -> tuple[served.ForkedApp, dict[str, str]]:
    script = tmp_path / "script.py"
    script.write_text(_SCRIPT)
    environ = served.app_environ({**_environ(), "ONLY_THIS_APP": "yes", **env})
    return served.ZYGOTES.start([str(script), *args], environ), environ


def test_a_forked_app_has_its_own_arguments_environment_and_exit_status(tmp_path: Path) -> None:
    app, environ = _forked(tmp_path, "3", "more")
    seen = json.loads(app.stdout.readline())
    assert app.wait(TIMEOUT_S) == 3
    assert seen == {"argv": ["3", "more"], "cwd": str(served.ROOT), "env": environ,
                    "gradio": True, "main": "__main__"}  # fmt: skip
    assert app.stdout.read() == ""  # its output ends with it
    app.stdout.close()


def test_an_exception_in_a_forked_app_is_its_traceback_and_status_1(tmp_path: Path) -> None:
    app, _ = _forked(tmp_path, "raise")
    assert app.wait(TIMEOUT_S) == 1
    output = app.stdout.read()
    app.stdout.close()
    assert "RuntimeError: the app failed" in output


def test_terminate_reaches_the_forked_app_and_its_status_is_the_signal(tmp_path: Path) -> None:
    app, _ = _forked(tmp_path, "wait")
    app.stdout.readline()  # it is running
    assert app.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        app.wait(0.2)
    app.terminate()
    assert app.wait(TIMEOUT_S) == -signal.SIGTERM
    app.terminate()  # a second signal to an app that is gone is not sent anywhere
    app.stdout.close()


def test_an_app_whose_import_time_environment_differs_gets_a_zygote_of_its_own() -> None:
    base = {"PATH": "/bin", "GRADIO_TEMP_DIR": "/tmp/a"}
    assert fork_fits(base, {**base, "SEGMIND_API_KEY": "SG_x", "SPACE_ID": "o/s"})
    assert not fork_fits(base, {**base, "OAUTH_CLIENT_ID": "id"})
    assert not fork_fits(base, {**base, "GRADIO_TEMP_DIR": "/tmp/b"})
    assert not fork_fits(base, {"PATH": "/bin"})
    assert not fork_fits({**base, "HF_HUB_OFFLINE": "1"}, base)


def test_harnesses_share_one_zygote_and_a_hang_up_ends_only_that_harnesss_apps(
    tmp_path: Path,
) -> None:
    """As two xdist workers do: one starts the zygote, the other connects to it."""
    environ = served.app_environ(_environ(), tmp_path / "gradio")
    path = Path(tempfile.mkdtemp(prefix="rdz-")) / "z.sock"  # AF_UNIX paths are short
    script = tmp_path / "script.py"
    script.write_text(_SCRIPT)
    first = Zygote.spawn(environ, path, tmp_path / "zygote.log")
    second = Zygote(environ, path, tmp_path / "zygote.log")
    try:
        mine = first.start([str(script), "wait"], environ, served.ROOT, TIMEOUT_S)
        theirs = second.start([str(script), "wait"], environ, served.ROOT, TIMEOUT_S)
        assert mine.stdout.readline()  # both running
        assert theirs.stdout.readline()
        first.close()
        assert mine.stdout.read() == ""  # its output ended: the zygote ended it
        assert theirs.poll() is None
        again = second.start([str(script), "4"], environ, served.ROOT, TIMEOUT_S)
        assert again.wait(TIMEOUT_S) == 4  # the zygote still serves the other harness
        theirs.terminate()
        assert theirs.wait(TIMEOUT_S) == -signal.SIGTERM
        for app in (mine, theirs, again):
            app.stdout.close()
    finally:
        second.close()
