"""Request validation: :class:`GenerationRequest`, from the bounds in :mod:`realdream.contract`.

The client validates with it before a credit is spent, the mock server validates with it (its
400 message is this module's :class:`~realdream.ValidationError` text), and the demo and CLI
read their bounds from the contract. Every way in (the constructor, :meth:`~GenerationRequest.
create`, ``model_validate``, :meth:`~GenerationRequest.from_json`) raises the same
:class:`~realdream.ValidationError`, naming the field, the value and the rule.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from realdream._errors import ValidationError
from realdream.contract import (
    CONFIRMED_SCHEDULERS,
    DEFAULT_NEGATIVE_PROMPT,
    DEFAULT_SCHEDULER,
    LIMITS,
    PROMPT_MAX_LENGTH,
    RANDOM_SEED,
    SCHEDULERS,
    SIZE_MULTIPLE,
    Limit,
    Scheduler,
)

__all__ = [
    "CONFIRMED_SCHEDULERS",
    "DEFAULT_NEGATIVE_PROMPT",
    "DEFAULT_SCHEDULER",
    "LIMITS",
    "MAX_JSON_DEPTH",
    "PROMPT_MAX_LENGTH",
    "SCHEDULERS",
    "SIZE_MULTIPLE",
    "GenerationRequest",
    "Limit",
    "Scheduler",
    "parse_json_object",
]

#: How deeply a request body may nest (a request is one flat object; deeper is an attack).
MAX_JSON_DEPTH: Final = 32

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


class _OurValidationError(type(BaseModel)):  # type: ignore[misc]
    """Pydantic's metaclass, but calling the class raises realdream's ValidationError.

    (Overriding ``__init__`` would not do: pydantic then routes ``model_validate`` through it.)
    """

    def __call__(cls, *args: Any, **data: Any) -> Any:
        try:
            return super().__call__(*args, **data)
        except pydantic.ValidationError as exc:
            raise _translate(exc, data) from None


class GenerationRequest(BaseModel, metaclass=_OurValidationError):
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
    def model_validate(cls, obj: Any, **kwargs: Any) -> GenerationRequest:
        """Validate ``obj``; raises :class:`~realdream.ValidationError`, as every way in does.

        ``kwargs`` are pydantic's (``strict``, ``context``...), all keyword-only.
        """
        try:
            return super().model_validate(obj, **kwargs)
        except pydantic.ValidationError as exc:
            raise _translate(exc, obj if isinstance(obj, Mapping) else {}) from None

    @classmethod
    def model_validate_json(
        cls, json_data: str | bytes | bytearray, *args: Any, **kwargs: Any
    ) -> GenerationRequest:
        """Validate a JSON document (see :meth:`from_json`, which also refuses duplicate keys)."""
        return cls.from_json(bytes(json_data) if isinstance(json_data, bytearray) else json_data)

    @classmethod
    def create(cls, data: Mapping[str, Any] | None = None, /, **params: Any) -> GenerationRequest:
        """Validate ``data`` and ``params`` (merged) into a request.

        Raises :class:`~realdream.ValidationError` naming every bad field, its value and what
        is allowed.
        """
        return cls.model_validate({**(data or {}), **params})

    @classmethod
    def from_json(
        cls, body: bytes | str, defaults: Mapping[str, Any] | None = None
    ) -> GenerationRequest:
        """Validate a raw JSON body (its keys over ``defaults``), as the mock server receives it.

        The body must be one JSON object without duplicate keys; anything else is a
        :class:`~realdream.ValidationError` on ``body`` (or on the duplicated field).
        """
        return cls.create(defaults or {}, **parse_json_object(body))

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


def parse_json_object(text: bytes | str) -> dict[str, Any]:
    """One JSON object, strictly: no duplicate keys, no deep nesting, no giant numbers.

    Raises :class:`~realdream.ValidationError` on ``body`` (or on a duplicated field) with a
    one-line reason; it never lets a ``RecursionError`` or a number-conversion error escape.
    """
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_int=_parse_int)
    except _DuplicateKeyError as exc:
        field = exc.args[0]
        message = f"{field}: is given twice; give each parameter once"
        raise ValidationError([(field, message)]) from None
    except RecursionError:
        raise _body_error(f"nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise _body_error(f"is not valid JSON ({_first_line(exc)})") from None
    if not isinstance(data, dict):
        raise _body_error(f"must be a JSON object, not {_json_kind(data)}")
    if _depth(data) > MAX_JSON_DEPTH:
        raise _body_error(f"nests deeper than {MAX_JSON_DEPTH} levels")
    return data


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _DuplicateKeyError(key)
        data[key] = value
    return data


#: Digits a JSON integer may have: far beyond any bound, far below Python's conversion limit.
_MAX_INT_DIGITS: Final = 64


def _parse_int(text: str) -> int:
    """An integer; one too long for any bound is clamped (and still refused by its bound)."""
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        huge: int = 10**_MAX_INT_DIGITS
        return -huge if text.startswith("-") else huge
    return int(text)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _body_error(reason: str) -> ValidationError:
    return ValidationError([("body", f"body: {reason}")])


def _json_kind(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _translate(exc: pydantic.ValidationError, data: Mapping[str, Any]) -> ValidationError:
    """Turn pydantic's errors into one message per field: name, value, what is allowed."""
    seen: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "body"
        if field not in seen:
            value = data.get(field, error.get("input"))
            seen[field] = _describe(field, error["type"], value, whole=not error["loc"])
    order = {name: index for index, name in enumerate(_FIELD_NAMES)}
    ordered = sorted(seen.items(), key=lambda item: order.get(item[0], len(order)))
    return ValidationError(ordered)


