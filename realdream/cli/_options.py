"""Command-line options for the request parameters, described from the core's own data.

Every bound, default and scheduler name in the help text is read from :data:`realdream.LIMITS`,
:data:`realdream.SCHEDULERS` and the :class:`realdream.GenerationRequest` model; nothing is
declared here. Options default to ``None`` ("not given") so validation stays the core's:
:meth:`GenerationRequest.create` names the field, the value and the rule.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from realdream import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_NEGATIVE_PROMPT,
    DEFAULT_SCHEDULER,
    LIMITS,
    SCHEDULERS,
    GenerationRequest,
)

__all__ = [
    "PARAMETER_FIELDS",
    "ImageFormat",
    "parameter_help",
    "request_params",
]

_PANEL = "Generation parameters"
_CONNECTION = "Connection"

#: The request fields that have an option (every field but the prompt, which is positional).
PARAMETER_FIELDS = tuple(name for name in GenerationRequest.model_fields if name != "prompt")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def parameter_help(name: str) -> str:
    """Help for the option of request field ``name``: description, range, default."""
    description = GenerationRequest.model_fields[name].description or name
    if name in LIMITS:
        lim = LIMITS[name]
        is_int = GenerationRequest.model_fields[name].annotation is int
        step = f", a multiple of {_number(lim.step)}" if is_int and lim.step != 1 else ""
        span = f"{_number(lim.minimum)} to {_number(lim.maximum)}{step}"
        return f"{description} {span}; default {_number(lim.default)}."
    if name == "scheduler":
        return (
            f"{description} Default {DEFAULT_SCHEDULER!r}; `realdream schedulers` lists "
            f"the {len(SCHEDULERS)} names."
        )
    if name == "negative_prompt":
        return f"{description} Default: {DEFAULT_NEGATIVE_PROMPT!r}."
    return f"{description} The client decodes either answer; rarely needed."


def request_params(**values: Any) -> dict[str, Any]:
    """The parameters the user gave (options left at ``None`` take the core's defaults)."""
    unknown = set(values) - set(PARAMETER_FIELDS)
    if unknown:  # pragma: no cover - a programming error, caught by the option table test
        raise TypeError(f"not request fields: {sorted(unknown)}")
    return {name: value for name, value in values.items() if value is not None}


class ImageFormat(str, Enum):
    """The file format images are written in (parameters embedded either way)."""

    png = "png"
    jpg = "jpg"

    @property
    def suffix(self) -> str:
        return f".{self.value}"


def _option(name: str, *aliases: str) -> Any:
    flag = "--" + name.replace("_", "-")
    return typer.Option(
        flag, *aliases, help=parameter_help(name), show_default=False, rich_help_panel=_PANEL
    )


# Annotated option types shared by `generate` and `batch`: declared once, used twice.
NegativePrompt = Annotated[str | None, _option("negative_prompt", "--neg")]
Samples = Annotated[int | None, _option("samples", "-n")]
Scheduler = Annotated[str | None, _option("scheduler", "-s")]
Steps = Annotated[int | None, _option("num_inference_steps", "--steps")]
Guidance = Annotated[float | None, _option("guidance_scale", "--cfg")]
Seed = Annotated[int | None, _option("seed")]
Width = Annotated[int | None, _option("img_width", "--width", "-W")]
Height = Annotated[int | None, _option("img_height", "--height", "-H")]
Base64 = Annotated[
    bool | None,
    typer.Option(
        "--base64/--no-base64",
        help=parameter_help("base64"),
        show_default=False,
        rich_help_panel=_PANEL,
    ),
]

Format = Annotated[
    ImageFormat,
    typer.Option(
        "--format",
        "-f",
        help=(
            "File format, parameters embedded in both. jpg keeps the JPEG the API sends as is "
            "(no re-encoding); png re-encodes it losslessly, in a larger file."
        ),
    ),
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        help=f"API base URL (default: ${BASE_URL_ENV}, else Segmind's).",
        show_default=False,
        rich_help_panel=_CONNECTION,
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        help=f"API key (default: ${API_KEY_ENV}). Never printed.",
        show_default=False,
        rich_help_panel=_CONNECTION,
    ),
]
OutDir = Annotated[Path, typer.Option("--out", "-o", help="Directory for the images.")]
