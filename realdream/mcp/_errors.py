"""The one error a tool raises on purpose: its message is what the agent reads."""

from __future__ import annotations

__all__ = ["ToolError"]


class ToolError(Exception):
    """A call the tool refused or could not complete; ``str(exc)`` says what happened, what
    was spent (usually nothing) and what to do next. It becomes an MCP tool error."""
