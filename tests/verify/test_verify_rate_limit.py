"""A 429 met on the way is waited out (it is not billed) and checked; the table prints on a
terminal."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import realdream
import realdream.mock as mocks
from realdream import contract
from realdream.testing import cassettes
from realdream.testing.clock import SkipAheadClock
from tests.verify import apps
from tests.verify.apps import differing, row, service_app


def test_a_429_is_waited_out_and_its_headers_are_checked(
    service: mocks.MockService, clock: SkipAheadClock, tmp_path: Path
) -> None:
    service.script([429])  # the first generation request that passes auth and routing
    report = realdream.verify(
        mocks.MOCK_API_KEY,
        base_url="http://verify.test",
        transport=apps.transport(service_app(service)),
        sleep=clock.async_sleep,
        announce=apps.quiet,
        record=tmp_path,
    )
    assert row(report, "STATUS_TABLE[429]").verdict == "holds"
    assert row(report, "HEADER_RATE_LIMIT_RESET").verdict == "holds"
    assert row(report, "STATUS_TABLE[406-content-type]").verdict == "holds"  # after the wait
    assert differing(report) == []
    waits = clock.slept
    assert 0 < waits[0] <= 65  # the 429's: what x-rate-limit-reset-at-utc asked for
    assert waits[1:] == [1.0, 1.5]  # then the v2 job's polls: QUEUED, PROCESSING, COMPLETED
    assert all(e.status != 429 for e in cassettes.load(tmp_path))  # left out of the cassette


def test_a_429_without_the_reset_header_differs_on_that_row(service: mocks.MockService) -> None:
    service.script([429])
    app = service_app(service, change=apps.without_header(contract.HEADER_RATE_LIMIT_RESET))
    report = apps.run_verify(app)
    assert differing(report) == ["HEADER_RATE_LIMIT_RESET"]
    assert row(report, "HEADER_RATE_LIMIT_RESET").observed == "absent"


def test_on_a_terminal_the_rows_are_a_table(
    service: mocks.MockService,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from realdream.cli import main

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "250")
    with apps.serving(service_app(service, v2=apps.no_v2)) as url:
        code = main(["verify", "--base-url", url, "--api-key", mocks.MOCK_API_KEY])
    out = capsys.readouterr().out
    assert code == 1
    header = "\n".join(out.splitlines()[:3])
    assert header.startswith("┏")
    assert "verdict" in header
    assert "observed" in header
    assert "V2_SUBMIT_PATH" in out
    assert "STATUS_TABLE[401-missing-key]" in out
    assert out.count("differs") == 1


def _column(lines: list[str], header: str, name: str) -> str:
    """The text of column ``name`` over ``lines`` of a rich table, joined as one string."""
    edges = [i for i, char in enumerate(header) if char == "┃"]
    cells = [part.strip() for part in header.split("┃")[1:-1]]
    left, right = edges[cells.index(name)], edges[cells.index(name) + 1]
    return "".join(line[left + 1 : right].strip() for line in lines if line.startswith("│"))


def test_at_80_columns_no_fact_is_cut(
    service: mocks.MockService,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from realdream.cli import main

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")
    report = tmp_path / "report.json"
    app = service_app(service, v2=apps.FakeV2(service, states=("COMPLETED",)))
    with apps.serving(app) as url:
        main(
            ["verify", "--base-url", url, "--api-key", mocks.MOCK_API_KEY, "--report", str(report)]
        )
    lines = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out).splitlines()  # no styles
    header = next(line for line in lines if line.startswith("┃"))
    assert max(len(line) for line in lines[:-1]) <= 80
    assert "…" not in "\n".join(lines)
    facts = [row["fact"] for row in json.loads(report.read_text())["rows"]]
    assert _column(lines, header, "fact") == "".join(facts)  # every name whole, wrapped in place
