"""realdream.mcp: RealDream Lightning as tools for agents, over the Model Context Protocol.

``realdream mcp`` runs it (stdio, or ``--http PORT`` on loopback); programs build their own:

>>> import anyio, realdream                                           # doctest: +SKIP
>>> from realdream import mcp
>>> key = "SG_..."                                                     # the user's key
>>> client = realdream.AsyncClient(key)
>>> tools = mcp.ImageTools(client, mcp.SpendCap(realdream.Budget(0.05), log=mcp.log_to_stderr))
>>> anyio.run(mcp.run_stdio, mcp.build_server(tools, secrets=[key]))

The tools: ``generate_image``, ``submit_image_job`` / ``get_image_job`` (the v2 queue),
``get_credits`` and ``estimate_cost``. Their input schemas are the contract's; every paid call
is reserved against one :class:`realdream.Budget` and settled with what it cost.

The names that need the ``mcp`` SDK (the ``mcp`` extra) load on first use, so the command
line's help and these constants need only the core.
"""

from __future__ import annotations

import typing as _typing

from realdream.mcp._errors import ToolError
from realdream.mcp._schemas import (
    ESTIMATE_COST,
    GENERATE_IMAGE,
    GET_CREDITS,
    GET_IMAGE_JOB,
    SUBMIT_IMAGE_JOB,
    TOOL_NAMES,
    ToolSpec,
    generation_schema,
    parameter_descriptions,
    tool_specs,
)
from realdream.mcp._spending import DEFAULT_MAX_COST, SpendCap, log_to_stderr

#: Names whose modules import the ``mcp`` SDK.
_LAZY = {
    **dict.fromkeys(("ToolResult",), "realdream.mcp._content"),
    **dict.fromkeys(("ImageTools", "Saver"), "realdream.mcp._tools"),
    **dict.fromkeys(
        (
            "HTTP_PATH",
            "LOOPBACK",
            "SERVER_NAME",
            "build_server",
            "http_app",
            "listening_socket",
            "redact",
            "run_http",
            "run_stdio",
        ),
        "realdream.mcp._server",
    ),
}

if _typing.TYPE_CHECKING:
    from realdream.mcp._content import ToolResult
    from realdream.mcp._server import (
        HTTP_PATH,
        LOOPBACK,
        SERVER_NAME,
        build_server,
        http_app,
        listening_socket,
        redact,
        run_http,
        run_stdio,
    )
    from realdream.mcp._tools import ImageTools, Saver
else:

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'realdream.mcp' has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(module), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_LAZY})


__all__ = [
    "DEFAULT_MAX_COST",
    "ESTIMATE_COST",
    "GENERATE_IMAGE",
    "GET_CREDITS",
    "GET_IMAGE_JOB",
    "HTTP_PATH",
    "LOOPBACK",
    "SERVER_NAME",
    "SUBMIT_IMAGE_JOB",
    "TOOL_NAMES",
    "ImageTools",
    "Saver",
    "SpendCap",
    "ToolError",
    "ToolResult",
    "ToolSpec",
    "build_server",
    "generation_schema",
    "http_app",
    "listening_socket",
    "log_to_stderr",
    "parameter_descriptions",
    "redact",
    "run_http",
    "run_stdio",
    "tool_specs",
]
