"""``realdream mcp`` as an MCP client starts it: a subprocess on stdio, and on streamable HTTP
(``--http 0``), spoken to with the official SDK's ClientSession."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

import realdream
import realdream.mock as mocks
from tests.mcp._session import images, pil, texts

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: A key of the real shape that only the test's own mock accepts; it must show up nowhere.
CANARY = "SG_c0ffee00c0ffee00"
PRICE = realdream.contract.COST_PER_IMAGE_USD


def _env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    return {**env, "PYTHONPATH": str(ROOT)}


@asynccontextmanager
async def stdio_session(*args: str, errlog: Path) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "realdream.cli", "mcp", *args], env=_env(), cwd=ROOT
    )
    with errlog.open("w") as err:
        async with (
            stdio_client(params, errlog=err) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


def converse(conversation: Callable[[ClientSession], Any], *args: str, errlog: Path) -> Any:
    async def main() -> Any:
        async with stdio_session(*args, errlog=errlog) as session:
            return await conversation(session)

    return anyio.run(main)


@pytest.fixture(scope="module")
def paid_mock() -> Iterator[mocks.RunningMock]:
    """The "real API", on loopback in this process: its ledger is the truth."""
    config = mocks.MockConfig(latency=0.0, api_keys=(mocks.MOCK_API_KEY, CANARY))
    with mocks.serve(config) as running:
        yield running


def test_over_stdio_the_tools_are_listed_with_the_contracts_bounds_and_scheduler_names(
    tmp_path: Path,
) -> None:
    async def conversation(session: ClientSession) -> Any:
        return await session.list_tools()

    listed = converse(conversation, "--mock", errlog=tmp_path / "err.log")
    tools = {tool.name: tool for tool in listed.tools}
    assert list(tools) == [
        "generate_image",
        "submit_image_job",
        "get_image_job",
        "get_credits",
        "estimate_cost",
    ]
    schema = tools["generate_image"].inputSchema
    props = schema["properties"]
    assert props["scheduler"]["enum"] == list(realdream.SCHEDULERS)
    for name, limit in realdream.LIMITS.items():
        assert (props[name]["minimum"], props[name]["maximum"]) == (limit.minimum, limit.maximum)
        assert props[name]["default"] == limit.default
    assert props["img_width"]["multipleOf"] == 8
    assert schema["required"] == ["prompt"]
    assert all(spec.get("description") for spec in props.values())
    assert tools["get_credits"].annotations.readOnlyHint is True
    assert tools["generate_image"].annotations.readOnlyHint is False


def test_over_stdio_an_image_comes_back_at_the_size_asked_and_is_saved_as_the_cli_saves_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "images"

    async def conversation(session: ClientSession) -> Any:
        return await session.call_tool(
            "generate_image",
            {"prompt": "a red door", "seed": 11, "img_width": 640, "img_height": 384},
        )

    result = converse(conversation, "--mock", "--out", str(out), errlog=tmp_path / "err.log")
    assert not result.isError
    ((mime, data),) = images(result)
    assert mime == "image/jpeg"
    assert pil(data).size == (640, 384)
    assert (realdream.read_request(data) or {}).seed == 11  # type: ignore[union-attr]
    saved = out / "a-red-door_seed11.jpg"
    assert str(saved) in texts(result)
    assert realdream.read_request(saved.read_bytes()) == realdream.read_request(data)
    log = (tmp_path / "err.log").read_text()
    assert len(re.findall(r"^realdream mcp: paid \$0\.0020 for 1 image", log, re.M)) == 1


def test_over_stdio_bad_parameters_and_the_cap_spend_nothing_on_the_real_ledger(
    tmp_path: Path, paid_mock: mocks.RunningMock
) -> None:
    server = ("--api-key", CANARY, "--base-url", paid_mock.base_url, "--max-cost", "0.004")
    small = {"prompt": "a fox", "img_width": 256, "img_height": 256}

    async def conversation(session: ClientSession) -> Any:
        start = paid_mock.service.balance
        bad = await session.call_tool("generate_image", {**small, "samples": 5})
        after_bad = paid_mock.service.balance
        paid = await session.call_tool("generate_image", {**small, "samples": 2})
        after_paid = paid_mock.service.balance
        capped = await session.call_tool("generate_image", small)
        after_cap = paid_mock.service.balance
        return start, bad, after_bad, paid, after_paid, capped, after_cap

    start, bad, after_bad, paid, after_paid, capped, after_cap = converse(
        conversation, *server, errlog=tmp_path / "err.log"
    )
    assert bad.isError
    assert "samples=5: must be between 1 and 4" in texts(bad)
    assert after_bad == start
    assert not paid.isError
    assert after_paid == pytest.approx(start - 2 * PRICE)
    assert capped.isError
    assert "Spend cap reached" in texts(capped)
    assert "$0.0000 is left" in texts(capped)
    assert after_cap == after_paid


def test_over_stdio_a_v2_job_is_submitted_then_collected_by_its_id(tmp_path: Path) -> None:
    async def conversation(session: ClientSession) -> Any:
        submitted = await session.call_tool(
            "submit_image_job", {"prompt": "a fox", "seed": 5, "img_width": 256, "img_height": 256}
        )
        request_id = submitted.structuredContent["request_id"]
        return request_id, await session.call_tool("get_image_job", {"request_id": request_id})

    request_id, collected = converse(conversation, "--mock", errlog=tmp_path / "err.log")
    assert not collected.isError
    assert collected.structuredContent["request_id"] == request_id
    ((_, data),) = images(collected)
    assert (realdream.read_request(data) or {}).seed == 5  # type: ignore[union-attr]


@pytest.mark.parametrize("accepted", [True, False], ids=["accepted", "refused"])
def test_the_servers_key_appears_in_no_result_log_line_or_schema(
    tmp_path: Path, paid_mock: mocks.RunningMock, accepted: bool
) -> None:
    key = CANARY if accepted else "SG_0badc0de0badc0de"  # the mock refuses the second: 401
    log = tmp_path / "err.log"
    shown: list[str] = []
    small = {"img_width": 256, "img_height": 256}

    async def conversation(session: ClientSession) -> None:
        shown.append((await session.list_tools()).model_dump_json())
        for name, args in [
            ("generate_image", {"prompt": f"a sign reading {key}", **small}),
            ("generate_image", {"prompt": key, "seed": key}),
            ("submit_image_job", {"prompt": "a fox", **small}),
            ("get_credits", {}),
            ("get_image_job", {"request_id": key}),
        ]:
            shown.append((await session.call_tool(name, args)).model_dump_json())

    converse(conversation, "--api-key", key, "--base-url", paid_mock.base_url, errlog=log)
    if not accepted:
        assert any("Invalid API key (401)" in text for text in shown)
    assert shown
    assert log.read_text()
    for text in [*shown, log.read_text()]:
        assert key not in text


def test_over_streamable_http_on_a_free_loopback_port(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "realdream.cli", "mcp", "--mock", "--http", "0"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # printed once the socket listens
        found = re.search(r"http://127\.0\.0\.1:\d+/mcp", line)
        assert found, line

        async def main() -> Any:
            async with (
                streamable_http_client(found.group(0)) as (read, write, _),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                listed = await session.list_tools()
                made = await session.call_tool(
                    "generate_image", {"prompt": "a fox", "img_width": 256, "img_height": 320}
                )
                return listed, made

        listed, made = anyio.run(main)
        assert "generate_image" in [tool.name for tool in listed.tools]
        assert pil(images(made)[0][1]).size == (256, 320)
        rebinding = httpx.post(found.group(0), headers={"Host": "evil.example"}, json={})
        assert rebinding.status_code == 421  # only loopback Host headers are served
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
