"""The served-app harness itself (tests/served.py): an app counts as up only when Gradio serves
it, a lost port means a new start on a new port, and any other failure is reported at once."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import tests.served as served
from tests.served import TIMEOUT_S, ServedApp

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