def _describe(field: str, error_type: str, value: Any, *, whole: bool) -> str:
    if whole:  # the input itself is not a mapping
        kind = type(value).__name__
        return f"body={_show(value)}: must be a mapping of parameter names to values, not {kind}"
    if error_type == "missing":
        return f"{field}: is required"
    if error_type == "invalid_key":
        return f"{_show(value)}: is not a parameter (parameter names are strings)"
    if error_type == "extra_forbidden":
        return f"{field}={_show(value)}: is not a parameter{_suggest_parameter(field)}"
    return f"{field}={_show(value)}: {_allowed(field, value)}"


def _allowed(field: str, value: Any) -> str:
    if field in ("prompt", "negative_prompt"):
        return _allowed_text(value)
    if field == "scheduler":
        names = f"one of the {len(SCHEDULERS)} scheduler names (see realdream.SCHEDULERS)"
        hint = _suggest(value, SCHEDULERS) if isinstance(value, str) else ""
        return f"must be {names}{hint}"
    if field == "base64":
        return "must be true or false"
    return _allowed_number(field, value)


def _allowed_text(value: Any) -> str:
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
    if isinstance(value, float) and not is_float and not value.is_integer():
        return f"must be {kind}, {rule}, not float"  # 5.0 is an integer, as in JSON Schema
    return f"must be {rule}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _suggest_parameter(name: str) -> str:
    """The parameter ``name`` is (in other case), or that has it as a word (``steps``:
    ``num_inference_steps``), else the closest spellings."""
    lowered = name.lower()
    named = [f for f in _FIELD_NAMES if f == lowered] or [
        f for f in _FIELD_NAMES if lowered in f.split("_")
    ]
    return _did_you_mean(named) if named else _suggest(name, _FIELD_NAMES)


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    import difflib  # only a bad name needs it

    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return _did_you_mean(close)


def _did_you_mean(names: list[str]) -> str:
    return f"; did you mean {' or '.join(repr(n) for n in names)}?" if names else ""


def _show(value: Any, limit: int = 60) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"<an integer of more than {_MAX_INT_DIGITS // 2} digits>"
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # e.g. a deeply nested value
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"
