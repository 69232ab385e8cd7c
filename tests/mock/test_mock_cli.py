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


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """What ``python -m realdream.mock ARGV`` prints on stderr as it exits 2."""
    from realdream.mock._cli import main

    try:
        code = main(argv)
    except SystemExit as exited:  # argparse's own refusals
        code = int(exited.code or 0)
    assert code == 2
    return capsys.readouterr().err


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
        (["--queue-time", "-1"], "--queue-time=-1.0: must be a finite number >= 0"),
        (["--result-ttl", "0"], "--result-ttl=0.0: must be a number of seconds > 0"),
        (["--failed-status", "500"], "invalid choice: 500"),
    ],
)
def test_bad_v2_options_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in refused(argv, capsys)


def test_host_and_port_options() -> None:
    parser = argparse.ArgumentParser()
    mocks.add_arguments(parser)
    ns = parser.parse_args(["--port", "0", "--host", "0.0.0.0"])
    assert (ns.host, ns.port) == ("0.0.0.0", 0)
    assert parser.parse_args([]).port == 8000


def test_an_invalid_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--fault-rate=2.0: must be between 0 and 1" in refused(["--fault-rate", "2"], capsys)


@pytest.mark.slow  # a server in a subprocess, started and interrupted
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
        out, err = process.communicate(timeout=60)  # a busy machine is slow, not wrong
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


def test_an_invalid_config_value_is_one_line_without_usage_or_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert refused(["--latency", "-1"], capsys).splitlines() == [
        "realdream mock: error: --latency=-1.0: must be a finite number >= 0"
    ]


IMPOSSIBLE = [
    (["--credits", "nan"], "--credits=nan: must be a finite number >= 0"),
    (["--credits", "-0.5"], "--credits=-0.5: must be a finite number >= 0"),
    (["--credits", "1e13"], "--credits=10000000000000.0: must be at most 1e+12 USD"),
    (["--cost-per-image", "inf"], "--cost-per-image=inf: must be a finite number >= 0"),
    (["--latency", "-1"], "--latency=-1.0: must be a finite number >= 0"),
    (["--jitter", "1e999"], "--jitter=inf: must be a finite number >= 0"),
    (["--hang-seconds", "1e8"], "--hang-seconds=100000000.0: must be at most 1e+07 seconds"),
    (["--queue-time", "nan"], "--queue-time=nan: must be a finite number >= 0"),
    (["--result-ttl=-inf"], "--result-ttl=-inf: must be a number of seconds > 0"),
    (["--fault-rate", "2"], "--fault-rate=2.0: must be between 0 and 1"),
    (["--fault-rate", "nan"], "--fault-rate=nan: must be between 0 and 1"),
    (["--rate-limit", "0"], "--rate-limit=0: must be a whole number >= 1 (None: unlimited)"),
    (
        ["--fault-on", "poll,polls"],
        "--fault-on='polls': must be 'all' or among generate, submit, poll, result, download",
    ),
    (["--port", "99999"], "argument --port: '99999': must be a whole number from 0 to 65535"),
]


IMPOSSIBLE_IDS = [" ".join(argv) for argv, _ in IMPOSSIBLE]


@pytest.mark.parametrize(("argv", "line"), IMPOSSIBLE, ids=IMPOSSIBLE_IDS)
def test_an_impossible_option_is_refused_in_one_line_naming_it(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(argv, capsys)
    assert err.splitlines()[-1] == f"realdream mock: error: {line}"
    assert "Traceback" not in err


@pytest.mark.parametrize(("argv", "line"), IMPOSSIBLE[:4], ids=IMPOSSIBLE_IDS[:4])
def test_realdream_mock_refuses_the_same_in_one_line(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from realdream.cli import main

    assert main(["mock", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [f"error: {line}"]


@pytest.mark.parametrize(
    ("argv", "kinds"),
    [
        ([], mocks.DEFAULT_FAULT_ON),
        (["--fault-on", "poll,download"], ("poll", "download")),
        (["--fault-on", "download, result ,poll"], ("poll", "result", "download")),
        (["--fault-on", "all"], mocks.FAULT_KINDS),
    ],
)
def test_fault_on_reaches_the_config(argv: list[str], kinds: tuple[str, ...]) -> None:
    assert parse("--fault-rate", "0.5", *argv).fault_on == kinds


def test_help_names_the_command_and_every_option() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "realdream.mock", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    assert done.stdout.startswith("usage: realdream mock [-h]")
    usage = done.stdout.split("\n\n")[0]
    for option in ("--latency SECONDS", "--credits USD", "--fault-rate P", "--fault-on KINDS"):
        assert option in usage
    assert "poll, result, download" in done.stdout
