"""Recording with vcrpy (no key, no balance in a cassette) and replaying with the mock: a replay
of a recorded run answers byte for byte, debits the ledger, and falls back to the synthetic
contract for anything else."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import realdream
import realdream.mock as mocks
from realdream import contract
from realdream.testing import cassettes
from tests.verify.apps import run_verify, service_app

ROOT = Path(__file__).resolve().parents[2]
KEY = "SG_fedcba9876543210"
BALANCE = 7.654321


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """The cassettes of a full verify run against the mock (and a v2 queue)."""
    config = mocks.MockConfig(latency=0.0, api_keys=(KEY,), credits=BALANCE)
    folder = tmp_path / "cassettes"
    run_verify(service_app(mocks.MockService(config)), api_key=KEY, record=folder)
    return folder


def _image(folder: Path) -> cassettes.Recorded:
    """The recorded image probe: one JPEG, sent with seed -1."""
    (found,) = [e for e in cassettes.load(folder) if b"verify: image" in e.body]
    assert found.status == 200
    return found


def test_every_probe_has_a_cassette(recorded: Path) -> None:
    names = sorted(path.stem for path in recorded.iterdir())
    assert names == sorted([
        "base64", "content-type", "credits", "get-generate", "image", "malformed-key",
        "no-key", "out-of-range", "unknown-model", "v2",
    ])  # fmt: skip


def test_no_cassette_holds_the_key_or_the_balance(recorded: Path) -> None:
    texts = {path.name: path.read_text() for path in recorded.iterdir()}
    for name, text in texts.items():
        assert KEY not in text, name
        assert "7.65" not in text, name  # the balance, before or after the probes' debits
    exchanges = cassettes.load(recorded)
    keyed = [e for e in exchanges if e.has_key]
    assert keyed
    assert len(keyed) == len(exchanges) - 1
    assert "x-api-key:\n      - REDACTED" in texts["image.yaml"]
    image = next(e for e in exchanges if e.path == contract.GENERATE_PATH and e.status == 200)
    assert dict(image.headers)[contract.HEADER_REMAINING_CREDITS] == cassettes.REDACTED
    credits = next(e for e in exchanges if e.path == contract.CREDITS_PATH)
    assert credits.content == b'{"credits":0,"free-credits":0}'


def test_a_replay_of_a_recorded_run_answers_byte_for_byte(recorded: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    app = mocks.create_app(mocks.MockConfig(latency=0.0, api_keys=(KEY,)), replay=recorded)
    report = run_verify(app, api_key=KEY, record=again)
    first, second = cassettes.load(recorded), cassettes.load(again)
    assert len(first) == len(second) > 10
    for one, other in zip(first, second, strict=True):
        assert (one.method, one.path, one.body) == (other.method, other.path, other.body)
        assert one.status == other.status
        assert one.content == other.content  # the JPEG, the base64 JSON, every error body
        assert dict(one.headers) == dict(other.headers)
    assert [r.verdict for r in report.rows].count("differs") == 0


def test_replayed_200s_are_debited_and_the_balance_is_the_mocks(recorded: Path) -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0.0, replay=str(recorded)))
    http = httpx.Client(transport=mocks.MockTransport(service), base_url="http://mock")
    image = _image(recorded)
    answer = http.post(image.path, content=image.body, headers={"x-api-key": mocks.MOCK_API_KEY})
    assert answer.content == image.content
    assert service.balance == pytest.approx(10 - contract.COST_PER_IMAGE_USD)
    assert answer.headers[contract.HEADER_REMAINING_CREDITS] == "9.998"
    credits = http.get(contract.CREDITS_PATH, headers={"x-api-key": mocks.MOCK_API_KEY})
    assert credits.json() == {"credits": 9.998, "free-credits": 0}


def test_a_request_nobody_recorded_gets_the_synthetic_answer(recorded: Path) -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0.0, replay=str(recorded)))
    with realdream.Client(
        mocks.MOCK_API_KEY, base_url="http://mock", transport=mocks.MockTransport(service)
    ) as client:
        result = client.generate("a lighthouse at dusk", seed=5, img_width=256, img_height=256)
    recorded_images = {e.content for e in cassettes.load(recorded)}
    assert result.image.data not in recorded_images
    assert result.image.data == mocks.render_jpeg(result.request, 0)


def test_a_request_matches_only_with_the_same_key_presence(recorded: Path) -> None:
    service = mocks.MockService(mocks.MockConfig(latency=0.0, replay=str(recorded)))
    http = httpx.Client(transport=mocks.MockTransport(service), base_url="http://mock")
    image = _image(recorded)
    answer = http.post(image.path, content=image.body)  # no key: not the recorded request
    assert answer.status_code == 401
    assert service.balance == 10


def test_replay_needs_a_folder_of_cassettes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        mocks.create_app(replay=tmp_path / "missing")
    with pytest.raises(ValueError, match=r"no recorded exchange in \*\.yaml"):
        mocks.create_app(replay=tmp_path)
    (tmp_path / "broken.yaml").write_text("interactions: [1, 2\n")
    with pytest.raises(ValueError, match=r"broken\.yaml: not a readable cassette"):
        mocks.create_app(replay=tmp_path)


def test_python_m_mocks_replay_option_refuses_a_bad_folder_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "realdream.mock", "--replay", str(tmp_path / "missing"),
         "--port", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("not a directory")


@pytest.mark.slow  # a server in a subprocess
def test_python_m_mocks_replays_a_recorded_run(recorded: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "realdream.mock", "--replay", str(recorded),
         "--port", "0", "--latency", "0"],
        cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        match = re.search(r"(http://127\.0\.0\.1:\d+)", process.stdout.readline())
        assert match
        image = next(
            e
            for e in cassettes.load(recorded)
            if e.path == contract.GENERATE_PATH and e.status == 200
        )
        answer = httpx.post(
            match.group(1) + image.path,
            content=image.body,
            headers={"x-api-key": mocks.MOCK_API_KEY, "content-type": "application/json"},
        )
        assert answer.status_code == 200
        assert answer.content == image.content
        assert answer.headers[contract.HEADER_SEED] == dict(image.headers)[contract.HEADER_SEED]
    finally:
        process.terminate()
        process.communicate(timeout=60)
