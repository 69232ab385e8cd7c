"""`realdream generate / info / schedulers / mock`, against a loopback mock server."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

import mocks
from realdream import (
    CONFIRMED_SCHEDULERS,
    DEFAULT_SCHEDULER,
    SCHEDULERS,
    GeneratedImage,
    GenerationRequest,
    read_parameters,
    request_from_parameters,
)
from realdream.cli._app import app
from realdream.cli._options import PARAMETER_FIELDS

Cli = Callable[..., Any]  # the `cli` fixture (tests/cli/conftest.py)
SMALL = ["--width", "256", "--height", "256"]


def assert_one_line_error(ran_err: str) -> None:
    assert len(ran_err.strip().splitlines()) == 1, ran_err
    assert "Traceback" not in ran_err


# --- generate --------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_generate_writes_images_whose_embedded_parameters_match(
    cli: Cli, mock_args: list[str], tmp_path: Path, fmt: str
) -> None:
    ran = cli(
        "generate", "a lighthouse at dusk", "-n", "2", "--steps", "12", "--cfg", "2.5",
        "--seed", "42", "--scheduler", "Euler a", *SMALL, "-o", tmp_path, "-f", fmt, *mock_args,
    )  # fmt: skip
    assert ran.code == 0, ran.err
    *paths, summary = ran.out.strip().splitlines()
    assert [Path(p).name for p in paths] == [
        f"a-lighthouse-at-dusk-42-1.{fmt}",
        f"a-lighthouse-at-dusk-42-2.{fmt}",
    ]
    assert summary.startswith("seed 42 · ")
    assert "$0.0040" in summary
    expected = GenerationRequest.create(
        prompt="a lighthouse at dusk", samples=2, num_inference_steps=12, guidance_scale=2.5,
        seed=42, scheduler="Euler a", img_width=256, img_height=256,
    )  # fmt: skip
    for path in map(Path, paths):
        with Image.open(path) as image:
            assert image.format == ("PNG" if fmt == "png" else "JPEG")
            assert image.size == (256, 256)
        text = read_parameters(path)
        assert text is not None
        assert request_from_parameters(text).replace(base64=False) == expected


def test_generate_never_overwrites_an_earlier_image(
    cli: Cli, mock_args: list[str], tmp_path: Path
) -> None:
    args = ["generate", "a fox", "--seed", "1", *SMALL, "-o", tmp_path, *mock_args]
    first, second = cli(*args), cli(*args)
    assert Path(first.out.splitlines()[0]).name == "a-fox-1.jpg"
    assert Path(second.out.splitlines()[0]).name == "a-fox-1-2.jpg"


def server_args(server: mocks.RunningMock) -> list[str]:
    return ["--base-url", server.base_url, "--api-key", server.api_key]


@pytest.mark.parametrize("where", ["a-file", "a-file/below"])
def test_a_bad_out_is_one_line_exit_2_and_nothing_is_paid(
    cli: Cli, tmp_path: Path, where: str
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    out = tmp_path / where
    with mocks.serve(mocks.MockConfig(latency=0)) as server:
        ran = cli("generate", "a fox", *SMALL, "-o", out, *server_args(server))
        assert server.service.stats.requests == 0
    assert ran.code == 2
    assert ran.err.startswith(f"error: --out {out}: ")
    assert ran.err.rstrip().endswith("; nothing was sent")
    assert_one_line_error(ran.err)


def test_an_out_that_is_not_writable_is_refused_before_paying(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root in CI, where mode bits never refuse a write: refuse it at the OS call.
    out = tmp_path / "locked"
    out.mkdir()

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    with mocks.serve(mocks.MockConfig(latency=0)) as server:
        ran = cli("generate", "a fox", *SMALL, "-o", out, *server_args(server))
        assert server.service.stats.requests == 0
    assert ran.code == 2
    assert ran.err.startswith(f"error: --out {out}: Permission denied")
    assert_one_line_error(ran.err)


def test_a_new_out_directory_is_created(cli: Cli, mock_args: list[str], tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper"
    ran = cli("generate", "a fox", "--seed", "3", *SMALL, "-o", out, *mock_args)
    assert ran.code == 0, ran.err
    assert [p.name for p in out.iterdir()] == ["a-fox-3.jpg"]


def test_a_paid_image_that_cannot_be_saved_says_how_to_make_it_again(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(self: GeneratedImage, path: Path, **kwargs: object) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(GeneratedImage, "save", disk_full)
    with mocks.serve(mocks.MockConfig(latency=0)) as server:
        ran = cli("generate", "a fox", "--seed", "42", "--steps", "7", *SMALL, "-o", tmp_path,
                  *server_args(server))  # fmt: skip
        assert server.service.stats.images == 1  # paid for
    assert ran.code == 1
    assert_one_line_error(ran.err)
    assert "No space left on device" in ran.err
    assert "seed 42" in ran.err
    sent = GenerationRequest.from_json(ran.err.strip().split("send this request: ", 1)[1])
    assert sent == GenerationRequest.create(
        prompt="a fox", seed=42, num_inference_steps=7, img_width=256, img_height=256
    )


def test_dry_run_prints_the_exact_body_and_cost_and_sends_nothing(cli: Cli) -> None:
    with mocks.serve(mocks.MockConfig(latency=0)) as server:
        ran = cli("generate", "a fox", "--seed", "7", "--steps", "9", "--dry-run",
                  "--base-url", server.base_url)  # fmt: skip
        assert server.service.stats.requests == 0
    assert ran.code == 0
    assert (
        json.loads(ran.out)
        == GenerationRequest.create(prompt="a fox", seed=7, num_inference_steps=9).payload
    )
    assert "Estimated cost: $0.0020 (1 image at $0.002)" in ran.err


def test_dry_run_with_several_samples_shows_the_json_form_the_client_asks_for(cli: Cli) -> None:
    ran = cli("generate", "a fox", "-n", "3", "--dry-run")
    body = json.loads(ran.out)
    assert (body["samples"], body["base64"]) == (3, True)
    assert "$0.0060" in ran.err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["--steps", "0"], "num_inference_steps=0: must be between 1 and 100", id="core-bound"
        ),
        pytest.param(["--scheduler", "euler a"], "did you mean 'Euler a'", id="scheduler"),
        pytest.param(["--width", "1001"], "img_width=1001: must be a multiple of 8", id="size"),
        pytest.param(["--steps", "many"], "'--num-inference-steps'", id="not-a-number"),
        pytest.param(["--format", "gif"], "'gif' is not one of", id="format"),
        pytest.param(["--nope"], "No such option: --nope", id="unknown-option"),
        pytest.param([], "No API key", id="no-key"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    cli: Cli, tmp_path: Path, args: list[str], expected: str
) -> None:
    ran = cli("generate", "a fox", "-o", tmp_path, *args)
    assert ran.code == 2
    assert expected in ran.err
    assert_one_line_error(ran.err)
    assert not list(tmp_path.iterdir())


def test_an_api_error_is_one_line_exit_1_and_never_shows_the_key(
    cli: Cli, mock_server: mocks.RunningMock, tmp_path: Path
) -> None:
    key = "SG_ffffffffffffffff"
    ran = cli("generate", "a fox", "-o", tmp_path, "--base-url", mock_server.base_url,
              "--api-key", key)  # fmt: skip
    assert ran.code == 1
    assert ran.err.startswith("error: Missing or invalid API key (401): ")
    assert_one_line_error(ran.err)
    assert key not in ran.out + ran.err


def test_every_request_parameter_has_an_option_in_generate_and_batch() -> None:
    import typer

    group = typer.main.get_command(app)
    for name in ("generate", "batch"):
        command = group.commands[name]  # type: ignore[attr-defined]
        options = {param.name for param in command.params}
        assert set(PARAMETER_FIELDS) <= options, name
    assert set(PARAMETER_FIELDS) | {"prompt"} == set(GenerationRequest.model_fields)


# --- info ------------------------------------------------------------------------------------
def test_info_reads_an_automatic1111_png(cli: Cli, tmp_path: Path) -> None:
    text = "a castle\nNegative prompt: fog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", text)
    path = tmp_path / "a1111.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert cli("info", path).out.strip() == text
    parsed = json.loads(cli("info", "--json", path).out)
    assert parsed["Sampler"] == "Euler a"
    assert parsed["negative_prompt"] == "fog"


@pytest.mark.parametrize(
    ("content", "code", "expected"),
    [
        pytest.param(None, 2, "not a readable image", id="missing"),
        pytest.param(b"not an image", 2, "not a readable image", id="garbage"),
        pytest.param("plain", 1, "no generation parameters embedded", id="no-parameters"),
    ],
)
def test_info_problems_are_one_line(
    cli: Cli, tmp_path: Path, content: bytes | str | None, code: int, expected: str
) -> None:
    path = tmp_path / "x.png"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        Image.new("RGB", (8, 8)).save(path)
    ran = cli("info", path)
    assert (ran.code, expected in ran.err) == (code, True)
    assert_one_line_error(ran.err)


# --- schedulers, mock, packaging -------------------------------------------------------------
def test_schedulers_lists_every_name_and_marks_the_confirmed_ones(cli: Cli) -> None:
    lines = cli("schedulers").out.splitlines()
    assert len(lines) == len(SCHEDULERS)
    for name, line in zip(SCHEDULERS, lines, strict=True):
        assert line.startswith(name + " ") or line == name
        assert ("confirmed" in line) == (name in CONFIRMED_SCHEDULERS)
        assert ("default" in line) == (name == DEFAULT_SCHEDULER)
    assert len(cli("schedulers", "--confirmed").out.splitlines()) == len(CONFIRMED_SCHEDULERS)


def test_mock_takes_the_options_of_python_m_mocks(cli: Cli) -> None:
    ran = cli("mock", "--help")
    assert ran.code == 0
    for option in ("--latency", "--fault-rate", "--rate-limit", "--credits", "--port"):
        assert option in ran.out
    bad = cli("mock", "--latency", "-1")
    assert bad.code == 2
    assert "latency=-1.0" in bad.err
    assert_one_line_error(bad.err)
    unknown = cli("mock", "--bogus")
    assert unknown.code == 2
    assert_one_line_error(unknown.err)


def test_mock_on_a_port_in_use_is_one_line_and_exit_2(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = cli("mock", "--port", str(port), "--latency", "0")
    assert ran.code == 2
    assert "Traceback" not in ran.err
    assert ran.err.startswith(f"error: port {port} is in use on 127.0.0.1; ")
    assert_one_line_error(ran.err)


def test_version(cli: Cli) -> None:
    ran = cli("--version")
    assert ran.code == 0
    assert ran.out.startswith("realdream ")


def test_importing_realdream_does_not_import_the_cli_dependencies() -> None:
    # (httpx itself imports rich and click when they are installed, for its own CLI.)
    code = (
        "import sys, realdream, realdream.cli;"
        "bad = [m for m in ('typer', 'realdream.cli._app') if m in sys.modules];"
        "sys.exit(str(bad) if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("argv", [["--help"], ["generate", "--help"], ["batch", "--help"]])
def test_help_loads_no_batch_engine_progress_bar_mock_or_pillow(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from realdream.cli import main\n"
        f"assert main({argv!r}) == 0\n"
        "heavy = ('realdream.cli._engine', 'realdream.cli._progress', 'mocks', 'PIL', 'uvicorn')\n"
        "print([m for m in heavy if m in sys.modules], file=sys.stderr)"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ran.stderr.strip().splitlines()[-1] == "[]"


def test_main_without_the_cli_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from realdream.cli import main

    monkeypatch.setitem(sys.modules, "typer", None)
    for name in [m for m in sys.modules if m.startswith("realdream.cli._")]:
        monkeypatch.delitem(sys.modules, name)
    assert main(["schedulers"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install 'realdream[cli]'" in err
