"""An MCP client session (the official SDK's ClientSession) on the local server's tools, held
in memory, and the mock service whose ledger the tests read."""

from __future__ import annotations

import base64
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp import ClientSession, types
from mcp.shared.memory import create_connected_server_and_client_session

import realdream
import realdream.mock as mocks
from realdream.mcp import ImageTools, Saver, SpendCap, build_server

KEY = mocks.MOCK_API_KEY


@dataclass
class Rig:
    """The mock service (the true ledger), the spend cap and the lines it logged."""

    service: mocks.MockService
    cap: SpendCap
    log: list[str] = field(default_factory=list)

    @property
    def balance(self) -> float:
        return self.service.balance


def rig(
    max_cost: float | None = 0.05,
    *,
    service: mocks.MockService | None = None,
    save: Saver | None = None,
    clock: Any = None,
    retries: int = 0,
    timeout: float | None = None,
) -> tuple[Rig, ImageTools]:
    service = service or mocks.MockService(mocks.MockConfig(latency=0.0))
    log: list[str] = []
    cap = SpendCap(realdream.Budget(max_cost), log.append)
    options: dict[str, Any] = {"retry": realdream.RetryPolicy(max_retries=retries)}
    if timeout is not None:
        options["timeout"] = timeout
    if clock is not None:
        options.update(clock=clock, sleep=clock.async_sleep)
    client = realdream.AsyncClient(KEY, transport=mocks.AsyncMockTransport(service), **options)
    return Rig(service, cap, log), ImageTools(client, cap, save=save)


def talk(tools: ImageTools, conversation: Callable[[ClientSession], Awaitable[Any]]) -> Any:
    """Run ``conversation`` against ``tools`` behind a real MCP server, in memory."""

    async def main() -> Any:
        server = build_server(tools, secrets=[KEY])
        async with create_connected_server_and_client_session(server) as session:
            return await conversation(session)

    return anyio.run(main)


def texts(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


def images(result: types.CallToolResult) -> list[tuple[str, bytes]]:
    return [
        (block.mimeType, base64.b64decode(block.data))
        for block in result.content
        if isinstance(block, types.ImageContent)
    ]


def pil(data: bytes) -> Any:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image
