"""The first minutes with the command line: help with no command, messages in the command
line's words (its options, not Python's), bad keys and URLs refused before anything is sent,
and ``realdream mock`` as the way to start the offline server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import realdream.mock as mocks
from realdream import API_KEY_ENV, BASE_URL_ENV, contract
from tests.cli._offline import SMALL, Offline
from tests.cli.conftest import Cli

REPO = Path(__file__).resolve().parents[2]


def assert_one_line(err: str) -> None:
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


# --- help and usage --------------------------------------------------------------------------
def test_realdream_alone_shows_the_help(cli: Cli) -> None:
    ran = cli()
    assert ran.code == 2  # no command ran
    assert ran.out.startswith("Usage: realdream [OPTIONS] COMMAND [ARGS]...")
    for command in ("generate", "batch", "job", "info", "verify", "schedulers", "mock"):
        assert re.search(rf"^\s+{command}\s", ran.out, re.M), command
    assert ran.err == ""


@pytest.mark.parametrize(
    ("command", "argument"),
    [("generate", "PROMPT"), ("batch", "FILE"), ("job", "REQUEST_ID"), ("info", "IMAGE")],
)
def test_usage_lines_name_the_argument_as_the_help_does(
    cli: Cli, command: str, argument: str
) -> None:
    ran = cli(command, "--help")
    assert ran.code == 0
    assert ran.out.splitlines()[0] == f"Usage: realdream {command} [OPTIONS] {argument}"
    assert "{" not in ran.out.splitlines()[0]
    missing = cli(command)
    assert missing.code == 2
    assert missing.err == f"error: Missing argument '{argument}'.\n"


# --- messages in the command line's words ----------------------------------------------------
@pytest.mark.parametrize(("option", "value"), [("--format", "gif"), ("--api", "v3")])
def test_no_value_error_prefix_leaks_from_option_parsing(
    cli: Cli, tmp_path: Path, option: str, value: str
) -> None:
    ran = cli("generate", "a fox", option, value, "--dry-run", "-o", tmp_path)
    assert ran.code == 2
    assert_one_line(ran.err)
    assert f"'{value}' is not one of" in ran.err
    assert "Value error" not in ran.err


def test_a_scheduler_typo_points_at_realdream_schedulers_as_option_and_in_a_file(
    cli: Cli, tmp_path: Path
) -> None:
    option = cli("generate", "a fox", "--scheduler", "euler a", "--dry-run")
    assert option.code == 2
    assert option.err.startswith("error: --scheduler 'euler a': must be one of the ")
    assert "(see `realdream schedulers`); did you mean 'Euler a'" in option.err
    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"prompt": "a fox", "scheduler": "euler a"}\n')
    in_file = cli("batch", batch, "-o", tmp_path / "out", "--dry-run")
    assert in_file.code == 2
    assert f"{batch}:1: scheduler='euler a': must be one of the " in in_file.err
    assert "`realdream schedulers`" in in_file.err
    assert "realdream.SCHEDULERS" not in option.err + in_file.err


def test_an_invalid_key_is_told_to_check_api_key_the_option(tmp_path: Path) -> None:
    offline = Offline(mocks.MockConfig(latency=0.0))
    offline.service.script([401])
    ran = offline.run("generate", "a fox", *SMALL, "-o", tmp_path)
    assert ran.code == 1
    assert_one_line(ran.err)
    assert "Invalid API key (401)" in ran.err
    assert f"(set {API_KEY_ENV} or pass --api-key)" in ran.err
    assert "api_key=" not in ran.err


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_no_error_says_the_same_thing_twice(tmp_path: Path, api: str, status: int) -> None:
    offline = Offline(mocks.MockConfig(latency=0.0))
    offline.service.script([status])
    ran = offline.run("generate", "a fox", "--api", api, "--retries", "0", *SMALL, "-o", tmp_path)
    assert ran.code == 1
    assert_one_line(ran.err)
    (rule,) = contract.rules_for_status(status)
    assert ran.err.startswith(f"error: {rule.title} ({status}): ")
    said = ran.err.lower()
    assert said.count(rule.title.lower()) == 1
    for phrase in ("try again shortly", "temporarily unavailable", "try again in a minute"):
        assert said.count(phrase) <= 1, phrase
    assert rule.hint in ran.err


# --- refused before anything is sent ---------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("localhost:8000", "has no scheme: write it as 'http://localhost:8000' (or https://)"),
        ("ftp://example.com", "is not an http:// or https:// URL with a host"),
        ("http://", "is not an http:// or https:// URL with a host"),
        ("http://localhost:port", "is not an http:// or https:// URL with a host"),
    ],
)
@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_base_url_that_cannot_be_reached_is_refused_in_one_line_before_any_retry(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str, expected: str, how: str
) -> None:
    batch = tmp_path / "batch.txt"
    batch.write_text("a fox\n")
    url = ["--base-url", given] if how == "option" else []
    if how == "environment":
        monkeypatch.setenv(BASE_URL_ENV, given)
    where = "--base-url" if how == "option" else f"${BASE_URL_ENV}"
    for command in (["generate", "a fox"], ["batch", str(batch)], ["job", "a1b2c3"]):
        ran = cli(*command, "-o", tmp_path / "out", "--retries", "3", *url,
                  "--api-key", mocks.MOCK_API_KEY)  # fmt: skip
        assert ran.code == 2, (command, ran.err)
        assert ran.err == f"error: {where} {given!r} {expected}; nothing was sent\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key", ["SG_0123", "sk-0123456789abcdef", "SG_0123456789ABCDEF"])
def test_a_key_without_the_documented_shape_is_refused_and_never_shown(
    cli: Cli, mock_server: mocks.RunningMock, tmp_path: Path, key: str
) -> None:
    before = mock_server.service.stats.requests
    ran = cli("generate", "a fox", "-o", tmp_path, "--base-url", mock_server.base_url,
              "--api-key", key)  # fmt: skip
    assert ran.code == 2
    assert ran.err == (
        "error: the API key in --api-key does not look like a Segmind key: keys look like "
        f"{contract.API_KEY_SHAPE}; nothing was sent\n"
    )
    assert key not in ran.out + ran.err
    assert mock_server.service.stats.requests == before


def test_a_key_from_the_environment_is_checked_the_same_way(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_KEY_ENV, "not a key")
    ran = cli("job", "a1b2c3", "-o", tmp_path)
    assert ran.code == 2
    assert ran.err.startswith(f"error: the API key in ${API_KEY_ENV} does not look like a ")


# --- Ctrl-C ----------------------------------------------------------------------------------
def test_a_v1_generate_interrupted_says_the_request_may_have_been_billed(tmp_path: Path) -> None:
    offline = Offline(mocks.MockConfig(latency=0.0))

    def interrupted(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt  # Ctrl-C while the request is out

    offline.fail = interrupted
    ran = offline.run("generate", "a fox", *SMALL, "-o", tmp_path)
    assert ran.code == 130
    assert_one_line(ran.err)
    assert ran.err.startswith("error: interrupted; the request was sent and may have been billed")
    assert "--api v2" in ran.err  # the way to a request that survives Ctrl-C
    assert not list(tmp_path.iterdir())


# --- realdream mock --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_realdream_mock_starts_the_server_that_generate_then_uses(cli: Cli, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in (API_KEY_ENV, BASE_URL_ENV)}
    command = [sys.executable, "-m", "realdream.cli", "mock", "--port", "0", "--latency", "0"]
    with subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as server:
        assert server.stdout is not None
        first = server.stdout.readline()  # printed once it listens
        (url,) = re.findall(r"^RealDream mock listening on (http://\S+)$", first)
        key = re.findall(r"test API key: (\S+)", server.stdout.readline())[0]
        ran = cli("generate", "a fox", *SMALL, "-o", tmp_path, "--base-url", url, "--api-key", key)
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)
    assert ran.code == 0, ran.err
    assert len(list(tmp_path.glob("*.jpg"))) == 1
