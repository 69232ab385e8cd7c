"""The Gradio demo for RealDream Lightning: ``build_demo()`` and ``main()``.

``python app.py`` serves it on http://127.0.0.1:7860. With ``SEGMIND_API_KEY`` (or a key typed
into the page) it calls the real API; without, the offline mock in the same process.
"""

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
