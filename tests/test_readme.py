"""Every Python example in the README runs, as written (see tests/readme.py for how)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import realdream
import realdream.mock as mocks
from tests.readme import ROOT, RUNNERS, Block, python_blocks

_CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if k not in (realdream.API_KEY_ENV, realdream.BASE_URL_ENV, "REALDREAM_MOCK")
}


def test_every_python_block_has_a_known_runner() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 8
    assert {block.runner for block in blocks} <= set(RUNNERS)
    assert all(block.code.strip() for block in blocks)


def _run(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environ = {**_CLEAN_ENV, **env, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=environ, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def mock_server() -> Iterator[mocks.RunningMock]:
    with mocks.serve(mocks.MockConfig(latency=0)) as running:
        yield running


@pytest.mark.parametrize("block", python_blocks("plain"), ids=lambda b: b.id)
def test_a_plain_example_runs_offline(block: Block, tmp_path: Path) -> None:
    ran = _run(block.code, tmp_path, {})
    assert ran.returncode == 0, ran.stderr


@pytest.mark.parametrize("block", python_blocks("mock-env"), ids=lambda b: b.id)
def test_an_example_that_needs_a_key_runs_against_the_mock(
    block: Block, tmp_path: Path, mock_server: mocks.RunningMock
) -> None:
    before = mock_server.service.stats.requests
    env = {realdream.API_KEY_ENV: mock_server.api_key, realdream.BASE_URL_ENV: mock_server.base_url}
    ran = _run(block.code, tmp_path, env)
    assert ran.returncode == 0, ran.stderr
    assert mock_server.service.stats.requests > before  # it really went to the mock
    assert list(tmp_path.iterdir())  # and saved what it made


@pytest.mark.parametrize("block", python_blocks("pytest"), ids=lambda b: b.id)
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
