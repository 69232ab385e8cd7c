"""Ctrl-C in the middle of a batch, then the same command again: all done, nothing paid twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import realdream.mock as mocks
from realdream import API_KEY_ENV, BASE_URL_ENV
from realdream.cli._manifest import MANIFEST_NAME

ITEMS = 24
REPO = Path(__file__).resolve().parents[2]


def done_keys(out: Path) -> Counter[str]:
    try:
        lines = (out / MANIFEST_NAME).read_text().splitlines()
    except FileNotFoundError:
        return Counter()
    records = [json.loads(line) for line in lines if line.endswith("}")]
    return Counter(r["key"] for r in records if r["status"] == "done")


def wait_for_done(out: Path, count: int, process: subprocess.Popen[str], timeout: float) -> None:
    """Poll the manifest (the batch's own progress record) until ``count`` items are done."""
    deadline = time.monotonic() + timeout
    while sum(done_keys(out).values()) < count:
        if process.poll() is not None:
            pytest.fail(f"the batch ended early ({process.returncode}): {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {count} items done within {timeout}s")
        time.sleep(0.02)


@pytest.mark.slow  # two batch processes, one interrupted: about 2 s
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_interrupted_batch_resumes_with_every_item_done_once_and_paid_once(
    tmp_path: Path,
) -> None:
    batch = tmp_path / "batch.txt"
    batch.write_text("".join(f"a boat on the sea, take {i}\n" for i in range(ITEMS)))
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in (API_KEY_ENV, BASE_URL_ENV)}
    config = mocks.MockConfig(latency=0.25, credits=100.0)
    with mocks.serve(config) as server:
        command = [
            sys.executable, "-m", "realdream.cli", "batch", str(batch), "--out", str(out),
            "--concurrency", "3", "--width", "256", "--height", "256",
            "--base-url", server.base_url, "--api-key", server.api_key,
        ]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        wait_for_done(out, 3, process, timeout=60)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130, err
        assert "Stopping: finishing the requests in flight" in err
        assert "Traceback" not in err
        first_run = sum(done_keys(out).values())
        assert 3 <= first_run < ITEMS

        rerun = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        assert f"Skipping {first_run} items already done." in rerun.stderr

        stats, balance = server.service.stats, server.service.balance
    assert sorted(done_keys(out).values()) == [1] * ITEMS  # every item, none twice
    assert len(list(out.glob("*.jpg"))) == ITEMS
    assert not list(out.glob(".*.part"))
    assert stats.images == ITEMS  # exactly one debit per image
    assert balance == pytest.approx(100.0 - ITEMS * config.cost_per_image)
