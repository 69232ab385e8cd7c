"""Every example in the README and the docs runs, as written (see tests/readme.py for how)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import realdream
import realdream.mock as mocks
from tests.docs.checkout import fresh_venv, run, shared_wheel, user_env
from tests.readme import (
    EXAMPLE_LANGUAGES,
    NOT_RUN,
    PYTHON_RUNNERS,
    README,
    ROOT,
    SHELL_RUNNERS,
    Block,
    code_blocks,
    python_blocks,
)

_CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if k not in (realdream.API_KEY_ENV, realdream.BASE_URL_ENV, "REALDREAM_MOCK")
}
_README_MAX_LINES = 250


def test_every_example_says_how_it_runs() -> None:
    examples = [block for block in code_blocks() if block.lang in EXAMPLE_LANGUAGES]
    assert len(python_blocks()) >= 20
    for block in examples:
        allowed = PYTHON_RUNNERS if block.lang == "python" else SHELL_RUNNERS
        assert block.runner in (*allowed, NOT_RUN), block.id
        assert block.code.strip(), block.id
        if block.runner == NOT_RUN:
            assert block.note, f"{block.id}: say why it is not run"


def test_no_example_needs_requests() -> None:
    for block in code_blocks(lang="python"):
        assert not re.search(r"^\s*(import|from) requests\b", block.code, re.M), block.id


def test_the_readme_is_a_front_door() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= _README_MAX_LINES
    assert text.startswith("---\n")  # the Space's front matter stays on top
    first = next(block for block in code_blocks(lang="python") if block.page == "README.md")
    assert first.runner == "plain"  # runs without a key
    assert "MockTransport" in first.code
    runners = {block.runner for block in code_blocks() if block.page == "README.md"}
    assert {"plain", "mock-env", "pytest", "demo", "shell"} <= runners
    readme_python = [block for block in code_blocks(lang="python") if block.page == "README.md"]
    assert any(  # an MCP example that runs for free, against the offline mock
        '"mcp", "--mock"' in block.code and block.runner == "plain" for block in readme_python
    )


def test_every_relative_link_of_the_readme_resolves() -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text(encoding="utf-8"))
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert local
    for link in local:
        assert (ROOT / link).exists(), link


#: What a user's shell has: the environment's ``bin`` first (``realdream``, ``python``).
_PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def _run(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environ = {**_CLEAN_ENV, **env, "PATH": _PATH, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=environ, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def _examples(runner: str) -> list[object]:
    """The ``python`` blocks of one runner: the README's in the quick run, the docs pages' only in
    the full run (marked slow; each starts an interpreter, a server or a pytest run of its own)."""
    slow = pytest.mark.slow
    return [
        pytest.param(block, id=block.id, marks=() if block.page == README.name else slow)
        for block in python_blocks(runner)
    ]


@pytest.fixture(scope="module")
def mock_server() -> Iterator[mocks.RunningMock]:
    with mocks.serve(mocks.MockConfig(latency=0)) as running:
        yield running


@pytest.mark.parametrize("block", _examples("plain"))
def test_a_plain_example_runs_offline(block: Block, tmp_path: Path) -> None:
    ran = _run(block.code, tmp_path, {})
    assert ran.returncode == 0, ran.stderr


@pytest.mark.parametrize("block", _examples("mock-env"))
def test_an_example_that_needs_a_key_runs_against_the_mock(
    block: Block, tmp_path: Path, mock_server: mocks.RunningMock
) -> None:
    before = mock_server.service.stats.requests
    env = {realdream.API_KEY_ENV: mock_server.api_key, realdream.BASE_URL_ENV: mock_server.base_url}
    ran = _run(block.code, tmp_path, env)
    assert ran.returncode == 0, ran.stderr
    assert mock_server.service.stats.requests > before  # it really went to the mock


@pytest.mark.parametrize("block", _examples("pytest"))
def test_an_example_test_file_passes_under_pytest(block: Block, tmp_path: Path) -> None:
    (tmp_path / "test_readme_example.py").write_text(block.code)
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_readme_example.py"],
        cwd=tmp_path, env={**_CLEAN_ENV, "PYTHONPATH": str(ROOT)}, capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert " passed" in ran.stdout
    assert "skipped" not in ran.stdout


@pytest.mark.slow
@pytest.mark.parametrize("block", code_blocks("shell"), ids=lambda b: b.id)
def test_a_shell_example_runs_against_the_mock(
    block: Block, tmp_path: Path, mock_server: mocks.RunningMock
) -> None:
    env = {
        **_CLEAN_ENV,
        realdream.API_KEY_ENV: mock_server.api_key,
        realdream.BASE_URL_ENV: mock_server.base_url,
        "PATH": _PATH,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",  # a dry run reaches no Hub
    }
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.code], cwd=tmp_path, env=env,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]


@pytest.fixture(scope="module")
def fresh_project(tmp_path_factory: pytest.TempPathFactory, run_folder: Path) -> tuple[Path, Path]:
    """A user's own project beside a fresh venv holding only ``realdream[testing]``, installed
    from the checkout's wheel as from the index; the project has its own ``mocks`` modules, as
    many do."""
    base = tmp_path_factory.mktemp("fresh")
    python = fresh_venv(base / "venv", f"{shared_wheel(run_folder)}[testing]")
    project = base / "project"
    (project / "tests").mkdir(parents=True)
    for own in (project / "mocks.py", project / "tests" / "mocks.py"):
        own.write_text('"""The project\'s own mocks, nothing to do with realdream."""\n')
    return python, project


@pytest.mark.slow
@pytest.mark.registry
def test_the_test_kit_examples_pass_in_a_fresh_project(fresh_project: tuple[Path, Path]) -> None:
    python, project = fresh_project
    blocks = python_blocks("pytest")
    for number, block in enumerate(blocks):
        (project / "tests" / f"test_example_{number}.py").write_text(block.code)
    ran = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project, env=user_env(), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", ran.stdout)
    assert "skipped" not in ran.stdout


@pytest.mark.slow
@pytest.mark.registry
def test_the_install_adds_no_generic_top_level_name(
    fresh_project: tuple[Path, Path], tmp_path: Path
) -> None:
    python, _ = fresh_project
    ran = run([str(python), "-c", "import realdream.mock; import mocks"], cwd=tmp_path)
    assert ran.returncode == 1
    assert "No module named 'mocks'" in ran.stderr
