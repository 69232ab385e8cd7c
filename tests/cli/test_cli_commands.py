"""`realdream generate / info / schedulers / mock`, against a loopback mock server."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

import realdream.mock as mocks
from realdream import (
    CONFIRMED_SCHEDULERS,
    DEFAULT_SCHEDULER,
    SCHEDULERS,
    GenerationRequest,
    read_parameters,
    request_from_parameters,
    write_atomic,
)
from realdream.cli._app import Seams, app, run
from realdream.cli._options import PARAMETER_FIELDS, SHARED_OPTION_NAMES

Cli = Callable[..., Any]  # the `cli` fixture (tests/cli/conftest.py)
SMALL = ["--width", "256", "--height", "256"]
REPO = Path(__file__).resolve().parents[2]


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
        f"a-lighthouse-at-dusk_seed42_1of2.{fmt}",
        f"a-lighthouse-at-dusk_seed42_2of2.{fmt}",
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


def test_a_rerun_of_generate_never_overwrites_and_its_names_never_read_as_samples(
    cli: Cli, mock_args: list[str], tmp_path: Path
) -> None:
    args = ["generate", "a fox", "--seed", "42", *SMALL, "-o", tmp_path, *mock_args]
    first, second = cli(*args), cli(*args)
    assert Path(first.out.splitlines()[0]).name == "a-fox_seed42.jpg"
    assert Path(second.out.splitlines()[0]).name == "a-fox_seed42_copy2.jpg"
    two = cli(*args, "-n", "2")
    assert [Path(p).name for p in two.out.splitlines()[:2]] == [
        "a-fox_seed42_1of2.jpg",
        "a-fox_seed42_2of2.jpg",
    ]


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
    assert [p.name for p in out.iterdir()] == ["a-fox_seed3.jpg"]


def refusing_writer(refused: Path | None = None) -> Seams:
    """A write seam on which ``refused`` (or, with ``None``, every folder) is full."""

    def writer(path: Path, data: bytes) -> Path:
        if refused is None or path.is_relative_to(refused):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write_atomic(path, data)

    return Seams(writer=writer)


def run_with(seams: Seams, *args: str | Path) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = run([str(arg) for arg in args], seams=seams)
    return code, stdout.getvalue(), stderr.getvalue()


def test_a_paid_image_no_folder_takes_says_how_to_make_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with mocks.serve(mocks.MockConfig(latency=0)) as server:
        code, _, err = run_with(
            refusing_writer(), "generate", "a fox", "--seed", "42", "--steps", "7", *SMALL,
            "-o", tmp_path, *server_args(server),
        )  # fmt: skip
        assert server.service.stats.images == 1  # paid for
    assert code == 1
    assert_one_line_error(err)
    assert "No space left on device" in err
    assert "seed 42" in err
    sent = GenerationRequest.from_json(err.strip().split("send this request: ", 1)[1])
    assert sent == GenerationRequest.create(
        prompt="a fox", seed=42, num_inference_steps=7, img_width=256, img_height=256
    )


def test_a_paid_image_out_refuses_goes_to_the_fallback_folder_and_the_message_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    out = tmp_path / "out"
    with mocks.serve(mocks.MockConfig(latency=0)) as server:
        code, stdout, err = run_with(
            refusing_writer(out), "generate", "a fox", "--seed", "42", *SMALL, "-o", out,
            *server_args(server),
        )  # fmt: skip
    assert code == 1
    assert_one_line_error(err)
    (kept,) = (cache / "realdream" / "unsaved").glob("*/a-fox_seed42.jpg")
    assert stdout.splitlines()[0] == str(kept)
    assert err.startswith(f"error: paid, but could not save the images in {out} (No space left")
    assert err.rstrip().endswith(f"they are in {kept.parent} instead")
    assert read_parameters(kept) is not None


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
            ["--steps", "0"], "--num-inference-steps 0: must be between 1 and 100", id="core-bound"
        ),
        pytest.param(["--scheduler", "euler a"], "did you mean 'Euler a'", id="scheduler"),
        pytest.param(["--width", "1001"], "--img-width 1001: must be a multiple of 8", id="size"),
        pytest.param(["--steps", "many"], "'--num-inference-steps'", id="not-a-number"),
        pytest.param(["--format", "gif"], "'gif' is not one of", id="format"),
        pytest.param(["--nope"], "No such option: --nope", id="unknown-option"),
        pytest.param([], "no API key: pass --api-key or set SEGMIND_API_KEY", id="no-key"),
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
    assert ran.err.startswith("error: Invalid API key (401): ")
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
        pytest.param(None, 2, "error: cannot read {path}: No such file", id="missing"),
        pytest.param(b"not an image", 2, "error: not an image: {path}", id="garbage"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00", 2, "error: not an image: {path}", id="torn-png"),
        pytest.param("plain", 1, "no generation parameters embedded", id="no-parameters"),
        pytest.param(
            "undecodable",
            1,
            "{path}: the image's EXIF UserComment is not readable text",
            id="undecodable-comment",
        ),
    ],
)
def test_info_problems_are_one_line(
    cli: Cli, tmp_path: Path, content: bytes | str | None, code: int, expected: str
) -> None:
    path = tmp_path / "x.png"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "undecodable":  # a real image whose UTF-16 comment has an odd length
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00\x00S\x00t\x00e\x00p\xd8"
        path = path.with_suffix(".jpg")
        Image.new("RGB", (8, 8)).save(path, exif=exif.tobytes())
    elif content is not None:
        Image.new("RGB", (8, 8)).save(path)
    ran = cli("info", path)
    assert (ran.code, expected.format(path=path) in ran.err) == (code, True), ran.err
    assert "BytesIO" not in ran.err
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


@pytest.mark.parametrize(
    "argv", [["--help"], ["generate", "--help"], ["batch", "--help"], ["job", "--help"]]
)
def test_help_loads_no_batch_engine_progress_bar_mock_or_pillow(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from realdream.cli import main\n"
        f"assert main({argv!r}) == 0\n"
        "heavy = ('realdream.cli._engine', 'realdream.cli._launch', 'realdream.cli._follow',\n"
        "         'realdream.cli._store', 'realdream.cli._plan', 'realdream.cli._progress',\n"
        "         'realdream.mock', 'PIL', 'uvicorn')\n"
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


# --- shared options, help, files, messages ---------------------------------------------------
def _command(name: str) -> Any:
    import typer

    return typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]


def _shared(name: str) -> dict[str, tuple[object, ...]]:
    """The shared options of a command: flags, help and default (``--retries`` aside, whose
    default and help are each command's own)."""
    return {
        param.name: (tuple(param.opts), tuple(param.secondary_opts))
        + (() if param.name == "retries" else (param.help, param.default))
        for param in _command(name).params
        if param.name in SHARED_OPTION_NAMES
    }


def test_generate_and_batch_share_one_option_set() -> None:
    generate, batch = _shared("generate"), _shared("batch")
    assert set(generate) == set(SHARED_OPTION_NAMES)
    shared = set(PARAMETER_FIELDS) | {"base_url", "api_key", "retries", "api", "rpm"}
    assert shared <= set(SHARED_OPTION_NAMES)
    assert generate == batch


@pytest.mark.parametrize("command", ["generate", "batch", "job", "info", "schedulers"])
def test_help_fits_80_columns_and_shows_every_flag_whole(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    ran = cli(command, "--help")
    assert ran.code == 0
    assert max(len(line) for line in ran.out.splitlines()) <= 80
    words = set(re.split(r"[\s,/]+", ran.out))
    for param in _command(command).params:
        for flag in (*param.opts, *param.secondary_opts):
            if flag.startswith("-"):
                assert flag in words, f"{flag} is cut short or missing in {command} --help"
    if command == "generate":
        assert "--steps" in words
        assert "…" not in ran.out


@pytest.mark.parametrize("command", ["generate", "batch"])
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_get_the_users_umask(
    cli: Cli, mock_args: list[str], tmp_path: Path, command: str, umask: int
) -> None:
    out = tmp_path / "out"
    if command == "generate":
        args = ["generate", "a fox", "-n", "2"]
    else:
        batch = tmp_path / "batch.txt"
        batch.write_text("a fox\nan owl\n")
        args = ["batch", str(batch)]
    previous = os.umask(umask)
    try:
        ran = cli(*args, *SMALL, "-o", out, *mock_args)
    finally:
        os.umask(previous)
    assert ran.code == 0, ran.err
    files = list(out.iterdir())
    assert len(files) == (2 if command == "generate" else 3)  # the batch's manifest too
    assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {oct(0o666 & ~umask)}


def test_without_a_key_the_message_names_every_way_to_give_one(cli: Cli, tmp_path: Path) -> None:
    batch = tmp_path / "batch.txt"
    batch.write_text("a fox\n")
    for args in (["generate", "a fox"], ["batch", str(batch)]):
        ran = cli(*args, "-o", tmp_path / "out")
        assert ran.code == 2
        assert_one_line_error(ran.err)
        for needed in ("--api-key", "SEGMIND_API_KEY", "realdream mock"):
            assert needed in ran.err, (args[0], ran.err)
    assert not (tmp_path / "out").exists()


def test_a_connection_error_names_the_host_it_tried(cli: Cli, tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        base = ["--base-url", f"http://127.0.0.1:{port}", "--api-key", mocks.MOCK_API_KEY]
        ran = cli("generate", "a fox", "--retries", "0", "-o", tmp_path, *base)
        batch = tmp_path / "batch.txt"
        batch.write_text("a fox\n")
        ran_batch = cli("batch", batch, "--retries", "0", "-o", tmp_path / "b", *base)
    assert ran.code == 1
    assert_one_line_error(ran.err)
    assert ran.err.startswith(f"error: Could not reach 127.0.0.1:{port} (ConnectError")
    assert ran_batch.code == 1
    assert f"{batch}:1: Could not reach 127.0.0.1:{port} (ConnectError" in ran_batch.err


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_generate_shows_a_spinner_with_the_elapsed_time_on_a_terminal_only(
    mock_server: mocks.RunningMock, tmp_path: Path
) -> None:
    import pty

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEGMIND", "REALDREAM"))}
    env.update(COLUMNS="100", TERM="xterm")
    command = [
        sys.executable, "-m", "realdream.cli", "generate", "a fox", *SMALL, "-o", str(tmp_path),
        "--base-url", mock_server.base_url, "--api-key", mock_server.api_key,
    ]  # fmt: skip
    leader, follower = pty.openpty()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=follower, env=env, cwd=REPO
    ) as process:
        os.close(follower)
        out = process.stdout.read() if process.stdout else b""
        terminal = _read_all(leader)
    assert process.returncode == 0, terminal
    assert b"Generating 1 image (a cold start can take minutes)" in terminal
    assert re.search(rb"\d:\d\d:\d\d", terminal)  # the time elapsed
    assert b"_seed" in out  # stdout (not a terminal) has the file names only
    piped = subprocess.run(command, capture_output=True, env=env, cwd=REPO, check=True)
    assert piped.stderr == b""


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)
