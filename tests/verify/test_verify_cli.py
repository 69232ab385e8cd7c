"""``realdream verify`` on the command line: rows, report, exit codes, and never the key."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from starlette.applications import Starlette

import realdream.mock as mocks
from realdream.cli import main
from tests.verify import apps
from tests.verify.apps import FakeV2, service_app, serving

KEY = "SG_0a1b2c3d4e5f6a7b"


@pytest.fixture
def service() -> mocks.MockService:
    return mocks.MockService(mocks.MockConfig(latency=0.0, api_keys=(KEY,)))


def _app(service: mocks.MockService, change: apps.Change | None = None) -> Starlette:
    # The job completes on its first poll: the command really sleeps between polls.
    return service_app(service, change=change, v2=FakeV2(service, states=("COMPLETED",)))


def test_against_the_mock_every_row_prints_and_the_exit_is_0(
    service: mocks.MockService,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SEGMIND_API_KEY", KEY)
    report = tmp_path / "report.json"
    with serving(_app(service)) as url:
        code = main(["verify", "--base-url", url, "--report", str(report)])
    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    data = json.loads(report.read_text())
    assert len(lines) == len(data["rows"]) + 1
    for line, row in zip(lines, data["rows"], strict=False):
        cells = line.split("\t")
        assert cells[:3] == [row["verdict"], row["fact"], row["mark"]]
        assert cells[5] == (row["observed"] or f"({row['reason']})")
    assert lines[-1].startswith(f"{data['counts']['holds']} hold, 0 differ, ")
    assert f"spent $0.008 of $0.01 at {url}" in lines[-1]
    assert "the billed probes cost $0.008" in err
    assert KEY not in out + err + report.read_text()


def test_a_difference_exits_1(
    service: mocks.MockService, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(_app(service, change=apps.png_instead_of_jpeg)) as url:
        code = main(["verify", "--base-url", url, "--api-key", KEY])
    out, err = capsys.readouterr()
    assert code == 1
    assert [line.split("\t")[1] for line in out.splitlines() if line.startswith("differs")] == [
        "IMAGE_CONTENT_TYPE"
    ]
    assert KEY not in out + err


def test_record_writes_cassettes_without_the_key(
    service: mocks.MockService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(_app(service)) as url:
        code = main(["verify", "--base-url", url, "--api-key", KEY, "--record", str(tmp_path)])
    assert code == 0
    files = sorted(tmp_path.glob("*.yaml"))
    assert len(files) == 10
    assert all(KEY not in path.read_text() for path in files)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-cost", "-1"], "--max-cost"),
        (["--report", "/nonexistent-dir/report.json"], "does not exist"),
        (["--record", "/dev/null"], "is not a directory"),
    ],
)
def test_usage_errors_exit_2_before_anything_is_sent(
    argv: list[str],
    message: str,
    service: mocks.MockService,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with serving(_app(service)) as url:
        code = main(["verify", "--base-url", url, "--api-key", KEY, *argv])
    assert code == 2
    assert message in capsys.readouterr().err
    assert service.stats.requests == 0


def test_no_key_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--base-url", "http://127.0.0.1:9"]) == 2
    assert "No API key" in capsys.readouterr().err


def test_a_refused_key_exits_2_after_the_free_credits_call(
    service: mocks.MockService, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(_app(service)) as url:
        code = main(["verify", "--base-url", url, "--api-key", "SG_0000000000000000"])
    assert code == 2
    assert "refused the key" in capsys.readouterr().err
    assert service.stats.requests == 1


def test_record_without_vcrpy_names_the_extra_before_anything_is_sent(
    service: mocks.MockService,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "vcr", None)  # not installed
    with serving(_app(service)) as url:
        code = main(["verify", "--base-url", url, "--api-key", KEY, "--record", str(tmp_path)])
    assert code == 2
    assert "pip install 'realdream[verify]'" in capsys.readouterr().err
    assert service.stats.requests == 0
