"""What a visitor reads about a run: a summary, each image's exact parameters, the details;
and, on the app's key, what the visitor may still spend (never the owner's balance unless the
owner chose to show it)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

import realdream
from demo._backend import Route
from demo._guard import Allowance
from demo._refusals import duration, format_usd

__all__ = ["NOTHING_SPENT", "Shown", "allowance_line", "caption", "details", "summary"]

NOTHING_SPENT: Final = "offline: nothing spent"


@dataclass(frozen=True)
class Shown:
    """What the facts of a run may show: the balance, and the visitor's allowance."""

    balance: bool = True
    allowance: Allowance | None = None


def caption(image: realdream.GeneratedImage) -> str:
    """The gallery caption of one image."""
    request = image.request
    seed = request.seed if request is not None else "?"
    return f"#{image.index + 1} · seed {seed} · {image.width}×{image.height}"


def summary(
    result: realdream.GenerationResult, route: Route, paths: Sequence[Path], shown: Shown
) -> str:
    """Markdown: one line of facts, then each image's AUTOMATIC1111 parameters."""
    lines = [_facts(result, route, shown), ""]
    if shown.allowance is not None:
        lines += [allowance_line(shown.allowance), ""]
    for image, path in zip(result.images, paths, strict=True):
        lines += [f"**Image {image.index + 1}** · `{path.name}`", _fenced(image.parameters or "")]
    return "\n".join(lines)


def details(
    result: realdream.GenerationResult, route: Route, paths: Sequence[Path], shown: Shown
) -> dict[str, Any]:
    """Everything known about the run, as JSON: the request as sent, timing, cost, credits."""
    data: dict[str, Any] = {
        "backend": route.label,
        "api": route.api,
        "offline": route.offline,
        "elapsed_s": round(result.elapsed, 3),
        "generation_time_s": result.generation_time,
        "cost_usd": 0.0 if route.offline else result.cost,
        "remaining_credits": _balance(result, route, shown),
        "request_id": result.request_id,
        "retries": result.retries,
        "request": result.request.payload if result.request is not None else None,
        "images": [_image(image, path) for image, path in zip(result.images, paths, strict=True)],
    }
    if shown.allowance is not None:
        data["allowance"] = {
            "images_left_this_hour": shown.allowance.images_left,
            "budget_left_today_usd": shown.allowance.budget_left_usd,
        }
    return data


def allowance_line(allowance: Allowance) -> str:
    """What a visitor may still make on the app's key: ``**On this app's key:** ...``."""
    if allowance.signed_in_needed:
        return (
            "**On this app's key:** sign in with Hugging Face (button above) to generate; "
            'or paste your own Segmind key, or tick "Offline mock" for free placeholders.'
        )
    parts = [_images_left(allowance), _budget_left(allowance)]
    return "**On this app's key:** " + " · ".join(parts)


def _images_left(allowance: Allowance) -> str:
    if allowance.images_left is None or allowance.images_per_hour is None:
        return "no hourly limit per visitor"
    text = f"{allowance.images_left} of {allowance.images_per_hour} images left for you this hour"
    if allowance.frees_at is not None:
        text += f" (the next frees up in {duration(allowance.frees_at - allowance.now)})"
    return text


def _budget_left(allowance: Allowance) -> str:
    if allowance.budget_left_usd is None or allowance.budget_usd is None:
        return "no daily budget"
    clock = datetime.fromtimestamp(allowance.resets_at, timezone.utc).strftime("%H:%M")
    return (
        f"{format_usd(allowance.budget_left_usd)} of today's {format_usd(allowance.budget_usd)} "
        f"budget left (resets {clock} UTC)"
    )


def _balance(result: realdream.GenerationResult, route: Route, shown: Shown) -> float | None:
    if route.offline or (route.server_key and not shown.balance):
        return None
    return result.remaining_credits


def _image(image: realdream.GeneratedImage, path: Path) -> dict[str, Any]:
    return {
        "file": path.name,
        "width": image.width,
        "height": image.height,
        "parameters": image.parameters,
    }


def _facts(result: realdream.GenerationResult, route: Route, shown: Shown) -> str:
    count = len(result.images)
    facts = [
        f"**{count} image{'s' if count != 1 else ''}**",
        f"seed `{result.seed}`",
        f"{result.elapsed:.2f} s",
    ]
    if route.offline:
        facts.append(NOTHING_SPENT)
    else:
        if result.cost is not None:
            facts.append(f"cost ${result.cost:.4f}")
        balance = _balance(result, route, shown)
        if balance is not None:
            facts.append(f"{_credits(balance)} credits left")
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
