"""``realdream mcp``'s refusals before it serves, and the schemas' agreement with the core."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

import realdream
from realdream.cli._app import run
from realdream.mcp import ToolError, generation_schema, tool_specs
from realdream.testing.strategies import invalid_payloads, valid_payloads
from tests.mcp._session import rig


def test_without_a_key_it_refuses_and_names_every_way_to_give_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["mcp"]) == 2
    err = capsys.readouterr().err
    assert "--api-key" in err
    assert realdream.API_KEY_ENV in err
    assert "--mock" not in capsys.readouterr().out


def test_a_port_in_use_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run(["mcp", "--mock", "--http", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} is in use" in err
    assert "--http 0" in err


def test_an_out_that_is_a_file_is_refused_before_serving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert run(["mcp", "--mock", "--out", str(blocker)]) == 2
    assert "the server did not start" in capsys.readouterr().err


def test_a_negative_cap_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["mcp", "--mock", "--max-cost", "-1"]) == 2
    assert "--max-cost" in capsys.readouterr().err


def test_every_parameter_has_a_description_and_base64_is_not_offered() -> None:
    props = generation_schema()["properties"]
    assert set(props) == set(realdream.GenerationRequest.model_fields) - {"base64"}
    for spec in tool_specs():
        for prop in spec.schema["properties"].values():
            assert prop["description"]
        jsonschema.Draft202012Validator.check_schema(spec.schema)


@given(valid_payloads())
def test_the_schema_admits_every_request_the_core_admits(payload: dict[str, Any]) -> None:
    payload.pop("base64", None)
    jsonschema.validate(payload, generation_schema())


@given(invalid_payloads())
def test_every_request_the_core_refuses_is_a_tool_error_naming_the_field(case: Any) -> None:
    state, tools = rig()
    try:
        anyio.run(tools.generate_image, case.payload)
    except ToolError as exc:
        message = str(exc)
    else:
        pytest.fail(f"accepted {case.payload!r}")
    assert case.field in message
    assert "nothing was sent or spent" in message
    assert state.service.stats.requests == 0
    assert state.cap.budget.reserved == 0


@given(st.integers(min_value=1, max_value=4))
def test_estimate_cost_is_the_budgets_own_estimate(samples: int) -> None:
    state, tools = rig()
    result = anyio.run(tools.estimate_cost, {"samples": samples})
    assert result.structured["cost_usd"] == state.cap.budget.estimate(samples)
