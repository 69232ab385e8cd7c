"""``realdream mcp``: RealDream Lightning as MCP tools for an agent, on the user's own key.

Thin: check the options and the key (before any client connects), build the tools on one
client and one spend cap, serve on stdio or on loopback HTTP. stdout belongs to the protocol on
stdio: everything this command says goes to stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from realdream import API_KEY_ENV, Budget, GenerationResult, RetryPolicy
from realdream.cli._common import CLIError, listen_error, require_key
from realdream.cli._options import ApiKey, BaseUrl, Format, ImageFormat, Rpm
from realdream.mcp import DEFAULT_MAX_COST  # needs no mcp SDK: --help works without the extra

if TYPE_CHECKING:
    from mcp.server.lowlevel import Server

    from realdream import AsyncClient
    from realdream.mcp import Saver

__all__ = ["mcp_command"]

_MISSING = (
    "error: `realdream mcp` needs the 'mcp' extra ({name} is not installed); install it "
    "with: pip install 'realdream[mcp]'"
)

HttpPort = Annotated[
    int | None,
    typer.Option(
        "--http",
        min=0,
        max=65535,
        metavar="PORT",
        help="Serve streamable HTTP on 127.0.0.1:PORT/mcp (0: any free port; the URL is "
        "printed on stderr) instead of stdio.",
        show_default=False,
    ),
]
MaxCost = Annotated[
    float,
    typer.Option(
        "--max-cost",
        min=0.0,
        help="USD this server may spend while it runs; a call past it is refused, saying "
        "what is left.",
    ),
]
OutDir = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help="Also save every image here, parameters embedded, as `realdream generate` does.",
        show_default=False,
    ),
]
Mock = Annotated[
    bool,
    typer.Option("--mock", help="Use the offline mock in this process: free, no key needed."),
]


def mcp_command(
    http: HttpPort = None,
    max_cost: MaxCost = DEFAULT_MAX_COST,
    out: OutDir = None,
    image_format: Format = ImageFormat.jpg,
    mock: Mock = False,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Retries after a 429, a 5xx or a lost link.")
    ] = RetryPolicy().max_retries,
    rpm: Rpm = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Serve RealDream Lightning as MCP tools (stdio by default) on your key.

    Tools: generate_image, submit_image_job, get_image_job, get_credits, estimate_cost. Every
    paid call is counted against --max-cost and logged in one line on stderr; the key is
    never shown. Add `realdream mcp` to an MCP client's configuration (see docs/mcp.md).
    """
    try:
        from realdream.mcp import ImageTools, SpendCap, build_server, log_to_stderr
    except ModuleNotFoundError as exc:  # pragma: no cover - the extra is part of the test env
        raise CLIError(_MISSING.format(name=exc.name)) from None
    if not mock:
        require_key(api_key)
    if out is not None:
        from realdream.cli._generate_cmd import check_out_dir  # loads httpx: not for --help

        check_out_dir(out, before="the server did not start")
    key, client = _client(mock, api_key, base_url, retries, rpm)
    save = None if out is None else _saver(out, image_format.suffix)
    tools = ImageTools(client, SpendCap(Budget(max_cost), log_to_stderr), save=save)
    server = build_server(tools, secrets=[key])
    started = _started(max_cost, mock, out)
    if http is None:
        _serve_stdio(server, started)
    else:
        _serve_http(server, http, started)


def _client(
    mock: bool, api_key: str | None, base_url: str | None, retries: int, rpm: float | None
) -> tuple[str | None, AsyncClient]:
    """The server's one client (and its key, to keep out of every answer)."""
    from realdream import AsyncClient

    options: dict[str, Any] = {
        "retry": RetryPolicy(max_retries=retries),
        "rate_limit_per_minute": rpm,
    }
    if mock:
        import realdream.mock as mocks

        transport = mocks.AsyncMockTransport(mocks.MockConfig(latency=0.0))
        client = AsyncClient(mocks.MOCK_API_KEY, transport=transport, **options)
        return mocks.MOCK_API_KEY, client
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    return key, AsyncClient(key, base_url=base_url, **options)


def _saver(out: Path, suffix: str) -> Saver:
    from realdream import write_atomic
    from realdream.cli._generate_cmd import save_result

    def save(result: GenerationResult) -> Sequence[Path]:
        placed = save_result(result, out, suffix, write_atomic)
        return placed.where_asked + placed.elsewhere

    return save


def _started(max_cost: float, mock: bool, out: Path | None) -> str:
    where = "the offline mock (free)" if mock else "your Segmind key"
    saved = f"; images also saved in {out}" if out is not None else ""
    return f"realdream mcp: on {where}, spend cap ${max_cost:.4f}{saved}"


def _serve_stdio(server: Server[Any, Any], started: str) -> None:
    import anyio

    from realdream.mcp import run_stdio

    _say(f"{started}; serving MCP on stdio")
    anyio.run(run_stdio, server)


def _serve_http(server: Server[Any, Any], http: int, started: str) -> None:
    from realdream.mcp import listening_socket, run_http

    try:
        sock = listening_socket(http)
    except OSError as exc:
        raise listen_error(exc, "127.0.0.1", http, "--http") from None
    with sock:
        run_http(server, sock, announce=lambda url: _say(f"{started}; serving MCP at {url}"))


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
