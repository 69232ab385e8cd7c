"""The README's gradio_client example runs, as written, against the served demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.readme import Block, python_blocks
from tests.served import ROOT, TIMEOUT_S, ServedApp

pytestmark = pytest.mark.slow  # the served app, and the example in a subprocess

LOCAL_URL = "http://127.0.0.1:7860"


@pytest.mark.parametrize("block", python_blocks("demo"), ids=lambda b: b.id)
def test_the_readmes_gradio_client_example_runs(
    block: Block, served_offline: ServedApp, tmp_path: Path
) -> None:
    assert LOCAL_URL in block.code
    code = block.code.replace(LOCAL_URL, served_offline.url)
    code += "\nassert len(gallery) == 2 and len(files) == 2, (gallery, files)\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
