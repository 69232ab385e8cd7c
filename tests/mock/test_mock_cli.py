"""``python -m mocks`` and the reusable option helpers."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import mocks
from realdream import _contract

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> mocks.MockConfig:
    parser = argparse.ArgumentParser()
    mocks.add_arguments(parser)
    return mocks.config_from_args(parser.parse_args(list(argv)))


def test_defaults_come_from_the_contract() -> None:
    config = parse()
    assert config == mocks.MockConfig()
    assert config.latency == _contract.ADVERTISED_LATENCY_S
    assert config.cost_per_image == _contract.COST_PER_IMAGE_USD
    assert config.api_keys == (mocks.MOCK_API_KEY,)


def test_every_option_reaches_the_config() -> None:
    config = parse(
        "--latency", "0", "--jitter", "0.5", "--credits", "1.5", "--cost-per-image", "0.01",
        "--api-key", "SG_1", "--api-key", "SG_2", "--forbidden-key", "SG_3",
        "--rate-limit", "5", "--fault-rate", "0.25", "--seed", "9", "--hang-seconds", "2",
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
    )


def test_host_and_port_options() -> None:
    parser = argparse.ArgumentParser()
    mocks.add_arguments(parser)
    ns = parser.parse_args(["--port", "0", "--host", "0.0.0.0"])
    assert (ns.host, ns.port) == ("0.0.0.0", 0)
    assert parser.parse_args([]).port == 8000


def test_an_invalid_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from mocks._cli import main

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
            match.group(1) + _contract.GENERATE_PATH,
            json={"prompt": "x"},
            headers={_contract.API_KEY_HEADER: mocks.MOCK_API_KEY},
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
    assert f"POST {_contract.GENERATE_PATH} 200" in err
    assert mocks.MOCK_API_KEY not in err
