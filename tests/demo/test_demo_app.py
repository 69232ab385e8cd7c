"""``app.py``: its options and variables, the one-line errors, sign-in's requirements, the
Space's requirements file, and what it logs at start."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from demo import MOCK_LATENCY_ENV, Backend, main, parse_args
from tests.served import TIMEOUT_S

ROOT = Path(__file__).resolve().parents[2]


# --- app.py and the Space's requirements ----------------------------------------------------


def test_app_serves_on_localhost_7860_by_default() -> None:
    args = parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", 7860)


def test_gradio_environment_variables_override_host_and_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7861")
    args = parse_args([])
    assert (args.host, args.port) == ("0.0.0.0", 7861)


def test_a_negative_mock_latency_is_a_one_line_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--mock-latency", "-1"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines() == [
        "app.py: error: argument --mock-latency: latency=-1.0: must be a finite number >= 0"
        " (options: app.py --help)"
    ]


def test_a_bad_mock_latency_variable_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(MOCK_LATENCY_ENV, "soon")
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .startswith(f"app.py: error: {MOCK_LATENCY_ENV}='soon'")
    )


@pytest.mark.slow  # a fresh interpreter imports Gradio
def test_importing_app_does_nothing() -> None:
    code = "import app; print('imported')"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"


def _requirement(spec: str) -> tuple[str, str]:
    """``("gradio[oauth]", ">=6.31,<7")``: the name with its extras, and the version."""
    name, version = re.match(r"([A-Za-z0-9_.\[\]-]+)\s*(.*)", spec).groups()  # type: ignore[union-attr]
    return name.lower(), version.replace(" ", "")


def test_requirements_pin_what_pyproject_declares() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["mock"]]
    wanted += [s for s in project["optional-dependencies"]["demo"] if "realdream" not in s]
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    pinned = dict(_requirement(line) for line in lines if line.strip() and line[0] != "#")
    assert pinned == dict(_requirement(spec) for spec in wanted)


# --- app.py's options: every one with its variable and default --------------------------------

OPTIONS = {
    "--mock": ("REALDREAM_MOCK", "default off"),
    "--mock-latency": ("REALDREAM_MOCK_LATENCY", "default 1.0"),
    "--api": ("REALDREAM_API", "default v1"),
    "--host": ("GRADIO_SERVER_NAME", "default 127.0.0.1"),
    "--port": ("GRADIO_SERVER_PORT", "default 7860"),
    "--concurrency": ("REALDREAM_CONCURRENCY", "default 4"),
    "--max-queue": ("REALDREAM_MAX_QUEUE", "default 64"),
    "--mcp": ("REALDREAM_MCP", "default off"),
    "--daily-budget": ("REALDREAM_DAILY_BUDGET_USD", "default 1.00"),
    "--min-balance": ("REALDREAM_MIN_BALANCE_USD", "default 0"),
    "--visitor-limit": ("REALDREAM_VISITOR_IMAGES_PER_HOUR", "default 10"),
    "--require-login": ("REALDREAM_REQUIRE_LOGIN", "default off"),
    "--show-balance": ("REALDREAM_SHOW_BALANCE", "default off"),
    "--state-dir": ("REALDREAM_STATE_DIR", "default /data/realdream"),
    "--keep-outputs-mb": ("REALDREAM_KEEP_OUTPUTS_MB", "default 500"),
}


def test_help_lists_every_option_with_its_variable_and_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from demo._app import build_parser

    with pytest.raises(SystemExit):
        main(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    helps = {
        action.option_strings[-1]: " ".join(str(action.help).split())
        for action in build_parser()._actions
        if action.option_strings and action.option_strings[-1] != "--help"
    }
    assert set(helps) == set(OPTIONS)
    for option, (variable, default) in OPTIONS.items():
        assert variable in helps[option], option
        assert default in helps[option], option
        assert helps[option] in shown, option


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--daily-budget", "-1"], {}, "argument --daily-budget: '-1': must be a number >= 0"),
        (["--visitor-limit", "2.5"], {}, "'2.5': must be a whole number >= 0"),
        (["--concurrency", "0"], {}, "argument --concurrency: '0': must be a whole number >= 1"),
        ([], {"REALDREAM_DAILY_BUDGET_USD": "lots"}, "REALDREAM_DAILY_BUDGET_USD='lots'"),
        ([], {"REALDREAM_MAX_QUEUE": "0"}, "REALDREAM_MAX_QUEUE='0': must be a whole number >= 1"),
        ([], {"REALDREAM_KEEP_OUTPUTS_MB": "-5"}, "REALDREAM_KEEP_OUTPUTS_MB='-5'"),
        ([], {"REALDREAM_API": "v3"}, "REALDREAM_API='v3': must be v1 or v2"),
        (["--api", "v3"], {}, "argument --api: invalid choice: 'v3'"),
        (["--port", "99999"], {}, "argument --port: '99999': must be a whole number from 1 to"),
        (["--port", "-1"], {}, "argument --port: '-1': must be a whole number from 1 to 65535"),
        ([], {"GRADIO_SERVER_PORT": "70000"}, "GRADIO_SERVER_PORT='70000': must be a whole"),
        (["--mock"], {"REALDREAM_TRUSTED_PROXY_HOPS": "0"}, "REALDREAM_TRUSTED_PROXY_HOPS='0'"),
    ],
)
def test_a_bad_limit_is_a_one_line_usage_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err  # no usage block: one line says what and where
    assert message in err
    assert err.rstrip().endswith("(options: app.py --help)")


@pytest.mark.parametrize("key", ["SG_0000000000000000", None], ids=["with-a-key", "without"])
def test_sign_in_off_a_space_refuses_to_start_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    key: str | None,
) -> None:
    if key is not None:
        monkeypatch.setenv("SEGMIND_API_KEY", key)
    with pytest.raises(SystemExit) as exited:
        main(["--require-login", "--state-dir", str(tmp_path)])
    assert exited.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("app.py: error: --require-login (REALDREAM_REQUIRE_LOGIN) needs")
    assert "hf_oauth: true" in last
    assert not list(tmp_path.iterdir())  # nothing was started or written


def test_on_a_space_with_oauth_sign_in_can_work() -> None:
    from demo._signin import sign_in_problem

    space = {
        "SYSTEM": "spaces",
        "SPACE_ID": "owner/realdream",
        "OAUTH_CLIENT_ID": "id",
        "OAUTH_CLIENT_SECRET": "secret",
        "OAUTH_SCOPES": "openid profile",
        "OPENID_PROVIDER_URL": "https://huggingface.co",
    }
    assert sign_in_problem(space) is None
    missing = sign_in_problem({**space, "OAUTH_CLIENT_ID": ""})
    assert missing is not None
    assert "OAUTH_CLIENT_ID not set here" in missing


def test_on_a_space_without_persistent_storage_the_log_says_restarts_forget_the_day(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    from demo._app import _guard, _persistent
    from demo._settings import GuardSettings

    backend = Backend.from_env({"SEGMIND_API_KEY": "SG_0000000000000000"})
    _guard(backend, GuardSettings(state_dir=tmp_path))
    assert "restart" not in caplog.text  # not on a Space
    monkeypatch.setenv("SPACE_ID", "owner/realdream")
    _guard(backend, GuardSettings(state_dir=tmp_path))
    assert "every restart starts the day's spend afresh" in caplog.text
    assert "the balance floor (REALDREAM_MIN_BALANCE_USD) is the limit that survives" in caplog.text
    assert _persistent(Path("/data/realdream"))
    assert not _persistent(tmp_path)
    assert not _persistent(None)
