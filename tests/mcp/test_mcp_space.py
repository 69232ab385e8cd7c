"""``python app.py --mcp``: the Space's MCP endpoint, spoken to with the official client over
streamable HTTP, spending the owner's key on a loopback mock under the demo's guard."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client

import realdream
import realdream.mock as mocks
from tests.mcp._session import images, pil, texts
from tests.served import ServedApp, stop_all

pytestmark = pytest.mark.slow

#: A caller's own key: the mock accepts it; it must show up nowhere.
CANARY = "SG_c0ffee00c0ffee00"
PRICE = realdream.contract.COST_PER_IMAGE_USD
#: What a Space with ``hf_oauth: true`` sets; the OAuth server is never contacted here.
FAKE_SPACE_OAUTH = {
    "SYSTEM": "spaces",
    "SPACE_ID": "owner/realdream",
    "OAUTH_CLIENT_ID": "test-client",
    "OAUTH_CLIENT_SECRET": "test-secret",
    "OAUTH_SCOPES": "openid profile",
    "OPENID_PROVIDER_URL": "https://huggingface.invalid",
}
_CLEARED = ("SEGMIND_API_KEY", "REALDREAM_", "SPACE_ID", "SYSTEM", "FORWARDED_ALLOW_IPS", "OAUTH_")


def _start(log: Path, *args: str, env: dict[str, str]) -> ServedApp:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED)}
    return ServedApp(log, ("--mcp", *args), {**environ, **env})


def _mcp_url(app: ServedApp) -> str:
    return f"{app.url}/gradio_api/mcp/"


@pytest.fixture(scope="module")
def paid_mock() -> Iterator[mocks.RunningMock]:
    """The "real API": it keeps the true ledger, and accepts the owner's and the caller's key."""
    config = mocks.MockConfig(latency=0.0, api_keys=(mocks.MOCK_API_KEY, CANARY))
    with mocks.serve(config) as running:
        yield running


@pytest.fixture(scope="module")
def apps(
    paid_mock: mocks.RunningMock, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ServedApp]]:
    folder = tmp_path_factory.mktemp("apps")
    owner = {"SEGMIND_API_KEY": paid_mock.api_key, "REALDREAM_BASE_URL": paid_mock.base_url}
    started = {
        "budget": _start(
            folder / "budget.log",
            *("--daily-budget", str(PRICE), "--visitor-limit", "0"),
            *("--state-dir", str(folder / "budget")),
            env=owner,
        ),
        "visitors": _start(
            folder / "visitors.log",
            *("--visitor-limit", "1", "--state-dir", str(folder / "visitors")),
            env=owner,
        ),
        "login": _start(
            folder / "login.log",
            *("--require-login", "--state-dir", str(folder / "login")),
            env={**owner, **FAKE_SPACE_OAUTH},
        ),
    }
    try:
        for app in started.values():
            app.wait()
        yield started
    finally:
        stop_all(list(started.values()))


def session_calls(app: ServedApp, calls: list[tuple[str, dict[str, Any]]], **headers: str) -> Any:
    """List the tools, then make ``calls`` to the one tool, in one MCP session."""

    async def main() -> Any:
        async with (
            httpx.AsyncClient(headers=headers, timeout=60) as http,
            streamable_http_client(_mcp_url(app), http_client=http) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            listed = await session.list_tools()
            results = [await session.call_tool(name, args) for name, args in calls]
            return listed, results

    return anyio.run(main)


SMALL = {"prompt": "a lighthouse keeper", "img_width": 256, "img_height": 256}


def tool_name(listed: types.ListToolsResult) -> str:
    (tool,) = listed.tools  # the page's own endpoints are hidden
    assert tool.name.endswith("generate_image")
    return tool.name


def test_the_tool_has_a_description_typed_parameters_and_the_contracts_bounds(
    apps: dict[str, ServedApp],
) -> None:
    listed, _ = session_calls(apps["budget"], [])
    (tool,) = listed.tools
    assert tool.name == "generate_image"
    assert "RealDream Lightning" in (tool.description or "")
    props = tool.inputSchema["properties"]
    assert "api_key" not in props
    assert props["scheduler"]["enum"] == list(realdream.SCHEDULERS)
    for name, limit in realdream.LIMITS.items():
        assert (props[name]["minimum"], props[name]["maximum"]) == (limit.minimum, limit.maximum)
        assert props[name]["type"] == ("number" if name == "guidance_scale" else "integer")
    assert all(spec.get("description") for spec in props.values())
    assert tool.inputSchema["required"] == ["prompt"]
    schema = httpx.get(f"{apps['budget'].url}/gradio_api/mcp/schema").json()
    assert schema[0]["meta"]["headers"] == ["x-segmind-key"]  # listed for the connection


def test_one_image_per_output_with_the_facts_in_text(
    apps: dict[str, ServedApp], paid_mock: mocks.RunningMock
) -> None:
    _, (made,) = session_calls(apps["visitors"], [("generate_image", {**SMALL, "seed": 9})])
    assert not made.isError
    ((mime, data),) = images(made)
    assert mime == "image/png"
    assert pil(data).size == (256, 256)
    text = texts(made)
    assert "seed `9`" in text
    assert '"seed": 9' in text  # the exact request, in the run details
    assert "0 of 1 images left for you this hour" in text


def test_the_daily_budget_refuses_an_mcp_call_and_nothing_is_spent(
    apps: dict[str, ServedApp], paid_mock: mocks.RunningMock
) -> None:
    calls = [("generate_image", SMALL), ("generate_image", SMALL)]
    before = paid_mock.service.balance
    _, (first, second) = session_calls(apps["budget"], calls)
    assert not first.isError
    assert second.isError
    assert "Daily budget reached" in texts(second)
    assert "Nothing was spent" in texts(second)
    assert "your own Segmind key in the X-Segmind-Key header" in texts(second)
    assert paid_mock.service.balance == pytest.approx(before - PRICE)


def test_the_visitor_limit_holds_whatever_forwarded_address_the_caller_claims(
    apps: dict[str, ServedApp], paid_mock: mocks.RunningMock
) -> None:
    app = apps["visitors"]
    session_calls(app, [("generate_image", SMALL)])  # this caller's one image (or it was used)
    before = paid_mock.service.balance
    _, (refused,) = session_calls(
        app, [("generate_image", SMALL)], **{"X-Forwarded-For": "10.9.8.7"}
    )
    assert refused.isError
    assert "Visitor limit reached" in texts(refused)
    assert paid_mock.service.balance == before


def test_under_require_login_a_caller_needs_its_own_key_in_the_header(
    apps: dict[str, ServedApp], paid_mock: mocks.RunningMock
) -> None:
    app = apps["login"]
    before = paid_mock.service.balance
    listed, (refused,) = session_calls(app, [("realdream_generate_image", SMALL)])
    assert tool_name(listed) == "realdream_generate_image"  # on a Space: prefixed
    assert refused.isError
    assert "X-Segmind-Key" in texts(refused)
    assert "Nothing was spent" in texts(refused)
    assert paid_mock.service.balance == before
    _, (made,) = session_calls(
        app, [("realdream_generate_image", SMALL)], **{"X-Segmind-Key": CANARY}
    )
    assert not made.isError
    assert pil(images(made)[0][1]).size == (256, 256)
    assert paid_mock.service.balance == pytest.approx(before - PRICE)


def test_a_callers_key_appears_in_no_result_log_line_or_schema(
    apps: dict[str, ServedApp], paid_mock: mocks.RunningMock
) -> None:
    app = apps["login"]
    wrong = "SG_0badc0de0badc0de"  # the mock refuses it: a 401 whose message must not echo it
    shown = [httpx.get(f"{app.url}/gradio_api/mcp/schema").text]
    for key in (CANARY, wrong):
        listed, results = session_calls(
            app,
            [("realdream_generate_image", SMALL), ("realdream_generate_image", {"prompt": ""})],
            **{"X-Segmind-Key": key},
        )
        shown += [listed.model_dump_json(), *(result.model_dump_json() for result in results)]
    assert any("Invalid API key (401)" in text for text in shown)
    shown.append(app.log.read_text())
    for text in shown:
        assert CANARY not in text
        assert wrong not in text
