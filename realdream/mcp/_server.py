"""The MCP shell around :class:`ImageTools`: the SDK's low-level server, on stdio or on
streamable HTTP bound to loopback.

The low-level server lists the contract's schemas as they are and leaves validation to the core
(``validate_input=False``): the core's message names the field and what is allowed, where a
JSON Schema validator would only say which keyword failed. Every text an agent receives, and
every log line, has the API key taken out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Final

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from realdream import REDACTED, __version__
from realdream.mcp._content import ToolResult
from realdream.mcp._errors import ToolError
from realdream.mcp._schemas import tool_specs
from realdream.mcp._stdio import stdio_streams
from realdream.mcp._tools import ImageTools

__all__ = [
    "HTTP_PATH",
    "LOOPBACK",
    "SERVER_NAME",
    "build_server",
    "http_app",
    "listening_socket",
    "redact",
    "run_http",
    "run_stdio",
]

SERVER_NAME: Final = "realdream"
LOOPBACK: Final = "127.0.0.1"
HTTP_PATH: Final = "/mcp"
INSTRUCTIONS: Final = (
    "Generate photorealistic images with Segmind's RealDream Lightning on the user's account. "
    "Every image costs money: call estimate_cost or get_credits (free) when unsure, keep "
    "samples low, and reuse a seed from a result to remake an image instead of trying again "
    "at random. A spend cap limits this server; a refusal says what is left."
)

logger = logging.getLogger("realdream.mcp")


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-empty secret replaced by a placeholder."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _tools_listed() -> list[types.Tool]:
    return [
        types.Tool(
            name=spec.name,
            title=spec.title,
            description=spec.description,
            inputSchema=spec.schema,
            annotations=types.ToolAnnotations(
                title=spec.title,
                readOnlyHint=spec.read_only,
                destructiveHint=False,
                idempotentHint=spec.idempotent,
                openWorldHint=True,
            ),
        )
        for spec in tool_specs()
    ]


def build_server(tools: ImageTools, *, secrets: Iterable[str | None] = ()) -> Server[Any, Any]:
    """A low-level MCP server offering ``tools``; ``secrets`` never leave it."""
    hidden = tuple(secret for secret in secrets if secret)
    server: Server[Any, Any] = Server(SERVER_NAME, version=__version__, instructions=INSTRUCTIONS)
    listed = _tools_listed()

    async def list_tools() -> list[types.Tool]:
        return listed

    async def call_tool(name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        try:
            result = await tools.call(name, arguments or {})
        except ToolError as exc:
            return _error(redact(str(exc), hidden))
        except Exception as exc:  # a bug: the agent gets one line, the log the trace
            trace = "".join(traceback.format_exception(exc))
            logger.error("tool %s crashed:\n%s", name, redact(trace, hidden))
            return _error(
                f"Unexpected error in the realdream MCP server ({type(exc).__name__}); "
                "nothing more was sent. The server's log (stderr) has the details."
            )
        return _success(result, hidden)

    server.list_tools()(list_tools)  # type: ignore[no-untyped-call]
    server.call_tool(validate_input=False)(call_tool)
    return server


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)], isError=True
    )


def _success(result: ToolResult, hidden: tuple[str, ...]) -> types.CallToolResult:
    content: list[types.ContentBlock] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            block = types.TextContent(type="text", text=redact(block.text, hidden))
        content.append(block)
    structured = None
    if result.structured:
        structured = json.loads(redact(json.dumps(result.structured), hidden))
    return types.CallToolResult(content=content, structuredContent=structured, isError=False)


async def run_stdio(server: Server[Any, Any]) -> None:
    """Serve on stdin/stdout until the client closes them (logs go to stderr only)."""
    async with stdio_streams() as (read, write):
        await server.run(read, write, server.create_initialization_options())


class _Endpoint:
    """The ASGI endpoint of the streamable HTTP transport."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        self._manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._manager.handle_request(scope, receive, send)


def http_app(server: Server[Any, Any], port: int) -> Starlette:
    """The streamable HTTP app at :data:`HTTP_PATH`. Only loopback Host and Origin headers are
    served, so a web page cannot reach it by DNS rebinding."""
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{LOOPBACK}:{port}", f"localhost:{port}"],
        allowed_origins=[f"http://{LOOPBACK}:{port}", f"http://localhost:{port}"],
    )
    manager = StreamableHTTPSessionManager(app=server, security_settings=security)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    return Starlette(routes=[Route(HTTP_PATH, endpoint=_Endpoint(manager))], lifespan=lifespan)


def listening_socket(port: int, host: str = LOOPBACK) -> socket.socket:
    """A socket bound to ``host:port`` (0: any free port) and already listening, so the URL
    can be announced before the server runs and no client can arrive too early."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def run_http(
    server: Server[Any, Any],
    sock: socket.socket,
    *,
    announce: Callable[[str], object] | None = None,
) -> None:
    """Serve streamable HTTP on ``sock`` until interrupted; ``announce`` gets the URL first."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}{HTTP_PATH}"
    config = uvicorn.Config(
        http_app(server, port), log_level="warning", lifespan="on", access_log=False
    )
    if announce is not None:
        announce(url)
    anyio.run(uvicorn.Server(config).serve, [sock])
