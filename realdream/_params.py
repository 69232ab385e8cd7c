"""The request contract: parameter names, bounds, defaults, scheduler names, validation.

:class:`GenerationRequest` is the single source of truth. The client validates with it before
a credit is spent, the mock server validates with it (its 400 message is this module's
:class:`~realdream.ValidationError` text), and the demo and CLI read their bounds from it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final, Literal, NamedTuple, get_args

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from realdream._errors import ValidationError

__all__ = [
    "CONFIRMED_SCHEDULERS",
    "DEFAULT_NEGATIVE_PROMPT",
    "DEFAULT_SCHEDULER",
    "LIMITS",
    "PROMPT_MAX_LENGTH",
    "SCHEDULERS",
    "SIZE_MULTIPLE",
    "GenerationRequest",
    "Limit",
    "Scheduler",
]

#: Every scheduler name we accept: the AUTOMATIC1111 sampler list (see the README's
#: "Contract notes"; the vendor's page lists 11 of its "29" and names them in this style).
Scheduler = Literal[
    "DPM++ SDE",
    "DPM++ SDE Karras",
    "DPM++ 2M Karras",
    "DPM++ 2M SDE Karras",
    "DPM++ 2M SDE Heun Karras",
    "DPM++ 3M SDE Karras",
    "LMS Karras",
    "DPM2 Karras",
    "DPM2 a Karras",
    "DPM++ 2S a Karras",
    "DPM++ 2M SDE Exponential",
    "DPM++ 2M SDE Heun Exponential",
    "DPM++ 3M SDE Exponential",
    "Euler a",
    "Euler",
    "LMS",
    "Heun",
    "DPM2",
    "DPM2 a",
    "DPM++ 2S a",
    "DPM++ 2M",
    "DPM++ 2M SDE",
    "DPM++ 2M SDE Heun",
    "DPM++ 3M SDE",
    "DPM fast",
    "DPM adaptive",
    "Restart",
    "DDIM",
    "PLMS",
    "UniPC",
]
SCHEDULERS: Final[tuple[Scheduler, ...]] = get_args(Scheduler)
#: The names the vendor's page shows (VERIFIED); the rest are our inference (CHOSEN).
CONFIRMED_SCHEDULERS: Final[frozenset[Scheduler]] = frozenset(SCHEDULERS[:11])
DEFAULT_SCHEDULER: Final[Scheduler] = "DPM++ SDE"

DEFAULT_NEGATIVE_PROMPT: Final = (
    "blemishes,(worst quality, low quality, illustration, 3d, 2d, painting, cartoons, sketch),"
    " open mouth"
)
#: CHOSEN: the vendor documents no limit; SDXL reads ~77 tokens, so longer is already waste.
PROMPT_MAX_LENGTH: Final = 2000
#: CHOSEN: the page says "can only be 1024", its own sample sends 768x1152.
SIZE_MULTIPLE: Final = 8


class Limit(NamedTuple):
    """The allowed range and default of a numeric parameter."""

    minimum: float
    maximum: float
    default: float
    step: float = 1


#: Bounds and defaults, written once; everything else (model, UI, mock) reads them here.
LIMITS: Final[Mapping[str, Limit]] = {
    "samples": Limit(1, 4, 1),
    "num_inference_steps": Limit(1, 100, 8),
    "guidance_scale": Limit(1.0, 25.0, 1.2, 0.1),
    "seed": Limit(-1, 999_999_999_999_999, -1),
    "img_width": Limit(256, 2048, 1024, SIZE_MULTIPLE),
    "img_height": Limit(256, 2048, 1024, SIZE_MULTIPLE),
}
RANDOM_SEED: Final = -1
_INT_FIELDS: Final = ("samples", "num_inference_steps", "seed", "img_width", "img_height")

# "Blank" means every character is whitespace by Python's str.isspace(). The class lists those
# characters literally so JSON Schema tools, pydantic's regex engine and Python all agree.
_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_NOT_BLANK_PATTERN = f"[^{_WHITESPACE}]"


def _int_field(name: str, description: str) -> Any:
    lim = LIMITS[name]
    multiple = int(lim.step) if lim.step != 1 else None
    return Field(
        default=int(lim.default),
        ge=int(lim.minimum),
        le=int(lim.maximum),
        multiple_of=multiple,
        description=description,
    )


class GenerationRequest(BaseModel):
    """One call to RealDream Lightning, validated. Immutable; build it with :meth:`create`.

    ``model_dump()`` (or :attr:`payload`) is exactly the JSON body the API takes.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        allow_inf_nan=False,
        title="GenerationRequest",
    )

    prompt: str = Field(
        min_length=1,
        max_length=PROMPT_MAX_LENGTH,
        pattern=_NOT_BLANK_PATTERN,
        description="Prompt to render.",
    )
    negative_prompt: str = Field(
        default=DEFAULT_NEGATIVE_PROMPT,
        max_length=PROMPT_MAX_LENGTH,
        description="What the image should not show.",
    )
    samples: int = _int_field("samples", "Number of images to generate.")
    scheduler: Scheduler = Field(default=DEFAULT_SCHEDULER, description="Type of scheduler.")
    num_inference_steps: int = _int_field("num_inference_steps", "Number of denoising steps.")
    guidance_scale: float = Field(
        default=LIMITS["guidance_scale"].default,
        ge=LIMITS["guidance_scale"].minimum,
        le=LIMITS["guidance_scale"].maximum,
        description="Scale for classifier-free guidance.",
    )
    seed: int = _int_field("seed", "Seed for image generation; -1 picks a random seed.")
    img_width: int = _int_field("img_width", "Image width in pixels.")
    img_height: int = _int_field("img_height", "Image height in pixels.")
    base64: bool = Field(default=False, description="Return base64 JSON instead of image bytes.")

    @field_validator(*_INT_FIELDS, mode="before")
    @classmethod
    def _whole_floats_are_integers(cls, value: Any) -> Any:
        """JSON Schema counts ``2.0`` as an integer, so the API must too; ``2.5`` stays wrong."""
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @classmethod
    def create(cls, data: Mapping[str, Any] | None = None, /, **params: Any) -> GenerationRequest:
        """Validate ``data`` and ``params`` (merged) into a request.

        Raises :class:`~realdream.ValidationError` naming every bad field, its value and what
        is allowed.
        """
        merged = {**(data or {}), **params}
        try:
            return cls.model_validate(merged)
        except pydantic.ValidationError as exc:
            raise _translate(exc, merged) from None

    @classmethod
    def from_json(cls, body: bytes | str) -> GenerationRequest:
        """Validate a raw JSON body, as the mock server receives it."""
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ValidationError([("body", f"body: is not valid JSON ({exc})")]) from None
        if not isinstance(data, dict):
            kind = type(data).__name__
            raise ValidationError([("body", f"body: must be a JSON object, not {kind}")])
        return cls.create(data)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON schema of the request body (published by the mock server)."""
        return cls.model_json_schema()

    @property
    def payload(self) -> dict[str, Any]:
        """The exact JSON body the API takes."""
        return self.model_dump()

    @property
    def is_random_seed(self) -> bool:
        return self.seed == RANDOM_SEED

    def with_resolved_seed(self) -> GenerationRequest:
        """This request with ``seed=-1`` replaced by a concrete random seed."""
        if not self.is_random_seed:
            return self
        import secrets  # here, not at import: it loads hashlib and hmac (~6 ms)

        seed = secrets.randbelow(int(LIMITS["seed"].maximum) + 1)
        return self.model_copy(update={"seed": seed})

    def as_sent(self) -> GenerationRequest:
        """Exactly what the client sends for this request: the seed resolved, and the JSON
        form asked for when several samples must come back (one binary body holds one image).
        """
        sent = self.with_resolved_seed()
        if sent.samples > 1 and not sent.base64:
            sent = sent.model_copy(update={"base64": True})
        return sent

    def to_json(self) -> bytes:
        """The JSON body, compact, UTF-8 (serialized by pydantic's core: 5x faster than json)."""
        return self.model_dump_json().encode()

    def replace(self, **changes: Any) -> GenerationRequest:
        """A validated copy with ``changes`` applied."""
        return self.create(self.payload, **changes)


_FIELD_NAMES: Final = tuple(GenerationRequest.model_fields)


def _translate(exc: pydantic.ValidationError, data: Mapping[str, Any]) -> ValidationError:
    """Turn pydantic's errors into one message per field: name, value, what is allowed."""
    seen: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "body"
        if field not in seen:
            seen[field] = _describe(field, error["type"], data.get(field, error.get("input")))
    order = {name: index for index, name in enumerate(_FIELD_NAMES)}
    ordered = sorted(seen.items(), key=lambda item: order.get(item[0], len(order)))
    return ValidationError(ordered)


def _describe(field: str, error_type: str, value: Any) -> str:
    if error_type == "missing":
        return f"{field}: is required"
    if error_type == "extra_forbidden":
        return f"{field}={_show(value)}: is not a parameter{_suggest(field, _FIELD_NAMES)}"
    return f"{field}={_show(value)}: {_allowed(field, value)}"


def _allowed(field: str, value: Any) -> str:
    if field in ("prompt", "negative_prompt"):
        return _allowed_text(field, value)
    if field == "scheduler":
        names = f"one of the {len(SCHEDULERS)} scheduler names (see realdream.SCHEDULERS)"
        hint = _suggest(value, SCHEDULERS) if isinstance(value, str) else ""
        return f"must be {names}{hint}"
    if field == "base64":
        return "must be true or false"
    return _allowed_number(field, value)


def _allowed_text(field: str, value: Any) -> str:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > PROMPT_MAX_LENGTH:
        return f"must be at most {PROMPT_MAX_LENGTH} characters (got {len(value)})"
    return "must not be blank"


def _allowed_number(field: str, value: Any) -> str:
    lim = LIMITS[field]
    is_float = field == "guidance_scale"
    rule = f"between {_num(lim.minimum)} and {_num(lim.maximum)}"
    if lim.step != 1 and not is_float:
        rule = f"a multiple of {_num(lim.step)} {rule}"
    kind = "a number" if is_float else "an integer"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"must be {kind}, {rule}, not {type(value).__name__}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number {rule}"
    if isinstance(value, float) and not is_float:
        return f"must be {kind}, {rule}, not float"
    return f"must be {rule}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    import difflib  # only a bad name needs it

    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
