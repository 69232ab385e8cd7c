"""What a visitor reads about a run: a summary, each image's exact parameters, the details."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import realdream
from demo._backend import Route

__all__ = ["caption", "details", "summary"]


def caption(image: realdream.GeneratedImage) -> str:
    """The gallery caption of one image."""
    request = image.request
    seed = request.seed if request is not None else "?"
    return f"#{image.index + 1} · seed {seed} · {image.width}×{image.height}"


def summary(result: realdream.GenerationResult, route: Route, paths: Sequence[Path]) -> str:
    """Markdown: one line of facts, then each image's AUTOMATIC1111 parameters."""
    lines = [_facts(result, route), ""]
    for image, path in zip(result.images, paths, strict=True):
        lines += [f"**Image {image.index + 1}** · `{path.name}`", _fenced(image.parameters or "")]
    return "\n".join(lines)


def details(
    result: realdream.GenerationResult, route: Route, paths: Sequence[Path]
) -> dict[str, Any]:
    """Everything known about the run, as JSON: the request as sent, timing, cost, credits."""
    return {
        "backend": route.label,
        "offline": route.offline,
        "elapsed_s": round(result.elapsed, 3),
        "generation_time_s": result.generation_time,
        "cost_usd": result.cost,
        "remaining_credits": result.remaining_credits,
        "request_id": result.request_id,
        "retries": result.retries,
        "request": result.request.payload if result.request is not None else None,
        "images": [_image(image, path) for image, path in zip(result.images, paths, strict=True)],
    }


def _image(image: realdream.GeneratedImage, path: Path) -> dict[str, Any]:
    return {
        "file": path.name,
        "width": image.width,
        "height": image.height,
        "parameters": image.parameters,
    }


def _facts(result: realdream.GenerationResult, route: Route) -> str:
    count = len(result.images)
    facts = [
        f"**{count} image{'s' if count != 1 else ''}**",
        f"seed `{result.seed}`",
        f"{result.elapsed:.2f} s",
    ]
    if result.cost is not None:
        facts.append(f"cost ${result.cost:.4f}")
    if result.remaining_credits is not None:
        facts.append(f"{_credits(result.remaining_credits)} credits left")
    facts.append(route.label)
    return " · ".join(facts)


def _fenced(text: str) -> str:
    """``text`` in a code fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _credits(value: float) -> str:
    """``9.998``, ``1,000,000``: thousands separated, no float noise, no exponent."""
    return f"{value:,.4f}".rstrip("0").rstrip(".")
