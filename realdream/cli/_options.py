"""The options `generate` and `batch` share, declared once: request parameters, the API path
(`--api`), pacing (`--rpm`) and the connection.

Every bound, default and scheduler name in the help text is read from :data:`realdream.LIMITS`,
:data:`realdream.SCHEDULERS` and the :class:`realdream.GenerationRequest` model; nothing is
declared here. Parameter options default to ``None`` ("not given") so validation stays the
core's: :meth:`GenerationRequest.create` names the field, the value and the rule.

:func:`shared_options` adds the whole set to a command and hands the command one
:class:`SharedOptions` value in their place, so the two commands cannot drift apart.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Final

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
    "SHARED_OPTION_NAMES",
    "ApiKey",
    "ApiPath",
    "BaseUrl",
    "Format",
    "ImageFormat",
    "Rpm",
    "SharedOptions",
    "parameter_help",
    "shared_options",
]

#: The request fields that have an option (every field but the prompt, which is positional).
PARAMETER_FIELDS: Final = tuple(name for name in GenerationRequest.model_fields if name != "prompt")

#: Shorter spellings of the parameter options (the long one is always the field's name).
_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "negative_prompt": ("--neg",),
    "samples": ("-n",),
    "scheduler": ("-s",),
    "num_inference_steps": ("--steps",),
    "guidance_scale": ("--cfg",),
    "img_width": ("--width", "-W"),
    "img_height": ("--height", "-H"),
}


class ImageFormat(str, Enum):
    """The file format images are written in (parameters embedded either way)."""

    png = "png"
    jpg = "jpg"

    @property
    def suffix(self) -> str:
        return f".{self.value}"


class ApiPath(str, Enum):
    """Which API a command uses: v1 (one blocking call) or v2 (a job in the queue)."""

    v1 = "v1"
    v2 = "v2"


#: ``--base-url``, ``--api-key`` and ``--rpm``, as every command that talks to the API takes them.
BaseUrl = Annotated[
    str | None,
    typer.Option(
        help=f"API base URL (default: ${BASE_URL_ENV}, else Segmind's).", show_default=False
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option(help=f"API key (default: ${API_KEY_ENV}). Never printed.", show_default=False),
]


def _positive_rate(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value:g}: must be a number of requests a minute > 0")
    return value


Rpm = Annotated[
    float | None,
    typer.Option(
        "--rpm",
        callback=_positive_rate,
        help="Send at most this many requests a minute, status polls included "
        "(5 on a free account, 50 on a pro one; default: no pacing).",
        show_default=False,
    ),
]
_API_HELP: Final = (
    "v1 holds one call until the image is ready; v2 queues a job and polls it (a batch "
    "records each job's id, so a rerun collects it instead of paying again)."
)


@dataclass(frozen=True)
class SharedOptions:
    """What the shared options said: the parameters given, the file format, the API path,
    the pacing and the connection."""

    params: dict[str, Any]
    image_format: ImageFormat
    base_url: str | None
    api_key: str | None
    retries: int
    api: ApiPath = ApiPath.v1
    rpm: float | None = None


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


def _parameter_annotation(name: str) -> Any:
    if name == "base64":
        option = typer.Option("--base64/--no-base64", help=parameter_help(name), show_default=False)
        return Annotated[bool | None, option]
    flag = "--" + name.replace("_", "-")
    option = typer.Option(
        flag, *_ALIASES.get(name, ()), help=parameter_help(name), show_default=False
    )
    # The option reads a plain number or text; the core validates it (and names the field).
    annotation = GenerationRequest.model_fields[name].annotation
    field_type = annotation if annotation in (int, float) else str
    return Annotated[field_type | None, option]


_FORMAT_HELP: Final = (
    "File format, parameters embedded in both. jpg keeps the JPEG the API sends as is "
    "(no re-encoding); png re-encodes it losslessly, in a larger file."
)


Format = Annotated[ImageFormat, typer.Option("--format", "-f", help=_FORMAT_HELP)]


def _shared_parameters(retries: int, retries_help: str) -> list[inspect.Parameter]:
    """The shared options as function parameters, in the order help lists them."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    table: list[tuple[str, Any, Any]] = [
        (name, _parameter_annotation(name), None) for name in PARAMETER_FIELDS
    ]
    table += [
        ("image_format", Format, ImageFormat.jpg),
        ("api", Annotated[ApiPath, typer.Option("--api", help=_API_HELP)], ApiPath.v1),
        (
            "retries",
            Annotated[int, typer.Option("--retries", min=0, help=retries_help)],
            retries,
        ),
        ("rpm", Rpm, None),
        ("base_url", BaseUrl, None),
        ("api_key", ApiKey, None),
    ]
    return [inspect.Parameter(name, keyword, annotation=a, default=d) for name, a, d in table]


#: The parameter names :func:`shared_options` adds to a command.
SHARED_OPTION_NAMES: Final = tuple(p.name for p in _shared_parameters(0, ""))

_Command = Callable[..., None]


def shared_options(*, retries: int, retries_help: str) -> Callable[[_Command], _Command]:
    """Add the shared options to a typer command whose last parameter is
    ``options: SharedOptions``; the command receives them gathered in that one value.

    ``retries`` is the command's default for ``--retries`` (a batch retries more: its 429s
    slow every worker at once).
    """
    shared = _shared_parameters(retries, retries_help)

    def decorate(command: _Command) -> _Command:
        # not typing.get_type_hints: before Python 3.11 it wraps ``Annotated[X | None, Option]
        # = None`` in Optional, which hides the Option (and its callback) from typer
        hints = inspect.get_annotations(command, eval_str=True)
        own = [
            p.replace(annotation=hints[p.name])
            for p in inspect.signature(command).parameters.values()
            if p.name != "options"
        ]
        parameters = own + shared

        @functools.wraps(command)
        def wrapper(**values: Any) -> None:
            given = {name: values.pop(name) for name in SHARED_OPTION_NAMES}
            command(**values, options=_gather(given))

        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
        return wrapper

    return decorate


def _gather(given: dict[str, Any]) -> SharedOptions:
    params = {name: given[name] for name in PARAMETER_FIELDS if given[name] is not None}
    return SharedOptions(
        params=params,
        image_format=given["image_format"],
        base_url=given["base_url"],
        api_key=given["api_key"],
        retries=given["retries"],
        api=given["api"],
        rpm=given["rpm"],
    )
