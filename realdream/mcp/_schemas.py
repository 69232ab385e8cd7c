"""The tools an agent sees: their names, descriptions and input schemas, from the contract.

Every bound, default and scheduler name comes from :class:`realdream.GenerationRequest`'s JSON
schema (itself built from :data:`realdream.LIMITS`), with each parameter's description spelled
out for an agent: what it does, its range, its default, what it costs. Nothing is declared twice.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Final

from realdream import (
    CONFIRMED_SCHEDULERS,
    DEFAULT_SCHEDULER,
    LIMITS,
    PROMPT_MAX_LENGTH,
    SCHEDULERS,
    GenerationRequest,
    contract,
)

__all__ = [
    "ESTIMATE_COST",
    "GENERATE_IMAGE",
    "GET_CREDITS",
    "GET_IMAGE_JOB",
    "REQUEST_ID_MAX_LENGTH",
    "SUBMIT_IMAGE_JOB",
    "TOOL_NAMES",
    "ToolSpec",
    "generation_schema",
    "parameter_descriptions",
    "tool_specs",
]

GENERATE_IMAGE: Final = "generate_image"
SUBMIT_IMAGE_JOB: Final = "submit_image_job"
GET_IMAGE_JOB: Final = "get_image_job"
GET_CREDITS: Final = "get_credits"
ESTIMATE_COST: Final = "estimate_cost"
TOOL_NAMES: Final = (GENERATE_IMAGE, SUBMIT_IMAGE_JOB, GET_IMAGE_JOB, GET_CREDITS, ESTIMATE_COST)
#: The longest job id accepted (the client refuses anything that is not an id's shape).
REQUEST_ID_MAX_LENGTH: Final = 128

#: ``base64`` is how the API sends images; the tools always return them as image content.
_HIDDEN: Final = frozenset({"base64"})
_PRICE: Final = f"${contract.COST_PER_IMAGE_USD:g}"


def _range(name: str) -> str:
    lim = LIMITS[name]
    low, high = _num(lim.minimum), _num(lim.maximum)
    if name == "guidance_scale":
        return f"{low} to {high}"
    if lim.step != 1:
        return f"a multiple of {_num(lim.step)} from {low} to {high}"
    return f"{low} to {high}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def parameter_descriptions() -> dict[str, str]:
    """One sentence or two per parameter: what it does, its range and default."""
    confirmed = ", ".join(repr(name) for name in SCHEDULERS if name in CONFIRMED_SCHEDULERS)
    lim = LIMITS
    return {
        "prompt": (
            f"What the image should show, in words (1 to {PROMPT_MAX_LENGTH} characters, not "
            "blank). A photographic model: describe subject, light, lens, setting."
        ),
        "negative_prompt": (
            f"What the image should not show (at most {PROMPT_MAX_LENGTH} characters; the "
            "default is the vendor's)."
        ),
        "samples": (
            f"Number of images, {_range('samples')} (default {_num(lim['samples'].default)}); "
            f"each costs about {_PRICE}."
        ),
        "scheduler": (
            f"The sampler, one of the {len(SCHEDULERS)} names listed (default "
            f"{DEFAULT_SCHEDULER!r}). Shown on the vendor's page: {confirmed}."
        ),
        "num_inference_steps": (
            f"Denoising steps, {_range('num_inference_steps')} (default "
            f"{_num(lim['num_inference_steps'].default)}; this Lightning model needs few)."
        ),
        "guidance_scale": (
            f"Classifier-free guidance, {_range('guidance_scale')} (default "
            f"{_num(lim['guidance_scale'].default)}; Lightning models want it low)."
        ),
        "seed": (
            f"Seed, {_range('seed')}; -1 (the default) picks a random one. The seed used comes "
            "back in the result: pass it again to remake the same image."
        ),
        "img_width": (
            f"Width in pixels, {_range('img_width')} (default {_num(lim['img_width'].default)})."
        ),
        "img_height": (
            f"Height in pixels, {_range('img_height')} (default {_num(lim['img_height'].default)})."
        ),
    }


def generation_schema() -> dict[str, Any]:
    """The input schema of ``generate_image`` and ``submit_image_job``: the request's own JSON
    schema (bounds, defaults, the scheduler enum), a description on every parameter."""
    source = GenerationRequest.json_schema()
    descriptions = parameter_descriptions()
    properties: dict[str, Any] = {}
    for name, spec in source["properties"].items():
        if name in _HIDDEN:
            continue
        prop = {key: value for key, value in copy.deepcopy(spec).items() if key != "title"}
        prop["description"] = descriptions[name]
        properties[name] = prop
    return {
        "type": "object",
        "properties": properties,
        "required": list(source.get("required", [])),
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class ToolSpec:
    """A tool's name, title, description, input schema and hints (plain data, no SDK)."""

    name: str
    title: str
    description: str
    schema: dict[str, Any]
    read_only: bool
    idempotent: bool = False


def _request_id_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "request_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": REQUEST_ID_MAX_LENGTH,
                "description": "The id submit_image_job returned (jobs are kept one hour).",
            }
        },
        "required": ["request_id"],
        "additionalProperties": False,
    }


def _samples_schema() -> dict[str, Any]:
    samples = copy.deepcopy(generation_schema()["properties"]["samples"])
    samples["description"] = f"Images in one request, {_range('samples')}."
    return {
        "type": "object",
        "properties": {"samples": samples},
        "additionalProperties": False,
    }


def tool_specs() -> tuple[ToolSpec, ...]:
    """Every tool, in the order a client lists them."""
    spend = (
        f"Costs about {_PRICE} per image on the user's Segmind account, within this server's "
        "spend cap; an invalid call is refused before anything is spent."
    )
    return (
        ToolSpec(
            GENERATE_IMAGE,
            "Generate images (RealDream Lightning)",
            "Generate photorealistic images from a text prompt with Segmind's RealDream "
            "Lightning (SDXL). Returns each image, and a text part with the seed, the exact "
            f"parameters sent, the cost and the remaining balance. {spend}",
            generation_schema(),
            read_only=False,
        ),
        ToolSpec(
            SUBMIT_IMAGE_JOB,
            "Submit an image job",
            "Queue the same generation as generate_image without waiting (the v2 queue API); "
            "returns a request id to pass to get_image_job. The job is billed once, when it "
            f"completes. {spend}",
            generation_schema(),
            read_only=False,
        ),
        ToolSpec(
            GET_IMAGE_JOB,
            "Get an image job",
            "The state of a job submit_image_job queued (QUEUED or PROCESSING: ask again in a "
            "few seconds), or, once it completed, its images and parameters. Collecting a job "
            "costs nothing more; it is kept one hour after the submit.",
            _request_id_schema(),
            read_only=True,
            idempotent=True,
        ),
        ToolSpec(
            GET_CREDITS,
            "Get credits",
            "The Segmind account's remaining credits, and what this server may still spend "
            "under its spend cap. Free.",
            {"type": "object", "properties": {}, "additionalProperties": False},
            read_only=True,
            idempotent=True,
        ),
        ToolSpec(
            ESTIMATE_COST,
            "Estimate cost",
            "What a request for this many images would cost, and whether it fits in what this "
            "server may still spend. Free: nothing is sent.",
            _samples_schema(),
            read_only=True,
            idempotent=True,
        ),
    )
