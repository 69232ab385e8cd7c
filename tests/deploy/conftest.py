"""Fixtures for ``python -m demo.deploy``: a stand-in Hub on loopback, and the command run in
a subprocess pointed at it (``HF_ENDPOINT`` is read when ``huggingface_hub`` is imported)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.deploy.hub import TOKEN, StandInHub, running

ROOT = Path(__file__).resolve().parents[2]
#: A key of the documented shape that must show up in the secrets endpoint and nowhere else.
CANARY_KEY = "SG_c0ffee00c0ffee00"
#: Anything in a developer's environment that would reach the Hub or change the command.
_DROPPED = ("SEGMIND_API_KEY", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HOME",
            "HF_TOKEN_PATH", "HUGGING_FACE_HUB_TOKEN", "REALDREAM_MIN_BALANCE_USD")  # fmt: skip

Deploy = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def hub() -> Iterator[StandInHub]:
    with running(StandInHub(writable=("owner",))) as stand_in:
        yield stand_in


@pytest.fixture
def deploy(hub: StandInHub, tmp_path: Path) -> Deploy:
    """Run ``python -m demo.deploy ARGS`` against the stand-in Hub, as its owner would."""

    def run(
        *args: str, key: str | None = CANARY_KEY, token: str | None = TOKEN
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
        env.update(PYTHONPATH=str(ROOT), HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"))
        env.update({"SEGMIND_API_KEY": key} if key else {})
        env.update({"HF_TOKEN": token} if token else {})
        return subprocess.run(
            [sys.executable, "-m", "demo.deploy", *args], cwd=tmp_path, env=env,
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    return run
