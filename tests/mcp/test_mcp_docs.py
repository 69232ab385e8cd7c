"""docs/mcp.md: every JSON snippet parses, and says what the servers really take."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from realdream.mcp import DEFAULT_MAX_COST, TOOL_NAMES

DOC = Path(__file__).resolve().parents[2] / "docs" / "mcp.md"
_BLOCK = re.compile(r"```json\n(.*?)```", re.S)


def snippets() -> list[dict[str, Any]]:
    return [json.loads(block) for block in _BLOCK.findall(DOC.read_text())]


def servers() -> list[dict[str, Any]]:
    return [entry for snippet in snippets() for entry in snippet["mcpServers"].values()]


def test_every_json_snippet_parses_as_a_client_configuration() -> None:
    found = snippets()
    assert len(found) >= 5
    for snippet in found:
        assert set(snippet) == {"mcpServers"}
        for entry in snippet["mcpServers"].values():
            assert ("command" in entry) != ("url" in entry)


@pytest.mark.parametrize("entry", [e for e in servers() if e.get("command") == "realdream"])
def test_local_snippets_start_realdream_mcp_with_options_it_has(entry: dict[str, Any]) -> None:
    from typer.main import get_command

    from realdream.cli._app import app

    assert entry["args"][0] == "mcp"
    command = get_command(app).commands["mcp"]  # type: ignore[attr-defined]
    options = {opt for param in command.params for opt in param.opts}
    assert {arg for arg in entry["args"][1:] if arg.startswith("--")} <= options
    assert set(entry.get("env", {})) <= {"SEGMIND_API_KEY"}


def test_the_space_is_reached_at_gradios_mcp_path_with_the_key_header() -> None:
    remote = [e for e in servers() if "hf.space" in json.dumps(e)]
    assert len(remote) == 2
    for entry in remote:
        text = json.dumps(entry)
        assert "https://OWNER-SPACE.hf.space/gradio_api/mcp/" in text
        assert "X-Segmind-Key" in text


def test_the_doc_names_every_tool_and_the_default_cap() -> None:
    text = DOC.read_text()
    for name in TOOL_NAMES:
        assert f"`{name}`" in text
    assert f"default `${DEFAULT_MAX_COST:.2f}`" in text
