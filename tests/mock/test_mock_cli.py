"""``python -m mocks`` and the reusable option helpers."""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import realdream.mock as mocks
from realdream import contract

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> mocks.MockConfig:
    parser = argparse.ArgumentParser()
    mocks.add_arguments(parser)
    return mocks.config_from_args(parser.parse_args(list(argv)))


def test_defaults_come_from_the_contract() -> None:
    config = parse()
    assert config == mocks.MockConfig()
    assert config.latency == contract.ADVERTISED_LATENCY_S
    assert config.cost_per_image == contract.COST_PER_IMAGE_USD
    assert config.api_keys == (mocks.MOCK_API_KEY,)


def test_every_option_reaches_the_config() -> None:
    config = parse(
        "--latency", "0", "--jitter", "0.5", "--credits", "1.5", "--cost-per-image", "0.01",
        "--api-key", "SG_1", "--api-key", "SG_2", "--forbidden-key", "SG_3",
        "--rate-limit", "5", "--fault-rate", "0.25", "--seed", "9", "--hang-seconds", "2",
        "--queue-time", "0.5", "--result-ttl", "60", "--failed-status", "200",
        "--no-result-images",
    )  # fmt: skip
    assert config == mocks.MockConfig(
        latency=0,
        jitter=0.5,
        credits=1.5,
        cost_per_image=0.01,
        api_keys=("SG_1", "SG_2"),
        forbidden_keys=("SG_3",),
        rate_limit=5,
        fault_rate=0.25,
        seed=9,
        hang_seconds=2,
        queue_time=0.5,
        result_ttl=60,
        failed_status=200,
        result_images=False,
    )


def test_v2_defaults_come_from_the_contract() -> None:
    config = parse()
    assert config.result_ttl == contract.RESULT_TTL_S
    assert config.failed_status in contract.FAILED_STATUS_CODES
    assert (config.queue_time, config.result_images) == (0.0, True)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--queue-time", "-1"], "queue_time=-1.0: must be a finite number >= 0"),
        (["--result-ttl", "0"], "result_ttl=0.0: must be a number of seconds > 0"),
        (["--failed-status", "500"], "invalid choice: 500"),
    ],
)
def test_bad_v2_options_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from realdream.mock._cli import main

    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_host_and_port_options() -> None:
    parser = argparse.ArgumentParser()
    mocks.add_arguments(parser)
    ns = parser.parse_args(["--port", "0", "--host", "0.0.0.0"])
    assert (ns.host, ns.port) == ("0.0.0.0", 0)
    assert parser.parse_args([]).port == 8000


def test_an_invalid_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from realdream.mock._cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--fault-rate", "2"])
    assert exited.value.code == 2
    assert "fault_rate=2.0: must be between 0 and 1" in capsys.readouterr().err


def test_python_m_mocks_serves_prints_url_and_key_and_stops_on_ctrl_c() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mocks", "--port", "0", "--latency", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", first)
        assert match, first
        assert mocks.MOCK_API_KEY in process.stdout.readline()
        response = httpx.post(
            match.group(1) + contract.GENERATE_PATH,
            json={"prompt": "x"},
            headers={contract.API_KEY_HEADER: mocks.MOCK_API_KEY},
        )
        assert response.status_code == 200
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert "stopped" in out
    assert f"POST {contract.GENERATE_PATH} 200" in err
    assert mocks.MOCK_API_KEY not in err


@pytest.fixture
def occupied_port() -> Iterator[int]:
    """A loopback port another program (this bound, listening socket) already holds."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_serve_on_a_taken_port_raises_port_in_use(occupied_port: int) -> None:
    with pytest.raises(mocks.PortInUseError) as caught, mocks.serve(port=occupied_port):
        pass
    assert caught.value.port == occupied_port
    assert f"port {occupied_port} is in use" in str(caught.value)


def test_a_taken_port_is_one_line_and_exit_2(
    occupied_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    from realdream.mock._cli import main

    assert main(["--port", str(occupied_port), "--latency", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"realdream mock: error: port {occupied_port} is in use; "
        "pick another with --port or use --port 0\n"
    )


def test_python_m_mocks_on_a_taken_port_prints_no_traceback(occupied_port: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mocks", "--port", str(occupied_port), "--latency", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"realdream mock: error: port {occupied_port} is in use; "
        "pick another with --port or use --port 0"
    ]


def test_an_invalid_config_value_is_a_usage_error_without_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from realdream.mock._cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--latency", "-1"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        "realdream mock: error: latency=-1.0: must be a finite number >= 0"
    )
    assert "Traceback" not in err
