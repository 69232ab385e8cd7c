"""What a tool returns: each image as MCP image content, and one text part an agent can read
(seed, the exact parameters sent, cost, balance, the spend cap, where the files went)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import types

from realdream import SCHEDULERS, GeneratedImage, GenerationResult, ValidationError
from realdream.mcp._schemas import generation_schema
from realdream.mcp._spending import usd

__all__ = ["ToolResult", "image_content", "invalid", "result_content", "text"]


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer: content blocks for the agent, and the same facts as structured data."""

    content: list[types.TextContent | types.ImageContent]
    structured: dict[str, Any] = field(default_factory=dict)


def text(message: str, structured: dict[str, Any] | None = None) -> ToolResult:
    return ToolResult([types.TextContent(type="text", text=message)], structured or {})


def image_content(image: GeneratedImage) -> types.ImageContent:
    """The image as base64 in its own format (JPEG stays JPEG, unre-encoded), with its
    generation parameters embedded as ``realdream generate`` embeds them."""
    data = image.encode(image.extension)
    return types.ImageContent(
        type="image", data=base64.b64encode(data).decode("ascii"), mimeType=image.mime_type
    )


def result_content(
    result: GenerationResult,
    spend: dict[str, Any],
    spend_words: str,
    files: Sequence[Path] = (),
    save_problem: str | None = None,
) -> ToolResult:
    """The images of ``result``, then one text part summing it up."""
    facts = _facts(result, spend, files, save_problem)
    lines = [_headline(result, spend_words)]
    if files:
        lines.append("Saved (parameters embedded): " + ", ".join(str(path) for path in files))
    if save_problem:
        lines.append(f"Not saved: {save_problem}. The images are in this result.")
    if result.request is not None:
        lines.append("Parameters sent: " + json.dumps(result.request.payload, ensure_ascii=False))
    if result.request_id:
        lines.append(f"Request id: {result.request_id}")
    blocks: list[types.TextContent | types.ImageContent] = [
        types.TextContent(type="text", text="\n".join(lines))
    ]
    blocks += [image_content(image) for image in result.images]
    return ToolResult(blocks, facts)


def _headline(result: GenerationResult, spend_words: str) -> str:
    count = len(result.images)
    size = f"{result.images[0].width}x{result.images[0].height}" if result.images else "?"
    parts = [f"{count} image{'s' if count != 1 else ''} ({size})", f"seed {result.seed}"]
    parts.append(f"cost {usd(result.cost)}" if result.cost is not None else "cost unknown")
    if result.remaining_credits is not None:
        parts.append(f"balance {result.remaining_credits:g} credits")
    parts.append(f"{result.elapsed:.2f} s")
    return " · ".join(parts) + f". This server has {spend_words}."


def _facts(
    result: GenerationResult,
    spend: dict[str, Any],
    files: Sequence[Path],
    save_problem: str | None,
) -> dict[str, Any]:
    return {
        "seed": result.seed,
        "images": [
            {"width": image.width, "height": image.height, "mime_type": image.mime_type}
            for image in result.images
        ],
        "parameters": result.request.payload if result.request is not None else None,
        "cost_usd": result.cost,
        "remaining_credits": result.remaining_credits,
        "request_id": result.request_id,
        "elapsed_s": round(result.elapsed, 3),
        "files": [str(path) for path in files],
        "save_problem": save_problem,
        "spend": spend,
    }


def invalid(exc: ValidationError) -> str:
    """A refusal naming each bad field, its value and what is allowed (schedulers listed)."""
    allowed = list(generation_schema()["properties"])
    lines = []
    for field_name, message in exc.errors:
        if field_name == "scheduler":
            names = ", ".join(repr(name) for name in SCHEDULERS)
            message = f"{message} Allowed: {names}."
        elif field_name not in allowed and field_name != "body":
            message = f"{message}; the parameters are: {', '.join(allowed)}"
        lines.append(f"- {message}")
    return "Invalid parameters; nothing was sent or spent:\n" + "\n".join(lines)
