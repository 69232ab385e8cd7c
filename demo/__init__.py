"""The Gradio demo for RealDream Lightning: ``build_demo()`` and ``main()``.

``python app.py`` serves it on http://127.0.0.1:7860. With ``SEGMIND_API_KEY`` (or a key typed
into the page) it calls the real API; without, the offline mock in the same process.
"""

from __future__ import annotations

import importlib
import typing

if typing.TYPE_CHECKING:
    from demo._app import main, parse_args
    from demo._backend import (
        API_ENV,
        DEFAULT_MOCK_LATENCY_S,
        MOCK_ENV,
        MOCK_LATENCY_ENV,
        Backend,
        Mode,
        Route,
    )
    from demo._errors import readable, to_gr_error
    from demo._guard import Guard
    from demo._handlers import GenerateOutput, Handlers, build_request
    from demo._mcp import MCP_ENV, enable_mcp
    from demo._presets import EXAMPLES, SIZE_PRESETS
    from demo._refusals import Limit, RefusedError
    from demo._settings import GuardSettings
    from demo._ui import GENERATE_INPUTS, GENERATE_OUTPUTS, build_demo, launch_options
    from demo._visitor import AddressRule, Visitor

#: Where each public name lives. Loaded on first use (PEP 562), so that ``python -m demo.deploy``
#: and the guard's modules start without Gradio, whose import takes seconds.
_HOMES: dict[str, str] = {
    "API_ENV": "demo._backend",
    "AddressRule": "demo._visitor",
    "Backend": "demo._backend",
    "DEFAULT_MOCK_LATENCY_S": "demo._backend",
    "EXAMPLES": "demo._presets",
    "GENERATE_INPUTS": "demo._ui",
    "GENERATE_OUTPUTS": "demo._ui",
    "GenerateOutput": "demo._handlers",
    "Guard": "demo._guard",
    "GuardSettings": "demo._settings",
    "Handlers": "demo._handlers",
    "Limit": "demo._refusals",
    "MCP_ENV": "demo._mcp",
    "MOCK_ENV": "demo._backend",
    "MOCK_LATENCY_ENV": "demo._backend",
    "Mode": "demo._backend",
    "RefusedError": "demo._refusals",
    "Route": "demo._backend",
    "SIZE_PRESETS": "demo._presets",
    "Visitor": "demo._visitor",
    "build_demo": "demo._ui",
    "build_request": "demo._handlers",
    "enable_mcp": "demo._mcp",
    "launch_options": "demo._ui",
    "main": "demo._app",
    "parse_args": "demo._app",
    "readable": "demo._errors",
    "to_gr_error": "demo._errors",
}


if not typing.TYPE_CHECKING:  # for a type checker, the imports above are the names

    def __getattr__(name: str) -> object:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'demo' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(__all__)


__all__ = [
    "API_ENV",
    "DEFAULT_MOCK_LATENCY_S",
    "EXAMPLES",
    "GENERATE_INPUTS",
    "GENERATE_OUTPUTS",
    "MCP_ENV",
    "MOCK_ENV",
    "MOCK_LATENCY_ENV",
    "SIZE_PRESETS",
    "AddressRule",
    "Backend",
    "GenerateOutput",
    "Guard",
    "GuardSettings",
    "Handlers",
    "Limit",
    "Mode",
    "RefusedError",
    "Route",
    "Visitor",
    "build_demo",
    "build_request",
    "enable_mcp",
    "launch_options",
    "main",
    "parse_args",
    "readable",
    "to_gr_error",
]
