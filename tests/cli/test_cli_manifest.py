"""The manifest: append-only records, last record wins, torn lines ignored, one writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from realdream.cli._manifest import MANIFEST_NAME, Manifest, ManifestLockedError


def test_records_round_trip_and_the_last_one_wins(tmp_path: Path) -> None:
    with Manifest(tmp_path) as manifest:
        manifest.append("a", 1, "sent")
        manifest.append("a", 1, "done", files=["a.png"])
        manifest.append("b", 2, "sent")
    loaded = Manifest(tmp_path).load()
    assert loaded.records["a"]["files"] == ["a.png"]
    assert (loaded.state("a"), loaded.state("b"), loaded.state("c")) == ("done", "unknown", "new")


@pytest.mark.parametrize(
    ("record", "state"),
    [
        pytest.param({"status": "done"}, "done", id="done"),
        pytest.param({"status": "failed", "maybe_billed": False}, "failed", id="failed"),
        pytest.param({"status": "failed", "maybe_billed": True}, "unknown", id="maybe-billed"),
        pytest.param({"status": "sent"}, "unknown", id="sent-never-finished"),
    ],
)
def test_state_of_the_last_record(tmp_path: Path, record: dict[str, object], state: str) -> None:
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({"key": "k", **record}) + "\n")
    assert Manifest(tmp_path).load().state("k") == state


def test_a_torn_last_line_is_ignored_and_kept_apart(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST_NAME
    path.write_text('{"key": "a", "status": "done"}\n{"key": "b", "sta')
    manifest = Manifest(tmp_path).load()
    assert manifest.torn_lines == 1
    with manifest:
        manifest.append("c", 3, "done")
    reloaded = Manifest(tmp_path).load()
    assert sorted(reloaded.records) == ["a", "c"]
    assert reloaded.torn_lines == 1


def test_every_record_is_one_json_line(tmp_path: Path) -> None:
    with Manifest(tmp_path) as manifest:
        manifest.append("k", 1, "failed", error="multi\nline", maybe_billed=False)
    lines = (tmp_path / MANIFEST_NAME).read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["error"] == "multi\nline"


def test_one_writer_per_directory(tmp_path: Path) -> None:
    with Manifest(tmp_path), pytest.raises(ManifestLockedError, match="another realdream batch"):
        Manifest(tmp_path).open()
    Manifest(tmp_path).open().close()  # released on close
